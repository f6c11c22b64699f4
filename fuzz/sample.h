/* Input sampling shared by the costly fuzz targets (several instances per input): the bounded
 * smoke run of `make test` (fuzz/driver.c, which does not call LLVMFuzzerInitialize) checks one
 * input in `one_in` besides every seed file; libFuzzer proper (`make fuzz`) checks every input.
 * Include once per target: it defines the target's LLVMFuzzerInitialize. */
#ifndef JV_FUZZ_SAMPLE_H
#define JV_FUZZ_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern int jv_fuzz_all_inputs __attribute__((weak)); /* fuzz/driver.c: seed files */

static bool fuzz_every_input; /* set under libFuzzer proper */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_every_input = true;
    return 0;
}

/* FNV-1a of the input: which inputs the smoke run samples (and bits a target may derive). */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 0x100000001b3ull;
    return h;
}

/* Whether to check the input whose hash bits are `bits`. */
static inline bool fuzz_sampled(uint64_t bits, unsigned one_in) {
    return fuzz_every_input || (&jv_fuzz_all_inputs && jv_fuzz_all_inputs) || bits % one_in == 0;
}

#endif
