# SPDX-License-Identifier: MIT
# sandpool: the only build file.  Out-of-tree builds with B= (build/,
# build-asan/, build-fuzz/).  See README.md for the two commands that matter:
# `make run` and `make test`.

B ?= build
CC ?= cc
PKGS := libmicrohttpd jansson libseccomp sqlite3 libcap libcurl
PYTHON ?= /usr/bin/python3
PYTEST ?= $(PYTHON) -m pytest -q -p no:cacheprovider

WARN := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wmissing-declarations -Wformat=2 \
	-Wformat-nonliteral -Wswitch-enum -Wpointer-arith -Wvla \
	-Wnull-dereference -Wno-format-truncation
# -Wno-format-truncation: every snprintf into a fixed message buffer
# truncates on purpose (user-facing text is capped where it is written).
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
	-fstack-clash-protection -fPIE
OPT ?= -O2 -g
SAN ?=
CFLAGS_ALL = $(WARN) $(OPT) $(SAN) $(HARDEN) -MMD -MP -Isrc \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(SAN) -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

# The server: every module but main.c also goes into libsp.a, which the
# unit tests link against.
LIB_SRCS := src/util.c src/log.c src/config.c src/json.c src/route.c \
	src/result.c src/auth.c src/kernel.c src/session.c src/loop.c \
	src/priv.c src/http.c src/api.c src/api_exec.c
SERVER_SRCS := src/main.c $(LIB_SRCS)

# The sandbox launcher and pid 1: a small separate binary, so that the
# setup ritual runs in a fresh single-threaded image (see src/sandbox.c).
SANDBOX_SRCS := src/sandbox.c src/sandbox_opts.c src/mount.c src/seccomp.c \
	src/landlock.c \
	src/init.c src/util.c src/log.c
SANDBOX_LIBS := $(shell pkg-config --libs libseccomp libcap 2>/dev/null)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))

LIB_OBJS := $(patsubst %.c,$(B)/%.o,$(LIB_SRCS))
SERVER_OBJS := $(patsubst %.c,$(B)/%.o,$(SERVER_SRCS))
SANDBOX_OBJS := $(patsubst %.c,$(B)/sbx/%.o,$(SANDBOX_SRCS))

.PHONY: all deps run test unit integration security asan fuzz fuzz-regress \
	lint format check-format install clean bench

all: $(B)/sandpool $(B)/sandpool-sandbox $(UNIT_TESTS)

deps:
	@sh scripts/deps.sh

Q = @
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/sbx/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -DSANDBOX_BINARY -c -o $@ $<

$(B)/libsp.a: $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/sandpool: $(B)/src/main.o $(B)/libsp.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(B)/sandpool-sandbox: $(SANDBOX_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(SANDBOX_LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/t.h $(B)/libsp.a
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -DUNITTEST -Itests/unit $(LDFLAGS_ALL) -o $@ $< \
		$(B)/libsp.a $(LIBS)

# ---- running ----

STATE ?= ./.sandpool
run: deps
	@$(MAKE) --no-print-directory all
	./$(B)/sandpool serve --state-dir $(STATE)

# ---- tests ----

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory security
	@$(MAKE) --no-print-directory asan

unit: all
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

integration: all
	SANDPOOL_BUILD=$(abspath $(B)) $(PYTEST) tests/integration tests/runtime

security: all
	SANDPOOL_BUILD=$(abspath $(B)) $(PYTEST) tests/security

ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
asan:
	@$(MAKE) --no-print-directory B=build-asan SAN="$(ASAN_FLAGS)" \
		OPT="-O1 -g" all
	@$(MAKE) --no-print-directory B=build-asan SAN="$(ASAN_FLAGS)" \
		OPT="-O1 -g" unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	SANDPOOL_BUILD=$(abspath build-asan) $(PYTEST) tests/integration

bench: all
	$(PYTHON) bench/exec_latency.py --build $(abspath $(B))

lint:
	sh tools/checksrc.sh

format:
	clang-format -i src/*.c src/*.h

check-format:
	clang-format --dry-run -Werror src/*.c src/*.h

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/sandpool/runtime
	install -m 0755 $(B)/sandpool $(B)/sandpool-sandbox $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 runtime/*.py $(DESTDIR)$(PREFIX)/share/sandpool/runtime/

clean:
	rm -rf build build-asan build-fuzz

-include $(SERVER_OBJS:.o=.d) $(SANDBOX_OBJS:.o=.d)
