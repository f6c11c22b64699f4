# javm build. GNU Make; sources are discovered by convention so adding a file needs no edit:
#   src/<layer>/*.c      -> libjavm.a / libjavm.so   (every layer except cli and vector)
#   src/vector/*.c       -> libjavm-vector.a: the conformance-vector library (json-c), linked by
#                           the tool, the tests and the fuzz targets, never by libjavm
#   src/cli/*.c          -> the javm tool
#   tests/test_*.c       -> one cmocka program each, run by `make test`
#   tests/*.sh           -> shell tests of the tool, run by `make test`
#   bench/bench_*.c      -> one benchmark program each, run by `make bench`
#   fuzz/fuzz_*.c        -> libFuzzer targets (`make fuzz`); a bounded run is part of `make test`
# V=1 shows full command lines. SAN=1 builds everything with ASan+UBSan into build-san/. CC=clang works too.
# CHECKED=1 B=build-checked builds the side-metadata debug variant (CI runs its tests).

CC      ?= cc
SAN     ?= 0
V       ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif
PREFIX  ?= /usr/local
# The version is written once, in include/javm.h; the soname follows docs/API.md ("Versions"):
# libjavm.so.MAJOR from 1.0 on, libjavm.so.0.MINOR before (every 0.x minor may break the ABI).
version_part = $(shell sed -n 's/^\#define JAVM_VERSION_$(1) \([0-9]*\)$$/\1/p' include/javm.h)
VMAJOR  := $(call version_part,MAJOR)
VMINOR  := $(call version_part,MINOR)
VPATCH  := $(call version_part,PATCH)
VERSION := $(VMAJOR).$(VMINOR).$(VPATCH)
ifeq ($(VMAJOR),0)
SONAME  := libjavm.so.0.$(VMINOR)
else
SONAME  := libjavm.so.$(VMAJOR)
endif

ifeq ($(SAN),1)
B       ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     ?= -O1 -g
else
B       ?= build
SANFLAGS =
OPT     ?= -O2 -g
endif
# CHECKED=1: the side-metadata debug build (JV_META_CHECKED: every metadata access verified).
CHECKED ?= 0
ifeq ($(CHECKED),1)
VARIANT := -DJV_META_CHECKED
else
VARIANT :=
endif

# ---- Dependencies ---------------------------------------------------------------------------
# Debian packages found with pkg-config. The library needs libcrypto only; the tool adds json-c;
# the tests add cmocka (and pytest for the Python binding, objdump for the jit emitter test). scripts/deps.sh checks a set (and installs it when run as root) once per
# build directory: the stamp $(B)/deps/<set>.ok is an order-only prerequisite of what needs the
# set, so `make clean`, `make -n` or an up-to-date build run no check. pkg-config itself is
# asked only in recipes (after the check), once per package and make invocation.
DEPS_lib  := libcrypto
DEPS_tool := libcrypto json-c
DEPS_test := libcrypto json-c cmocka pytest objdump
$(B)/deps/%.ok: scripts/deps.sh
	@mkdir -p $(dir $@)
	$(Q)CC='$(CC)' ./scripts/deps.sh $(DEPS_$*) && touch $@
pc = $(if $(filter undefined,$(origin pc_$(1)_$(2))),$(eval pc_$(1)_$(2) := $(shell pkg-config --$(1) $(2))))$(pc_$(1)_$(2))

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?=
# -MMD -MP: each object (or single-source program) records the headers it included in $@.d.
BASEFLAGS = -std=gnu11 $(OPT) $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE $(VARIANT) \
            -Iinclude -Isrc $(SANFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@
LIB_LIBS = $(call pc,libs,libcrypto) -lpthread -lm
LDLIBS   = $(call pc,libs,json-c) $(LIB_LIBS)
LDFLAGS ?=

LIB_SRC   := $(sort $(filter-out src/cli/% src/vector/%,$(wildcard src/*/*.c)))
VEC_SRC   := $(sort $(wildcard src/vector/*.c))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
VEC_OBJ   := $(VEC_SRC:%.c=$(B)/obj/%.o)
VEC_LIB   := $(B)/libjavm-vector.a
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/obj/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(B)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
FUZZ_SMOKE:= $(FUZZ_SRC:fuzz/%.c=$(B)/fuzz-smoke/%)
FUZZ_OBJ  := $(FUZZ_SRC:%.c=$(B)/obj/%.o) $(B)/obj/fuzz/driver.o

.PHONY: all lib tool tests benches test run bench fuzz fuzz-smoke install uninstall clean examples
# Keep every file a rule made (dependency stamps, fuzz objects): no intermediate-file deletion.
.SECONDARY:
all: lib tool
lib: $(B)/libjavm.a $(B)/libjavm.so
tool: $(B)/javm

$(B)/obj/src/%.o: src/%.c | $(B)/deps/lib.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASEFLAGS) $(call pc,cflags,libcrypto) -c $< -o $@

# The tool's own sources and the vector library use json-c.
$(B)/obj/src/cli/%.o: src/cli/%.c | $(B)/deps/tool.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASEFLAGS) $(call pc,cflags,json-c) -c $< -o $@

$(B)/obj/src/vector/%.o: src/vector/%.c | $(B)/deps/tool.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASEFLAGS) $(call pc,cflags,json-c) -c $< -o $@

$(B)/obj/fuzz/%.o: fuzz/%.c | $(B)/deps/tool.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASEFLAGS) $(call pc,cflags,json-c) -c $< -o $@

$(B)/libjavm.a: $(LIB_OBJ)
	@mkdir -p $(B)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/libjavm.so: $(LIB_OBJ)
	$(Q)$(CC) -shared $(SANFLAGS) $(LDFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LIB_LIBS)

$(VEC_LIB): $(VEC_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/javm: $(CLI_OBJ) $(VEC_LIB) $(B)/libjavm.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(VEC_LIB) $(B)/libjavm.a $(LDLIBS)

# Tests see internal headers and link the static library (internal symbols included).
$(B)/tests/%: tests/%.c $(VEC_LIB) $(B)/libjavm.a | $(B)/deps/test.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(BASEFLAGS) $(call pc,cflags,cmocka) $(call pc,cflags,json-c) -Itests -DJAVM_VECTOR_DIR='"tests/vectors"' -o $@ $< $(VEC_LIB) $(B)/libjavm.a $(call pc,libs,cmocka) $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libjavm.a | $(B)/deps/tool.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(BASEFLAGS) $(call pc,cflags,json-c) -Ibench -o $@ $< $(B)/libjavm.a $(LDLIBS)

# Bounded fuzz runs without libFuzzer: the target plus a driver feeding seeded random inputs.
$(B)/fuzz-smoke/%: $(B)/obj/fuzz/%.o $(B)/obj/fuzz/driver.o $(VEC_LIB) $(B)/libjavm.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Header dependencies recorded by -MMD (absent before the first build: then everything builds).
-include $(wildcard $(addsuffix .d,$(LIB_OBJ) $(VEC_OBJ) $(CLI_OBJ) $(FUZZ_OBJ) $(TEST_BIN) $(BENCH_BIN)))

tests: $(TEST_BIN) $(B)/javm $(B)/libjavm.so $(FUZZ_SMOKE)
benches: $(BENCH_BIN) $(B)/javm

test: tests
	@B=$(B) SAN=$(SAN) CC=$(CC) ./scripts/run-tests.sh

run: tool
	@B=$(B) ./scripts/run-example.sh

bench: benches
	@B=$(B) ./scripts/bench.sh

# Unbounded coverage-guided fuzzing with clang's libFuzzer: make fuzz [FUZZ_TIME=seconds per target]
FUZZ_TIME ?= 0
fuzz:
	@./scripts/fuzz.sh $(FUZZ_TIME)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(B)/libjavm.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libjavm.so $(DESTDIR)$(PREFIX)/lib/libjavm.so.$(VERSION)
	ln -sf libjavm.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libjavm.so
	install -m 644 include/javm.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(B)/javm $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@PRIVATE_LIBS@|$(LIB_LIBS)|g' javm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/javm.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libjavm.a $(DESTDIR)$(PREFIX)/lib/libjavm.so* \
	      $(DESTDIR)$(PREFIX)/include/javm.h $(DESTDIR)$(PREFIX)/bin/javm $(DESTDIR)$(PREFIX)/lib/pkgconfig/javm.pc

clean:
	rm -rf build build-san build-clang build-fuzz build-checked
