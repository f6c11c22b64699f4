#!/usr/bin/env bash
# Check (and when possible install) the Debian packages javm builds with.
# Arguments: the pkg-config modules a build step needs (default: all of them). The Makefile calls
# this once per build directory and set (library: libcrypto; tool: + json-c; tests: + cmocka).
# Found with pkg-config; missing ones are installed with apt-get when we are root, otherwise the
# exact command is printed and we fail.
set -u
mods=${*:-"libcrypto json-c cmocka pytest objdump"}
pkg_of() { # pkg-config module -> Debian package
  case $1 in
    libcrypto) echo libssl-dev ;;
    json-c) echo libjson-c-dev ;;
    cmocka) echo libcmocka-dev ;;
    pytest) echo "python3 python3-pytest" ;; # the Python binding's tests (not a pkg-config module)
    objdump) echo binutils ;; # the jit emitter test disassembles what it emits (not pkg-config)
    *) echo "deps: unknown module $1" >&2; exit 2 ;;
  esac
}
pkgs="pkg-config"
for m in $mods; do pkgs="$pkgs $(pkg_of "$m")"; done
missing=0
command -v pkg-config >/dev/null 2>&1 || missing=1
if [ $missing = 0 ]; then
  for m in $mods; do
    case $m in
      pytest) # pytest for python3 (or Debian's /usr/bin/python3)
        { python3 -c 'import pytest' || /usr/bin/python3 -c 'import pytest'; } >/dev/null 2>&1 || missing=1 ;;
      objdump) command -v objdump >/dev/null 2>&1 || missing=1 ;;
      *) pkg-config --exists "$m" || missing=1 ;;
    esac
  done
fi
case "${CC:-cc}" in
  clang*) command -v "${CC}" >/dev/null 2>&1 || { pkgs="$pkgs clang"; missing=1; } ;;
esac
[ $missing = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing $pkgs" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq $pkgs) >/dev/null 2>&1 || {
    echo "deps: apt-get failed; run: apt-get update && apt-get install -y $pkgs" >&2; exit 1; }
  exit 0
fi
echo "deps: missing build dependencies ($mods); run: sudo apt-get update && sudo apt-get install -y $pkgs" >&2
exit 1
