/* Lockstep fuzz target for the public API: a soft, a paged and (where available) a jit instance
 * of the same program receive the same sequence of operations — map, unmap, protect, map snapshot, host read and
 * write, run, reset, pc set, register set, gas set — and must agree on every result (status,
 * bytes read, exit) and, after every run and at the end, on their whole state
 * (jv_diff_instances: registers, gas, pc, every mapped page's bytes, permission, kind, state
 * and dirty bit, statistics) with the soft one. A disagreement aborts with the operation that
 * showed it.
 *
 * Input: 8 bytes of seed (the program and initial page map, as tests/diff_gen.h builds them; one
 * byte of it also selects #3 accounting), then 4 bytes per operation: the operation, a page
 * (one of the generator's interesting pages), a page count / offset and an argument byte.
 * Cost: three instances per input; the bounded smoke run of `make test` (fuzz/driver.c, which
 * does not call LLVMFuzzerInitialize) checks one input in sixteen. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sample.h"
#include "../tests/diff_gen.h"

static dg_case g_case;
static char g_log[4096];
static size_t g_log_len;

static void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(g_log + g_log_len, sizeof g_log - g_log_len, fmt, ap);
    va_end(ap);
    if (k > 0 && (size_t)k < sizeof g_log - g_log_len) g_log_len += (size_t)k;
}

/* The engines in lockstep: [0] soft (the reference), [1] paged, [2] jit; g_n of them run. */
static const javm_engine g_engines[3] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
static int g_n;
static int g_who; /* the engine that disagreed */

static void disagree(const char *what) {
    fprintf(stderr, "fuzz_api: soft and %s disagree: %s\noperations:\n%s\nprogram:\n%s",
            javm_engine_name(g_engines[g_who]), what, g_log, g_case.src);
    abort();
}

static void same_state(javm_instance *vm[3]) {
    char why[256];
    for (g_who = 1; g_who < g_n; g_who++)
        if (jv_diff_instances(vm[0], vm[g_who], why, sizeof why)) disagree(why);
}

static void same_status(const javm_status *s, const char *op) {
    for (g_who = 1; g_who < g_n; g_who++)
        if (s[0] != s[g_who]) {
            char why[128];
            snprintf(why, sizeof why, "%s: status %s vs %s", op, javm_status_str(s[0]),
                     javm_status_str(s[g_who]));
            disagree(why);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8 || !javm_engine_available(JAVM_ENGINE_PAGED)) return 0;
    uint64_t seed = 0;
    for (int i = 0; i < 8; i++) seed = seed << 8 | data[i];
    uint64_t h = fuzz_hash(data, size);
    if (!fuzz_sampled(h >> 32, 16)) return 0;
    dg_generate(seed, &g_case);
    uint8_t *blob = NULL;
    size_t blen = 0;
    if (jv_asm_assemble(g_case.src, g_case.len, &blob, &blen) != JAVM_OK) return 0;
    javm_program *p = NULL;
    javm_status ls = javm_program_load(blob, blen, &p);
    free(blob);
    if (ls != JAVM_OK) return 0;
    javm_instance *vm[3] = {NULL, NULL, NULL};
    g_n = javm_engine_available(JAVM_ENGINE_JIT) ? 3 : 2;
    for (int k = 0; k < g_n; k++) {
        vm[k] = dg_instance(&g_case, p, g_engines[k], (int)(seed & 1));
        if (!vm[k]) {
            fprintf(stderr, "fuzz_api: instance: %s\n", javm_last_error());
            abort();
        }
    }
    g_log_len = 0;
    g_log[0] = 0;
    for (size_t i = 8; i + 4 <= size; i += 4) {
        unsigned op = data[i] % 11;
        uint32_t page = dg_pages[data[i + 1] % DG_NPAGES];
        uint64_t count = 1 + (data[i + 2] & 3);
        if ((uint64_t)page + count * JV_PAGE_SIZE > (1ull << 32))
            count = ((1ull << 32) - page) / JV_PAGE_SIZE;
        uint64_t size_b = count * JV_PAGE_SIZE;
        uint8_t arg = data[i + 3];
        javm_access acc = arg & 1 ? JAVM_ACCESS_RW : JAVM_ACCESS_RO;
        javm_status s[3];
        switch (op) {
        case 0:
            note("map 0x%x +%llu %s\n", page, (unsigned long long)count, acc == 1 ? "ro" : "rw");
            for (int k = 0; k < g_n; k++) s[k] = javm_map(vm[k], page, size_b, acc, NULL, 0);
            same_status(s, "map");
            break;
        case 1:
            note("unmap 0x%x +%llu\n", page, (unsigned long long)count);
            for (int k = 0; k < g_n; k++) s[k] = javm_unmap(vm[k], page, size_b);
            same_status(s, "unmap");
            break;
        case 2:
            note("protect 0x%x +%llu %s\n", page, (unsigned long long)count,
                 acc == 1 ? "ro" : "rw");
            for (int k = 0; k < g_n; k++) s[k] = javm_protect(vm[k], page, size_b, acc);
            same_status(s, "protect");
            break;
        case 3: {
            uint64_t off = (uint64_t)(arg >> 1 & 15) * JV_PAGE_SIZE;
            note("map snapshot 0x%x +%llu at %llu\n", page, (unsigned long long)count,
                 (unsigned long long)off);
            for (int k = 0; k < g_n; k++)
                s[k] = javm_map_snapshot(vm[k], page, size_b, acc, dg_snapshot(), off);
            same_status(s, "map snapshot");
            break;
        }
        case 4: {
            uint32_t a = page + (uint32_t)data[i + 2] * 17;
            size_t n = 1 + arg % 64;
            uint8_t b[3][64];
            note("read 0x%x %zu\n", a, n);
            for (int k = 0; k < g_n; k++) s[k] = javm_mem_read(vm[k], a, b[k], n);
            same_status(s, "read");
            for (g_who = 1; s[0] == JAVM_OK && g_who < g_n; g_who++)
                if (memcmp(b[0], b[g_who], n)) disagree("read: bytes differ");
            break;
        }
        case 5: {
            uint32_t a = page + (uint32_t)data[i + 2] * 17;
            size_t n = 1 + arg % 64;
            uint8_t b[64];
            for (size_t j = 0; j < n; j++) b[j] = (uint8_t)(arg + j * 31);
            note("write 0x%x %zu\n", a, n);
            for (int k = 0; k < g_n; k++) s[k] = javm_mem_write(vm[k], a, b, n);
            same_status(s, "write");
            break;
        }
        case 6: {
            javm_exit_info ex[3] = {JAVM_EXIT_INFO_INIT, JAVM_EXIT_INFO_INIT, JAVM_EXIT_INFO_INIT};
            note("run\n");
            for (int k = 0; k < g_n; k++) s[k] = javm_run(vm[k], &ex[k]);
            same_status(s, "run");
            for (g_who = 1; s[0] == JAVM_OK && g_who < g_n; g_who++)
                if (ex[0].kind != ex[g_who].kind || ex[0].pc != ex[g_who].pc ||
                    ex[0].arg != ex[g_who].arg || ex[0].next_pc != ex[g_who].next_pc)
                    disagree("run: exits differ");
            same_state(vm);
            break;
        }
        case 7:
            note("reset\n");
            for (int k = 0; k < g_n; k++) s[k] = javm_instance_reset(vm[k], NULL);
            same_status(s, "reset");
            break;
        case 8: {
            uint32_t pc = (uint32_t)(data[i + 2] | arg << 8) % (javm_program_code_size(p) + 2);
            note("pc %u\n", pc);
            for (int k = 0; k < g_n; k++) s[k] = javm_pc_set(vm[k], pc);
            same_status(s, "pc set");
            break;
        }
        case 9: {
            uint64_t v = (uint64_t)page + data[i + 2] * 0x101u + ((uint64_t)arg << 56);
            note("r%u = 0x%llx\n", arg % 13u, (unsigned long long)v);
            for (int k = 0; k < g_n; k++) s[k] = javm_reg_set(vm[k], arg % 13u, v);
            same_status(s, "reg set");
            break;
        }
        default: {
            int64_t g = (int64_t)(data[i + 2] | arg << 8) * (arg & 1 ? 1 : 40);
            note("gas %lld\n", (long long)g);
            for (int k = 0; k < g_n; k++) javm_gas_set(vm[k], g);
            break;
        }
        }
    }
    same_state(vm);
    for (int k = 0; k < g_n; k++) javm_instance_free(vm[k]);
    javm_program_free(p);
    return 0;
}
