/* engine: the differential fuzzer, bounded. Runs JAVM_DIFF_RUNS random cases (default 2000) on
 * the soft, the paged and the jit engine with #3 off and on (tests/diff_gen.h) and requires
 * complete agreement. JAVM_DIFF_SEED=<n> replays one case and prints its program;
 * JAVM_DIFF_ISA=gp08 runs the cases as GP 0.8 code under the gp08 gas model. JAVM_DIFF_RUNS=0
 * runs without bound and writes every disagreement to diff-failures/<seed>.s (with the seed and
 * the reason in a comment) instead of stopping; `make fuzz` does the same coverage-guided
 * through fuzz/fuzz_diff.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "diff_gen.h"
#include "engine/engine.h"

static dg_case g_case;

static void save_failure(const dg_case *c, const char *why) {
    mkdir("diff-failures", 0777);
    char path[128];
    snprintf(path, sizeof path, "diff-failures/%llu.s", (unsigned long long)c->seed);
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "// seed %llu (replay: JAVM_DIFF_SEED=%llu build/tests/test_diff)\n// %s\n%s",
            (unsigned long long)c->seed, (unsigned long long)c->seed, why, c->src);
    fclose(f);
    fprintf(stderr, "disagreement saved to %s: %s\n", path, why);
}

static void differential_cases(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    static javm_load_options opts; /* JAVM_DIFF_ISA=gp08: GP 0.8 code, gp08 gas model */
    javm_load_options_init(&opts);
    const char *isa_env = getenv("JAVM_DIFF_ISA");
    if (isa_env && !strcmp(isa_env, "gp08")) opts.isa = JAVM_ISA_GP08, opts.gas_model = JAVM_GAS_GP08;
    dg_opts = &opts;
    const char *seed_env = getenv("JAVM_DIFF_SEED");
    const char *runs_env = getenv("JAVM_DIFF_RUNS");
    char why[512];
    if (seed_env) {
        dg_generate(strtoull(seed_env, NULL, 0), &g_case);
        print_message("%s", g_case.src);
        int rc = dg_check(&g_case, why, sizeof why);
        if (rc) fail_msg("seed %s: %s", seed_env, why);
        return;
    }
    long runs = runs_env ? strtol(runs_env, NULL, 10) : 2000;
    unsigned long long base = 0x6a766d2d64696666ull; /* fixed: `make test` is reproducible */
    long disagreements = 0;
    for (long i = 0; runs == 0 || i < runs; i++) {
        uint64_t seed = base + (uint64_t)i;
        dg_generate(seed, &g_case);
        int rc = dg_check(&g_case, why, sizeof why);
        if (rc == 0) continue;
        if (runs == 0) {
            save_failure(&g_case, why);
            disagreements++;
            continue;
        }
        save_failure(&g_case, why);
        fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, why, g_case.src);
    }
    print_message("%llu runs: exits halt %llu panic %llu oog %llu fault %llu host %llu; "
                  "%llu instructions, %llu first touches, %llu CoWs, %llu ro units, %llu #3 gas; "
                  "jit: %llu write-ahead batches, %llu watched pages\n",
                  (unsigned long long)dg_cov.cases, (unsigned long long)dg_cov.exits[0],
                  (unsigned long long)dg_cov.exits[1], (unsigned long long)dg_cov.exits[2],
                  (unsigned long long)dg_cov.exits[3], (unsigned long long)dg_cov.exits[4],
                  (unsigned long long)dg_cov.insns, (unsigned long long)dg_cov.first_touch,
                  (unsigned long long)dg_cov.cow, (unsigned long long)dg_cov.ro_units,
                  (unsigned long long)dg_cov.mat_gas, (unsigned long long)dg_cov.ahead_batches,
                  (unsigned long long)dg_cov.watched_pages);
    assert_int_equal(disagreements, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(differential_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
