/* mem: page maps (the seed's map_region tests), host access, the GP fault rule (MEM-3), checked
 * accessors incl. straddles and wrap-around (MEM-2), permission changes, sparse maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem/mem.h"

#define PAGE JV_PAGE_SIZE

static int setup(void **state) {
    jv_mem *m = malloc(sizeof *m);
    if (!m || jv_mem_init(m, JV_MEM_SOFT, JV_COW_COST, false) != JAVM_OK) return -1;
    *state = m;
    return 0;
}
static int teardown(void **state) {
    jv_mem_fini(*state);
    free(*state);
    return 0;
}

static uint8_t rd8(jv_mem *m, uint32_t a) {
    uint8_t v = 0xEE;
    assert_int_equal(jv_mem_host_read(m, a, &v, 1), JAVM_OK);
    return v;
}

/* ---- page maps (docs/MEMORY.md §13) ---- */
static void map_region_sets_perms_and_leaves_gaps(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 2 * PAGE, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_page_access(m, 0), JAVM_ACCESS_NONE);
    assert_int_equal(jv_mem_page_access(m, PAGE), JAVM_ACCESS_NONE);
    assert_int_equal(jv_mem_page_access(m, 2 * PAGE), JAVM_ACCESS_RW);
    assert_int_equal(jv_mem_page_access(m, 3 * PAGE), JAVM_ACCESS_RW);
    assert_int_equal(jv_mem_page_access(m, 4 * PAGE), JAVM_ACCESS_NONE);
}

static void map_region_copies_init_and_zero_fills_tail(void **st) {
    jv_mem *m = *st;
    const uint8_t init[] = {0xAA, 0xBB, 0xCC};
    assert_int_equal(jv_mem_map(m, 0x10000, PAGE, JAVM_ACCESS_RO, init, 3), JAVM_OK);
    assert_int_equal(rd8(m, 0x10000), 0xAA);
    assert_int_equal(rd8(m, 0x10001), 0xBB);
    assert_int_equal(rd8(m, 0x10002), 0xCC);
    assert_int_equal(rd8(m, 0x10003), 0);
    assert_int_equal(rd8(m, 0x10FFF), 0);
    assert_int_equal(jv_mem_page_access(m, 0x10000), JAVM_ACCESS_RO);
}

static void map_region_truncates_oversize_init(void **st) {
    jv_mem *m = *st;
    uint8_t *init = malloc(3 * PAGE);
    memset(init, 0x77, 3 * PAGE);
    assert_int_equal(jv_mem_map(m, 0x20000, PAGE, JAVM_ACCESS_RW, init, 3 * PAGE), JAVM_OK);
    assert_int_equal(rd8(m, 0x20FFF), 0x77);
    assert_int_equal(jv_mem_page_access(m, 0x21000), JAVM_ACCESS_NONE);
    uint8_t v;
    assert_int_equal(jv_mem_host_read(m, 0x21000, &v, 1), JAVM_ERR_NOT_MAPPED);
    free(init);
}

static void map_region_rejects_unaligned_and_overflow(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 123, PAGE, JAVM_ACCESS_RO, NULL, 0), JAVM_ERR_UNALIGNED);
    assert_non_null(strstr(javm_last_error(), "start"));
    assert_int_equal(jv_mem_map(m, 0, 123, JAVM_ACCESS_RO, NULL, 0), JAVM_ERR_UNALIGNED);
    assert_non_null(strstr(javm_last_error(), "size"));
    assert_int_equal(jv_mem_map(m, 0xFFFFF000u, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_ERR_OVERFLOW);
    assert_int_equal(jv_mem_map(m, 1ull << 32, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_ERR_OVERFLOW);
    assert_int_equal(jv_mem_map(m, 0, UINT64_MAX & ~0xFFFull, JAVM_ACCESS_RW, NULL, 0), JAVM_ERR_OVERFLOW);
    assert_int_equal(jv_mem_map(m, 0, PAGE, JAVM_ACCESS_NONE, NULL, 0), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(m->mapped_pages, 0); /* nothing happened */
    /* the very top page is fine */
    assert_int_equal(jv_mem_map(m, 0xFFFFF000u, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
}

static void map_region_overlapping_overwrites_perms_keeps_bytes(void **st) {
    jv_mem *m = *st;
    const uint8_t x = 0x5A;
    assert_int_equal(jv_mem_map(m, 0x30000, 2 * PAGE, JAVM_ACCESS_RO, &x, 1), JAVM_OK);
    assert_int_equal(jv_mem_map(m, 0x30000, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_page_access(m, 0x30000), JAVM_ACCESS_RW);
    assert_int_equal(jv_mem_page_access(m, 0x31000), JAVM_ACCESS_RW);
    assert_int_equal(rd8(m, 0x30000), 0x5A);
    assert_int_equal(m->mapped_pages, 2);
}

/* ---- host access ---- */
static void host_write_ignores_read_only(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0x10000, PAGE, JAVM_ACCESS_RO, NULL, 0), JAVM_OK);
    const uint32_t v = 0xDEADBEEF;
    assert_int_equal(jv_mem_host_write(m, 0x10FFE, &v, 4), JAVM_ERR_NOT_MAPPED); /* straddles out */
    assert_int_equal(rd8(m, 0x10FFE), 0); /* nothing written */
    assert_int_equal(jv_mem_host_write(m, 0x10FFC, &v, 4), JAVM_OK);
    uint64_t got;
    jv_mem_result r = jv_mem_load(m, 0x10FFC, 4, &got);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(got, 0xDEADBEEF);
}

static void host_access_wraps_at_4g(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0xFFFFF000u, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_map(m, 0x0, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    const uint8_t in[4] = {1, 2, 3, 4};
    assert_int_equal(jv_mem_host_write(m, 0xFFFFFFFE, in, 4), JAVM_OK);
    assert_int_equal(rd8(m, 0xFFFFFFFF), 2);
    assert_int_equal(rd8(m, 0x0), 3);
    uint8_t out[4];
    assert_int_equal(jv_mem_host_read(m, 0xFFFFFFFE, out, 4), JAVM_OK);
    assert_memory_equal(in, out, 4);
}

/* ---- MEM-3: the fault rule ---- */
static void fault_rule_cases(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0x20000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_map(m, 0x22000, PAGE, JAVM_ACCESS_RO, NULL, 0), JAVM_OK);
    jv_mem_result r;
    /* the vector example: store u16 at 0x20FFF straddles into unmapped 0x21000 */
    r = jv_mem_classify(m, 0x20FFF, 2, true);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0x21000);
    /* unmapped base page: fault at its base */
    r = jv_mem_classify(m, 0x23010, 4, false);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0x23000);
    /* below 64 KiB: panic */
    r = jv_mem_classify(m, 0x1000, 1, false);
    assert_int_equal(r.kind, JV_MEM_PANIC);
    r = jv_mem_classify(m, 0xFFFF, 2, false); /* lowest bad byte 0xFFFF < 2^16 */
    assert_int_equal(r.kind, JV_MEM_PANIC);
    /* store to read-only: panic (vector policy) */
    r = jv_mem_classify(m, 0x22000, 1, true);
    assert_int_equal(r.kind, JV_MEM_PANIC);
    /* loads from read-only are fine */
    r = jv_mem_classify(m, 0x22000, 8, false);
    assert_int_equal(r.kind, JV_MEM_OK);
    /* GP-text policy: a fault at the read-only page */
    m->ro_write_faults = true;
    r = jv_mem_classify(m, 0x21FFF, 2, true); /* lowest bad byte is in unmapped 0x21000 */
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0x21000);
    r = jv_mem_classify(m, 0x22004, 4, true);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0x22000);
    m->ro_write_faults = false;
    /* wrap: 0xFFFFFFFF mapped, page 0 not -> the lowest bad byte is 0 -> panic */
    assert_int_equal(jv_mem_map(m, 0xFFFFF000u, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    r = jv_mem_classify(m, 0xFFFFFFFF, 2, false);
    assert_int_equal(r.kind, JV_MEM_PANIC);
    /* wrap with neither page mapped: the lowest index in access order is in the top page ->
     * fault at 0xFFFFF000, not the panic that reduced addresses (page 0 first) would give */
    assert_int_equal(jv_mem_unmap(m, 0xFFFFF000u, PAGE), JAVM_OK);
    r = jv_mem_classify(m, 0xFFFFFFFD, 4, true);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0xFFFFF000u);
    r = jv_mem_classify(m, 0xFFFFFFF9, 8, false);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0xFFFFF000u);
    /* wrap with page 0 mapped but top page not: fault at 0xFFFFF000 */
    assert_int_equal(jv_mem_unmap(m, 0xFFFFF000u, PAGE), JAVM_OK);
    assert_int_equal(jv_mem_map(m, 0, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    r = jv_mem_classify(m, 0xFFFFFFFE, 4, true);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0xFFFFF000u);
}

/* ---- checked accessors ---- */
static void faulting_straddling_store_writes_nothing(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0x20000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    jv_mem_result r = jv_mem_store(m, 0x20FFE, 8, 0x1122334455667788ull);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0x21000);
    assert_int_equal(r.charge, 0);
    assert_int_equal(rd8(m, 0x20FFE), 0);
    assert_int_equal(rd8(m, 0x20FFF), 0);
    assert_int_equal(jv_pg_state(m->pages[0x20]), JV_STATE_NOT_PRESENT); /* MEM-4 */
}

static void straddling_and_wrapping_accesses(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0x20000, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    jv_mem_result r = jv_mem_store(m, 0x20FFD, 8, 0x0807060504030201ull);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(r.charge, 2 * JV_COW_COST);
    uint64_t v;
    r = jv_mem_load(m, 0x20FFD, 8, &v);
    assert_int_equal(v, 0x0807060504030201ull);
    r = jv_mem_load(m, 0x20FFF, 2, &v);
    assert_int_equal(v, 0x0403);
    /* wrap: bytes at 0xFFFFFFFC..0x3 */
    assert_int_equal(jv_mem_map(m, 0xFFFFF000u, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_map(m, 0, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    r = jv_mem_store(m, 0xFFFFFFFC, 8, 0x8877665544332211ull);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(rd8(m, 0xFFFFFFFC), 0x11);
    assert_int_equal(rd8(m, 0xFFFFFFFF), 0x44);
    assert_int_equal(rd8(m, 0), 0x55);
    assert_int_equal(rd8(m, 3), 0x88);
    r = jv_mem_load(m, 0xFFFFFFFE, 4, &v);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(v, 0x66554433);
}

static void every_width_round_trips_little_endian(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0x40000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    const unsigned widths[] = {1, 2, 4, 8};
    for (unsigned i = 0; i < 4; i++) {
        unsigned w = widths[i];
        uint64_t val = 0xF1E2D3C4B5A69788ull, got = 0;
        uint64_t mask = w == 8 ? UINT64_MAX : ((1ull << (8 * w)) - 1);
        for (uint32_t off = 0; off < 16; off++) { /* unaligned too */
            assert_int_equal(jv_mem_store(m, 0x40100 + off, w, val).kind, JV_MEM_OK);
            assert_int_equal(jv_mem_load(m, 0x40100 + off, w, &got).kind, JV_MEM_OK);
            assert_int_equal(got, val & mask);
        }
        uint8_t b;
        assert_int_equal(jv_mem_store(m, 0x40200, w, val).kind, JV_MEM_OK);
        assert_int_equal(jv_mem_host_read(m, 0x40200, &b, 1), JAVM_OK);
        assert_int_equal(b, 0x88); /* little-endian */
    }
}

static void charges_and_fast_bits(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0x50000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    uint64_t v;
    jv_mem_result r = jv_mem_load(m, 0x50000, 8, &v);
    assert_int_equal(r.charge, 0);
    assert_int_equal(r.first_touch, 1);
    r = jv_mem_store(m, 0x50008, 8, 1);
    assert_int_equal(r.charge, JV_COW_COST);
    assert_int_equal(r.cow, 1);
    r = jv_mem_store(m, 0x50010, 8, 1);
    assert_int_equal(r.charge, 0);
    assert_true(m->pages[0x50] & JV_PG_FAST_W);
    /* a new frame re-arms CoW */
    jv_mem_new_frame(m);
    assert_int_equal(jv_pg_state(m->pages[0x50]), JV_STATE_NOT_PRESENT);
    r = jv_mem_store(m, 0x50010, 8, 2);
    assert_int_equal(r.charge, JV_COW_COST);
    assert_int_equal(jv_mem_load(m, 0x50008, 8, &v).kind, JV_MEM_OK);
    assert_int_equal(v, 1); /* contents survive a new frame */
}

static void protect_and_unmap(void **st) {
    jv_mem *m = *st;
    const uint8_t x = 9;
    assert_int_equal(jv_mem_map(m, 0x60000, 2 * PAGE, JAVM_ACCESS_RW, &x, 1), JAVM_OK);
    assert_int_equal(jv_mem_protect(m, 0x60000, PAGE, JAVM_ACCESS_RO), JAVM_OK);
    assert_int_equal(jv_mem_store(m, 0x60000, 1, 1).kind, JV_MEM_PANIC);
    assert_int_equal(jv_mem_store(m, 0x61000, 1, 1).kind, JV_MEM_OK);
    assert_int_equal(jv_mem_protect(m, 0x60000, PAGE, JAVM_ACCESS_RW), JAVM_OK);
    assert_int_equal(jv_mem_store(m, 0x60001, 1, 1).kind, JV_MEM_OK);
    assert_int_equal(jv_mem_protect(m, 0x62000, PAGE, JAVM_ACCESS_RW), JAVM_ERR_NOT_MAPPED);
    assert_int_equal(jv_mem_protect(m, 0x60000, PAGE, JAVM_ACCESS_NONE), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_mem_unmap(m, 0x60000, 2 * PAGE), JAVM_OK);
    assert_int_equal(jv_mem_page_access(m, 0x60000), JAVM_ACCESS_NONE);
    assert_int_equal(jv_mem_store(m, 0x60000, 1, 1).kind, JV_MEM_FAULT);
    assert_int_equal(m->mapped_pages, 0);
    /* remapping after unmap reads zero */
    assert_int_equal(jv_mem_map(m, 0x60000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(rd8(m, 0x60000), 0);
    assert_int_equal(jv_mem_unmap(m, 0x60001, PAGE), JAVM_ERR_UNALIGNED);
}

static void next_mapped_and_reset(void **st) {
    jv_mem *m = *st;
    assert_int_equal(jv_mem_map(m, 0x10000, PAGE, JAVM_ACCESS_RO, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_map(m, 0xFEFD0000u, 4 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    uint32_t p;
    assert_true(jv_mem_next_mapped(m, 0, &p));
    assert_int_equal(p, 0x10000);
    assert_true(jv_mem_next_mapped(m, 0x11000, &p));
    assert_int_equal(p, 0xFEFD0000u);
    assert_true(jv_mem_next_mapped(m, 0xFEFD3000u, &p));
    assert_int_equal(p, 0xFEFD3000u);
    assert_false(jv_mem_next_mapped(m, 0xFEFD4000u, &p));
    assert_int_equal(jv_mem_reset(m), JAVM_OK);
    assert_false(jv_mem_next_mapped(m, 0, &p));
    assert_int_equal(m->mapped_pages, 0);
    assert_int_equal(jv_mem_map(m, 0x10000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(rd8(m, 0x10000), 0);
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A typical standard-program layout costs memory only for the pages it touches. */
static void sparse_maps_cost_only_touched_pages(void **st) {
    jv_mem *m = *st;
    long before = rss_kib();
    assert_int_equal(jv_mem_map(m, 0x10000, 64u << 20, JAVM_ACCESS_RO, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_map(m, 0xFEFE0000u - (256u << 20), 256u << 20, JAVM_ACCESS_RW, NULL, 0),
                     JAVM_OK);
    for (uint32_t i = 0; i < 16; i++)
        assert_int_equal(jv_mem_store(m, 0xFEFE0000u - 8 - i * PAGE, 8, i).kind, JV_MEM_OK);
    long grown = rss_kib() - before;
    /* 320 MiB mapped; well under 2 MiB resident (16 data pages + page bytes + dirty bits) */
    assert_true(grown < 2048);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(map_region_sets_perms_and_leaves_gaps),
        T(map_region_copies_init_and_zero_fills_tail),
        T(map_region_truncates_oversize_init),
        T(map_region_rejects_unaligned_and_overflow),
        T(map_region_overlapping_overwrites_perms_keeps_bytes),
        T(host_write_ignores_read_only),
        T(host_access_wraps_at_4g),
        T(fault_rule_cases),
        T(faulting_straddling_store_writes_nothing),
        T(straddling_and_wrapping_accesses),
        T(every_width_round_trips_little_endian),
        T(charges_and_fast_bits),
        T(protect_and_unmap),
        T(next_mapped_and_reset),
        T(sparse_maps_cost_only_touched_pages),
    };
    return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
