/* The guest-only guard matches the flag as a whole word only. */
#include <criterion/criterion.h>

#include "../vm/progs/vmguard.h"

Test(vmguard, whole_word)
{
	cr_assert(vm_guard_cmdline_ok("nek.vmtest=1"));
	cr_assert(vm_guard_cmdline_ok("console=ttyS0 quiet nek.vmtest=1 panic=-1\n"));
	cr_assert(vm_guard_cmdline_ok("a nek.vmtest=1"));
	cr_assert(!vm_guard_cmdline_ok(""));
	cr_assert(!vm_guard_cmdline_ok("nek.vmtest=10"));
	cr_assert(!vm_guard_cmdline_ok("xnek.vmtest=1"));
	cr_assert(!vm_guard_cmdline_ok("nek.vmtest=0 vmtest=1"));
	cr_assert(vm_guard_cmdline_ok("nek.vmtest=10 nek.vmtest=1"));
}
