/* tests — a fresh instance through the public API without failing anything: NULL when
 * javm_instance_new refuses (javm_last_error says why). For code that cannot fail a cmocka test
 * (other threads, a forked child, the fuzz targets); api_helpers.h asserts instead. */
#ifndef JV_TESTS_INSTANCE_H
#define JV_TESTS_INSTANCE_H

#include "javm.h"

static inline javm_instance *try_instance(const javm_program *p, javm_engine e, int mat) {
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    cfg.mat = mat;
    javm_instance *vm = NULL;
    return javm_instance_new(p, &cfg, &vm) == JAVM_OK ? vm : NULL;
}

#endif
