#!/usr/bin/env bash
# The layer rule (scripts/layers.txt): a file in src/<layer>/ includes only javm.h, its own
# layer and layers below it. Prints one line per violation and "N passed, N failed" (one check
# per layer directory; a directory missing from the table fails too). Argument: the tree to
# check (default: this repository).
set -u
cd "${1:-$(dirname "$0")/..}" || exit 1
declare -A rank
n=0
while read -r layer _; do
  case $layer in ''|'#'*) continue ;; esac
  rank[$layer]=$n; n=$((n + 1))
done <scripts/layers.txt
pass=0; fail=0
for dir in src/*/; do
  l=$(basename "$dir")
  if [ -z "${rank[$l]+x}" ]; then
    echo "src/$l/ is not in scripts/layers.txt: add it in its place"; fail=$((fail + 1)); continue
  fi
  bad=0
  while IFS=: read -r file line inc; do
    dep=${inc#*\"}; dep=${dep%%/*}
    if [ -z "${rank[$dep]+x}" ]; then
      echo "$file:$line: includes \"$dep/...\", which is not a layer in scripts/layers.txt"; bad=1
    elif [ "${rank[$dep]}" -gt "${rank[$l]}" ]; then
      echo "$file:$line: layer $l includes $dep, a layer above it (scripts/layers.txt)"; bad=1
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/' "$dir"* 2>/dev/null)
  # relative includes would bypass the table
  if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"\.\.?/' "$dir"* 2>/dev/null; then
    echo "src/$l/: relative #include (use \"<layer>/<file>\")"; bad=1
  fi
  if [ $bad = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "layers: $pass passed, $fail failed"
[ $fail = 0 ]
