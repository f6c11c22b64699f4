#!/usr/bin/env bash
# Shell test of `javm cap root` / `javm cap page-hash` against the worked values of
# docs/PAGESTORE.md §4 and §5. Needs $JAVM_BIN (the built tool).
set -u
ERR_PREFIX="javm cap: "
. "$(dirname "$0")/cli_harness.bash"

pat=""; for i in $(seq 0 255); do pat+=$(printf '\\%03o' "$i"); done
printf "$pat" >"$tmp/256.bin"
for i in $(seq 16); do cat "$tmp/256.bin"; done >"$tmp/P.bin"          # byte i = i mod 256
printf hello >"$tmp/hello.txt"
: >"$tmp/empty.bin"
head -c 4096 /dev/zero >"$tmp/zero.bin"
{ cat "$tmp/P.bin"; head -c 4096 /dev/zero; printf hello; } >"$tmp/three.bin"
head -c 4097 /dev/zero >"$tmp/big.bin"
[ "$(wc -c <"$tmp/P.bin")" -eq 4096 ] || { echo "cap_cli.sh: test page generation failed"; exit 1; }

Z7=87eb0ddba57e35f6d286673802a4af5975e22506c7cf4c64bb6be5ee11527f2c
expect_out "page-hash P"      02f1d52bff14b6db28a9d18bb303bcab642420c3bf0bd8d5b18e976683dd402e cap page-hash "$tmp/P.bin"
expect_out "page-hash hello"  c586e42b289729e1b2b732a06a085910c0b19378b66b8dc1bde2cf86b87572a6 cap page-hash "$tmp/hello.txt"
expect_out "page-hash zero"   $Z7 cap page-hash "$tmp/zero.bin"
expect_out "page-hash empty"  $Z7 cap page-hash "$tmp/empty.bin"
expect_out "page-hash stdin"  c586e42b289729e1b2b732a06a085910c0b19378b66b8dc1bde2cf86b87572a6 cap page-hash - <"$tmp/hello.txt"
expect_out "root [Empty]"     ed5f4ed0d6617d50abd49d4c84281e175b48a7e1edf550a89bf2c9b5c4ce01f0 cap root "$tmp/empty.bin"
expect_out "root zero page"   ed5f4ed0d6617d50abd49d4c84281e175b48a7e1edf550a89bf2c9b5c4ce01f0 cap root "$tmp/zero.bin"
expect_out "root [P]"         4dbbac7657adcfce02072ccd682853c0a87b2f49762a17f188964e2a73aebbb5 cap root "$tmp/P.bin"
expect_out "cap-hash [P]"     1833a6f4afde0d3acbb71555bae15f7c158cbb4dd1dc3c989e22ca0ac3e65994 cap root --cap-hash "$tmp/P.bin"
expect_out "root [P, Empty]"  55896b5d8e57ab77483c5590f34142d8d5f1f06130c60a73de8507c0f92a57f3 cap root --size 8192 "$tmp/P.bin"
expect_out "root --size=8000" 55896b5d8e57ab77483c5590f34142d8d5f1f06130c60a73de8507c0f92a57f3 cap root --size=8000 "$tmp/P.bin"
expect_out "root 3 pages"     a6dbf6c2869f7dc2e76c48d4758811435b0561a73252cf991869182cedce624b cap root "$tmp/three.bin"
expect_out "cap-hash 3 pages" 390d096f9cd80cb15a6b4cf04bd44f0f6522d683ec2cecfd0bd7aeaf6fc44f5b cap root "$tmp/three.bin" --cap-hash

# a larger file: every thread count prints the same root (and the stdin path agrees)
{ head -c 100000 /dev/urandom; head -c 8192 /dev/zero; printf tail; head -c 8192 /dev/zero; } >"$tmp/multi.bin"
want=$("$JAVM_BIN" cap root --threads 1 "$tmp/multi.bin")
for t in 2 3 8; do expect_out "root --threads $t" "$want" cap root --threads $t "$tmp/multi.bin"; done
expect_out "root default threads" "$want" cap root "$tmp/multi.bin"
expect_out "root from stdin" "$want" cap root --threads=2 - <"$tmp/multi.bin"
expect_out "root stdin [P]" 4dbbac7657adcfce02072ccd682853c0a87b2f49762a17f188964e2a73aebbb5 cap root - <"$tmp/P.bin"
expect_err "threads zero"       2 cap root --threads 0 "$tmp/P.bin"
expect_err "threads too many"   2 cap root --threads 9 "$tmp/P.bin"
expect_err "threads missing"    2 cap root "$tmp/P.bin" --threads
expect_err "root of a directory" 2 cap root "$tmp"

expect_err "size too small"     2 cap root --size 4095 "$tmp/P.bin"
expect_err "size not a number"  2 cap root --size lots "$tmp/P.bin"
expect_err "size negative"      2 cap root --size -4096 "$tmp/P.bin"
expect_err "size missing value" 2 cap root "$tmp/P.bin" --size
expect_err "missing file"       2 cap root "$tmp/nope.bin"
expect_err "no file"            2 cap root
expect_err "two files"          2 cap root "$tmp/P.bin" "$tmp/P.bin"
expect_err "unknown option"     2 cap root --frobnicate "$tmp/P.bin"
expect_err "page too big"       2 cap page-hash "$tmp/big.bin"
expect_err "page missing file"  2 cap page-hash "$tmp/nope.bin"
expect_err "unknown subcommand" 2 cap frob
expect_err "no subcommand"      2 cap

out=$("$JAVM_BIN" cap --help 2>/dev/null); st=$?
if [ $st -eq 0 ] && grep -q 'javm cap root' <<<"$out"; then ok; else bad "cap --help: status $st"; fi
out=$("$JAVM_BIN" cap root --help 2>/dev/null); st=$?
if [ $st -eq 0 ] && grep -q 'page-hash' <<<"$out"; then ok; else bad "cap root --help: status $st"; fi

finish
