#!/usr/bin/env bash
# Shell tests of the javm tool: help and version, usage errors (exit 2 + one line on stderr),
# run --json / --trace / --spi on vectors and containers, the examples' documented results, the
# asm/disasm round trip through files, and the embedding example of docs/API.md.
# Env: JAVM_BIN (default build/javm), B (build dir, default build).
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
JAVM=${JAVM_BIN:-$B/javm}
VEC=tests/vectors/gp07
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # name, condition command...
    local name=$1
    shift
    if "$@"; then ok; else bad "$name"; fi
}

# usage_error NAME ARGS... : exit status 2 and exactly one line on stderr naming javm
usage_error() {
    local name=$1
    shift
    "$JAVM" "$@" >"$T/out" 2>"$T/err"
    local st=$?
    local lines
    lines=$(wc -l <"$T/err")
    if [ "$st" = 2 ] && [ "$lines" = 1 ] && grep -q '^javm' "$T/err"; then ok; else
        bad "$name: status $st, $lines stderr lines: $(head -c 300 "$T/err")"
    fi
}

# ---- help and version ---------------------------------------------------------------------
for args in "--help" "run --help" "test --help" "disasm --help" "asm --help"; do
    # shellcheck disable=SC2086
    if "$JAVM" $args >"$T/out" 2>"$T/err" && grep -q '^usage: javm' "$T/out" && [ ! -s "$T/err" ]; then ok
    else bad "javm $args prints usage on stdout and exits 0"; fi
done
check "javm help run = javm run --help" bash -c "'$JAVM' help run | grep -q '^usage: javm run'"
usage_error "javm help of an unknown command" help frobnicate
check "--version" bash -c "'$JAVM' --version | grep -qE '^javm [0-9]+\.[0-9]+\.[0-9]+'"

# ---- usage errors ---------------------------------------------------------------------------
"$JAVM" >/dev/null 2>&1; check "no command: exit 2" [ $? = 2 ]
usage_error "unknown command" frobnicate
usage_error "unknown top-level option" --bogus
check "an unknown top-level option is called an option" grep -q "unknown option '--bogus'" "$T/err"
usage_error "run unknown option" run --bogus "$VEC/inst_add_32.json"
usage_error "asm unknown option" asm --bogus x.s
usage_error "disasm unknown option" disasm --bogus x.bin
usage_error "test unknown option" test --bogus "$VEC"
usage_error "run missing file" run "$T/missing.bin"
usage_error "asm missing file" asm "$T/missing.s" -o "$T/x.bin"
usage_error "disasm missing file" disasm "$T/missing.bin"
usage_error "run no file" run
usage_error "run --cow-cost negative" run --cow-cost " -5" "$VEC/inst_add_32.json"
usage_error "run --cow-cost above 2^40" run --cow-cost 99999999999999 "$VEC/inst_add_32.json"
usage_error "test --cow-cost negative" test --cow-cost " -5" "$VEC/inst_add_32.json"
usage_error "test --cow-cost above 2^40" test --cow-cost 1099511627777 "$VEC/inst_add_32.json"
mkdir -p "$T/novectors"
usage_error "test of a directory without vectors" test "$T/novectors"
printf '{"name": "x",' >"$T/trunc.json"
"$JAVM" test "$T/trunc.json" >"$T/out" 2>&1
check "a truncated vector is named and explained" grep -q 'trunc.json: invalid JSON: unexpected end of file' "$T/out"
usage_error "asm no output" asm examples/sieve.s
usage_error "asm empty --output=" asm --output= examples/sieve.s
usage_error "asm empty -o" asm -o "" examples/sieve.s
usage_error "disasm empty --output=" disasm --output= "$T/x.bin"
usage_error "run bad --gas" run --gas 12abc "$VEC/inst_add_32.json"
usage_error "run negative --gas" run --gas -5 "$VEC/inst_add_32.json"
usage_error "run bad --pc" run --pc 0x1_0000_0000 "$VEC/inst_add_32.json"
usage_error "run bad --reg index" run --reg 13=1 "$VEC/inst_add_32.json"
usage_error "run bad --reg value" run --reg 7=zz "$VEC/inst_add_32.json"
usage_error "run bad --reg form" run --reg 7 "$VEC/inst_add_32.json"
usage_error "run bad --map length" run --map 0x20000:abc:rw "$VEC/inst_add_32.json"
usage_error "run bad --map access" run --map 0x20000:4096:x "$VEC/inst_add_32.json"
usage_error "run unaligned --map" run --map 0x20001:4096:rw "$VEC/inst_add_32.json"
usage_error "run bad --cow-cost" run --cow-cost 1e3 "$VEC/inst_add_32.json"
usage_error "run unknown engine" run --engine turbo "$VEC/inst_add_32.json"
usage_error "run --args without --spi" run --args 00 "$VEC/inst_add_32.json"
usage_error "run bad --args hex" run --spi --args 0g "$VEC/inst_add_32.json"
usage_error "run option without value" run "$VEC/inst_add_32.json" --gas

# ---- run --json on vectors --------------------------------------------------------------------
json_has() { # name, file, extra args, strings...
    local name=$1 file=$2 extra=$3
    shift 3
    # shellcheck disable=SC2086
    "$JAVM" run --json $extra "$file" >"$T/json" 2>"$T/err"
    local s
    for s in "$@"; do
        if ! grep -qF -- "$s" "$T/json"; then bad "$name: missing $s in $(head -c 300 "$T/json")"; return; fi
    done
    if [ "$(wc -l <"$T/json")" != 1 ]; then bad "$name: not one JSON line"; return; fi
    ok
}
json_has "add_32 panics at the implicit trap" "$VEC/inst_add_32.json" "" \
    '"status":"panic"' '"pc":3,' '"gas":9998,' '"gas_used":2,' '"regs":[0,0,0,0,0,0,0,1,2,3,0,0,0]' '"instructions":2'
json_has "store straddling into an unmapped page faults" "$VEC/inst_store_imm_indirect_u16_with_offset_nok.json" "" \
    '"status":"page-fault"' '"fault_address":135168' '"gas_used":2' '"memory":[]'
json_has "ret halts" "$VEC/inst_ret_halt.json" "" '"status":"halt"' '"pc":0,'
json_has "--gas overrides the vector" "$VEC/inst_add_32.json" "--gas 1" '"status":"out-of-gas"' '"pc":0,' '"gas":1,'
json_has "--reg overrides the vector" "$VEC/inst_add_32.json" "--reg 8=40" '"regs":[0,0,0,0,0,0,0,1,40,41,0,0,0]'
json_has "memory dump has the stored page" "$VEC/inst_store_u8.json" "" '"memory":[{"address":131072,"contents":"'
json_has "riscv vector halts at pc 11" "$VEC/riscv_rv64ui_add.json" "" '"status":"halt"' '"pc":11,' '"instructions":410'
if "$JAVM" run --engine paged --json "$VEC/inst_add_32.json" >/dev/null 2>"$T/err" || ! grep -q 'not available' "$T/err"; then
    json_has "paged engine gives the same result" "$VEC/inst_add_32.json" "--engine paged" '"status":"panic"' '"pc":3,' '"gas":9998,'
fi

# a vector whose program does not decode panics at its initial pc with its initial state
awk 'BEGIN { skip = 0 } /"program": \[/ { print "  \"program\": [0, 0, 5, 1],"; skip = 1; next }
     skip && /\]/ { skip = 0; next } !skip { print }' "$VEC/inst_load_u8.json" >"$T/badprog.json"
json_has "undecodable vector program panics at start" "$T/badprog.json" "" '"status":"panic"' '"pc":0,' \
    '"gas":10000,' '"instructions":0' '"memory":[{"address":131072,"contents":"12345678000'

# host call: stop and report
printf 'ecalli 77\ntrap\n' >"$T/host.s"
"$JAVM" asm "$T/host.s" -o "$T/host.pvm"
json_has "host call stops the run" "$T/host.pvm" "--gas 100" '"status":"host-call"' '"host_call":77' '"pc":0,' '"next_pc":2'

# host call: which one, and the argument registers the host reads (r7..r12)
printf 'load_imm r7, 11\nload_imm r12, 66\necalli 5\ntrap\n' >"$T/host5.s"
"$JAVM" asm "$T/host5.s" -o "$T/host5.pvm"
json_has "host call reports its argument registers" "$T/host5.pvm" "--gas 100" '"host_call":5' '"host_args":[11,0,0,0,0,66]'
"$JAVM" run --gas 100 "$T/host5.pvm" >"$T/out" 2>&1
check "human output names the host call and its registers" grep -qE '^host call: +id 5; .*r7=0xb r8=0x0 r9=0x0 r10=0x0 r11=0x0 r12=0x42$' "$T/out"

# ---- the vector reader (src/vector, docs/VECTORS.md) ----------------------------------------
# initial state only: run prints the outcome (no "expected-status: missing")
printf '{"name": "init", "program": [0, 0, 3, 51, 7, 4, 1], "initial-gas": 50,\n "initial-regs": [0,0,0,0,0,0,0,0,9,0,0,0,0]}\n' >"$T/init_only.json"
json_has "an initial-state-only vector runs" "$T/init_only.json" "" '"status":"panic"' '"gas":48,' '"regs":[0,0,0,0,0,0,0,4,9,0,0,0,0]'
printf '{"program": [0, 0, 3, 51, 7, 4, 1]}\n' >"$T/hand.json"
json_has "a hand-written vector needs only a program" "$T/hand.json" "" '"status":"panic"' '"gas_used":2,' '"regs":[0,0,0,0,0,0,0,4,0,0,0,0,0]'

vector_err() { # name, file, expected message part: javm run and javm test refuse it, naming it
    local name=$1 file=$2 want=$3
    "$JAVM" run "$file" >"$T/out" 2>"$T/err"
    local st=$?
    if [ "$st" = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -qF -- "$want" "$T/err"; then ok; else
        bad "run: $name: status $st: $(head -c 300 "$T/err")"; fi
    "$JAVM" test "$file" >"$T/out" 2>&1
    st=$?
    if [ "$st" = 1 ] && grep -qF -- "$want" "$T/out" && grep -q '^0 passed, 1 failed' "$T/out"; then ok; else
        bad "test: $name: status $st: $(head -c 300 "$T/out")"; fi
}
# out-of-range integers are rejected with the field's name (json-c clamps them)
sed -e '0,/"initial-regs": \[/{n;s/^\( *\)0,/\118446744073709551616,/}' "$VEC/inst_add_32.json" >"$T/r2p64.json"
vector_err "a register of 2^64" "$T/r2p64.json" "initial-regs[0]: 18446744073709551616 is out of the 64-bit integer range"
sed -e 's/"initial-gas": *[0-9]*/"initial-gas": -18446744073709551616/' "$VEC/inst_add_32.json" >"$T/gasneg.json"
vector_err "initial-gas of -2^64" "$T/gasneg.json" "initial-gas: -18446744073709551616 is out of the 64-bit integer range"
sed -e '0,/"initial-regs": \[/{n;s/^\( *\)0,/\11e30,/}' "$VEC/inst_add_32.json" >"$T/r1e30.json"
vector_err "a register of 1e30" "$T/r1e30.json" "initial-regs[0]: not an integer"
sed -e 's/"expected-gas": *[0-9]*/"expected-gas": 9223372036854775808/' "$VEC/inst_add_32.json" >"$T/gasbig.json"
vector_err "expected-gas past 2^63-1" "$T/gasbig.json" "expected-gas: exceeds the signed 64-bit range"
# a UTF-8 byte-order mark is ignored; a top-level array is named
{ printf '\xef\xbb\xbf'; cat "$VEC/inst_add_32.json"; } >"$T/bom.json"
json_has "a vector with a UTF-8 byte-order mark runs" "$T/bom.json" "" '"status":"panic"' '"pc":3,'
check "javm test reads a vector with a byte-order mark" bash -c "'$JAVM' test '$T/bom.json' | grep -q '^1 passed, 0 failed'"
printf '[{"program": [0, 0, 0]}]\n' >"$T/array.json"
vector_err "a top-level array" "$T/array.json" "the top level is a JSON array; a vector is one JSON object per file"
check "a top-level array is not called a malformed blob" bash -c "! '$JAVM' run '$T/array.json' 2>&1 | grep -q 'malformed program blob'"
sed -e 's/"initial-regs"/"initial_regz"/' "$VEC/inst_add_32.json" >"$T/typo.json"
vector_err "a misspelt field" "$T/typo.json" "top level: unknown field 'initial_regz'"

# inputs: devices and pipes are refused before reading, files above the documented cap too
for cmd in "run" "test" "disasm" "cap root"; do
    # shellcheck disable=SC2086
    usage_error "$cmd /dev/zero" $cmd /dev/zero
    check "$cmd /dev/zero: not a regular file" grep -q "/dev/zero: not a regular file" "$T/err"
done
usage_error "asm /dev/zero" asm /dev/zero -o "$T/zero.bin"
mkfifo "$T/fifo"
timeout 10 "$JAVM" run "$T/fifo" >"$T/out" 2>"$T/err"
st=$?
check "run of a FIFO is refused at once, not read (status $st)" bash -c "[ $st = 2 ] && grep -q 'fifo: not a regular file' '$T/err'"
rm -f "$T/fifo"
truncate -s $((128 * 1024 * 1024 + 1)) "$T/huge.bin"
usage_error "run of a file past the input cap" run "$T/huge.bin"
check "the input cap is named" grep -q "huge.bin: 134217729 bytes is larger than the 134217728-byte input limit" "$T/err"
cp --sparse=always "$T/huge.bin" "$T/huge.json"
"$JAVM" test "$T/huge.json" >"$T/out" 2>&1
check "javm test refuses a file past the input cap" bash -c "grep -q 'larger than the 134217728-byte input limit' '$T/out' && grep -q '^0 passed, 1 failed' '$T/out'"
rm -f "$T/huge.bin" "$T/huge.json"
head -c 300000 /dev/zero | "$JAVM" run - >"$T/out" 2>"$T/err"
check "standard input is still read (a pipe)" grep -q "malformed program blob" "$T/err"

# steps: several run/assert pairs (a page fault, more memory mapped, the run resumed without
# paying the block again), block costs compared, differences named per assert.
# The program: store_imm_ind_u8 r7, 1, 2; trap
cat >"$T/multi.json" <<'JSON'
{"name": "multi", "initial-pc": 0, "initial-gas": 100,
 "program": [0, 0, 5, 70, 23, 1, 2, 0, 17],
 "steps": [
  {"kind": "set-reg", "reg": 7, "value": 131072},
  {"kind": "run"},
  {"kind": "assert", "status": "page-fault", "gas": 98, "pc": 0, "regs": [0,0,0,0,0,0,0,131072,0,0,0,0,0],
   "memory": [], "page_fault_address": 131072},
  {"kind": "map", "address": 131072, "length": 4096, "is_writable": true},
  {"kind": "run"},
  {"kind": "assert", "status": "panic", "gas": 98, "pc": 4, "regs": [0,0,0,0,0,0,0,131072,0,0,0,0,0],
   "memory": [{"address": 131073, "contents": [2]}]}],
 "block-gas-costs": {"0": 2}}
JSON
"$JAVM" test "$T/multi.json" >"$T/out" 2>&1
check "steps: a page fault, a map, the run resumed (no second charge)" grep -q '^1 passed, 0 failed' "$T/out"
sed -e 's/"0": 2/"0": 3, "4": 1/' -e 's/"gas": 98, "pc": 4/"gas": 97, "pc": 4/' "$T/multi.json" >"$T/multi_bad.json"
"$JAVM" test "$T/multi_bad.json" >"$T/out" 2>&1
check "steps: differences per assert and per block" bash -c "grep -q '^FAIL multi (3 differences)' '$T/out' && grep -qF 'assert 2 of 2 (steps[5] (assert)):' '$T/out' && grep -q '  gas: expected 97, got 98' '$T/out' && grep -q 'block at pc 0: expected cost 3, got 2' '$T/out' && grep -q 'block at pc 4: expected cost 1, but it is not a block start' '$T/out'"
json_has "javm run runs every run of a steps vector" "$T/multi.json" "" '"status":"panic"' '"pc":4,' '"gas":98,' '"memory":[{"address":131072,"contents":"0002'
cat >"$T/multi_v05.json" <<'JSON'
{"name": "multi", "initial-pc": 0, "initial-gas": 100,
 "program": [0, 0, 5, 70, 23, 1, 2, 0, 17],
 "steps": [
  {"set-reg": {"reg": 7, "value": 131072}},
  {"run": {}},
  {"assert": {"status": "page-fault", "gas": 98, "pc": 0, "regs": [0,0,0,0,0,0,0,131072,0,0,0,0,0],
   "memory": [], "page-fault-address": 131072}},
  {"map": {"address": 131072, "length": 4096, "is-writable": true}},
  {"run": {}},
  {"assert": {"status": "panic", "gas": 98, "pc": 4, "regs": [0,0,0,0,0,0,0,131072,0,0,0,0,0],
   "memory": [{"address": 131073, "contents": [2]}]}}],
 "block-gas-costs": [{"pc": 0, "cost": 2}]}
JSON
"$JAVM" test "$T/multi_v05.json" >"$T/out" 2>&1
check "v0.5: steps keyed by kind, block-gas-costs as a list" grep -q '^1 passed, 0 failed' "$T/out"

if command -v python3 >/dev/null; then
    # an undecodable program with a 1 GiB page map and 160000 initial bytes (on 40 pages):
    # linear (it took pages x bytes: about a minute; now a second or two), each page once
    # although two page-map entries overlap
    python3 - "$T/big_unloadable.json" <<'PY'
import json, sys
mem = [{"address": 0x10000 + i, "contents": [1 + i % 200]} for i in range(160000)]
json.dump({"name": "big", "program": [0, 0, 5, 1], "initial-gas": 7, "initial-pc": 0, "initial-regs": [0] * 13,
           "initial-page-map": [{"address": 0x10000, "length": 2**30, "is-writable": True},
                                {"address": 0x10000, "length": 8192, "is-writable": False}],
           "initial-memory": mem, "expected-status": "panic", "expected-regs": [0] * 13, "expected-pc": 0,
           "expected-gas": 7, "expected-memory": []}, open(sys.argv[1], "w"))
PY
    timeout 30 "$JAVM" run --json "$T/big_unloadable.json" >"$T/json" 2>"$T/err"
    st=$?
    check "undecodable vector with a 1 GiB map: runs (status $st)" [ "$st" = 1 ]
    check "every written page printed once" bash -c "[ \$(grep -o '\"address\":' '$T/json' | wc -l) = 40 ]"
    python3 -c "
import json, sys
d = json.load(open(sys.argv[1])); d['initial-page-map'][1]['address'] = 0x10001
json.dump(d, open(sys.argv[2], 'w'))" "$T/big_unloadable.json" "$T/unaligned.json"
    vector_err "an unaligned page map of an undecodable program" "$T/unaligned.json" "initial-page-map[1]: address or size is not page-aligned"

    # the 307 vectors in the steps format and in the v0.5 variant pass as they do in v0.4
    mkdir -p "$T/steps" "$T/v05"
    python3 - "$VEC" "$T/steps" "$T/v05" <<'PY'
import json, os, sys
src, out_steps, out_v05 = sys.argv[1:]
for f in sorted(os.listdir(src)):
    if not f.endswith(".json"): continue
    d = json.load(open(os.path.join(src, f)))
    steps = [{"kind": "set-reg", "reg": i, "value": v} for i, v in enumerate(d["initial-regs"]) if v]
    steps += [{"kind": "map", "address": m["address"], "length": m["length"], "is_writable": m["is-writable"]}
              for m in d["initial-page-map"]]
    steps += [{"kind": "write", "address": m["address"], "contents": m["contents"]} for m in d["initial-memory"]]
    steps.append({"kind": "run"})
    a = {"kind": "assert", "status": d["expected-status"], "gas": d["expected-gas"], "pc": d["expected-pc"],
         "regs": d["expected-regs"], "memory": d["expected-memory"]}
    if "expected-page-fault-address" in d: a["page_fault_address"] = d["expected-page-fault-address"]
    steps.append(a)
    top = {"name": d["name"], "initial-pc": d["initial-pc"], "initial-gas": d["initial-gas"], "program": d["program"]}
    json.dump(dict(top, steps=steps), open(os.path.join(out_steps, f), "w"))
    keyed = []
    for s in steps:
        s = dict(s); k = s.pop("kind")
        if "is_writable" in s: s["is-writable"] = s.pop("is_writable")
        keyed.append({k: s})
    json.dump(dict(top, steps=keyed), open(os.path.join(out_v05, f), "w"))
PY
    check "the gp07 vectors pass in the steps format" bash -c "'$JAVM' test -q '$T/steps' | tail -n 1 | grep -q '^307 passed, 0 failed'"
    check "the gp07 vectors pass in the v0.5 format" bash -c "'$JAVM' test -q '$T/v05' | tail -n 1 | grep -q '^307 passed, 0 failed'"
    if "$JAVM" test --list-engines | grep -q paged; then
        check "the paged engine passes the v0.5 set" bash -c "'$JAVM' test --engine paged -q '$T/v05' | tail -n 1 | grep -q '^307 passed, 0 failed'"
    fi
fi

# human output and exit status
"$JAVM" run "$VEC/inst_add_32.json" >"$T/out" 2>&1
st=$?
check "human output of a panic (exit 1)" bash -c "[ $st = 1 ] && grep -q '^exit: *panic' '$T/out' && grep -q '^gas: *2 used, 9998 left' '$T/out' && grep -q '^instructions: *2' '$T/out' && grep -q 'instructions/s' '$T/out' && grep -q '^wall time' '$T/out'"

# --trace: one line per instruction, with the changed registers
"$JAVM" run --trace "$VEC/inst_branch_eq_ok.json" >"$T/trace" 2>&1
check "trace lines" bash -c "[ \$(grep -cE '^ +[0-9]+  [a-z]' '$T/trace') = 5 ] && grep -qE '^ +0  load_imm r7, 1234 +gas [0-9]+  r7=0x4d2' '$T/trace'"
"$JAVM" run --trace --json "$VEC/inst_branch_eq_ok.json" >"$T/json" 2>"$T/trace"
check "trace goes to stderr with --json" bash -c "[ \$(wc -l <'$T/json') = 1 ] && grep -q 'branch_eq r7, r8, 12' '$T/trace'"

# --spi: a standard container whose code reads the first argument byte and halts via r0
printf 'load_ind_u8 r9, r7, 0\njump_ind r0, 0\n' >"$T/spi.s"
"$JAVM" asm "$T/spi.s" -o "$T/spi.code"
n=$(stat -c %s "$T/spi.code")
{ printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00'; printf "\\x$(printf %02x "$n")\\x00\\x00\\x00"; cat "$T/spi.code"; } >"$T/spi.pvm"
json_has "--spi --args lays out memory and registers" "$T/spi.pvm" "--spi --args 2a07" '"status":"halt"' \
    '"regs":[4294901760,4278059008,0,0,0,0,0,4278124544,2,42,0,0,0]'
# --spi: a JAM service blob, E(|m|) ++ m ++ the same container (12 bytes of metadata)
{ printf '\x0chello v1 \x01\\z'; cat "$T/spi.pvm"; } >"$T/service.pvm"
json_has "--spi runs a metadata-prefixed service blob" "$T/service.pvm" "--spi --args 2a07" '"status":"halt"' \
    '"regs":[4294901760,4278059008,0,0,0,0,0,4278124544,2,42,0,0,0]'
"$JAVM" disasm --spi "$T/service.pvm" >"$T/out" 2>&1
check "disasm --spi shows the service metadata" bash -c "grep -qF '; service blob: 12 bytes of metadata, then the standard container' '$T/out' && grep -qxF '; hello v1 \\x01\\x5cz' '$T/out' && grep -q 'load_ind_u8 r9, r7, 0' '$T/out'"
{ printf '\x30hello'; cat "$T/spi.pvm"; } >"$T/service_bad.pvm"
"$JAVM" run --spi "$T/service_bad.pvm" >"$T/out" 2>"$T/err"
st=$?
check "a metadata length past the end is refused, one line naming it" bash -c "[ $st = 1 ] && [ \$(wc -l <'$T/err') = 1 ] && grep -q 'service blob: metadata of 48 bytes runs past the end' '$T/err'"
"$JAVM" disasm --spi "$T/service_bad.pvm" >"$T/out" 2>"$T/err"
st=$?
check "disasm --spi refuses it too" bash -c "[ $st = 1 ] && grep -q 'runs past the end' '$T/err'"

# ---- vector loading: one JSON value per file (trailing data is malformed input) ----------------
{ cat "$VEC/inst_add_32.json"; printf '\n  \n'; } >"$T/ws.json"
{ cat "$VEC/inst_add_32.json"; printf ' garbage'; } >"$T/trail.json"
"$JAVM" test "$T/ws.json" >"$T/out" 2>&1
check "test accepts trailing whitespace after the vector" [ $? = 0 ]
"$JAVM" test "$T/trail.json" >"$T/out" 2>&1
st=$?
check "test rejects trailing data after the vector" bash -c "[ $st = 1 ] && grep -q 'trailing data' '$T/out'"
"$JAVM" disasm "$T/ws.json" >"$T/out" 2>&1
check "disasm accepts trailing whitespace after the vector" [ $? = 0 ]
"$JAVM" disasm "$T/trail.json" >"$T/out" 2>"$T/err"
st=$?
check "disasm rejects trailing data after the vector" bash -c "[ $st = 1 ] && grep -q 'trailing data' '$T/err' && [ \$(wc -l <'$T/err') = 1 ]"

# ---- asm / disasm -----------------------------------------------------------------------------
printf 'trap\n\n  add_64 r1, r2\n' >"$T/bad.s"
"$JAVM" asm "$T/bad.s" -o "$T/bad.pvm" 2>"$T/err"
st=$?
check "asm error: exit 1, file:line" bash -c "[ $st = 1 ] && grep -q 'bad.s:3: expected' '$T/err' && [ \$(wc -l <'$T/err') = 1 ]"

printf 'jump x\nload_imm r1, 1\nx: trap\n' >"$T/warn.s"
"$JAVM" asm "$T/warn.s" -o "$T/warn.pvm" 2>"$T/err"
st=$?
check "asm warns about a jump to a non-block start" bash -c "[ $st = 0 ] && grep -q 'warn.s:1: warning: .x. is not the start of a basic block' '$T/err'"

# round trip through files: every vector, and every example
rt_fail=0
for v in "$VEC"/*.json; do
    "$JAVM" disasm "$v" -o "$T/a.s" && "$JAVM" asm "$T/a.s" -o "$T/a.pvm" &&
        "$JAVM" disasm "$T/a.pvm" -o "$T/b.s" && cmp -s "$T/a.s" "$T/b.s" || { rt_fail=$((rt_fail + 1)); echo "round trip: $v"; }
done
check "disasm -> asm -> disasm is stable for every vector" [ "$rt_fail" = 0 ]
for s in examples/*.s; do
    if "$JAVM" asm "$s" -o "$T/e1.pvm" && "$JAVM" disasm --no-comments "$T/e1.pvm" -o "$T/e.s" &&
        "$JAVM" asm "$T/e.s" -o "$T/e2.pvm" && cmp -s "$T/e1.pvm" "$T/e2.pvm"; then ok
    else bad "asm(disasm(asm $s)) == asm $s"; fi
done
# a raw blob may start with '{' (123 jump-table entries): it is a blob, not JSON
{ printf '.jumptable a'; for _ in $(seq 122); do printf ', a'; done; printf '\na: jump_ind r12, 0\n'; } >"$T/jt123.s"
"$JAVM" asm "$T/jt123.s" -o "$T/jt123.pvm"
check "a blob with 123 jump-table entries starts with '{'" bash -c "[ \"\$(head -c 1 '$T/jt123.pvm')\" = '{' ]"
check "disasm of a blob starting with '{' round-trips" bash -c "'$JAVM' disasm '$T/jt123.pvm' -o '$T/jt123b.s' && '$JAVM' asm '$T/jt123b.s' -o '$T/jt123b.pvm' && cmp -s '$T/jt123.pvm' '$T/jt123b.pvm'"
json_has "run of a blob starting with '{'" "$T/jt123.pvm" "--reg 12=0xFFFF0000" '"status":"halt"'
check "disasm writes to stdout" bash -c "'$JAVM' disasm '$VEC/inst_add_32.json' | grep -q 'add_32 r9, r7, r8'"

# dialects: --isa on asm, disasm and run; --gas-model on run
printf 'load_imm r1, 3\nunlikely\ncount_set_bits_64 r2, r1\nload_imm_64 r0, 0xFFFF0000\njump_ind r0, 0\n' >"$T/g8.s"
check "asm --isa gp08 assembles unlikely" "$JAVM" asm --isa gp08 "$T/g8.s" -o "$T/g8.pvm"
check "asm (gp07) refuses unlikely by name" bash -c "'$JAVM' asm '$T/g8.s' -o '$T/g7.pvm' 2>&1 | grep -q \"'unlikely' does not exist in gp07\""
check "disasm --isa gp08 round-trips" bash -c "'$JAVM' disasm --isa gp08 '$T/g8.pvm' -o '$T/g8b.s' && '$JAVM' asm --isa gp08 '$T/g8b.s' -o '$T/g8b.pvm' && cmp -s '$T/g8.pvm' '$T/g8b.pvm'"
check "disasm in gp07 reads the same bytes differently" bash -c "'$JAVM' disasm '$T/g8.pvm' | grep -q 'sbrk r2, r1'"
json_has "run --isa gp08 executes count_set_bits_64" "$T/g8.pvm" "--isa gp08" '"status":"halt"' '"regs":[4294901760,3,2,'
json_has "run charges one gas per instruction by default" "$T/g8.pvm" "--isa gp08" '"gas_used":5,'
json_has "run --gas-model gp08 charges the pipeline model (unlikely: 40)" "$T/g8.pvm" "--isa gp08 --gas-model gp08" '"status":"halt"' '"gas_used":40,'
check "an unknown --isa is a usage error" bash -c "'$JAVM' run --isa gp09 '$T/g8.pvm' 2>&1 | grep -q 'expected gp07 or gp08'"

# javm gas: block costs and the gp08 cycle chart
G8=tests/vectors/gp08
check "gas lists every block with its cost" bash -c "'$JAVM' gas --isa gp08 --gas-model gp08 '$G8/gas_complex_1.json' | grep -qE '^0 +28$'"
check "gas --json" bash -c "[ \"\$('$JAVM' gas --isa gp08 --gas-model gp08 --json '$G8/inst_fallthrough.json')\" = '{\"blocks\": [{\"pc\": 0, \"cost\": 2}, {\"pc\": 1, \"cost\": 2}]}' ]"
check "gas --trace prints the block's chart" bash -c "'$JAVM' gas --isa gp08 --gas-model gp08 --trace 0 '$G8/gas_complex_1.json' | grep -qF '    ..DeeeeeeeeeeeeeeeeeeeeeeeeeE-R  store_ind_u8 r10, r7, 2'"
check "gas --trace needs the gp08 model" bash -c "'$JAVM' gas --trace 0 '$G8/gas_complex_1.json' 2>&1 | grep -q 'add --gas-model gp08'"
check "gas --trace of a pc inside a block names the block" bash -c "'$JAVM' gas --isa gp08 --gas-model gp08 --trace 3 '$G8/gas_complex_1.json' 2>&1 | grep -q 'starts at 0'"

# every opcode of opcodes.def is documented
missing=0
for m in $(sed -nE 's/^X\(([a-z0-9_]+) *,.*/\1/p' src/pvm/opcodes.def); do
    grep -q "\`$m\`" docs/ASSEMBLY.md || { missing=$((missing + 1)); echo "undocumented: $m"; }
done
check "docs/ASSEMBLY.md names every opcode" [ "$missing" = 0 ]

# ---- examples and their documented results ------------------------------------------------------
reg() { awk -v r="r$1" '$1 == r { print $4 }' "$2"; }
run_example() { # file, map, reg=value...
    local s=$1 map=$2
    shift 2
    if ! "$JAVM" asm "examples/$s" -o "$T/ex.pvm" 2>"$T/ex.err" || [ -s "$T/ex.err" ]; then
        bad "assemble $s: $(cat "$T/ex.err")"
        return
    fi
    "$JAVM" run --map "$map" "$T/ex.pvm" >"$T/ex.out" 2>&1
    local st=$? kv
    if [ "$st" != 0 ] || ! grep -q '^exit: *halt' "$T/ex.out"; then bad "$s does not halt (status $st)"; return; fi
    for kv in "$@"; do
        if [ "$(reg "${kv%%=*}" "$T/ex.out")" != "${kv#*=}" ]; then
            bad "$s: r${kv%%=*} = $(reg "${kv%%=*}" "$T/ex.out"), expected ${kv#*=}"
            return
        fi
    done
    ok
}
run_example sieve.s 0x20000:0xF5000:rw 7=78498
run_example sort.s 0x20000:0x4000:rw 7=1 8=2887199474963812
run_example copy.s 0x20000:0x20000:rw 7=16070206442764116773 10=16070206442764116773 11=1
if [ -x scripts/run-example.sh ]; then
    check "make run script prints the sieve result" bash -c "B='$B' scripts/run-example.sh | grep -q '^result: 78498 primes'"
fi

# the `build/javm ...` commands of examples/README.md work as written, in order (scratch directory)
JAVM_ABS=$(cd "$(dirname "$JAVM")" && pwd)/$(basename "$JAVM")
mkdir -p "$T/readme" && ln -s "$PWD/examples" "$T/readme/examples"
readme_fail=0
while IFS= read -r line; do
    (cd "$T/readme" && bash -c "${line/#build\/javm/\"$JAVM_ABS\"}" >/dev/null 2>"$T/readme.err")
    st=$?
    if [ "$st" != 0 ] || [ -s "$T/readme.err" ]; then
        readme_fail=$((readme_fail + 1)); echo "examples/README.md: '$line': status $st: $(head -c 200 "$T/readme.err")"
    fi
done < <(sed -n '/^```sh$/,/^```$/p' examples/README.md | grep '^build/javm ')
check "examples/README.md commands run as written" [ "$readme_fail" = 0 ]

# ---- the embedding example (docs/API.md) ------------------------------------------------------
if [ -f "$B/libjavm.a" ]; then
    CC=${CC:-cc}
    SANF=""
    case "$B" in *san*) SANF="-fsanitize=address,undefined" ;; esac
    # shellcheck disable=SC2046
    if $CC -std=gnu11 -Wall -Wextra -Werror $SANF -Iinclude examples/embed.c "$B/libjavm.a" \
        $(pkg-config --libs json-c libcrypto) -lpthread -lm -o "$T/embed" 2>"$T/err"; then
        "$T/embed" >"$T/embed.out" 2>&1
        st=$?
        printf 'host call 1: the guest stored 5050 at 0x20000\nexit: halt at pc 21 after 306 instructions, 306 gas used\nsum of 1..100 = 5050\n' >"$T/embed.want"
        if [ "$st" = 0 ] && cmp -s "$T/embed.out" "$T/embed.want"; then ok; else bad "embed output: $(cat "$T/embed.out")"; fi
        awk '/^```c$/ { on = 0 } on { print } /^```c$/ { getline l; if (l ~ /^\/\* embed\.c/) { on = 1; print l } }' docs/API.md | sed '/^```$/,$d' >"$T/embed.doc"
        check "docs/API.md contains examples/embed.c exactly" cmp -s "$T/embed.doc" examples/embed.c
    else
        bad "examples/embed.c does not compile: $(head -c 400 "$T/err")"
    fi
else
    bad "no $B/libjavm.a for the embedding example"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
