#!/usr/bin/env bash
# Runs every test program and prints one closing line: "N passed, N failed".
#  - build/tests/test_*  : cmocka programs; their "[  PASSED  ] N" / "[  FAILED  ] N" summaries are added up
#                          (a program that dies without a summary counts as one failure)
#  - tests/*.sh          : shell tests of the tool; one that prints "N passed, N failed" counts those,
#                          otherwise it counts as one test by its exit status
#  - build/fuzz-smoke/*  : bounded fuzz runs; one test each
#  - the conformance vectors through `javm test` (counted per vector)
set -u
B=${B:-build}
VEC=tests/vectors/gp07
export JAVM_BIN="$PWD/$B/javm" B
pass=0; fail=0; failed_names=()
log=$(mktemp); trap 'rm -f "$log"' EXIT

add_counts() { # name, status, logfile
  local name=$1 st=$2 f=$3 line p=0 q=0
  line=$(grep -E '^[A-Za-z-]*:? ?[0-9]+ passed, [0-9]+ failed' "$f" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
    q=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    [ "$st" != 0 ] && [ "$q" = 0 ] && q=1
  elif grep -qE '^\[  PASSED  \]|^\[  FAILED  \] [0-9]+ test' "$f"; then
    p=$(grep -E '^\[  PASSED  \] [0-9]+' "$f" | grep -oE '[0-9]+' | head -1); p=${p:-0}
    q=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$f" | grep -oE '[0-9]+' | head -1); q=${q:-0}
    [ "$st" != 0 ] && [ "$q" = 0 ] && q=1
  else
    if [ "$st" = 0 ]; then p=1; else q=1; fi
  fi
  pass=$((pass + p)); fail=$((fail + q))
  if [ "$q" != 0 ]; then failed_names+=("$name"); echo "FAIL $name ($q failed)"; sed -e 's/^/    /' "$f" | grep -vE '^\s*\[ (RUN|      OK) ' | tail -n 40
  else echo "ok   $name ($p passed)"; fi
}

for t in "$B"/tests/test_*; do
  [ -x "$t" ] || continue
  "$t" >"$log" 2>&1; add_counts "$(basename "$t")" $? "$log"
done
for t in tests/*.sh; do
  [ -f "$t" ] || continue
  bash "$t" >"$log" 2>&1; add_counts "$(basename "$t")" $? "$log"
done
for t in "$B"/fuzz-smoke/*; do
  [ -x "$t" ] || continue
  "$t" -runs="${FUZZ_SMOKE_RUNS:-20000}" >"$log" 2>&1; add_counts "fuzz-smoke/$(basename "$t")" $? "$log"
done
for engine in $("$JAVM_BIN" test --list-engines); do
  "$JAVM_BIN" test --engine "$engine" "$VEC" >"$log" 2>&1; add_counts "vectors ($engine)" $? "$log"
  # category-#3 gas on: same results, and gas left + #3 charges == the expected gas
  "$JAVM_BIN" test --engine "$engine" --mat "$VEC" >"$log" 2>&1; add_counts "vectors ($engine, #3 on)" $? "$log"
done
echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
