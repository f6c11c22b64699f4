#!/usr/bin/env bash
# Runs every test program and prints one closing line: "N passed, N failed".
#  - build/tests/test_*  : cmocka programs; their "[  PASSED  ] N" / "[  FAILED  ] N" summaries are added up
#                          (a program that dies without a summary counts as one failure)
#  - tests/*.sh          : shell tests of the tool; one that prints "N passed, N failed" counts those,
#                          otherwise it counts as one test by its exit status
#  - build/fuzz-smoke/*  : bounded fuzz runs from the seeds of scripts/fuzz-seeds.sh; one test each
#  - the conformance vectors (gp07 and gp08) through `javm test` on every engine, #3 off and on
#    (counted per vector)
#  - the hardware-paged engines' tests, fuzzers and gp07 vectors again with JAVM_UFFD=0
#  - the jit's tests, differential test and gp07 vectors (#3 on) again with JAVM_AHEAD=0
#  - the Python binding (bindings/python/tests, pytest) against $B/libjavm.so; its conftest prints
#    "python: N passed, N failed". Under SAN=1 the sanitizer runtime is preloaded into python.
set -u
B=${B:-build}
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
  # each target starts from its seed directories in the repository (scripts/fuzz-seeds.sh)
  seeds=(); for d in $(./scripts/fuzz-seeds.sh "$(basename "$t")"); do seeds+=("-seeds=$d"); done
  "$t" -runs="${FUZZ_SMOKE_RUNS:-20000}" "${seeds[@]}" >"$log" 2>&1
  add_counts "fuzz-smoke/$(basename "$t")" $? "$log"
done
# the 307 gp07 vectors (v0.4) and the 356 gp08 vectors (steps, GP 0.8 dialect and gas model,
# block costs compared) on every engine
for engine in $("$JAVM_BIN" test --list-engines); do
  for set in gp07 gp08; do
    isa=(); [ $set = gp08 ] && isa=(--isa gp08 --gas-model gp08)
    "$JAVM_BIN" test --engine "$engine" "${isa[@]}" "tests/vectors/$set" >"$log" 2>&1
    add_counts "vectors $set ($engine)" $? "$log"
    # category-#3 gas on: same results, and gas left + #3 charges == the expected gas
    "$JAVM_BIN" test --engine "$engine" --mat "${isa[@]}" "tests/vectors/$set" >"$log" 2>&1
    add_counts "vectors $set ($engine, #3 on)" $? "$log"
  done
done
# the hardware-paged engines again with armed pages off (JAVM_UFFD=0: the mprotect path of every
# first touch, docs/MEMORY.md MEM-11); where the kernel has no userfaultfd both runs are the same
for t in test_engine test_engine_scenarios test_jit test_diff test_reliability test_pool test_ahead; do
  [ -x "$B/tests/$t" ] || continue
  JAVM_UFFD=0 "$B/tests/$t" >"$log" 2>&1; add_counts "$t (JAVM_UFFD=0)" $? "$log"
done
for t in fuzz_diff fuzz_api fuzz_jit; do
  [ -x "$B/fuzz-smoke/$t" ] || continue
  seeds=(); for d in $(./scripts/fuzz-seeds.sh "$t"); do seeds+=("-seeds=$d"); done
  JAVM_UFFD=0 "$B/fuzz-smoke/$t" -runs="${FUZZ_SMOKE_RUNS:-20000}" "${seeds[@]}" >"$log" 2>&1
  add_counts "fuzz-smoke/$t (JAVM_UFFD=0)" $? "$log"
done
for engine in paged jit; do
  "$JAVM_BIN" test --list-engines | grep -qx "$engine" || continue
  JAVM_UFFD=0 "$JAVM_BIN" test --engine "$engine" --mat tests/vectors/gp07 >"$log" 2>&1
  add_counts "vectors gp07 ($engine, #3 on, JAVM_UFFD=0)" $? "$log"
done
# the jit again with write-ahead batches off (JAVM_AHEAD=0, docs/MEMORY.md MEM-12): every first
# touch through the fault callback
for t in test_jit test_diff test_ahead; do
  [ -x "$B/tests/$t" ] || continue
  JAVM_AHEAD=0 "$B/tests/$t" >"$log" 2>&1; add_counts "$t (JAVM_AHEAD=0)" $? "$log"
done
if "$JAVM_BIN" test --list-engines | grep -qx jit; then
  JAVM_AHEAD=0 "$JAVM_BIN" test --engine jit --mat tests/vectors/gp07 >"$log" 2>&1
  add_counts "vectors gp07 (jit, #3 on, JAVM_AHEAD=0)" $? "$log"
fi
# the first of python3, /usr/bin/python3 that has pytest (scripts/deps.sh installs python3-pytest)
py=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pytest' >/dev/null 2>&1; then py=$p; break; fi
done
if [ -z "$py" ]; then
  echo "no python3 with pytest (install python3-pytest)" >"$log"; add_counts "python binding" 1 "$log"
else
  preload=""
  if [ "${SAN:-0}" = 1 ]; then # an ASan-built libjavm.so needs the runtime loaded first
    for rt in libasan.so libclang_rt.asan-x86_64.so; do
      f=$("${CC:-cc}" -print-file-name="$rt" 2>/dev/null)
      [ -f "$f" ] && { preload=$f; break; }
    done
  fi
  env ${preload:+LD_PRELOAD="$preload"} ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    JAVM_LIBRARY="$PWD/$B/libjavm.so" PYTHONDONTWRITEBYTECODE=1 \
    "$py" -m pytest -q -p no:cacheprovider bindings/python/tests >"$log" 2>&1
  add_counts "python binding" $? "$log"
fi
echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
