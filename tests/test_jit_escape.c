/* jit: a guest cannot reach host memory outside its window (issue 9 "Security tests"; JIT-2,
 * JIT-3). The base register of a load, a store and an immediate store holds the full 64-bit
 * distance from the jit instance's window to a host object — a canary on the native stack that
 * runs the guest (and the stack below it, where the run's native frame lives), the program's
 * machine code, its djump table, the instance's page metadata — with and without a
 * displacement, through a host and a frame-resident register. Each access must behave exactly
 * as on the interpreter (only the low 32 bits address guest memory: a page fault there, or an
 * access of the guest page mapped there) and leave the host bytes unchanged. Dynamic jumps to
 * native code and table addresses (whole and low 32 bits) panic as on the interpreter. An
 * engine that formed guest addresses from all 64 bits fails here (reads host bytes, writes the
 * canary, or dies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "engine_diff.h"
#include "fault/fault.h"
#include "jit/jit.h"
#include "jit/jit_internal.h"
#include "pvm/asm.h"

typedef struct pair {
    javm_program *p;
    javm_instance *s, *j;
} pair;

/* A soft and a jit instance of src; base register r2 in the frame when frame_r2. */
static void make_pair(pair *pp, const char *src, int frame_r2) {
    uint8_t *blob = NULL;
    size_t len = 0;
    if (jv_asm_assemble(src, strlen(src), &blob, &len) != JAVM_OK)
        fail_msg("assembler: %s\n%s", javm_last_error(), src);
    assert_int_equal(javm_program_load(blob, len, &pp->p), JAVM_OK);
    free(blob);
    jv_jit_set_frame_mask(frame_r2 ? 1u << 2 : 0);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = JAVM_ENGINE_SOFT;
    assert_int_equal(javm_instance_new(pp->p, &cfg, &pp->s), JAVM_OK);
    cfg.engine = JAVM_ENGINE_JIT;
    assert_int_equal(javm_instance_new(pp->p, &cfg, &pp->j), JAVM_OK); /* compiles here */
    jv_jit_set_frame_mask(0);
}

static void free_pair(pair *pp) {
    javm_instance_free(pp->s);
    javm_instance_free(pp->j);
    javm_program_free(pp->p);
}

/* Runs both from pc 0 with r2 = base, r4 = a store pattern; compares exits and instances. */
static void run_both(pair *pp, uint64_t base, const char *what) {
    javm_instance *v[2] = {pp->s, pp->j};
    javm_exit_info ex[2] = {JAVM_EXIT_INFO_INIT, JAVM_EXIT_INFO_INIT};
    for (int k = 0; k < 2; k++) {
        for (unsigned i = 0; i < JAVM_NUM_REGS; i++)
            javm_reg_set(v[k], i, 0x1111111111111111ull * i);
        javm_reg_set(v[k], 2, base);
        javm_reg_set(v[k], 4, 0xA5A5A5A5A5A5A5A5ull);
        javm_pc_set(v[k], 0);
        javm_gas_set(v[k], 1000);
        assert_int_equal(javm_run(v[k], &ex[k]), JAVM_OK);
    }
    if (ex[0].kind != ex[1].kind || ex[0].pc != ex[1].pc || ex[0].arg != ex[1].arg)
        fail_msg("%s: %s pc %u arg 0x%llx vs jit %s pc %u arg 0x%llx", what,
                 javm_exit_str(ex[0].kind), ex[0].pc, (unsigned long long)ex[0].arg,
                 javm_exit_str(ex[1].kind), ex[1].pc, (unsigned long long)ex[1].arg);
    char why[256];
    if (jv_diff_instances(pp->s, pp->j, why, sizeof why)) fail_msg("%s: %s", what, why);
}

/* Host bytes watched for changes (a copy taken before the runs). */
typedef struct watched {
    const char *name;
    const uint8_t *at;
    uint8_t copy[64];
} watched;

static void access_forms(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static const char *const srcs[] = {
        "  load_ind_u64 r3, r2, 0\n  trap\n",
        "  load_ind_u8 r3, r2, 16\n  trap\n",
        "  store_ind_u64 r4, r2, 0\n  trap\n",
        "  store_ind_u32 r4, r2, 16\n  trap\n",
        "  store_imm_ind_u64 r2, 0, -0x5A5A5A5B\n  trap\n",
        "  store_imm_ind_u8 r2, 16, 0x5A\n  trap\n",
    };
    volatile uint64_t canary[8];
    for (unsigned i = 0; i < 8; i++) canary[i] = 0xC0FFEE0000000000ull | i;
    for (unsigned f = 0; f < sizeof srcs / sizeof srcs[0]; f++)
        for (int frame_r2 = 0; frame_r2 < 2; frame_r2++)
            for (int mapped = 0; mapped < 2; mapped++) {
                pair pp;
                make_pair(&pp, srcs[f], frame_r2);
                const jv_jit_code *k = NULL;
                assert_int_equal(jv_jit_code_of(pp.p, &k), JAVM_OK);
                const uint8_t *wbase = pp.j->mem.base;
                watched w[] = {
                    {"the native stack (a canary)", (const uint8_t *)canary, {0}},
                    {"the machine code", k->code + k->op_off[0], {0}},
                    {"the page metadata", pp.j->mem.pages + 0x20, {0}},
                };
                unsigned nw = sizeof w / sizeof w[0];
                for (unsigned t = 0; t < nw; t++) memcpy(w[t].copy, w[t].at, sizeof w[t].copy);
                /* the distances to the watched objects, and to the native stack below the
                 * canary (the run's call chain and frame) */
                uint64_t targets[24];
                unsigned nt = 0;
                for (unsigned t = 0; t < nw; t++)
                    targets[nt++] = (uint64_t)(uintptr_t)w[t].at - (uint64_t)(uintptr_t)wbase;
                for (unsigned d = 1; d <= 16; d++)
                    targets[nt++] =
                        (uint64_t)(uintptr_t)canary - 512u * d - (uint64_t)(uintptr_t)wbase;
                for (unsigned t = 0; t < nt; t++) {
                    uint64_t base = targets[t] - (strstr(srcs[f], ", 16") ? 16 : 0);
                    /* mapped: the guest page at the low 32 bits exists (the access succeeds
                     * in guest memory); else a page fault there */
                    if (mapped) {
                        uint32_t pg = (uint32_t)targets[t] & ~(uint32_t)(JV_PAGE_SIZE - 1);
                        for (int e = 0; e < 2; e++) {
                            javm_instance *vm = e ? pp.j : pp.s;
                            if (javm_page_access(vm, pg) == JAVM_ACCESS_NONE)
                                assert_int_equal(javm_map(vm, pg, JV_PAGE_SIZE, JAVM_ACCESS_RW,
                                                          "\x01\x02\x03", 3), JAVM_OK);
                        }
                        /* an access straddling into the next page needs it too */
                        if (((uint32_t)targets[t] & (JV_PAGE_SIZE - 1)) > JV_PAGE_SIZE - 8 &&
                            pg + JV_PAGE_SIZE != 0)
                            for (int e = 0; e < 2; e++) {
                                javm_instance *vm = e ? pp.j : pp.s;
                                if (javm_page_access(vm, pg + JV_PAGE_SIZE) == JAVM_ACCESS_NONE)
                                    assert_int_equal(javm_map(vm, pg + JV_PAGE_SIZE, JV_PAGE_SIZE,
                                                              JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
                            }
                    }
                    char what[200];
                    snprintf(what, sizeof what, "%s(r2 %s, %s) base 0x%llx", srcs[f],
                             frame_r2 ? "in the frame" : "a host register",
                             mapped ? "guest page mapped" : "unmapped", (unsigned long long)base);
                    run_both(&pp, base, what);
                    for (unsigned i = 0; i < nw; i++)
                        if (memcmp(w[i].copy, w[i].at, sizeof w[i].copy))
                            fail_msg("%s: %s changed", what, w[i].name);
                }
                free_pair(&pp);
            }
    for (unsigned i = 0; i < 8; i++) assert_int_equal(canary[i], 0xC0FFEE0000000000ull | i);
}

/* Dynamic jumps to native addresses: the code of an op, the djump table, the entry stub, whole
 * and as their low 32 bits; with a jump table and without one. */
static void djumps_to_native_addresses(void **state) {
    (void)state;
    static const char *const srcs[] = {
        ".jumptable A, B\n  jump_ind r2, 0\nA:\n  load_imm r9, 1\n  trap\nB:\n  trap\n",
        "  jump_ind r2, 0\nA:\n  load_imm r9, 1\n  trap\n",
        ".jumptable A, B\n  load_imm_jump_ind r2, r2, 7, 0\nA:\n  trap\nB:\n  trap\n",
    };
    for (unsigned f = 0; f < sizeof srcs / sizeof srcs[0]; f++)
        for (int frame_r2 = 0; frame_r2 < 2; frame_r2++) {
            pair pp;
            make_pair(&pp, srcs[f], frame_r2);
            const jv_jit_code *k = NULL;
            assert_int_equal(jv_jit_code_of(pp.p, &k), JAVM_OK);
            uint64_t natives[] = {
                (uint64_t)(uintptr_t)(k->code + k->op_off[0]),
                (uint64_t)(uintptr_t)(k->code + k->op_off[k->nops - 1]),
                (uint64_t)(uintptr_t)(k->code + k->off_entry),
                (uint64_t)(uintptr_t)(k->code + k->off_exit),
                (uint64_t)(uintptr_t)k->jt,
                (uint64_t)(uintptr_t)k->jt - (uint64_t)(uintptr_t)pp.j->mem.base,
            };
            for (unsigned i = 0; i < sizeof natives / sizeof natives[0]; i++)
                for (int low = 0; low < 2; low++) {
                    uint64_t a = low ? (uint32_t)natives[i] : natives[i];
                    char what[200];
                    snprintf(what, sizeof what, "%s(r2 %s) target 0x%llx", srcs[f],
                             frame_r2 ? "in the frame" : "a host register", (unsigned long long)a);
                    run_both(&pp, a, what);
                    run_both(&pp, a & ~1ull, what); /* an even one too */
                }
            free_pair(&pp);
        }
}

int main(void) {
    if (!javm_engine_available(JAVM_ENGINE_JIT)) {
        printf("jit engine not available on this host: 0 passed, 0 failed\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(access_forms),
        cmocka_unit_test(djumps_to_native_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
