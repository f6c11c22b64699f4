#!/usr/bin/env bash
# The layer rule holds for src/ (scripts/check-layers.sh against scripts/layers.txt), the naming
# rule holds for the built objects (scripts/check-names.sh against scripts/prefixes.txt), and
# both checkers catch a violation planted in a copy.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

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
