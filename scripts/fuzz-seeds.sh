#!/usr/bin/env bash
# Prints the read-only seed directories of fuzz target $1, one a line: its kept inputs
# (fuzz/seeds/<target>/, if there is one) and, for the assembler, the example programs.
t=$1
[ -d "fuzz/seeds/$t" ] && echo "fuzz/seeds/$t"
[ "$t" = fuzz_asm ] && echo examples
exit 0
