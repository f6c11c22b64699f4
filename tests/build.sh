#!/usr/bin/env bash
# Build and structure rules: the library builds without json-c or cmocka; `make clean` runs
# neither the dependency check nor pkg-config; the soname follows the version written in javm.h;
# the layer rule holds for src/ (scripts/check-layers.sh, table scripts/layers.txt) and the
# naming rule for the built objects (scripts/check-names.sh, table scripts/prefixes.txt), and
# both checkers catch a violation planted in a copy.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# A pkg-config that knows neither json-c nor cmocka, and logs every call.
real=$(command -v pkg-config)
mkdir -p "$T/bin"
cat >"$T/bin/pkg-config" <<EOS
#!/bin/sh
echo "\$*" >>"$T/pc.log"
case " \$* " in *" json-c "*|*" cmocka "*) exit 1 ;; esac
exec "$real" "\$@"
EOS
chmod +x "$T/bin/pkg-config"

if PATH="$T/bin:$PATH" make -s B="$T/b" OPT=-O0 -j2 lib >"$T/out" 2>&1 && [ -f "$T/b/libjavm.so" ] && [ -f "$T/b/libjavm.a" ]; then ok
else bad "the library does not build without json-c and cmocka: $(tail -n 5 "$T/out")"; fi
if [ ! -e "$T/b/deps/tool.ok" ] && [ ! -e "$T/b/deps/test.ok" ]; then ok
else bad "building the library checked the tool's or the tests' dependencies"; fi

major=$(sed -n 's/^#define JAVM_VERSION_MAJOR \([0-9]*\)$/\1/p' include/javm.h)
minor=$(sed -n 's/^#define JAVM_VERSION_MINOR \([0-9]*\)$/\1/p' include/javm.h)
if [ "$major" = 0 ]; then want="libjavm.so.0.$minor"; else want="libjavm.so.$major"; fi
got=$(readelf -d "$T/b/libjavm.so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$got" = "$want" ]; then ok; else bad "soname '$got', expected '$want' (docs/API.md)"; fi

if grep -rlE '#include <(json-c/|json\.h|cmocka)' src --include='*.[ch]' | grep -vE '^src/(cli|vector)/' >"$T/out"; then
  bad "library sources include json-c or cmocka: $(cat "$T/out")"
else ok; fi

rm -f "$T/pc.log"
if PATH="$T/bin:$PATH" make -n clean >"$T/out" 2>&1 && ! grep -q 'deps.sh' "$T/out" && [ ! -s "$T/pc.log" ]; then ok
else bad "make clean runs the dependency check or pkg-config: $(cat "$T/out" "$T/pc.log" 2>/dev/null | head -n 5)"; fi

# ---- the layer and naming rules ----
if ./scripts/check-layers.sh >"$T/out" 2>&1; then ok; else bad "src/ breaks the layer rule: $(cat "$T/out")"; fi

mkdir -p "$T/tree/scripts"
cp -r src "$T/tree/src"; cp scripts/layers.txt "$T/tree/scripts/"
echo '#include "api/api.h"' >>"$T/tree/src/util/util.h"
if ./scripts/check-layers.sh "$T/tree" >"$T/out" 2>&1; then bad "an upward include was not caught"
elif grep -q 'layer util includes api' "$T/out"; then ok; else bad "unexpected message: $(cat "$T/out")"; fi

cp src/util/util.h "$T/tree/src/util/util.h"; mkdir -p "$T/tree/src/newlayer"
echo 'int x;' >"$T/tree/src/newlayer/x.c"
if ./scripts/check-layers.sh "$T/tree" >"$T/out" 2>&1; then bad "a layer missing from the table was not caught"
elif grep -q 'src/newlayer/ is not in scripts/layers.txt' "$T/out"; then ok; else bad "unexpected message: $(cat "$T/out")"; fi

B=${B:-build}
if ./scripts/check-names.sh "$B/obj" >"$T/out" 2>&1; then ok; else bad "symbol names break the prefix rule: $(cat "$T/out")"; fi
mkdir -p "$T/obj/src/mem"
printf 'int jv_mem_fine(void);\nint jv_mem_fine(void) { return 1; }\nint stray_helper(void);\nint stray_helper(void) { return 2; }\n' >"$T/x.c"
if cc -c "$T/x.c" -o "$T/obj/src/mem/x.o" 2>"$T/out"; then
  if ./scripts/check-names.sh "$T/obj" >"$T/out" 2>&1; then bad "a stray external symbol was not caught"
  elif grep -q "'stray_helper' has none of the prefixes of layer mem" "$T/out" && ! grep -q jv_mem_fine "$T/out"; then ok
  else bad "unexpected message: $(cat "$T/out")"; fi
else bad "cannot compile the planted object: $(cat "$T/out")"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
