#!/usr/bin/env bash
# The benchmark workloads (bench/workloads/*.s) assemble with `javm asm`, byte for byte like the
# independent encoder bench/gen_workloads.py (when python3 is available), and a reduced-size copy
# of each ("; bench-quick: NAME=V ..." sets `.equ NAME` to V) runs on every javm engine to the
# result documented on that line (status, registers, instruction count; the values were checked
# against anan-as). Also checks gas used = instructions (gp07: 1 gas per instruction). The
# full-size results ("; bench-expect:") are checked by `make bench` (bench/pvm_vs_anan.sh).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
JAVM_BIN=${JAVM_BIN:-$here/build/javm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

have_py=0
if command -v python3 >/dev/null 2>&1 && python3 "$here/bench/gen_workloads.py" "$tmp/ref" 2>/dev/null; then
    have_py=1
fi

json_field() { # json_field NAME < json  -> the scalar value of "NAME"
    sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[-0-9]*\).*/\1/p" | tr -d '"' | head -1
}

for src in "$here"/bench/workloads/*.s; do
    name=$(basename "$src" .s)
    blob=$tmp/$name.pvm
    if ! "$JAVM_BIN" asm "$src" -o "$blob" 2>"$tmp/err"; then
        bad "$name: javm asm: $(cat "$tmp/err")"
        continue
    fi
    ok
    if [ "$have_py" = 1 ] && [ -f "$tmp/ref/$name.pvm" ]; then
        if cmp -s "$blob" "$tmp/ref/$name.pvm"; then ok
        else bad "$name: javm asm output differs from bench/gen_workloads.py"; fi
    fi
    maps=()
    for m in $(sed -n 's/^[;#][;#]*[[:space:]]*bench-map:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$src"); do
        maps+=(--map "$m")
    done
    quick=$(sed -n 's/^[;#][;#]*[[:space:]]*bench-quick:\(.*\)/\1/p' "$src")
    read -r size expect <<<"$quick"
    if [ -z "$quick" ] || [ -z "$expect" ] || [[ $size != *=* ]]; then
        bad "$name: no '; bench-quick: NAME=V expectations...' line"
        continue
    fi
    sed "s/^\.equ ${size%%=*},.*/.equ ${size%%=*}, ${size#*=}/" "$src" >"$tmp/$name.quick.s"
    if cmp -s "$src" "$tmp/$name.quick.s"; then
        bad "$name: bench-quick names '${size%%=*}', which is not an .equ of the file"
        continue
    fi
    blob=$tmp/$name.quick.pvm
    if ! "$JAVM_BIN" asm "$tmp/$name.quick.s" -o "$blob" 2>"$tmp/err"; then
        bad "$name (quick): javm asm: $(cat "$tmp/err")"
        continue
    fi
    for engine in soft paged; do
        "$JAVM_BIN" run --json --engine "$engine" --gas 1000000000000000 "${maps[@]}" "$blob" \
            >"$tmp/out.json" 2>"$tmp/err"
        if [ ! -s "$tmp/out.json" ]; then
            bad "$name/$engine: javm run: $(head -c 300 "$tmp/err")"
            continue
        fi
        # keep the small fields only (the memory dump of the buffer can be megabytes)
        head -c 2000 "$tmp/out.json" | sed 's/"memory":\[.*//' >"$tmp/head"
        regs=$(sed -n 's/.*"regs":\[\([^]]*\)\].*/\1/p' "$tmp/head" | tr ',' ' ')
        read -r -a r <<<"$regs"
        instr=$(json_field instructions <"$tmp/head")
        used=$(json_field gas_used <"$tmp/head")
        errs=""
        for kv in $expect; do
            k=${kv%%=*} v=${kv#*=}
            case $k in
            status) got=$(json_field status <"$tmp/head") ;;
            instructions) got=$instr ;;
            r[0-9]*) got=${r[${k#r}]:-} ;;
            *) got="(unknown key)" ;;
            esac
            [ "$got" = "$v" ] || errs="$errs $k=$got (want $v)"
        done
        [ -n "$instr" ] && [ "$instr" = "$used" ] || errs="$errs gas_used=$used != instructions=$instr"
        if [ -z "$errs" ]; then ok; else bad "$name/$engine:$errs"; fi
    done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
