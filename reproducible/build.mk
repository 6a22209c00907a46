# make eif ROOTFS=DIR|TARBALL|IMAGE=PATH[:REF] [APP="argv"] [KERNEL=bzImage] ...: a reproducible
# enclave image in $(EIF_OUT) (reproducible/make-eif.sh, docs/eif.md).
EIF_OUT ?= $(O)/eif
.PHONY: eif
eif: $(O)/bin/eif $(INIT_BIN) progs
	$(Q)B=$(O) OUT=$(EIF_OUT) ROOTFS="$(ROOTFS)" IMAGE="$(IMAGE)" APP="$(APP)" KERNEL="$(KERNEL)" \
		NSM_KO="$(NSM_KO)" CMDLINE="$(CMDLINE)" CMDLINE_EXTRA="$(CMDLINE_EXTRA)" \
		SERVICES="$(SERVICES)" CMD_FILE="$(CMD_FILE)" ENV_FILE="$(ENV_FILE)" \
		NAME="$(NAME)" IMAGE_VERSION="$(IMAGE_VERSION)" reproducible/make-eif.sh

# make eif-check ROOTFS=... (same variables as make eif): builds the image a
# second time in another directory, a day later (faketime), and compares.
.PHONY: eif-check
eif-check: eif
	$(Q)rm -rf $(O)/eif-check
	$(Q)B=$(O) OUT=$(O)/eif-check/again ROOTFS="$(ROOTFS)" IMAGE="$(IMAGE)" APP="$(APP)" KERNEL="$(KERNEL)" \
		NSM_KO="$(NSM_KO)" CMDLINE="$(CMDLINE)" CMDLINE_EXTRA="$(CMDLINE_EXTRA)" \
		SERVICES="$(SERVICES)" CMD_FILE="$(CMD_FILE)" ENV_FILE="$(ENV_FILE)" \
		NAME="$(NAME)" IMAGE_VERSION="$(IMAGE_VERSION)" \
		faketime -f +1d reproducible/make-eif.sh 2>/dev/null
	$(Q)EIF=$(O)/bin/eif reproducible/compare.sh $(EIF_OUT) $(O)/eif-check/again
