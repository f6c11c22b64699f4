/* Fuzz target: program blobs and the interpreter.
 *   1. the raw input as a blob (javm_program_load) and as a standard container: must either
 *      load or fail with a status and a message, never crash;
 *   2. a blob built from the input (code = first part, bitmask = the rest, padding cleared,
 *      a small jump table): always valid; run it with a small gas limit over a small page map
 *      on the default loop and the switch loop, resuming host calls and page faults a few
 *      times, and require them and the traced single-step loop to agree exactly (exits,
 *      pcs, gas, registers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "javm.h"
#include "pvm/pvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct outcome {
    javm_exit_kind kind[8];
    uint32_t pc[8];
    uint64_t arg[8];
    int64_t gas;
    uint64_t regs[13];
    int n;
} outcome;

static void run_one(const javm_program *p, const uint8_t *data, size_t size, int loop,
                    outcome *o) {
    memset(o, 0, sizeof *o);
    javm_instance *vm;
    if (javm_instance_new(p, NULL, &vm) != JAVM_OK) abort();
    javm_map(vm, 0x10000, 4096, JAVM_ACCESS_RO, data, size);
    javm_map(vm, 0x20000, 8192, JAVM_ACCESS_RW, data, size);
    for (unsigned i = 0; i < 13; i++) {
        uint64_t v = 0;
        for (unsigned k = 0; k < 8 && i * 8 + k < size; k++)
            v |= (uint64_t)data[i * 8 + k] << (8 * k);
        /* bias a few registers into the mapped pages and the jump-table range */
        if (i % 3 == 0) v = 0x20000 + (v & 0x1fff);
        if (i % 3 == 1) v &= 0x1e;
        javm_reg_set(vm, i, v);
    }
    javm_gas_set(vm, 2000);
    for (int r = 0; r < 8; r++) {
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        if (jv_api_run_with(vm, loop, &ex) != JAVM_OK) break;
        o->kind[r] = ex.kind;
        o->pc[r] = ex.pc;
        o->arg[r] = ex.arg;
        o->n = r + 1;
        if (ex.kind == JAVM_EXIT_PAGE_FAULT) {
            if (javm_map(vm, (uint32_t)ex.arg, 4096, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) break;
        } else if (ex.kind != JAVM_EXIT_HOST_CALL) {
            break;
        }
    }
    o->gas = javm_gas_get(vm);
    for (unsigned i = 0; i < 13; i++) (void)javm_reg_get(vm, i, &o->regs[i]);
    javm_instance_free(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    javm_program *p = NULL;
    if (javm_program_load(data, size, &p) == JAVM_OK) javm_program_free(p);
    else if (!javm_last_error()[0]) abort();
    p = NULL;
    if (javm_program_load_standard(data, size, &p) == JAVM_OK) javm_program_free(p);

    if (size < 2) return 0;
    size_t clen = size * 3 / 4;
    if (clen > 2048) clen = 2048;
    uint8_t mask[2048 / 8 + 1] = {0};
    size_t kb = (clen + 7) / 8;
    for (size_t i = 0; i < kb; i++) mask[i] = data[(clen + i) % size] | (i == 0);
    if (clen % 8) mask[kb - 1] &= (uint8_t)((1u << (clen % 8)) - 1);
    uint32_t jt[4];
    for (int i = 0; i < 4; i++) jt[i] = data[(size_t)i % size] % (uint32_t)(clen + 1);
    size_t n;
    uint8_t *blob = jv_pvm_blob_encode(jt, 4, 2, data, (uint32_t)clen, mask, &n);
    if (!blob) return 0;
    if (javm_program_load(blob, n, &p) != JAVM_OK) abort(); /* a built blob is always valid */
    free(blob);
    outcome a, b, c;
    run_one(p, data, size, 0, &a);
    run_one(p, data, size, 1, &b);
    run_one(p, data, size, 2, &c);
    /* the dispatch strategies and the single-step loop must agree */
    if (memcmp(&a, &b, sizeof a) || memcmp(&a, &c, sizeof a)) abort();
    javm_program_free(p);
    return 0;
}
