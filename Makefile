# SPDX-License-Identifier: MIT
# sandpool: the only build file.  Out-of-tree builds with B= (build/,
# build-asan/, build-fuzz/).  See README.md for the two commands that matter:
# `make run` and `make test`.

B ?= build
CC ?= cc
# libcrypto (libssl-dev): SHA-256 for key hashes and audit code hashes;
# the OpenSSL libcurl already loads it (see src/store.c).
PKGS := libmicrohttpd jansson libseccomp sqlite3 libcap libcurl libcrypto
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
CFLAGS_ALL = $(WARN) $(OPT) $(SAN) $(HARDEN) -MMD -MP -Isrc -Icli \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(SAN) -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

# The server: every module but main.c also goes into libsp.a, which the
# unit tests link against.
LIB_SRCS := src/util.c src/log.c src/config.c src/json.c src/route.c \
	src/exec.c src/sse.c \
	src/result.c src/auth.c src/kernel.c src/session.c src/pool.c \
	src/start.c src/start_queue.c src/start_launcher.c src/start_zygote.c \
	src/idmap.c src/loop.c \
	src/priv.c src/cgroup.c src/cgroup_parse.c src/http.c src/api.c \
	src/api_exec.c src/api_files.c src/files.c src/multipart.c src/fetch.c \
	src/store.c src/store_query.c src/audit.c src/metrics.c \
	src/procstat.c src/health.c src/server.c src/mcp.c src/mcp_tools.c \
	src/mcp_http.c src/mcp_stdio.c
# The client and admin commands (cli/cli.h), linked into the same binary.
CLI_SRCS := cli/cli_http.c cli/cli_exec.c cli/cli_files.c cli/cli_admin.c
SERVER_SRCS := src/main.c $(LIB_SRCS) $(CLI_SRCS)

# The sandbox launcher and pid 1: a small separate binary, so that the
# setup ritual runs in a fresh single-threaded image (see src/sandbox.c).
# The sandbox-entry ritual, shared by both start backends: linked into
# the launcher and into the zygote's Python extension.
ENTRY_SRCS := src/sandbox_child.c src/mount.c src/seccomp.c \
	src/landlock.c src/init.c src/util.c src/log.c
SANDBOX_SRCS := src/sandbox.c src/sandbox_opts.c src/sandbox_template.c \
	src/idmap.c $(ENTRY_SRCS)
SANDBOX_LIBS := $(shell pkg-config --libs libseccomp libcap 2>/dev/null)

# The zygote template's extension (src/zygote_py.c + the ritual), loaded
# by /usr/bin/python3 from beside the binary.  Position-independent and
# never sanitized: the interpreter that loads it is not.
PY_INC := $(shell $(PYTHON) -c \
	'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
ZYGOTE_SRCS := src/zygote_py.c $(ENTRY_SRCS)
ZYGOTE_OBJS := $(patsubst %.c,$(B)/pic/%.o,$(ZYGOTE_SRCS))
PIC_CFLAGS = $(WARN) $(OPT) $(HARDEN) -fPIC -fvisibility=hidden -MMD -MP \
	-Isrc -isystem $(PY_INC) -DSANDBOX_BINARY -DZYGOTE_EXTENSION \
	$(shell pkg-config --cflags libseccomp libcap 2>/dev/null)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))

LIB_OBJS := $(patsubst %.c,$(B)/%.o,$(LIB_SRCS))
SERVER_OBJS := $(patsubst %.c,$(B)/%.o,$(SERVER_SRCS))
SANDBOX_OBJS := $(patsubst %.c,$(B)/sbx/%.o,$(SANDBOX_SRCS))

.PHONY: all deps run test unit integration security mcp-test asan fuzz \
	fuzz-regress \
	lint format check-format install clean bench

all: $(B)/sandpool $(B)/sandpool-sandbox $(B)/sandpool-zygote.so \
	$(UNIT_TESTS)

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

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(PIC_CFLAGS) -c -o $@ $<

$(B)/sandpool-zygote.so: $(ZYGOTE_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,-z,relro,-z,now -o $@ $^ $(SANDBOX_LIBS)

$(B)/libsp.a: $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/sandpool: $(B)/src/main.o $(patsubst %.c,$(B)/%.o,$(CLI_SRCS)) \
		$(B)/libsp.a
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
	@$(MAKE) --no-print-directory fuzz-regress
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory security
	@$(MAKE) --no-print-directory mcp-test
	@$(MAKE) --no-print-directory asan

unit: all
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# promtool checks the /metrics format (tests/integration/test_metrics.py).
$(B)/promtool:
	@sh scripts/promtool.sh $@

integration: all $(B)/promtool
	PROMTOOL=$(abspath $(B))/promtool \
	SANDPOOL_BUILD=$(abspath $(B)) $(PYTEST) tests/integration tests/runtime

security: all
	SANDPOOL_BUILD=$(abspath $(B)) $(PYTEST) tests/security

# The official MCP conformance suite (pinned in tests/mcp/package.json,
# with Node 22 from npm) and the official TypeScript SDK as a client, over
# HTTP and stdio.  npm ci needs the npm registry; the run itself is offline.
mcp-test: all
	npm ci --prefix tests/mcp --no-audit --no-fund
	SANDPOOL_BUILD=$(abspath $(B)) $(PYTHON) tests/mcp/run.py

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
	$(PYTHON) bench/audit_overhead.py --build $(abspath $(B))
	$(PYTHON) bench/zygote_bench.py all --quick --build $(abspath $(B))

# ---- fuzzing: tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/ ----
# `fuzz` builds each target with clang + libFuzzer into build-fuzz and runs
# it FUZZ_TIME seconds (new inputs land in build-fuzz/corpus/NAME; copy
# minimised crashes into tests/fuzz/corpus/NAME).  `fuzz-regress` replays
# the checked-in corpora through tests/fuzz/standalone.c under $(CC).
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRCS := src/util.c src/log.c src/multipart.c src/files.c src/fetch.c
FUZZ_TIME ?= 30
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer

fuzz:
	@$(MAKE) --no-print-directory B=build-fuzz CC=clang OPT="-O1 -g" \
		SAN="$(FUZZ_SAN)" EXTRA_CFLAGS=-Wno-unknown-warning-option \
		$(addprefix build-fuzz/fuzz/fuzz_,$(FUZZ_NAMES))
	@set -e; for t in $(FUZZ_NAMES); do \
		mkdir -p build-fuzz/corpus/$$t; \
		echo "== fuzz_$$t ($(FUZZ_TIME) s)"; \
		build-fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) \
			-artifact_prefix=build-fuzz/ build-fuzz/corpus/$$t \
			tests/fuzz/corpus/$$t >build-fuzz/fuzz_$$t.log 2>&1 || \
			{ tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
		grep -E '^Done' build-fuzz/fuzz_$$t.log; \
	done

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(patsubst %.c,$(B)/%.o,$(FUZZ_SRCS))
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer $(LDFLAGS_ALL) -o $@ $^ \
		$(LIBS)

$(B)/fuzz/regress_%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c $(B)/libsp.a
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ tests/fuzz/standalone.c \
		$< $(B)/libsp.a $(LIBS)

fuzz-regress: $(addprefix $(B)/fuzz/regress_,$(FUZZ_NAMES))
	@set -e; for t in $(FUZZ_NAMES); do \
		$(B)/fuzz/regress_$$t tests/fuzz/corpus/$$t; done

lint:
	sh tools/checksrc.sh

format:
	clang-format -i src/*.c src/*.h cli/*.c cli/*.h

check-format:
	clang-format --dry-run -Werror src/*.c src/*.h cli/*.c cli/*.h

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/sandpool/runtime
	install -m 0755 $(B)/sandpool $(B)/sandpool-sandbox $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/lib/sandpool
	install -m 0644 $(B)/sandpool-zygote.so $(DESTDIR)$(PREFIX)/lib/sandpool/
	install -m 0644 runtime/*.py $(DESTDIR)$(PREFIX)/share/sandpool/runtime/

clean:
	rm -rf build build-asan build-fuzz

-include $(SERVER_OBJS:.o=.d) $(SANDBOX_OBJS:.o=.d) $(ZYGOTE_OBJS:.o=.d)
