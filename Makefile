# nek: one `make` builds every program, BPF object and test binary.
#
#   make                 build everything into $(O) (default build/)
#   make test            host tests under ASan+UBSan (build/san); SANITIZE=0 for a plain run
#   make sanitize        the same as `make test SANITIZE=1`
#   make vmtest          in-guest tests over real AF_VSOCK (qemu; see tests/vm/)
#   make bench           benchmarks (optimised build); BENCH=name to pick scenarios
#   make fuzz            libFuzzer targets, FUZZ_SECONDS each (clang; build/fuzz)
#   make install         DESTDIR= PREFIX=/usr/local
#   make demo            deps + build + a local demo over a unix socket (the first command)
#   make deps            install the Debian packages (scripts/deps.sh)
#   make kmod KDIR=...   the kernel module, against the given kernel headers
#
# Layout and conventions: docs/conventions.md; bootstrap and downloads:
# docs/build.md. Nothing here needs editing to add a
# program (userspace/NAME/*.c with main.c), a unit test (tests/unit/test_*.c),
# a host test (tests/host/*.sh), a helper (tests/helpers/*.c), a fuzzer
# (tests/fuzz/fuzz_*.c), a BPF object (bpf/*.bpf.c) or a bench scenario.

.DEFAULT_GOAL := all
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

V ?= 0
Q := $(if $(filter 1,$(V)),,@)
msg = $(if $(Q),@printf '  %-7s %s\n' '$(1)' '$(patsubst $(O)/%,%,$(2))';)

# Tests run under the sanitizers unless told otherwise; everything else is optimised.
ifneq ($(filter test sanitize,$(MAKECMDGOALS)),)
SANITIZE ?= 1
endif
SANITIZE ?= 0
FUZZ ?= 0

ifeq ($(FUZZ),1)
O ?= build/fuzz
else ifeq ($(SANITIZE),1)
O ?= build/san
else
O ?= build
endif
override O := $(abspath $(O))

PREFIX ?= /usr/local
DESTDIR ?=
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
PKG_CONFIG ?= pkg-config
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
ifeq ($(FUZZ),1)
CC := $(CLANG)
endif

# ---------------------------------------------------------------- libraries
# Goals that must work on a bare machine (build-essential and git only): they
# install the libraries or need none, so pkg-config is not even run for them.
# `make demo` runs deps.sh and then a sub-make, which checks the libraries.
NOLIB_GOALS := clean help deps demo list-progs
DEPS_SH ?= scripts/deps.sh
PKGS := liburing openssl libcbor sqlite3 libevent libevent_openssl libbpf libnftables jansson \
	libmnl libcap zlib libelf libxxhash libseccomp libcurl libsecp256k1 libsodium \
	tss2-esys tss2-tctildr tss2-mu tss2-rc libnats libarchive
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NOLIB_GOALS),$(MAKECMDGOALS)),)
NEED_LIBS := 0
endif
endif
NEED_LIBS ?= 1
ifeq ($(NEED_LIBS),1)
ifeq ($(shell command -v $(PKG_CONFIG) 2>/dev/null),)
$(error $(PKG_CONFIG) not found: run scripts/deps.sh (or make deps) to install the packages)
endif
missing_pkgs := $(strip $(foreach p,$(PKGS),$(if $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),,$(p))))
ifneq ($(missing_pkgs),)
$(error missing libraries: $(missing_pkgs); run scripts/deps.sh (or make deps))
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
endif

# ---------------------------------------------------------------- flags
# Reproducible: no absolute paths in objects, no __DATE__/__TIME__.
REPRO := -ffile-prefix-map=$(CURDIR)=. -ffile-prefix-map=$(O)=build
WARN := -Wall -Wextra -Werror -Wdate-time -Wformat=2 -Wundef -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) $(REPRO) -fstack-protector-strong \
	-fno-strict-aliasing -MMD -MP -Iuserspace -I$(O)/bpf
SAN_FLAGS :=
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else ifeq ($(FUZZ),1)
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else
BASE_CFLAGS += -D_FORTIFY_SOURCE=2
endif
CFLAGS ?=
LDFLAGS ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SAN_FLAGS) -Wl,--as-needed -Wl,-z,relro,-z,now $(LDFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lpthread -lm

# ---------------------------------------------------------------- BPF
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(O)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(BPF_OBJS:.bpf.o=.skel.h)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I$(O)/bpf -Ibpf $(REPRO)

$(O)/bpf/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "no /sys/kernel/btf/vmlinux: the kernel lacks CONFIG_DEBUG_INFO_BTF" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(O)/bpf/vmlinux.h $(wildcard bpf/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(O)/bpf/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- C objects
$(O)/obj/%.o: %.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The version is compiled in; this stamp changes only when the version does,
# so version.o is rebuilt exactly then.
$(O)/obj/userspace/lib/core/version.o: CFLAGS += -DNEK_VERSION='"$(VERSION)"'
$(O)/obj/userspace/lib/core/version.o: $(O)/version.stamp
$(O)/version.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
.PHONY: FORCE

# LIBRARY(name): userspace/lib/name/*.c -> libnek_name.a. The libraries and
# what each may include are in userspace/lib/README.md (checked by
# tests/host/layering.sh); LIBNEK lists them in link order, users first.
LIBRARIES := accel secrets fleet attestation digest core
define LIBRARY
$(1)_LIB_OBJS := $$(patsubst %.c,$$(O)/obj/%.o,$$(wildcard userspace/lib/$(1)/*.c))
$$(O)/lib/libnek_$(1).a: $$($(1)_LIB_OBJS)
	$$(call msg,AR,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcsD $$@ $$^
LIBNEK += $$(O)/lib/libnek_$(1).a
endef
LIBNEK :=
$(foreach l,$(LIBRARIES),$(eval $(call LIBRARY,$(l))))

# PROGRAM(name, srcdir): srcdir/*.c -> $(O)/bin/name. Everything but main.o also
# goes into an archive the unit tests link against. A srcdir/build.mk may set
# name_LDLIBS (replaces the default libraries) or name_LDFLAGS.
define PROGRAM
$(1)_SRCS := $$(wildcard $(2)/*.c)
$(1)_OBJS := $$(patsubst %.c,$$(O)/obj/%.o,$$($(1)_SRCS))
$(1)_ARCHIVE := $$(O)/lib/lib$(1).a
$$($(1)_ARCHIVE): $$(filter-out %/main.o,$$($(1)_OBJS))
	$$(call msg,AR,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcsD $$@ $$^
$$(O)/bin/$(1): $$($(1)_OBJS) $$(LIBNEK)
	$$(call msg,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) $$($(1)_LDFLAGS) -o $$@ $$($(1)_OBJS) $$(LIBNEK) $$(or $$($(1)_LDLIBS),$$(LDLIBS_ALL))
PROG_BINS += $$(O)/bin/$(1)
PROG_ARCHIVES += $$($(1)_ARCHIVE)
endef

PROGS := $(sort $(filter-out lib,$(notdir $(patsubst %/,%,$(dir $(wildcard userspace/*/main.c))))))
-include $(wildcard userspace/*/build.mk */build.mk)
$(foreach p,$(PROGS),$(eval $(call PROGRAM,$(p),userspace/$(p))))

# ---------------------------------------------------------------- tests
TEST_LINK = $(ALL_LDFLAGS) -o $@ $< $(PROG_ARCHIVES) $(LIBNEK) $(LDLIBS_ALL)
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(wildcard tests/unit/test_*.c))
HELPER_BINS := $(patsubst tests/helpers/%.c,$(O)/tests/helpers/%,$(wildcard tests/helpers/*.c))

$(O)/tests/unit/%: $(O)/obj/tests/unit/%.o $(PROG_ARCHIVES) $(LIBNEK)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(TEST_LINK) $(shell $(PKG_CONFIG) --libs criterion)
$(O)/obj/tests/unit/%.o: CFLAGS += -Wno-missing-prototypes $(shell $(PKG_CONFIG) --cflags criterion)

$(O)/tests/helpers/%: $(O)/obj/tests/helpers/%.o $(PROG_ARCHIVES) $(LIBNEK)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(TEST_LINK)

# Guest-only programs (tests/vm): static, never sanitized; each refuses to run
# outside the test VM. Built here too so the host suite can prove the guard.
VM_PROGS := $(patsubst tests/vm/progs/%.c,$(O)/tests/vm/%,$(wildcard tests/vm/progs/*.c))
$(O)/tests/vm/%: tests/vm/progs/%.c tests/vm/progs/vmguard.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -static $(WARN) $(REPRO) -o $@ $< -l:liburing.a

FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
$(O)/fuzz/%: $(O)/obj/tests/fuzz/%.o $(PROG_ARCHIVES) $(LIBNEK)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -fsanitize=fuzzer $(TEST_LINK)

# ---------------------------------------------------------------- goals
.PHONY: all progs tests-build test sanitize check-env vmtest bench fuzz fuzz-build \
	install demo deps kmod clean help list-progs

all: progs tests-build
progs: $(PROG_BINS) $(BPF_OBJS)
tests-build: $(UNIT_BINS) $(HELPER_BINS) $(VM_PROGS)

test sanitize: all
	$(Q)NEK_BUILD=$(O) NEK_SANITIZE=$(SANITIZE) tests/run.sh $(TESTS)

vmtest: all
	$(Q)NEK_BUILD=$(O) tests/vm/vmtest.sh

bench: all
	$(Q)NEK_BUILD=$(O) bench/run.sh $(BENCH)

FUZZ_SECONDS ?= 60
fuzz:
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-build
	$(Q)NEK_BUILD=$(abspath build/fuzz) tests/fuzz/run.sh $(FUZZ_SECONDS)
fuzz-build: $(FUZZ_BINS)

deps:
	$(Q)$(DEPS_SH)

demo:
	$(Q)$(DEPS_SH)
	$(Q)$(MAKE) --no-print-directory SANITIZE=0 progs
	$(Q)NEK_BUILD=$(O) scripts/demo.sh

# The module is built in a copy under $(O): Kbuild writes beside its sources.
# Our command-line variables (O= above all) must not reach the kernel's make.
KDIR ?=
kmod:
	$(Q)test -n "$(KDIR)" || { echo "make kmod: set KDIR to a kernel build tree (headers)" >&2; exit 2; }
	$(Q)rm -rf $(O)/kmod && mkdir -p $(O)/kmod && cp -r Kbuild kmod $(O)/kmod/
	$(Q)env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS $(MAKE) -C $(KDIR) M=$(O)/kmod \
		KCFLAGS="-ffile-prefix-map=$(O)/kmod=." modules

install: progs
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin
	$(Q)install -m 0755 $(PROG_BINS) $(DESTDIR)$(PREFIX)/bin/
	$(Q)for f in $(PROG_BINS); do echo "  INSTALL $(DESTDIR)$(PREFIX)/bin/$${f##*/}"; done

clean:
	rm -rf build

# The installed program names, one per line (tests compare against this).
list-progs:
	@printf '%s\n' $(notdir $(PROG_BINS))

help:
	@sed -n '3,/^#$$/{/^#$$/d;p}' Makefile | sed 's/^# \{0,1\}//'

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
