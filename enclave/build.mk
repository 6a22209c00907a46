# enclave/init: PID 1 of the enclave image (docs/init.md).
#
# Always static and never sanitized (a static binary cannot use ASan), so it
# is compiled from its own objects with its own flags, whatever SANITIZE says:
# $(O)/enclave/init. The unit tests link its logic (everything but main.c and
# sys.c, the PID-1-only parts) as libinit.a, built with the normal flags.
INIT_DIR := enclave/init
INIT_SRCS := $(wildcard $(INIT_DIR)/*.c)
INIT_LOGIC := $(filter-out $(INIT_DIR)/main.c $(INIT_DIR)/sys.c,$(INIT_SRCS))
# Only the vsock policy of sock.c and the logger end up in the binary
# (--gc-sections drops the rest; the linker still notes addr.c's getaddrinfo,
# which static binaries cannot use, and which init never calls: filtered).
INIT_LIBSRCS := userspace/lib/core/addr.c userspace/lib/core/sock.c userspace/lib/core/log.c userspace/lib/core/errfmt.c \
	userspace/lib/core/parse.c userspace/lib/core/fdio.c
INIT_BIN := $(O)/enclave/init
INIT_OBJDIR := $(O)/enclave/obj
INIT_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Os $(WARN) $(REPRO) -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -ffunction-sections -fdata-sections -MMD -MP -Iuserspace
INIT_OBJS := $(patsubst %.c,$(INIT_OBJDIR)/%.o,$(INIT_SRCS) $(INIT_LIBSRCS))
INIT_ARCHIVE := $(O)/lib/libinit.a

$(INIT_OBJDIR)/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(INIT_CFLAGS) -c $< -o $@

$(INIT_BIN): $(INIT_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)set -o pipefail; $(CC) -static -Wl,--gc-sections -s -o $@ $^ 2>&1 | \
		{ grep -v "getaddrinfo\|in function .parse_tcp" || true; } >&2

$(INIT_ARCHIVE): $(patsubst %.c,$(O)/obj/%.o,$(INIT_LOGIC))
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcsD $@ $^

PROG_ARCHIVES += $(INIT_ARCHIVE)
$(O)/obj/tests/unit/test_init.o: CFLAGS += -Ienclave
ifneq ($(FUZZ),1)
all: $(INIT_BIN)
endif
.PHONY: init
init: $(INIT_BIN)
-include $(shell find $(INIT_OBJDIR) -name '*.d' 2>/dev/null)
