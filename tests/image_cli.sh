#!/usr/bin/env bash
# Shell test of `javm image build|info|run` (docs/IMAGE.md): a manifest built into an Image, its
# info, runs on every engine with identical results, the flushed slot root checked against
# `javm cap root` of the expected bytes, and one-line usage errors for bad input. Needs
# $JAVM_BIN (the built tool) and python3.
set -u
ERR_PREFIX="javm image: "
. "$(dirname "$0")/cli_harness.bash"

cd "$tmp"
cat > p.s <<'ASM'
        load_u64 r7, 0x10000000      ; "hello" from the initial slot
        add_imm_64 r7, r7, 1
        store_u64 r7, 0x10000000
        store_u64 r7, 0x10002000     ; past the 8 KiB source: the zero tail
        load_u8 r8, 0x10100000       ; the pinned slot
        jump_ind r0, 0
ASM
"$JAVM_BIN" asm p.s -o p.bin || bad "asm"
printf 'hello' > rw.bin; printf 'pinned' > ro.bin
cat > m.json <<'JSON'
{
  "code": "p.bin",
  "mappings": [
    {"start": "0x10200000", "size": "0x4000"},
    {"start": "0x10000000", "size": 16384, "source": 1},
    {"start": "0x10100000", "size": 4096, "source": 2}
  ],
  "pinned_slots": [{"key": 2, "file": "ro.bin"}],
  "initial_slots": [{"key": 1, "file": "rw.bin", "size": 8192}],
  "endpoints": [{"key": 0, "pc": 0, "regs": {"0": "0xFFFF0000", "1": "0x10204000"}}]
}
JSON
if "$JAVM_BIN" image build m.json -o p.img 2>"$tmp/err" && [ -s p.img ]; then ok; else bad "build: $(cat "$tmp/err")"; fi

info=$("$JAVM_BIN" image info --json p.img) || bad "info --json"
kinds=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(m["kind"] for m in d["mappings"]), d["call_frame_cost"]["total"], d["call_frame_cost"]["call_gate"])' <<<"$info")
[ "$kinds" = "UnpinnedCapCow PinnedCapRo EphemeralZero 1664 1764" ] && ok || bad "info kinds/cost: '$kinds'"
"$JAVM_BIN" image info p.img | grep -q '^call_frame_cost 1664 ' && ok || bad "info text"

# the expected slot content: "iello" (hello + 1) at 0 and at 0x2000 of a 16 KiB cap
python3 -c '
b = bytearray(16384); v = int.from_bytes(b"hello\0\0\0", "little") + 1
b[0:8] = v.to_bytes(8, "little"); b[0x2000:0x2008] = v.to_bytes(8, "little")
open("expect.bin", "wb").write(b)'
want=$("$JAVM_BIN" cap root expect.bin)
first=""
for e in $("$JAVM_BIN" test --list-engines); do
  out=$("$JAVM_BIN" image run --json --engine "$e" p.img) || { bad "run $e"; continue; }
  got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["exit"], d["mat_gas"], d["cow_pages"], d["regs"][8], " ".join("%d:%s" % (s["slot"], s["root"]) for s in d["slots"]))' <<<"$out")
  [ "$got" = "halt 512 2 112 1:$want" ] && ok || bad "run $e: '$got' (want 'halt 512 2 112 1:$want')"
  [ -z "$first" ] && first=$out
  [ "$out" = "$first" ] && ok || bad "run $e differs from the first engine: $out"
done
# the same program in the gp08 dialect with the gp08 gas model: recorded, identical on every engine
"$JAVM_BIN" asm --isa gp08 p.s -o p8.bin || bad "asm gp08"
sed 's/"code": "p.bin",/"code": "p8.bin", "isa": "gp08", "gas_model": "gp08",/' m.json > m8.json
"$JAVM_BIN" image build m8.json -o p8.img && ok || bad "build gp08"
"$JAVM_BIN" image info p8.img | grep -q '(isa gp08, gas model gp08)' && ok || bad "info gp08"
first8=""
for e in $("$JAVM_BIN" test --list-engines); do
  out=$("$JAVM_BIN" image run --json --engine "$e" p8.img) || { bad "run gp08 $e"; continue; }
  [ -z "$first8" ] && first8=$out
  [ "$out" = "$first8" ] && ok || bad "run gp08 $e differs: $out"
done
grep -q '"slots":\[{"slot":1,"root":"'"$want"'"}\]' <<<"$first8" && ok || bad "gp08 slot root: $first8"
printf '{"code": "p.bin", "isa": "gp09"}' > bad6.json
expect_err "bad isa" 2 image build bad6.json -o x.img
"$JAVM_BIN" image run --gas 3 p.img | grep -q '^exit      out-of-gas at pc 0' && ok || bad "run out of gas"

# usage errors: one line, status 2
expect_err "no subcommand" 2 image
expect_err "bad subcommand" 2 image frob
expect_err "missing -o" 2 image build m.json
expect_err "missing manifest" 2 image build nope.json -o x.img
printf '{"code": "p.bin", "colour": 1}' > bad1.json
expect_err "unknown field" 2 image build bad1.json -o x.img
printf '{"code": "p.bin"} junk' > bad2.json
expect_err "trailing junk" 2 image build bad2.json -o x.img
printf '{"code": "p.bin", "initial_slots": [{"key": 1, "size": 8192}], "mappings": [{"start": "0x10000000", "size": 4096, "source": 1}]}' > bad3.json
expect_err "N > S" 2 image build bad3.json -o x.img
printf '{"code": "p.bin", "mappings": [{"start": "0x10000001", "size": 4096}]}' > bad4.json
expect_err "unaligned mapping" 2 image build bad4.json -o x.img
printf '{"code": "nothere.bin"}' > bad5.json
expect_err "missing code file" 2 image build bad5.json -o x.img
head -c 100 p.img > trunc.img
expect_err "truncated image" 2 image info trunc.img
expect_err "run: unknown endpoint" 2 image run --endpoint 9 p.img
expect_err "run: bad engine" 2 image run --engine warp p.img
expect_err "run: bad gas" 2 image run --gas -1 p.img
"$JAVM_BIN" image --help | grep -q '^usage: javm image build' && ok || bad "--help"

finish
