/* Exits 0 inside the test VM and 77 anywhere else: lets the host suite prove
 * the guard every guest-only program starts with (tests/host/vmguard.sh). */
#include "vmguard.h"

int main(void)
{
	vm_guard();
	return 0;
}
