/* fuzz_vector — the vector library (src/vector) on arbitrary text: parse it in whatever format
 * it is (v0.4, steps, v0.5); what fails must say why; a vector that parses is set up, run and
 * compared on the soft engine and on the paged and the jit engine (where available), which must
 * report the same outcome: the same status from jv_vector_check and the same number of differences.
 * Bounded so each input stays cheap: gas at most 100000 per run, at most 64 MiB mapped, at
 * most 64 steps. A steps file with block-gas-costs runs in the gp08 dialect and gas model (the
 * format of the gp08 set), anything else in gp07. Seeds: fuzz/seeds/fuzz_vector/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "javm.h"
#include "vector/vector.h"

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "fuzz_vector: check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool cheap(const jv_vector *v) {
    uint64_t mapped = 0;
    if (v->n_steps > 64) return false;
    for (size_t i = 0; i < v->n_steps; i++)
        if (v->steps[i].kind == JV_VEC_MAP) mapped += v->steps[i].map.length;
    return mapped <= (64u << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    jv_vector v;
    if (jv_vector_parse((const char *)data, size, "fuzz", &v) != JAVM_OK) {
        CHECK(javm_last_error()[0] != 0);
        return 0;
    }
    CHECK(v.name != NULL && (v.program != NULL || v.program_len == 0));
    if (!cheap(&v)) {
        jv_vector_free(&v);
        return 0;
    }
    if (v.initial_gas > 100000) v.initial_gas = 100000;
    javm_load_options lo;
    javm_load_options_init(&lo);
    if (v.format != JV_VEC_V04 && v.n_block_costs) {
        lo.isa = JAVM_ISA_GP08;
        lo.gas_model = JAVM_GAS_GP08;
    }
    static const javm_engine engines[3] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
    javm_status st[3] = {JAVM_OK, JAVM_OK, JAVM_OK};
    int diffs[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (!javm_engine_available(engines[k])) continue;
        javm_config cfg;
        javm_config_init(&cfg);
        cfg.engine = engines[k];
        st[k] = jv_vector_check(&v, &lo, &cfg, NULL, NULL, &diffs[k]);
        if (st[k] != JAVM_OK) CHECK(javm_last_error()[0] != 0);
        if (k && (st[0] != st[k] || diffs[0] != diffs[k])) {
            fprintf(stderr, "fuzz_vector: soft: %s, %d differences; %s: %s, %d differences\n",
                    javm_status_str(st[0]), diffs[0], javm_engine_name(engines[k]),
                    javm_status_str(st[k]), diffs[k]);
            abort();
        }
    }
    jv_vector_free(&v);
    return 0;
}
