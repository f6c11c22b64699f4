#!/usr/bin/env bash
# Check (and when possible install) the Debian packages javm builds with.
# Found with pkg-config; missing ones are installed with apt-get when we are root,
# otherwise the exact command is printed and we fail.
set -u
need_pc="cmocka json-c libcrypto"
pkgs="pkg-config libcmocka-dev libjson-c-dev libssl-dev"
missing=0
command -v pkg-config >/dev/null 2>&1 || missing=1
if [ $missing = 0 ]; then
  for m in $need_pc; do pkg-config --exists "$m" || missing=1; done
fi
# the Python binding's tests: pytest for python3 (or Debian's /usr/bin/python3)
if ! { python3 -c 'import pytest' || /usr/bin/python3 -c 'import pytest'; } >/dev/null 2>&1; then
  pkgs="$pkgs python3 python3-pytest"; missing=1
fi
[ "${CC:-cc}" = clang ] && ! command -v clang >/dev/null 2>&1 && { pkgs="$pkgs clang"; missing=1; }
[ $missing = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing $pkgs" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq $pkgs) >/dev/null 2>&1 || {
    echo "deps: apt-get failed; run: apt-get update && apt-get install -y $pkgs" >&2; exit 1; }
  exit 0
fi
echo "deps: missing build dependencies; run: sudo apt-get update && sudo apt-get install -y $pkgs" >&2
exit 1
