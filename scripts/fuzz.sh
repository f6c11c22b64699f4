#!/usr/bin/env bash
# Coverage-guided fuzzing with clang's libFuzzer (+ASan/UBSan). Each fuzz/fuzz_*.c target runs
# for $1 seconds (0 = until stopped, one target at a time: set FUZZ_TARGET=name to pick one).
# Crashes are saved under fuzz/crashes/<target>/ as reproducible inputs.
set -eu
secs=${1:-0}
command -v clang >/dev/null || { echo "fuzz: clang is required (apt-get install clang)" >&2; exit 2; }
B=build-fuzz
mkdir -p $B
srcs=$(ls src/*/*.c | grep -v '^src/cli/')
flags="-std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Isrc $(pkg-config --cflags json-c libcrypto)"
libs="$(pkg-config --libs json-c libcrypto) -lpthread -lm"
for f in fuzz/fuzz_*.c; do
  t=$(basename "$f" .c)
  [ -n "${FUZZ_TARGET:-}" ] && [ "$FUZZ_TARGET" != "$t" ] && continue
  clang $flags -o $B/$t "$f" $srcs $libs
  mkdir -p fuzz/corpus/$t fuzz/crashes/$t
  args="-artifact_prefix=fuzz/crashes/$t/"
  [ "$secs" != 0 ] && args="$args -max_total_time=$secs"
  echo "fuzz: $t"
  $B/$t $args fuzz/corpus/$t $(./scripts/fuzz-seeds.sh $t)   # seed directories, read-only
done
