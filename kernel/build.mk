# make kernel: the reproducible enclave kernel (kernel/build.sh, docs/eif.md).
# Not part of `make all` or CI: it takes ~6-10 minutes on 2 cores.
KERNEL_OUT ?= $(O)/kernel
.PHONY: kernel
kernel:
	$(Q)JOBS=$(or $(JOBS),$(shell nproc)) kernel/build.sh $(KERNEL_OUT)
