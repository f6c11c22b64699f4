/* mat: the state machine (seed tests), access_pages, unit_base, and the touch contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mat/mat.h"

/* ---- the seed's six state-machine tests (MAT-1, MAT-2) ---- */
static void first_read_is_free(void **s) {
    uint64_t c = 99;
    jv_page_state n;
    assert_true(jv_charge_for(JV_STATE_NOT_PRESENT, JV_KIND_UNPINNED_CAP_COW, false, JV_COW_COST, &c, &n));
    assert_int_equal(c, 0);
    assert_int_equal(n, JV_STATE_PRESENT_RO);
}
static void first_write_pays_cow_only(void **s) {
    uint64_t c;
    jv_page_state n;
    assert_true(jv_charge_for(JV_STATE_NOT_PRESENT, JV_KIND_EPHEMERAL_ZERO, true, JV_COW_COST, &c, &n));
    assert_int_equal(c, JV_COW_COST);
    assert_int_equal(n, JV_STATE_PRESENT_RW);
}
static void write_after_read_pays_cow_only(void **s) {
    uint64_t c;
    jv_page_state n;
    assert_true(jv_charge_for(JV_STATE_PRESENT_RO, JV_KIND_UNPINNED_CAP_COW, true, JV_COW_COST, &c, &n));
    assert_int_equal(c, JV_COW_COST);
    assert_int_equal(n, JV_STATE_PRESENT_RW);
}
static void second_touch_is_free(void **s) {
    uint64_t c;
    jv_page_state n;
    assert_true(jv_charge_for(JV_STATE_PRESENT_RO, JV_KIND_UNPINNED_CAP_COW, false, JV_COW_COST, &c, &n));
    assert_int_equal(c, 0);
    assert_int_equal(n, JV_STATE_PRESENT_RO);
    assert_true(jv_charge_for(JV_STATE_PRESENT_RW, JV_KIND_EPHEMERAL_ZERO, true, JV_COW_COST, &c, &n));
    assert_int_equal(c, 0);
    assert_int_equal(n, JV_STATE_PRESENT_RW);
    /* a read of a PresentRw page stays PresentRw */
    assert_true(jv_charge_for(JV_STATE_PRESENT_RW, JV_KIND_UNPINNED_CAP_COW, false, JV_COW_COST, &c, &n));
    assert_int_equal(n, JV_STATE_PRESENT_RW);
}
static void pinned_store_hard_faults_and_reads_are_always_free(void **s) {
    uint64_t c = 7;
    jv_page_state n = JV_STATE_PRESENT_RW;
    assert_false(jv_charge_for(JV_STATE_PRESENT_RO, JV_KIND_PINNED_CAP_RO, true, JV_COW_COST, &c, &n));
    assert_int_equal(c, 7); /* untouched */
    assert_true(jv_charge_for(JV_STATE_NOT_PRESENT, JV_KIND_PINNED_CAP_RO, false, JV_COW_COST, &c, &n));
    assert_int_equal(c, 0);
    assert_int_equal(n, JV_STATE_PRESENT_RO);
}
static void access_pages_single_and_straddle(void **s) {
    jv_page_set p = jv_access_pages(0x1000, 8);
    assert_int_equal(p.len, 1);
    assert_int_equal(p.pages[0], 0x1000);
    p = jv_access_pages(0x1FFC, 8);
    assert_int_equal(p.len, 2);
    assert_int_equal(p.pages[0], 0x1000);
    assert_int_equal(p.pages[1], 0x2000);
    p = jv_access_pages(0x1FFE, 4);
    assert_int_equal(p.len, 2);
    p = jv_access_pages(0x1FFF, 1);
    assert_int_equal(p.len, 1);
    p = jv_access_pages(0x1FF8, 8);
    assert_int_equal(p.len, 1);
    p = jv_access_pages(0xFFFFFFFF, 2); /* wraps */
    assert_int_equal(p.len, 2);
    assert_int_equal(p.pages[0], 0xFFFFF000u);
    assert_int_equal(p.pages[1], 0);
}

static void tags_round_trip(void **s) {
    jv_page_kind k;
    for (uint8_t v = 0; v < 3; v++) {
        assert_true(jv_kind_from_tag(v, &k));
        assert_int_equal(jv_kind_tag(k), v);
    }
    assert_false(jv_kind_from_tag(3, &k));
    assert_int_equal(jv_state_from_tag(0), JV_STATE_NOT_PRESENT);
    assert_int_equal(jv_state_from_tag(1), JV_STATE_PRESENT_RO);
    assert_int_equal(jv_state_from_tag(2), JV_STATE_PRESENT_RW);
    assert_int_equal(jv_state_from_tag(3), JV_STATE_NOT_PRESENT);
    assert_int_equal(jv_state_from_tag(200), JV_STATE_NOT_PRESENT);
}

static void unit_base_examples(void **s) {
    assert_int_equal(jv_cluster_of(0x10003000), 0x80);
    assert_int_equal(jv_unit_base(0x10003000, 0x10000000), 0x10000000);
    assert_int_equal(jv_unit_base(0x10205000, 0x10000000), 0x10200000);
    assert_int_equal(jv_unit_base(0x10100000, 0x10080000), 0x10080000);
    /* two caps in one 2 MiB cluster are two units */
    assert_int_not_equal(jv_unit_base(0x10010000, 0x10000000), jv_unit_base(0x10090000, 0x10080000));
}

/* ---- the touch contract (MAT-3..5) on a small page table ---- */
static uint8_t pages[1u << 20];
static uint8_t dirty[(1u << 20) / 8];

static void reset_tables(void) {
    memset(pages, 0, sizeof pages);
    memset(dirty, 0, sizeof dirty);
}
static void declare(uint32_t page_addr, unsigned perm) {
    pages[page_addr >> 12] = perm == JV_PG_PERM_RO ? jv_pg_make(perm, JV_KIND_PINNED_CAP_RO)
                                                    : jv_pg_make(perm, JV_KIND_UNPINNED_CAP_COW);
}
static jv_page_state state_of(uint32_t a) { return jv_pg_state(pages[a >> 12]); }

static void touch_read_then_write_charges_one_cow(void **s) {
    reset_tables();
    declare(0x20000, JV_PG_PERM_RW);
    jv_touch_info ti;
    assert_int_equal(jv_mat_touch(pages, dirty, 0x20010, 4, false, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 0);
    assert_int_equal(ti.first_touch, 1);
    assert_int_equal(state_of(0x20000), JV_STATE_PRESENT_RO);
    assert_true(pages[0x20] & JV_PG_FAST_R);
    assert_false(pages[0x20] & JV_PG_FAST_W);
    assert_int_equal(jv_mat_touch(pages, dirty, 0x20010, 4, false, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 0); /* second read free */
    assert_int_equal(jv_mat_touch(pages, dirty, 0x20020, 8, true, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, JV_COW_COST);
    assert_int_equal(ti.cow, 1);
    assert_true(pages[0x20] & JV_PG_FAST_W);
    assert_true(dirty[0x20 >> 3] & (1u << (0x20 & 7)));
    assert_int_equal(jv_mat_touch(pages, dirty, 0x20020, 8, true, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 0); /* two writes charge one */
}

static void touch_straddling_write_charges_two(void **s) {
    reset_tables();
    declare(0x20000, JV_PG_PERM_RW);
    declare(0x21000, JV_PG_PERM_RW);
    jv_touch_info ti;
    assert_int_equal(jv_mat_touch(pages, dirty, 0x20FFC, 8, true, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 2 * JV_COW_COST);
    assert_int_equal(state_of(0x20000), JV_STATE_PRESENT_RW);
    assert_int_equal(state_of(0x21000), JV_STATE_PRESENT_RW);
    /* a straddling read of two fresh pages charges nothing and marks both present */
    declare(0x30000, JV_PG_PERM_RW);
    declare(0x31000, JV_PG_PERM_RW);
    assert_int_equal(jv_mat_touch(pages, dirty, 0x30FFE, 4, false, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 0);
    assert_int_equal(state_of(0x30000), JV_STATE_PRESENT_RO);
    assert_int_equal(state_of(0x31000), JV_STATE_PRESENT_RO);
}

static void touch_straddle_into_unmapped_is_all_or_nothing(void **s) {
    reset_tables();
    declare(0x20000, JV_PG_PERM_RW);
    jv_touch_info ti;
    assert_int_equal(jv_mat_touch(pages, dirty, 0x20FFE, 4, true, JV_COW_COST, &ti), JV_TOUCH_FAULT);
    assert_int_equal(ti.charge, 0);
    assert_int_equal(state_of(0x20000), JV_STATE_NOT_PRESENT);
    assert_int_equal(pages[0x20] & (JV_PG_FAST_R | JV_PG_FAST_W), 0);
    assert_int_equal(dirty[0x20 >> 3], 0);
}

static void touch_pinned_write_faults_charging_nothing(void **s) {
    reset_tables();
    declare(0x10000, JV_PG_PERM_RO);
    declare(0x11000, JV_PG_PERM_RW);
    jv_touch_info ti;
    assert_int_equal(jv_mat_touch(pages, dirty, 0x10000, 1, true, JV_COW_COST, &ti), JV_TOUCH_FAULT);
    /* a write straddling RW -> RO faults too, and leaves the RW page untouched */
    declare(0x12000, JV_PG_PERM_RO);
    assert_int_equal(jv_mat_touch(pages, dirty, 0x11FFF, 2, true, JV_COW_COST, &ti), JV_TOUCH_FAULT);
    assert_int_equal(state_of(0x11000), JV_STATE_NOT_PRESENT);
    /* a read of a pinned page is free and untracked (MAT-4), but gets the fast bit */
    assert_int_equal(jv_mat_touch(pages, dirty, 0x10008, 8, false, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 0);
    assert_int_equal(state_of(0x10000), JV_STATE_NOT_PRESENT);
    assert_true(pages[0x10] & JV_PG_FAST_R);
}

static void touch_writes_to_two_pages_in_one_cluster_charge_two(void **s) {
    reset_tables();
    declare(0x10000000, JV_PG_PERM_RW);
    declare(0x10001000, JV_PG_PERM_RW);
    jv_touch_info ti;
    uint64_t total = 0;
    assert_int_equal(jv_mat_touch(pages, dirty, 0x10000000, 8, true, JV_COW_COST, &ti), JV_TOUCH_OK);
    total += ti.charge;
    assert_int_equal(jv_mat_touch(pages, dirty, 0x10001000, 8, true, JV_COW_COST, &ti), JV_TOUCH_OK);
    total += ti.charge;
    assert_int_equal(total, 2 * JV_COW_COST); /* RW is never clustered */
}

static void touch_wrapping_access(void **s) {
    reset_tables();
    declare(0xFFFFF000u, JV_PG_PERM_RW);
    jv_touch_info ti;
    /* page 0 is unmapped: the wrapped half faults, nothing changes */
    assert_int_equal(jv_mat_touch(pages, dirty, 0xFFFFFFFC, 8, true, JV_COW_COST, &ti), JV_TOUCH_FAULT);
    assert_int_equal(state_of(0xFFFFF000u), JV_STATE_NOT_PRESENT);
    declare(0, JV_PG_PERM_RW);
    assert_int_equal(jv_mat_touch(pages, dirty, 0xFFFFFFFC, 8, true, JV_COW_COST, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 2 * JV_COW_COST);
    assert_int_equal(state_of(0), JV_STATE_PRESENT_RW);
}

static void touch_with_accounting_off_tracks_states(void **s) {
    reset_tables();
    declare(0x20000, JV_PG_PERM_RW);
    jv_touch_info ti;
    assert_int_equal(jv_mat_touch(pages, NULL, 0x20000, 8, true, 0, &ti), JV_TOUCH_OK);
    assert_int_equal(ti.charge, 0);
    assert_int_equal(ti.cow, 1);
    assert_int_equal(state_of(0x20000), JV_STATE_PRESENT_RW);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_read_is_free),
        cmocka_unit_test(first_write_pays_cow_only),
        cmocka_unit_test(write_after_read_pays_cow_only),
        cmocka_unit_test(second_touch_is_free),
        cmocka_unit_test(pinned_store_hard_faults_and_reads_are_always_free),
        cmocka_unit_test(access_pages_single_and_straddle),
        cmocka_unit_test(tags_round_trip),
        cmocka_unit_test(unit_base_examples),
        cmocka_unit_test(touch_read_then_write_charges_one_cow),
        cmocka_unit_test(touch_straddling_write_charges_two),
        cmocka_unit_test(touch_straddle_into_unmapped_is_all_or_nothing),
        cmocka_unit_test(touch_pinned_write_faults_charging_nothing),
        cmocka_unit_test(touch_writes_to_two_pages_in_one_cluster_charge_two),
        cmocka_unit_test(touch_wrapping_access),
        cmocka_unit_test(touch_with_accounting_off_tracks_states),
    };
    return cmocka_run_group_tests_name("mat", tests, NULL, NULL);
}
