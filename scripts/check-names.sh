#!/usr/bin/env bash
# The naming rule (scripts/prefixes.txt) over the built objects OBJ/src/<layer>/<file>.o
# (argument: the build's obj directory, default build/obj). One line per violation, then
# "names: N passed, N failed" (one check per layer). ASan's per-global ODR indicators
# (__odr_asan.<name>, SAN=1 builds) are the compiler's, not ours.
set -u
cd "$(dirname "$0")/.."
obj=${1:-build/obj}
declare -A extra
while read -r layer rest; do
  case $layer in ''|'#'*) continue ;; esac
  extra[$layer]=${rest%%#*}
done <scripts/prefixes.txt
[ -d "$obj/src" ] || { echo "no objects under $obj/src: build first"; echo "names: 0 passed, 1 failed"; exit 1; }
pass=0; fail=0
for dir in "$obj"/src/*/; do
  l=$(basename "$dir"); bad=0
  for o in "$dir"*.o; do
    [ -e "$o" ] || continue
    f=$(basename "$o" .o)
    while read -r sym; do
      case $sym in __*) continue ;; esac # reserved: made by the compiler or a sanitizer (__odr_asan.*)
      ok=0
      for p in javm_ "jv_${l}_" "jv_${f}_" ${extra[$l]:-}; do
        case $sym in "$p"*) ok=1; break ;; esac
      done
      [ $ok = 1 ] || { echo "src/$l/$f: '$sym' has none of the prefixes of layer $l (scripts/prefixes.txt)"; bad=1; }
    done < <(nm -g --defined-only "$o" | awk '$2 ~ /^[TDRBCVWGS]$/ && $3 !~ /^__odr_asan/ { print $3 }')
  done
  if [ $bad = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "names: $pass passed, $fail failed"
[ $fail = 0 ]
