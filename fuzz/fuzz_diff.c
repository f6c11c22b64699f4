/* Differential fuzz target: the input names a case of tests/diff_gen.h (its bytes are hashed to
 * the case seed, so libFuzzer's corpus and crash files are reproducible cases); the soft and the
 * paged engine must agree on it with #3 accounting off and on. A disagreement aborts, and
 * libFuzzer saves the input under fuzz/crashes/fuzz_diff/; the message names the seed, which
 * `JAVM_DIFF_SEED=<seed> build/tests/test_diff` replays with the program printed.
 * JAVM_DIFF_ISA=gp08 (as for test_diff) runs the cases as GP 0.8 code under the gp08 gas model.
 *
 * Cost: a case creates four instances (a 4 GiB window each) and takes about a millisecond. The
 * bounded smoke run of `make test` (fuzz/driver.c, which does not call LLVMFuzzerInitialize)
 * therefore checks one input in ten besides every seed file (fuzz/sample.h); libFuzzer proper
 * (`make fuzz`) checks every input. The fixed 2000-case differential run is tests/test_diff.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "../tests/diff_gen.h"

static dg_case g_case;
static javm_load_options g_opts;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t seed = fuzz_hash(data, size);
    if (!fuzz_sampled(seed >> 32, 10)) return 0;
    if (!dg_opts) { /* JAVM_DIFF_ISA=gp08: GP 0.8 code, gp08 gas model (as test_diff) */
        javm_load_options_init(&g_opts);
        const char *isa = getenv("JAVM_DIFF_ISA");
        if (isa && !strcmp(isa, "gp08")) g_opts.isa = JAVM_ISA_GP08, g_opts.gas_model = JAVM_GAS_GP08;
        dg_opts = &g_opts;
    }
    dg_generate(seed, &g_case);
    char why[512];
    int rc = dg_check(&g_case, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "fuzz_diff: seed %llu (%s): %s\n%s", (unsigned long long)seed,
                g_opts.isa == JAVM_ISA_GP08 ? "gp08" : "gp07", why, g_case.src);
        abort();
    }
    return 0;
}
