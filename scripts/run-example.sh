#!/usr/bin/env bash
# `make run`: assembles examples/sieve.s with the built tool, runs it, and prints its result and
# the run statistics. Works from a fresh clone after `make` (B = the build directory).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
JAVM="$B/javm"
[ -x "$JAVM" ] || { echo "run-example: $JAVM not found; run make first" >&2; exit 1; }
out="$B/examples"
mkdir -p "$out"
"$JAVM" asm examples/sieve.s -o "$out/sieve.pvm"
echo "== examples/sieve.s: primes below 1,000,000 (expected r7 = 78498)"
set +e
"$JAVM" run --map 0x20000:0xF5000:rw "$out/sieve.pvm" >"$out/sieve.txt"
rc=$?
set -e
primes=$(awk '$1 == "r7" { print $4 }' "$out/sieve.txt")
echo "result: $primes primes below 1000000"
echo
echo "run statistics:"
grep -E '^(exit|pc|gas|instructions|wall time|speed|engine|memory):' "$out/sieve.txt" | sed 's/^/  /'
if [ "$rc" != 0 ] || [ "$primes" != 78498 ]; then
  echo "run-example: unexpected result (exit status $rc, r7 = $primes)" >&2
  exit 1
fi
