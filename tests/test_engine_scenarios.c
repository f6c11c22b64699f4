/* engine: the scenario catalogue of docs/MEMORY.md §15 for plain page maps, table-driven,
 * each case run on the soft and the paged engine with #3 accounting on: the expected exit,
 * fault address, #1 and #3 gas, CoW count and page states are checked on both engines, and the
 * two instances are compared completely (registers, memory, page states, statistics). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_helpers.h"
#include "engine/engine.h"
#include "engine_diff.h"
#include "pvm/asm.h"
#include "regs.h"

#define HALT "  load_imm r0, -65536\n  jump_ind r0, 0\n"
#define COW JV_COW_COST

typedef struct sc_map {
    uint32_t addr, pages;
    javm_access access;
} sc_map;

typedef struct sc_state {
    uint32_t addr;
    jv_page_state st;
} sc_state;

typedef struct scenario {
    const char *name; /* the catalogue item */
    const char *src;
    sc_map maps[4];
    int64_t gas;
    javm_exit_kind kind;
    uint64_t arg;      /* fault address */
    int64_t gas_used;  /* #1 + #3 */
    uint64_t mat_gas;  /* #3 */
    uint64_t cow;
    sc_state states[3];
    uint64_t ro_units; /* paged engine only; ~0 = not checked */
} scenario;

static const scenario cases[] = {
    {"1 first read of a fresh writable page charges 0",
     "  load_u64 r1, 0x20000\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}}, 100000,
     JAVM_EXIT_HALT, 0, 3, 0, 0, {{0x20000, JV_STATE_PRESENT_RO}}, ~0ull},
    {"2 first write to a fresh writable page charges one COW_COST",
     "  store_u64 r1, 0x20000\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}}, 100000,
     JAVM_EXIT_HALT, 0, 3 + COW, COW, 1, {{0x20000, JV_STATE_PRESENT_RW}}, ~0ull},
    {"3 read then write of one page is one CoW",
     "  load_u32 r1, 0x20010\n  store_u32 r1, 0x20020\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}},
     100000, JAVM_EXIT_HALT, 0, 4 + COW, COW, 1, {{0x20000, JV_STATE_PRESENT_RW}}, ~0ull},
    {"4 a second write to the same page charges 0",
     "  store_u8 r1, 0x20000\n  store_u16 r1, 0x20ffe\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}},
     100000, JAVM_EXIT_HALT, 0, 4 + COW, COW, 1, {{0x20000, JV_STATE_PRESENT_RW}}, ~0ull},
    {"5a a write straddling two fresh writable pages charges 2 CoWs",
     "  store_u64 r1, 0x20ffc\n" HALT, {{0x20000, 2, JAVM_ACCESS_RW}}, 100000, JAVM_EXIT_HALT,
     0, 3 + 2 * COW, 2 * COW, 2,
     {{0x20000, JV_STATE_PRESENT_RW}, {0x21000, JV_STATE_PRESENT_RW}}, ~0ull},
    {"5b a straddling read charges 0 and marks both pages present",
     "  load_u32 r1, 0x20ffe\n" HALT, {{0x20000, 2, JAVM_ACCESS_RW}}, 100000, JAVM_EXIT_HALT,
     0, 3, 0, 0, {{0x20000, JV_STATE_PRESENT_RO}, {0x21000, JV_STATE_PRESENT_RO}}, ~0ull},
    {"6 a write into a pinned page panics charging nothing; earlier charges stay",
     "  store_u8 r1, 0x20000\n  store_u8 r1, 0x30000\n" HALT,
     {{0x20000, 1, JAVM_ACCESS_RW}, {0x30000, 1, JAVM_ACCESS_RO}}, 100000, JAVM_EXIT_PANIC, 0,
     4 + COW, COW, 1, {{0x20000, JV_STATE_PRESENT_RW}, {0x30000, JV_STATE_NOT_PRESENT}}, ~0ull},
    {"7 a straddle out of its region faults with no charge; first page unchanged",
     "  store_u64 r1, 0x20ffc\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}}, 100000,
     JAVM_EXIT_PAGE_FAULT, 0x21000, 3, 0, 0, {{0x20000, JV_STATE_NOT_PRESENT}}, ~0ull},
    {"8a an access to an undeclared page faults at its page base, no charge",
     "  load_u16 r1, 0x40123\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}}, 100000,
     JAVM_EXIT_PAGE_FAULT, 0x40000, 3, 0, 0, {{0x20000, JV_STATE_NOT_PRESENT}}, ~0ull},
    {"8b an access below 64 KiB panics, no charge", "  store_u32 r1, 0x8000\n" HALT,
     {{0x20000, 1, JAVM_ACCESS_RW}}, 100000, JAVM_EXIT_PANIC, 0, 3, 0, 0, {{0}}, ~0ull},
    {"9 read-only/writable adjacency: a read straddles, a write from rw into ro panics",
     "  load_u64 r1, 0x20ffc\n  store_u64 r1, 0x20ffc\n" HALT,
     {{0x20000, 1, JAVM_ACCESS_RW}, {0x21000, 1, JAVM_ACCESS_RO}}, 100000, JAVM_EXIT_PANIC, 0,
     4, 0, 0, {{0x20000, JV_STATE_PRESENT_RO}}, ~0ull},
    {"11 two read-only caps in one 2 MiB cluster are two units; reads are free",
     "  load_u8 r1, 0x400000\n  load_u8 r2, 0x403000\n  load_u8 r3, 0x401000\n" HALT,
     {{0x400000, 2, JAVM_ACCESS_RO}, {0x403000, 1, JAVM_ACCESS_RO}}, 100000, JAVM_EXIT_HALT, 0,
     5, 0, 0, {{0x400000, JV_STATE_NOT_PRESENT}}, 2},
    {"12 writes to two pages in one 2 MiB cluster charge two CoWs",
     "  store_u8 r1, 0x400000\n  store_u8 r1, 0x401000\n" HALT,
     {{0x400000, 2, JAVM_ACCESS_RW}}, 100000, JAVM_EXIT_HALT, 0, 4 + 2 * COW, 2 * COW, 2,
     {{0x400000, JV_STATE_PRESENT_RW}, {0x401000, JV_STATE_PRESENT_RW}}, 0},
    {"13a block gate: gas = cost + reserve - 1 is out of gas, gas unchanged",
     "  store_u8 r1, 0x20000\n  store_u8 r1, 0x20001\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}},
     4 + 2 * 2 * COW - 1, JAVM_EXIT_OUT_OF_GAS, 0, 0, 0, 0,
     {{0x20000, JV_STATE_NOT_PRESENT}}, ~0ull},
    {"13b block gate: gas = cost + reserve enters and charges only the cost up front",
     "  store_u8 r1, 0x20000\n  store_u8 r1, 0x20001\n" HALT, {{0x20000, 1, JAVM_ACCESS_RW}},
     4 + 2 * 2 * COW, JAVM_EXIT_HALT, 0, 4 + COW, COW, 1, {{0x20000, JV_STATE_PRESENT_RW}},
     ~0ull},
    {"19 fault address: the lowest inaccessible byte's page, also for a second-page fault",
     "  load_u64 r1, 0x21ffd\n" HALT, {{0x21000, 1, JAVM_ACCESS_RO}}, 100000,
     JAVM_EXIT_PAGE_FAULT, 0x22000, 3, 0, 0, {{0x21000, JV_STATE_NOT_PRESENT}}, ~0ull},
    {"wrap: an 8-byte write at 0xFFFFFFFC with page 0 mapped charges two CoWs",
     "  load_imm r10, -4\n  store_ind_u64 r1, r10, 0\n" HALT,
     {{0xFFFFF000u, 1, JAVM_ACCESS_RW}, {0, 1, JAVM_ACCESS_RW}}, 100000, JAVM_EXIT_HALT, 0,
     4 + 2 * COW, 2 * COW, 2, {{0xFFFFF000u, JV_STATE_PRESENT_RW}, {0, JV_STATE_PRESENT_RW}},
     ~0ull},
    {"wrap: a read at 0xFFFFFFFE with page 0 unmapped panics (lowest bad byte 0)",
     "  load_imm r10, -2\n  load_ind_u32 r1, r10, 0\n" HALT, {{0xFFFFF000u, 1, JAVM_ACCESS_RW}},
     100000, JAVM_EXIT_PANIC, 0, 4, 0, 0, {{0xFFFFF000u, JV_STATE_NOT_PRESENT}}, ~0ull},
};

/* The program of an assembly source; a source that does not assemble fails the test, naming it. */
static javm_program *assemble(const char *name, const char *src) {
    uint8_t *blob = NULL;
    size_t len = 0;
    if (jv_asm_assemble(src, strlen(src), &blob, &len) != JAVM_OK)
        fail_msg("%s: %s", name, javm_last_error());
    javm_program *p = NULL;
    assert_int_equal(javm_program_load(blob, len, &p), JAVM_OK);
    free(blob);
    return p;
}

static javm_instance *build(const scenario *c, javm_program *p, javm_engine e) {
    javm_instance *vm = test_instance(p, e, 1);
    for (unsigned i = 0; i < 4 && c->maps[i].pages; i++)
        assert_int_equal(javm_map(vm, c->maps[i].addr, (uint64_t)c->maps[i].pages * JV_PAGE_SIZE,
                                  c->maps[i].access, NULL, 0),
                         JAVM_OK);
    javm_reg_set(vm, 1, 0x0102030405060708ull);
    javm_gas_set(vm, c->gas);
    return vm;
}

static void run_case(const scenario *c) {
    javm_program *p = assemble(c->name, c->src);
    javm_instance *vm[2];
    javm_exit_info ex[2];
    for (int k = 0; k < 2; k++) {
        ex[k] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
        vm[k] = build(c, p, k ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT);
        assert_int_equal(javm_run(vm[k], &ex[k]), JAVM_OK);
        const char *eng = k ? "paged" : "soft";
        javm_stats s = JAVM_STATS_INIT;
        javm_stats_get(vm[k], &s);
        if (ex[k].kind != c->kind || ex[k].arg != c->arg)
            fail_msg("%s [%s]: exit %s arg 0x%llx", c->name, eng, javm_exit_str(ex[k].kind),
                     (unsigned long long)ex[k].arg);
        if (c->gas - javm_gas_get(vm[k]) != c->gas_used || s.mat_gas != c->mat_gas ||
            s.cow_pages != c->cow)
            fail_msg("%s [%s]: gas used %lld, #3 %llu, cow %llu", c->name, eng,
                     (long long)(c->gas - javm_gas_get(vm[k])), (unsigned long long)s.mat_gas,
                     (unsigned long long)s.cow_pages);
        for (unsigned i = 0; i < 3 && (c->states[i].addr || c->states[i].st); i++)
            if (jv_pg_state(vm[k]->mem.pages[c->states[i].addr >> 12]) != c->states[i].st)
                fail_msg("%s [%s]: state of page 0x%x", c->name, eng, c->states[i].addr);
        if (k == 1 && c->ro_units != ~0ull && s.ro_units != c->ro_units)
            fail_msg("%s: %llu read-only units", c->name, (unsigned long long)s.ro_units);
    }
    char why[256];
    if (ex[0].pc != ex[1].pc || jv_diff_instances(vm[0], vm[1], why, sizeof why))
        fail_msg("%s: soft vs paged: %s", c->name, why);
    for (int k = 0; k < 2; k++) javm_instance_free(vm[k]);
    javm_program_free(p);
}

static void catalogue(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* A page fault exit is resumable: the host maps the page and the retried access is charged
 * exactly once; a new frame (jv_mem_new_frame) re-arms CoW on both engines. */
static void fault_resume_and_new_frame(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    const char *src = "  store_u32 r1, 0x20ffe\n  store_u8 r1, 0x20000\n" HALT;
    javm_program *p = assemble(__func__, src);
    javm_instance *vm[2];
    for (int k = 0; k < 2; k++) {
        scenario c = {.maps = {{0x20000, 1, JAVM_ACCESS_RW}}, .gas = 100000};
        vm[k] = build(&c, p, k ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_run(vm[k], &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
        assert_int_equal(ex.arg, 0x21000);
        assert_int_equal(javm_gas_get(vm[k]), 100000 - 4);
        assert_int_equal(javm_map(vm[k], 0x21000, JV_PAGE_SIZE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
        assert_int_equal(javm_run(vm[k], &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_gas_get(vm[k]), 100000 - 4 - 2 * COW);
        jv_mem_new_frame(&vm[k]->mem);
        javm_pc_set(vm[k], 0);
        assert_int_equal(javm_run(vm[k], &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_gas_get(vm[k]), 100000 - 8 - 4 * COW);
    }
    char why[256];
    if (jv_diff_instances(vm[0], vm[1], why, sizeof why)) fail_msg("soft vs paged: %s", why);
    for (int k = 0; k < 2; k++) javm_instance_free(vm[k]);
    javm_program_free(p);
}

/* Snapshots: one memfd snapshot mapped into instances of both engines; reads see its bytes, the tail
 * past the snapshot reads zero (N < S), a guest write is private to its instance (CoW), and the
 * engines agree on everything incl. #3 gas. */
static void snapshot_shared_copy_on_write(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static uint8_t data[3 * JV_PAGE_SIZE];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 13 + 1);
    javm_snapshot *snap = NULL;
    assert_int_equal(javm_snapshot_new(data, sizeof data - 100, &snap), JAVM_OK);
    const char *src = "  load_u64 r2, 0x20ff8\n  load_u8 r3, 0x22fff\n  load_u32 r4, 0x23000\n"
                      "  store_u64 r1, 0x21000\n" HALT;
    javm_program *p = assemble(__func__, src);
    javm_instance *vm[2];
    for (int k = 0; k < 2; k++) {
        scenario c = {.gas = 100000};
        vm[k] = build(&c, p, k ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT);
        assert_int_equal(javm_map_snapshot(vm[k], 0x20000, 4 * JV_PAGE_SIZE, JAVM_ACCESS_RW, snap, 0),
                         JAVM_OK);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_run(vm[k], &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t want;
        memcpy(&want, data + 0xff8, 8);
        assert_int_equal(test_reg(vm[k], 2), want);
        assert_int_equal(test_reg(vm[k], 3), 0); /* past the snapshot's 12188 bytes */
        assert_int_equal(test_reg(vm[k], 4), 0); /* the zero page beyond the snapshot */
        assert_int_equal(javm_gas_get(vm[k]), 100000 - 6 - COW);
    }
    /* The write stayed private: the other instance and the snapshot are unchanged. */
    uint8_t b[8];
    assert_int_equal(javm_mem_read(vm[0], 0x21000, b, 8), JAVM_OK);
    assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    javm_instance *fresh;
    scenario c = {.gas = 1};
    fresh = build(&c, p, JAVM_ENGINE_PAGED);
    assert_int_equal(javm_map_snapshot(fresh, 0x20000, 2 * JV_PAGE_SIZE, JAVM_ACCESS_RO, snap,
                                    JV_PAGE_SIZE),
                     JAVM_OK);
    assert_int_equal(javm_mem_read(fresh, 0x20000, b, 8), JAVM_OK);
    assert_memory_equal(b, data + JV_PAGE_SIZE, 8);
    assert_int_equal(javm_map_snapshot(fresh, 0x20000, JV_PAGE_SIZE, JAVM_ACCESS_RO, snap, 123),
                     JAVM_ERR_UNALIGNED);
    char why[256];
    if (jv_diff_instances(vm[0], vm[1], why, sizeof why)) fail_msg("soft vs paged: %s", why);
    javm_instance_free(fresh);
    for (int k = 0; k < 2; k++) javm_instance_free(vm[k]);
    javm_snapshot_free(snap);
    javm_program_free(p);
}

/* Reset for reuse: dirty snapshot pages get the snapshot back, dirty zero pages zero, clean pages are
 * untouched; the second run charges exactly like the first on both engines. */
static void reset_restores_dirty_pages(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static uint8_t data[2 * JV_PAGE_SIZE];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 3);
    javm_snapshot *snap = NULL;
    assert_int_equal(javm_snapshot_new(data, sizeof data, &snap), JAVM_OK);
    const char *src = "  load_u64 r2, 0x20000\n  store_u64 r1, 0x20000\n  store_u32 r1, 0x30ffe\n"
                      HALT;
    javm_program *p = assemble(__func__, src);
    javm_instance *vm[2];
    for (int k = 0; k < 2; k++) {
        scenario c = {.maps = {{0x30000, 2, JAVM_ACCESS_RW}}, .gas = 100000};
        vm[k] = build(&c, p, k ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT);
        assert_int_equal(javm_map_snapshot(vm[k], 0x20000, 2 * JV_PAGE_SIZE, JAVM_ACCESS_RW, snap, 0),
                         JAVM_OK);
        uint8_t host[4] = {9, 8, 7, 6};
        assert_int_equal(javm_mem_write(vm[k], 0x21000, host, 4), JAVM_OK); /* clean page */
        for (int round = 0; round < 2; round++) {
            javm_reg_set(vm[k], 1, 0x1111111111111111ull);
            javm_gas_set(vm[k], 100000);
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_run(vm[k], &ex), JAVM_OK);
            assert_int_equal(ex.kind, JAVM_EXIT_HALT);
            uint64_t want;
            memcpy(&want, data, 8);
            assert_int_equal(test_reg(vm[k], 2), want);              /* the snapshot again */
            assert_int_equal(javm_gas_get(vm[k]), 100000 - 5 - 3 * COW); /* 3 CoWs each time */
            uint64_t n = 0;
            assert_int_equal(javm_instance_reset(vm[k], &n), JAVM_OK);
            assert_int_equal(n, 3);
            assert_int_equal(test_reg(vm[k], 1), 0);
            uint8_t b[8];
            assert_int_equal(javm_mem_read(vm[k], 0x20000, b, 8), JAVM_OK);
            assert_memory_equal(b, data, 8);
            assert_int_equal(javm_mem_read(vm[k], 0x30ffe, b, 4), JAVM_OK);
            assert_memory_equal(b, "\0\0\0\0", 4);
            assert_int_equal(javm_mem_read(vm[k], 0x21000, b, 4), JAVM_OK);
            assert_memory_equal(b, host, 4);
            assert_int_equal(jv_pg_state(vm[k]->mem.pages[0x20]), JV_STATE_NOT_PRESENT);
        }
    }
    char why[256];
    if (jv_diff_instances(vm[0], vm[1], why, sizeof why)) fail_msg("soft vs paged: %s", why);
    for (int k = 0; k < 2; k++) javm_instance_free(vm[k]);
    javm_snapshot_free(snap);
    javm_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalogue),
        cmocka_unit_test(fault_resume_and_new_frame),
        cmocka_unit_test(snapshot_shared_copy_on_write),
        cmocka_unit_test(reset_restores_dirty_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
