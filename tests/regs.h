/* tests — a register's value inside an expression. javm_reg_get returns a status (a bad index
 * is an error, not 0); here any failure stops the test program, so the value can be used
 * directly. Shared by the tests and the fuzz targets (no cmocka). */
#ifndef JV_TESTS_REGS_H
#define JV_TESTS_REGS_H

#include <stdio.h>
#include <stdlib.h>

#include "javm.h"

static inline uint64_t test_reg(const javm_instance *vm, unsigned i) {
    uint64_t v = 0;
    javm_status s = javm_reg_get(vm, i, &v);
    if (s != JAVM_OK) {
        fprintf(stderr, "javm_reg_get(r%u): %s (%s)\n", i, javm_status_str(s), javm_last_error());
        abort();
    }
    return v;
}

#endif
