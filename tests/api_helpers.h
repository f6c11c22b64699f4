/* tests — building programs and instances through the public API inside a cmocka test: any
 * failure fails the test (not for use on other threads, where cmocka cannot fail a test). */
#ifndef JV_TESTS_API_HELPERS_H
#define JV_TESTS_API_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "instance.h"
#include "javm.h"
#include "pvm/asm.h"

/* The program of an assembly source. */
static inline javm_program *test_assemble(const char *src) {
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(jv_asm_assemble(src, strlen(src), &blob, &len), JAVM_OK);
    javm_program *p = NULL;
    assert_int_equal(javm_program_load(blob, len, &p), JAVM_OK);
    free(blob);
    return p;
}

/* A fresh instance of p on engine e, with #3 accounting (mat) as given. */
static inline javm_instance *test_instance(const javm_program *p, javm_engine e, int mat) {
    javm_instance *vm = try_instance(p, e, mat);
    if (!vm) fail_msg("javm_instance_new: %s", javm_last_error());
    return vm;
}

#endif
