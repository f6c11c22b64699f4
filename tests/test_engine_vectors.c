/* engine: the conformance vectors through the vector library (src/vector) on every engine of
 * this build (soft, paged, jit), #3 accounting off and on, in lockstep: after every run step
 * each engine's instance is compared completely with the soft engine's (registers, gas, pc,
 * memory, page states, statistics), and every assert is checked on every engine: the 307
 * gp07 vectors and the 356 gp08 vectors (in the gp08 dialect and gas model, block costs too). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine_diff.h"
#include "vector/vector.h"

/* Configuration k: engine engines[k / 2], #3 accounting k % 2. */
static javm_engine engines[3];
static int n_engines, CONFIGS;

static void find_engines(void) {
    n_engines = 0;
    for (int e = JAVM_ENGINE_SOFT; e <= JAVM_ENGINE_JIT; e++)
        if (javm_engine_available((javm_engine)e)) engines[n_engines++] = (javm_engine)e;
    CONFIGS = 2 * n_engines;
}

/* Runs one vector on every configuration; returns the number of failures (printed). */
static int run_lockstep(const char *file, const jv_vector *v, const javm_load_options *lo) {
    jv_vec_session s[6];
    jv_vec_result res[6];
    int failures = 0, open = 0;
    for (int k = 0; k < CONFIGS; k++) {
        javm_config cfg;
        javm_config_init(&cfg);
        cfg.engine = engines[k / 2];
        cfg.mat = k % 2;
        if (jv_vec_session_start(&s[k], v, lo, &cfg) != JAVM_OK) {
            print_error("%s: configuration %d did not start: %s\n", file, k, javm_last_error());
            failures++;
            break;
        }
        open++;
    }
    for (size_t i = 0; open == CONFIGS && !failures && i < v->n_steps; i++) {
        const jv_vec_step *st = NULL;
        for (int k = 0; k < CONFIGS && !failures; k++) {
            javm_status err;
            st = jv_vec_session_step(&s[k], &res[k], &err);
            if (!st) {
                print_error("%s: configuration %d: %s\n", file, k, javm_last_error());
                failures++;
            }
        }
        if (failures) break;
        if (st->kind == JV_VEC_ASSERT)
            for (int k = 0; k < CONFIGS; k++) {
                if (!jv_vec_compare(&s[k], &st->expect, &res[k], NULL, NULL)) continue;
                print_error("%s: %s, configuration %d:\n", file, st->where, k);
                jv_vec_compare(&s[k], &st->expect, &res[k], stderr, "    ");
                failures++;
            }
        if (st->kind != JV_VEC_RUN) continue;
        for (int k = 2; k < CONFIGS; k++) { /* against the soft engine, same #3 setting */
            char why[256];
            const char *name = javm_engine_name(engines[k / 2]), *mat = k % 2 ? "on" : "off";
            if (res[k].status != res[k % 2].status || res[k].pc != res[k % 2].pc ||
                res[k].fault_address != res[k % 2].fault_address) {
                print_error("%s (%s, #3 %s): soft and %s exits differ\n", file, st->where, mat, name);
                failures++;
            } else if (jv_diff_instances(s[k % 2].vm, s[k].vm, why, sizeof why)) {
                print_error("%s (%s, #3 %s): soft vs %s: %s\n", file, st->where, mat, name, why);
                failures++;
            }
        }
    }
    for (int k = 0; k < open; k++) jv_vec_session_end(&s[k]);
    return failures;
}

static void run_set(const char *set, int expected_count, const javm_load_options *lo) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    find_engines();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", JAVM_VECTOR_DIR, set);
    DIR *d = opendir(dir);
    assert_non_null(d); /* the vectors are part of the repository */
    struct dirent *de;
    int count = 0, failures = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        jv_vector v;
        if (jv_vector_load(path, &v) != JAVM_OK) {
            print_error("%s\n", javm_last_error());
            failures++;
            continue;
        }
        count++;
        failures += run_lockstep(de->d_name, &v, lo);
        if (v.n_block_costs) { /* VEC-8 on the soft engine (block costs are the program's) */
            int diffs = 0;
            assert_int_equal(jv_vector_check(&v, lo, NULL, NULL, NULL, &diffs), JAVM_OK);
            if (diffs) print_error("%s: %d differences with its block costs\n", de->d_name, diffs);
            failures += diffs != 0;
        }
        jv_vector_free(&v);
    }
    closedir(d);
    assert_int_equal(count, expected_count);
    assert_int_equal(failures, 0);
}

/* gp07 (v0.4): every assert on every engine, and the engines agree after every run. */
static void gp07_vectors_every_engine(void **state) {
    (void)state;
    run_set("gp07", 307, NULL);
}

/* gp08 (steps format, several runs per file) in the gp08 dialect and gas model: every assert
 * and every block cost, and the engines agree after every run. */
static void gp08_vectors_every_engine(void **state) {
    (void)state;
    javm_load_options lo;
    javm_load_options_init(&lo);
    lo.isa = JAVM_ISA_GP08;
    lo.gas_model = JAVM_GAS_GP08;
    run_set("gp08", 356, &lo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gp07_vectors_every_engine),
        cmocka_unit_test(gp08_vectors_every_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
