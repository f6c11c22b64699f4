#!/usr/bin/env bash
# Runs every benchmark program (build/bench/bench_*) and any bench/*.sh script, in one invocation,
# so ratios printed by one program are measured in one run. Figures go to docs/BENCHMARKS.md by hand.
set -u
B=${B:-build}
export JAVM_BIN="$PWD/$B/javm" B
st=0
for b in "$B"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" || st=1
done
for s in bench/*.sh; do
  [ -f "$s" ] || continue
  echo "== $(basename "$s")"
  bash "$s" || st=1
done
exit $st
