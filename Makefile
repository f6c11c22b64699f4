# javm build. GNU Make; sources are discovered by convention so adding a file needs no edit:
#   src/<layer>/*.c      -> libjavm.a / libjavm.so   (every layer except cli)
#   src/cli/*.c          -> the javm tool
#   tests/test_*.c       -> one cmocka program each, run by `make test`
#   tests/*.sh           -> shell tests of the tool, run by `make test`
#   bench/bench_*.c      -> one benchmark program each, run by `make bench`
#   fuzz/fuzz_*.c        -> libFuzzer targets (`make fuzz`); a bounded run is part of `make test`
# V=1 shows full command lines. SAN=1 builds everything with ASan+UBSan into build-san/. CC=clang works too.

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

DEPS_OK := $(shell ./scripts/deps.sh >&2 && echo yes)
ifneq ($(DEPS_OK),yes)
$(error build dependencies are missing (see the message above))
endif

PKGS     := json-c libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka)

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?=
BASEFLAGS := -std=gnu11 $(OPT) $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE \
            -Iinclude -Isrc $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
# libjavm itself needs only libcrypto; the tool, tests and benches also use json-c.
LIB_LIBS := $(shell pkg-config --libs libcrypto) -lpthread -lm
LDLIBS  := $(PKG_LIBS) -lpthread -lm
LDFLAGS ?=

LIB_SRC   := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))
HDRS      := $(wildcard include/*.h src/*/*.h src/*/*.def)

LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/obj/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(B)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
FUZZ_SMOKE:= $(FUZZ_SRC:fuzz/%.c=$(B)/fuzz-smoke/%)

.PHONY: all lib tool tests benches test run bench fuzz fuzz-smoke install uninstall clean examples
all: lib tool
lib: $(B)/libjavm.a $(B)/libjavm.so
tool: $(B)/javm

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASEFLAGS) -c $< -o $@

$(B)/libjavm.a: $(LIB_OBJ)
	@mkdir -p $(B)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/libjavm.so: $(LIB_OBJ)
	$(Q)$(CC) -shared $(SANFLAGS) $(LDFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LIB_LIBS)

$(B)/javm: $(CLI_OBJ) $(B)/libjavm.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libjavm.a $(LDLIBS)

# Tests see internal headers and link the static library (internal symbols included).
$(B)/tests/%: tests/%.c $(B)/libjavm.a $(HDRS) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(BASEFLAGS) $(CMOCKA_CFLAGS) -Itests -DJAVM_VECTOR_DIR='"tests/vectors"' -o $@ $< $(B)/libjavm.a $(CMOCKA_LIBS) $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libjavm.a $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(BASEFLAGS) -Ibench -o $@ $< $(B)/libjavm.a $(LDLIBS)

# Bounded fuzz runs without libFuzzer: the target plus a driver feeding seeded random inputs.
$(B)/fuzz-smoke/%: fuzz/%.c fuzz/driver.c $(B)/libjavm.a $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(BASEFLAGS) -o $@ $< fuzz/driver.c $(B)/libjavm.a $(LDLIBS)

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
	rm -rf build build-san build-clang build-fuzz
