# Harness shared by the shell tests of one javm command (sourced, not run: the test runner runs
# tests/*.sh only). Set ERR_PREFIX (e.g. "javm cap: ") before sourcing. Provides $tmp (removed at
# exit), ok / bad counting, expect_out, expect_err and finish (the summary line and the status).
[ -x "${JAVM_BIN:-}" ] ||
  { echo "$(basename "$0"): JAVM_BIN '${JAVM_BIN:-}' is not an executable"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_out NAME WANT ARGS...: exit 0, stdout exactly WANT, stderr empty
expect_out() {
  local name=$1 want=$2; shift 2
  local out err st
  out=$("$JAVM_BIN" "$@" 2>"$tmp/err"); st=$?; err=$(cat "$tmp/err")
  if [ $st -ne 0 ] || [ "$out" != "$want" ] || [ -n "$err" ]; then
    bad "$name: status $st, stdout '$out', stderr '$err' (want '$want')"
  else ok; fi
}
# expect_err NAME STATUS ARGS...: exit STATUS, nothing on stdout, one "$ERR_PREFIX" line on stderr
expect_err() {
  local name=$1 want=$2; shift 2
  local out st lines
  out=$("$JAVM_BIN" "$@" 2>"$tmp/err"); st=$?
  lines=$(wc -l <"$tmp/err")
  if [ $st -ne "$want" ] || [ -n "$out" ] || [ "$lines" -ne 1 ] ||
     ! grep -q "^$ERR_PREFIX" "$tmp/err"; then
    bad "$name: status $st (want $want), stdout '$out', stderr '$(cat "$tmp/err")'"
  else ok; fi
}

finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
