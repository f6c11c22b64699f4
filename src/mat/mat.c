/* mat — the touch contract over the page-byte table (see mat.h for the rules). */
#include "mat/mat.h"

static inline uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }
static inline uint64_t sat_mul(uint64_t a, uint64_t b) {
    return (b && a > UINT64_MAX / b) ? UINT64_MAX : a * b;
}

uint64_t jv_mat_call_frame_cost(uint64_t code_len, uint64_t ro_units) {
    uint64_t code_pages = code_len / JV_PAGE_SIZE + (code_len % JV_PAGE_SIZE != 0);
    uint64_t c = sat_add(JV_CALL_FRAME_COST, sat_mul(code_pages, JV_COMPILE_COST_PER_PAGE));
    c = sat_add(c, sat_mul(ro_units, JV_PAGE_IN_COST));
    return c > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : c;
}

jv_touch_result jv_mat_touch(uint8_t *pages, uint8_t *dirty, uint32_t addr, uint32_t width,
                             bool is_write, uint64_t cow_cost, jv_touch_info *info) {
    jv_page_set set = jv_access_pages(addr, width);
    info->charge = 0;
    info->first_touch = 0;
    info->cow = 0;

    /* MAT-3, phase 1: every page must be accessible before anything changes. The base page
     * decides the region; in a plain page map every declared page is its own region, so the
     * check is per page. */
    for (unsigned i = 0; i < set.len; i++) {
        uint8_t b = pages[set.pages[i] >> JV_PAGE_SHIFT];
        unsigned perm = jv_pg_perm(b);
        if (perm == JV_PG_PERM_NONE || (is_write && perm != JV_PG_PERM_RW)) return JV_TOUCH_FAULT;
        jv_page_kind kind;
        if (!jv_pg_kind(b, &kind)) return JV_TOUCH_FAULT;
        uint64_t c;
        jv_page_state next;
        if (!jv_charge_for(jv_pg_state(b), kind, is_write, cow_cost, &c, &next))
            return JV_TOUCH_FAULT; /* MAT-1: a store to a pinned page */
    }

    /* Phase 2: advance states low -> high and add up the charges. */
    for (unsigned i = 0; i < set.len; i++) {
        uint32_t pn = set.pages[i] >> JV_PAGE_SHIFT;
        uint8_t b = pages[pn];
        jv_page_state st = jv_pg_state(b);
        info->before[i] = st;
        if (jv_pg_perm(b) == JV_PG_PERM_RO) { /* MAT-4 */
            info->after[i] = st;
            pages[pn] = jv_pg_with_fast_bits(b);
            continue;
        }
        jv_page_kind kind = JV_KIND_UNPINNED_CAP_COW;
        jv_pg_kind(b, &kind);
        uint64_t c = 0;
        jv_page_state next = st;
        jv_charge_for(st, kind, is_write, cow_cost, &c, &next); /* admitted in phase 1 */
        info->after[i] = next;
        info->charge += c;
        if (st == JV_STATE_NOT_PRESENT) info->first_touch++;
        if (next == JV_STATE_PRESENT_RW && st != JV_STATE_PRESENT_RW) {
            info->cow++;
            if (dirty) jv_bit_set(dirty, pn);
        }
        pages[pn] = jv_pg_with_fast_bits(jv_pg_with_state(b, next));
    }
    return JV_TOUCH_OK;
}
