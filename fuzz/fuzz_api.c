/* Lockstep fuzz target for the public API: one soft and one paged instance of the same program
 * receive the same sequence of operations — map, unmap, protect, map snapshot, host read and
 * write, run, reset, pc set, register set, gas set — and must agree on every result (status,
 * bytes read, exit) and, after every run and at the end, on their whole state
 * (jv_diff_instances: registers, gas, pc, every mapped page's bytes, permission, kind, state
 * and dirty bit, statistics). A disagreement aborts with the operation that showed it.
 *
 * Input: 8 bytes of seed (the program and initial page map, as tests/diff_gen.h builds them; one
 * byte of it also selects #3 accounting), then 4 bytes per operation: the operation, a page
 * (one of the generator's interesting pages), a page count / offset and an argument byte.
 * Cost: two instances per input; the bounded smoke run of `make test` (fuzz/driver.c, which
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

static void disagree(const char *what) {
    fprintf(stderr, "fuzz_api: soft and paged disagree: %s\noperations:\n%s\nprogram:\n%s", what,
            g_log, g_case.src);
    abort();
}

static void same_state(javm_instance *vm[2]) {
    char why[256];
    if (jv_diff_instances(vm[0], vm[1], why, sizeof why)) disagree(why);
}

static void same_status(javm_status a, javm_status b, const char *op) {
    if (a != b) {
        char why[128];
        snprintf(why, sizeof why, "%s: status %s vs %s", op, javm_status_str(a),
                 javm_status_str(b));
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
    javm_instance *vm[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        vm[k] = dg_instance(&g_case, p, k ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT,
                            (int)(seed & 1));
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
        javm_status s[2];
        switch (op) {
        case 0:
            note("map 0x%x +%llu %s\n", page, (unsigned long long)count, acc == 1 ? "ro" : "rw");
            for (int k = 0; k < 2; k++) s[k] = javm_map(vm[k], page, size_b, acc, NULL, 0);
            same_status(s[0], s[1], "map");
            break;
        case 1:
            note("unmap 0x%x +%llu\n", page, (unsigned long long)count);
            for (int k = 0; k < 2; k++) s[k] = javm_unmap(vm[k], page, size_b);
            same_status(s[0], s[1], "unmap");
            break;
        case 2:
            note("protect 0x%x +%llu %s\n", page, (unsigned long long)count,
                 acc == 1 ? "ro" : "rw");
            for (int k = 0; k < 2; k++) s[k] = javm_protect(vm[k], page, size_b, acc);
            same_status(s[0], s[1], "protect");
            break;
        case 3: {
            uint64_t off = (uint64_t)(arg >> 1 & 15) * JV_PAGE_SIZE;
            note("map snapshot 0x%x +%llu at %llu\n", page, (unsigned long long)count,
                 (unsigned long long)off);
            for (int k = 0; k < 2; k++)
                s[k] = javm_map_snapshot(vm[k], page, size_b, acc, dg_snapshot(), off);
            same_status(s[0], s[1], "map snapshot");
            break;
        }
        case 4: {
            uint32_t a = page + (uint32_t)data[i + 2] * 17;
            size_t n = 1 + arg % 64;
            uint8_t b[2][64];
            note("read 0x%x %zu\n", a, n);
            for (int k = 0; k < 2; k++) s[k] = javm_mem_read(vm[k], a, b[k], n);
            same_status(s[0], s[1], "read");
            if (s[0] == JAVM_OK && memcmp(b[0], b[1], n)) disagree("read: bytes differ");
            break;
        }
        case 5: {
            uint32_t a = page + (uint32_t)data[i + 2] * 17;
            size_t n = 1 + arg % 64;
            uint8_t b[64];
            for (size_t j = 0; j < n; j++) b[j] = (uint8_t)(arg + j * 31);
            note("write 0x%x %zu\n", a, n);
            for (int k = 0; k < 2; k++) s[k] = javm_mem_write(vm[k], a, b, n);
            same_status(s[0], s[1], "write");
            break;
        }
        case 6: {
            javm_exit_info ex[2] = {JAVM_EXIT_INFO_INIT, JAVM_EXIT_INFO_INIT};
            note("run\n");
            for (int k = 0; k < 2; k++) s[k] = javm_run(vm[k], &ex[k]);
            same_status(s[0], s[1], "run");
            if (s[0] == JAVM_OK &&
                (ex[0].kind != ex[1].kind || ex[0].pc != ex[1].pc || ex[0].arg != ex[1].arg ||
                 ex[0].next_pc != ex[1].next_pc))
                disagree("run: exits differ");
            same_state(vm);
            break;
        }
        case 7:
            note("reset\n");
            for (int k = 0; k < 2; k++) s[k] = javm_instance_reset(vm[k], NULL);
            same_status(s[0], s[1], "reset");
            break;
        case 8: {
            uint32_t pc = (uint32_t)(data[i + 2] | arg << 8) % (javm_program_code_size(p) + 2);
            note("pc %u\n", pc);
            for (int k = 0; k < 2; k++) s[k] = javm_pc_set(vm[k], pc);
            same_status(s[0], s[1], "pc set");
            break;
        }
        case 9: {
            uint64_t v = (uint64_t)page + data[i + 2] * 0x101u + ((uint64_t)arg << 56);
            note("r%u = 0x%llx\n", arg % 13u, (unsigned long long)v);
            for (int k = 0; k < 2; k++) s[k] = javm_reg_set(vm[k], arg % 13u, v);
            same_status(s[0], s[1], "reg set");
            break;
        }
        default: {
            int64_t g = (int64_t)(data[i + 2] | arg << 8) * (arg & 1 ? 1 : 40);
            note("gas %lld\n", (long long)g);
            for (int k = 0; k < 2; k++) javm_gas_set(vm[k], g);
            break;
        }
        }
    }
    same_state(vm);
    javm_instance_free(vm[0]);
    javm_instance_free(vm[1]);
    javm_program_free(p);
    return 0;
}
