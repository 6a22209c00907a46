# The kernel module's extra targets (the module itself: `make kmod KDIR=...`,
# and `make vmtest` builds it for the test guest).
#
#   make kmod-checkpatch   kernel style check of kmod/ with checkpatch.pl from
#                          Debian's linux-source-6.12 (scripts/deps.sh --kernel)
#   make kmod-enclave      the module against the enclave kernel tree that
#                          `make kernel` leaves in $(KERNEL_OUT)/src
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h)
CHECKPATCH_TAR ?= /usr/src/linux-source-6.12.tar.xz
CHECKPATCH_DIR := $(O)/checkpatch

$(CHECKPATCH_DIR)/scripts/checkpatch.pl:
	$(call msg,UNPACK,$@)
	$(Q)test -r $(CHECKPATCH_TAR) || { echo "$(CHECKPATCH_TAR): missing (scripts/deps.sh --kernel)" >&2; exit 1; }
	$(Q)mkdir -p $(CHECKPATCH_DIR)
	$(Q)tar -xJf $(CHECKPATCH_TAR) -C $(CHECKPATCH_DIR) --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'

.PHONY: kmod-checkpatch kmod-enclave
kmod-checkpatch: $(CHECKPATCH_DIR)/scripts/checkpatch.pl
	$(Q)perl $< --no-tree --strict --terse --show-types -f $(KMOD_SRCS)

kmod-enclave:
	$(Q)test -f $(KERNEL_OUT)/src/Module.symvers || { echo "make kmod-enclave: run make kernel first" >&2; exit 1; }
	$(Q)$(MAKE) --no-print-directory kmod KDIR=$(KERNEL_OUT)/src O=$(O)/kmod-enclave
