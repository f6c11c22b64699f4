/* Shared by the engine tests: compare two instances completely (the differential contract of
 * the soft and paged engines): registers, gas, pc, every mapped page (permission, contents,
 * materialization state, dirty bit), and the statistics both engines must agree on. */
#ifndef JV_TEST_ENGINE_DIFF_H
#define JV_TEST_ENGINE_DIFF_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "javm.h"
#include "regs.h"
#include "mem/mem.h"

/* Returns 0 if equal; else 1 with a description in why. */
static inline int jv_diff_instances(const javm_instance *a, const javm_instance *b, char *why,
                                    size_t n) {
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++)
        if (test_reg(a, i) != test_reg(b, i)) {
            snprintf(why, n, "r%u: %" PRIu64 " vs %" PRIu64, i, test_reg(a, i),
                     test_reg(b, i));
            return 1;
        }
    if (javm_gas_get(a) != javm_gas_get(b)) {
        snprintf(why, n, "gas: %" PRId64 " vs %" PRId64, javm_gas_get(a), javm_gas_get(b));
        return 1;
    }
    if (javm_pc_get(a) != javm_pc_get(b)) {
        snprintf(why, n, "pc: %u vs %u", javm_pc_get(a), javm_pc_get(b));
        return 1;
    }
    javm_stats sa = JAVM_STATS_INIT, sb = JAVM_STATS_INIT;
    javm_stats_get(a, &sa);
    javm_stats_get(b, &sb);
    if (sa.instructions != sb.instructions || sa.first_touch_faults != sb.first_touch_faults ||
        sa.cow_pages != sb.cow_pages || sa.mat_gas != sb.mat_gas) {
        snprintf(why, n,
                 "stats: insns %" PRIu64 "/%" PRIu64 " first-touch %" PRIu64 "/%" PRIu64
                 " cow %" PRIu64 "/%" PRIu64 " mat_gas %" PRIu64 "/%" PRIu64,
                 sa.instructions, sb.instructions, sa.first_touch_faults, sb.first_touch_faults,
                 sa.cow_pages, sb.cow_pages, sa.mat_gas, sb.mat_gas);
        return 1;
    }
    uint64_t from = 0;
    for (;;) {
        uint32_t pa = 0, pb = 0;
        bool ha = jv_mem_next_mapped(&a->mem, from, &pa);
        bool hb = jv_mem_next_mapped(&b->mem, from, &pb);
        if (ha != hb || (ha && pa != pb)) {
            snprintf(why, n, "mapped pages differ after 0x%" PRIx64, from);
            return 1;
        }
        if (!ha) break;
        uint32_t pn = pa >> JV_PAGE_SHIFT;
        const uint8_t keep = JV_PG_PERM_MASK | JV_PG_KIND_MASK | JV_PG_STATE_MASK;
        uint8_t ba = a->mem.pages[pn] & keep, bb = b->mem.pages[pn] & keep;
        if (ba != bb) {
            snprintf(why, n, "page 0x%x: page byte 0x%02x vs 0x%02x", pa, ba, bb);
            return 1;
        }
        if (((a->mem.dirty[pn >> 3] ^ b->mem.dirty[pn >> 3]) >> (pn & 7)) & 1) {
            snprintf(why, n, "page 0x%x: dirty bit differs", pa);
            return 1;
        }
        static uint8_t bufa[JV_PAGE_SIZE], bufb[JV_PAGE_SIZE];
        if (javm_mem_read(a, pa, bufa, JV_PAGE_SIZE) != JAVM_OK ||
            javm_mem_read(b, pa, bufb, JV_PAGE_SIZE) != JAVM_OK) {
            snprintf(why, n, "page 0x%x: host read failed: %s", pa, javm_last_error());
            return 1;
        }
        if (memcmp(bufa, bufb, JV_PAGE_SIZE)) {
            unsigned k = 0;
            while (bufa[k] == bufb[k]) k++;
            snprintf(why, n, "memory at 0x%x: 0x%02x vs 0x%02x", pa + k, bufa[k], bufb[k]);
            return 1;
        }
        from = (uint64_t)pa + JV_PAGE_SIZE;
    }
    return 0;
}

#endif
