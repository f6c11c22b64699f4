/* Differential fuzz target: the input names a case of tests/diff_gen.h (its bytes are hashed to
 * the case seed, so libFuzzer's corpus and crash files are reproducible cases); the soft and the
 * paged engine must agree on it with #3 accounting off and on. A disagreement aborts, and
 * libFuzzer saves the input under fuzz/crashes/fuzz_diff/; the message names the seed, which
 * `JAVM_DIFF_SEED=<seed> build/tests/test_diff` replays with the program printed.
 *
 * Cost: a case creates four instances (a 4 GiB window each) and takes about a millisecond. The
 * bounded smoke run of `make test` (fuzz/driver.c, which does not call LLVMFuzzerInitialize)
 * therefore checks one input in ten; libFuzzer proper (`make fuzz`) calls LLVMFuzzerInitialize
 * and checks every input. The fixed 2000-case differential run is tests/test_diff.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../tests/diff_gen.h"

static dg_case g_case;
static unsigned g_sample = 10; /* check inputs whose hash is 0 mod g_sample */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    g_sample = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t seed = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < size; i++) seed = (seed ^ data[i]) * 0x100000001b3ull;
    if ((seed >> 32) % g_sample) return 0;
    dg_generate(seed, &g_case);
    char why[512];
    int rc = dg_check(&g_case, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "fuzz_diff: seed %llu: %s\n%s", (unsigned long long)seed, why, g_case.src);
        abort();
    }
    return 0;
}
