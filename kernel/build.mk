# make kernel: the reproducible enclave kernel (kernel/build.sh, docs/eif.md).
# Not part of `make all` or CI: it takes ~6-10 minutes on 2 cores.
KERNEL_OUT ?= $(O)/kernel
.PHONY: kernel
kernel:
	$(Q)JOBS=$(or $(JOBS),$(shell nproc)) kernel/build.sh $(KERNEL_OUT)

# make kernel-repro: a second build in another directory must give the same
# bzImage and nsm.ko (another ~10 minutes).
.PHONY: kernel-repro
kernel-repro: kernel
	$(Q)rm -rf $(O)/kernel-check && mkdir -p $(O)/kernel-check
	$(Q)(umask 027; JOBS=$(or $(JOBS),$(shell nproc)) kernel/build.sh $(O)/kernel-check/elsewhere/out)
	$(Q)cmp $(KERNEL_OUT)/bzImage $(O)/kernel-check/elsewhere/out/bzImage
	$(Q)cmp $(KERNEL_OUT)/nsm.ko $(O)/kernel-check/elsewhere/out/nsm.ko
	$(Q)echo "make kernel-repro: bzImage and nsm.ko are bit-identical" && rm -rf $(O)/kernel-check
