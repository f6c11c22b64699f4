#!/usr/bin/env bash
# javm vs the AssemblyScript reference PVM (@fluffylabs/anan-as) on the PVM assembly workloads in
# bench/workloads/*.s: instructions per second of each engine, the ratio, and a check that both
# engines end in the same state. Run by `make bench` (scripts/bench.sh) with JAVM_BIN set.
#
# anan-as is used as a black box: installed with npm into bench/.anan-as/ (git-ignored) when node
# and npm are present; without node the comparison is skipped with a message and only javm's
# numbers are printed.
#
# Environment: JAVM_BIN (the javm tool; default build/javm), ANAN_VERSION (npm version spec,
# default 1.2.0), ANAN_BUILDS (comma-separated package exports, default release,release-mini;
# the first one is the target's baseline), JAVM_RUNS (javm runs per workload and engine, best kept; 5).
# Extra arguments go to bench/pvm_vs_anan.py (e.g. --only compute).
set -u
here=$(cd "$(dirname "$0")" && pwd)
JAVM_BIN=${JAVM_BIN:-$here/../build/javm}
export JAVM_BIN
if ! command -v python3 >/dev/null 2>&1; then
    echo "pvm_vs_anan: python3 not found; benchmark skipped"
    exit 0
fi
if [ ! -x "$JAVM_BIN" ]; then
    echo "pvm_vs_anan: javm tool not found at $JAVM_BIN (build it first)" >&2
    exit 1
fi
node_args=()
if command -v node >/dev/null 2>&1; then
    pkg=$here/.anan-as/node_modules/@fluffylabs/anan-as/package.json
    want=${ANAN_VERSION:-1.2.0}
    stale=0
    if [[ $want =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && [ -f "$pkg" ] &&
        ! grep -q "\"version\":[[:space:]]*\"$want\"" "$pkg"; then
        stale=1
    fi
    if [ ! -f "$pkg" ] || [ "$stale" = 1 ]; then
        if command -v npm >/dev/null 2>&1; then
            echo "pvm_vs_anan: installing @fluffylabs/anan-as@$want into bench/.anan-as/"
            mkdir -p "$here/.anan-as"
            npm install --prefix "$here/.anan-as" --no-audit --no-fund --silent \
                "@fluffylabs/anan-as@$want" >&2 || echo "pvm_vs_anan: npm install failed" >&2
        else
            echo "pvm_vs_anan: npm not found; cannot install anan-as"
        fi
    fi
    if [ ! -f "$pkg" ]; then
        echo "pvm_vs_anan: @fluffylabs/anan-as is not installed in bench/.anan-as/"
        node_args=(--node '')
    fi
else
    echo "pvm_vs_anan: node not found"
fi
exec python3 "$here/pvm_vs_anan.py" "${node_args[@]}" "$@"
