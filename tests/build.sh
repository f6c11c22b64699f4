#!/usr/bin/env bash
# Build rules (Makefile): the library builds without json-c or cmocka; `make clean` runs neither
# the dependency check nor pkg-config; the soname follows the version written in javm.h.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# A pkg-config that knows neither json-c nor cmocka, and logs every call.
real=$(command -v pkg-config)
mkdir -p "$T/bin"
cat >"$T/bin/pkg-config" <<EOS
#!/bin/sh
echo "\$*" >>"$T/pc.log"
case " \$* " in *" json-c "*|*" cmocka "*) exit 1 ;; esac
exec "$real" "\$@"
EOS
chmod +x "$T/bin/pkg-config"

if PATH="$T/bin:$PATH" make -s B="$T/b" OPT=-O0 -j2 lib >"$T/out" 2>&1 && [ -f "$T/b/libjavm.so" ] && [ -f "$T/b/libjavm.a" ]; then ok
else bad "the library does not build without json-c and cmocka: $(tail -n 5 "$T/out")"; fi
if [ ! -e "$T/b/deps/tool.ok" ] && [ ! -e "$T/b/deps/test.ok" ]; then ok
else bad "building the library checked the tool's or the tests' dependencies"; fi

major=$(sed -n 's/^#define JAVM_VERSION_MAJOR \([0-9]*\)$/\1/p' include/javm.h)
minor=$(sed -n 's/^#define JAVM_VERSION_MINOR \([0-9]*\)$/\1/p' include/javm.h)
if [ "$major" = 0 ]; then want="libjavm.so.0.$minor"; else want="libjavm.so.$major"; fi
got=$(readelf -d "$T/b/libjavm.so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$got" = "$want" ]; then ok; else bad "soname '$got', expected '$want' (docs/API.md)"; fi

if grep -rlE '#include <(json-c/|json\.h|cmocka)' src --include='*.[ch]' | grep -vE '^src/(cli|vector)/' >"$T/out"; then
  bad "library sources include json-c or cmocka: $(cat "$T/out")"
else ok; fi

rm -f "$T/pc.log"
if PATH="$T/bin:$PATH" make -n clean >"$T/out" 2>&1 && ! grep -q 'deps.sh' "$T/out" && [ ! -s "$T/pc.log" ]; then ok
else bad "make clean runs the dependency check or pkg-config: $(cat "$T/out" "$T/pc.log" 2>/dev/null | head -n 5)"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
