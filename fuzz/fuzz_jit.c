/* Fuzz target for the recompiler: the input is turned into an always-valid program blob (its
 * bytes are the code, the bitmask and a jump table are derived from them), which runs on the
 * soft engine and on the jit with the same registers, pages and gas, through host calls and
 * page faults; the exits and the final instances must be identical (JIT-1), and the jit must
 * not crash whatever the code (JIT-2, JIT-3). Half the inputs are decoded in the GP 0.8 dialect
 * with its gas model, a quarter with ecall blocks (bits of the input's hash). A disagreement
 * aborts (libFuzzer keeps the input).
 *
 * The bounded smoke run of `make test` checks one input in eight (each creates two instances
 * and compiles a program); libFuzzer proper (`make fuzz`) calls LLVMFuzzerInitialize and
 * checks every input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/engine_diff.h"
#include "../tests/instance.h"
#include "javm.h"
#include "pvm/pvm.h"
#include "sample.h"

static javm_instance *instance(const javm_program *p, javm_engine e, const uint64_t *regs,
                               int mat) {
    javm_instance *vm = try_instance(p, e, mat);
    if (!vm) return NULL;
    javm_map(vm, 0x10000, 0x4000, JAVM_ACCESS_RW, NULL, 0); /* (the inner two with read-write
                                                               * neighbours: MEM-13 watches) */
    javm_map(vm, 0x20000, 0x1000, JAVM_ACCESS_RO, "ro", 2);
    javm_map(vm, 0xFFFFF000u, 0x1000, JAVM_ACCESS_RW, NULL, 0);
    for (unsigned i = 0; i < 13; i++) javm_reg_set(vm, i, regs[i]);
    javm_gas_set(vm, 20000);
    return vm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4 || size > 4096) return 0;
    uint64_t h = fuzz_hash(data, size);
    if (!fuzz_sampled(h >> 40, 8)) return 0;
    if (!javm_engine_available(JAVM_ENGINE_JIT)) return 0;
    /* byte 0: jump-table size; bytes 1..: code; bitmask bit i set when code byte i is odd or
     * i = 0, so about half the bytes start instructions */
    uint32_t nj = data[0] % 6;
    const uint8_t *code = data + 1;
    uint32_t code_len = (uint32_t)(size - 1);
    uint8_t *bitmask = calloc((code_len + 7) / 8 + 1, 1);
    uint32_t jumps[6];
    for (uint32_t i = 0; i < code_len; i++)
        if (i == 0 || (code[i] & 1) || ((h >> (i % 64)) & 1))
            bitmask[i / 8] |= (uint8_t)(1u << (i % 8));
    for (uint32_t i = 0; i < nj; i++) jumps[i] = (uint32_t)((h >> (8 * i)) % (code_len + 1));
    size_t blen = 0;
    uint8_t *blob = jv_pvm_blob_encode(jumps, nj, nj ? 4 : 0, code, code_len, bitmask, &blen);
    free(bitmask);
    if (!blob) return 0;
    /* the top bits of a remix of the hash: the GP 0.8 dialect with its gas model (one input in
     * two), ecall blocks (one in four) */
    uint64_t mix = h * 0xD6E8FEB86659FD93ull;
    javm_load_options lo;
    javm_load_options_init(&lo);
    if (mix >> 63) lo.isa = JAVM_ISA_GP08, lo.gas_model = JAVM_GAS_GP08;
    lo.ecall_blocks = ((mix >> 61) & 3) == 0;
    javm_program *p = NULL;
    javm_status s = javm_program_load_ex(blob, blen, &lo, &p);
    free(blob);
    if (s != JAVM_OK) return 0;
    uint64_t regs[13];
    for (unsigned i = 0; i < 13; i++) {
        uint64_t x = h * (i + 1) * 0x9E3779B97F4A7C15ull;
        regs[i] = i % 3 == 0 ? 0x10000 + (x >> 50) : i % 3 == 1 ? x : 2 * ((x >> 60) % 7);
    }
    int mat = (int)(h & 1);
    javm_instance *a = instance(p, JAVM_ENGINE_SOFT, regs, mat);
    javm_instance *b = instance(p, JAVM_ENGINE_JIT, regs, mat);
    if (!a || !b) {
        fprintf(stderr, "fuzz_jit: instance: %s\n", javm_last_error());
        abort();
    }
    char why[300];
    for (int step = 0; step < 12; step++) {
        javm_exit_info ea = JAVM_EXIT_INFO_INIT, eb = JAVM_EXIT_INFO_INIT;
        javm_status sa = javm_run(a, &ea), sb = javm_run(b, &eb);
        if (sa != sb || ea.kind != eb.kind || ea.pc != eb.pc || ea.arg != eb.arg ||
            ea.next_pc != eb.next_pc) {
            fprintf(stderr, "fuzz_jit: step %d: %s pc %u arg %llu vs jit %s pc %u arg %llu\n",
                    step, javm_exit_str(ea.kind), ea.pc, (unsigned long long)ea.arg,
                    javm_exit_str(eb.kind), eb.pc, (unsigned long long)eb.arg);
            abort();
        }
        if (jv_diff_instances(a, b, why, sizeof why)) {
            fprintf(stderr, "fuzz_jit: step %d: %s\n", step, why);
            abort();
        }
        if (sa != JAVM_OK || ea.kind == JAVM_EXIT_HALT || ea.kind == JAVM_EXIT_PANIC) break;
        javm_instance *v[2] = {a, b};
        for (int k = 0; k < 2; k++) {
            if (ea.kind == JAVM_EXIT_PAGE_FAULT)
                javm_map(v[k], (uint32_t)ea.arg, 0x1000, step & 1 ? JAVM_ACCESS_RO : JAVM_ACCESS_RW,
                         NULL, 0);
            else if (ea.kind == JAVM_EXIT_OUT_OF_GAS)
                javm_gas_set(v[k], javm_gas_get(v[k]) + 5000);
            else { /* host call: change a register */
                uint64_t r7 = 0;
                javm_reg_get(v[k], 7, &r7);
                javm_reg_set(v[k], 7, r7 * 5 + ea.arg);
            }
        }
    }
    javm_instance_free(a);
    javm_instance_free(b);
    javm_program_free(p);
    return 0;
}
