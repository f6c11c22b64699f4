/* meta: side metadata (docs/MEMORY.md §14). Address arithmetic against the check
 * values (META-1, docs/MEMORY.md §14), layout and overlap check (META-2, META-3), every operation
 * at every width (META-6, META-7), bulk ops, find and scan against a naive per-region reference
 * (META-8), lazy commit (META-5), accounting (META-9), reservation at a requested address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "meta/meta.h"

/* ---- helpers ---------------------------------------------------------------------------------- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

/* One spec, laid out at offset 0 (or `offset`), reserved. */
static void reserve_one(jv_meta_space *s, jv_meta_spec *spec, uint8_t b, uint8_t r,
                        uint64_t offset) {
    spec->name = "t";
    spec->is_global = true;
    spec->offset = offset;
    spec->log_bits = b;
    spec->log_region = r;
    assert_int_equal(jv_meta_space_reserve(s, spec, 1, NULL), 0);
}

static uint64_t off_of(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a) {
    return (uint64_t)(jv_meta_byte_addr(s, spec, a) - jv_meta_table(s, spec));
}

/* ---- META-1: address arithmetic (check values, docs/MEMORY.md §14) --------------------------------------- */
static void meta1_check_values_addresses(void **st) {
    static const struct { uint8_t b, r; uint64_t a, off; } rows[] = {
        {0, 0, 27, 3}, {0, 0, 129, 16}, {0, 2, 316, 9},
        {0, 1, 316, 19}, {1, 2, 316, 19}, {3, 1, 318, 159},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        /* G: a global spec at offset 0; L: a local spec laid out after it */
        jv_meta_spec specs[2] = {
            {"G", true, 0, rows[i].b, rows[i].r},
            {"L", false, 0, rows[i].b, rows[i].r},
        };
        jv_meta_layout(specs, 2);
        assert_int_equal(specs[0].offset, 0);
        assert_int_equal(specs[1].offset, jv_meta_range_size(&specs[0]));
        jv_meta_space s;
        assert_int_equal(jv_meta_space_reserve(&s, specs, 2, NULL), 0);
        assert_ptr_equal(jv_meta_byte_addr(&s, &specs[0], rows[i].a), s.base + rows[i].off);
        assert_ptr_equal(jv_meta_byte_addr(&s, &specs[1], rows[i].a),
                         s.base + specs[1].offset + rows[i].off);
        jv_meta_space_release(&s);
    }
}

static void meta1_check_values_lshift_and_mask(void **st) {
    jv_meta_spec b0 = {"b0", true, 0, 0, 0}, b2 = {"b2", true, 0, 2, 0};
    assert_int_equal(jv_meta_lshift(&b0, 5), 5);
    assert_int_equal(jv_meta_lshift(&b0, 15), 7);
    assert_int_equal(jv_meta_lshift(&b2, 5), 4);
    assert_int_equal(jv_meta_lshift(&b2, 0x10010), 0);
    static const uint64_t masks[7] = {1, 3, 15, 255, 0xFFFF, 0xFFFFFFFFull, ~0ull};
    for (uint8_t b = 0; b <= 6; b++) {
        jv_meta_spec sp = {"m", true, 0, b, 0};
        assert_int_equal(jv_meta_field_mask(&sp), masks[b]);
        if (b >= 3) {
            assert_int_equal(jv_meta_lshift(&sp, 12345), 0);
            assert_int_equal(jv_meta_byte_mask(&sp, 12345), 0xFF);
        }
    }
    jv_meta_spec b1 = {"b1", true, 0, 1, 0};
    assert_int_equal(jv_meta_byte_mask(&b1, 2), 0x30);
    assert_int_equal(jv_meta_byte_mask(&b0, 7), 0x80);
}

static void meta1_round_trips(void **st) {
    static const uint8_t br[][2] = {{0, 3}, {1, 3}, {4, 3}, {5, 3}, {0, 12}};
    for (size_t i = 0; i < sizeof br / sizeof br[0]; i++) {
        jv_meta_spec sp;
        jv_meta_space s;
        uint8_t b = br[i][0], r = br[i][1];
        reserve_one(&s, &sp, b, r, 0);
        for (int k = 0; k < 2000; k++) {
            uint64_t a = k < 2 ? (k ? 0xFFFFFFFFull : 0) : rnd_below(1ull << 32);
            uint64_t meta = off_of(&s, &sp, a), back;
            if (b <= 3) {
                unsigned bit = jv_meta_lshift(&sp, a) & ~((1u << b) - 1);
                back = ((meta << (3 - b)) << r) + ((uint64_t)bit << (r - b));
            } else {
                back = (meta >> (b - 3)) << r;
            }
            assert_int_equal(back, a & ~((1ull << r) - 1));
        }
        jv_meta_space_release(&s);
    }
}

/* ---- META-2: the PVM layout and worked computations ------------------------------------ */
static jv_meta_spec pvm_specs[5] = {
    {"PVM_PERM", true, 0, 1, 12},     {"PVM_MAT_STATE", true, 0, 1, 12},
    {"PVM_DIRTY", true, 0, 0, 12},    {"PVM_KIND", false, 0, 1, 12},
    {"PVM_RO_UNIT", false, 0, 0, 21},
};

static void meta2_pvm_layout_sizes_and_offsets(void **st) {
    jv_meta_spec sp[5];
    memcpy(sp, pvm_specs, sizeof sp);
    uint64_t end = jv_meta_layout(sp, 5);
    assert_int_equal(end, 917760);
    assert_int_equal(end, 0xE0100);
    static const uint64_t off[5] = {0x00000, 0x40000, 0x80000, 0xA0000, 0xE0000};
    static const uint64_t size[5] = {256 * 1024, 256 * 1024, 128 * 1024, 256 * 1024, 256};
    static const int ratio[5] = {14, 14, 15, 14, 24};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sp[i].offset, off[i]);
        assert_int_equal(jv_meta_range_size(&sp[i]), size[i]);
        assert_int_equal(jv_meta_ratio(&sp[i]), ratio[i]);
    }
    assert_int_equal(jv_meta_extent(sp, 5), 0xE0100);
    char err[200];
    assert_int_equal(jv_meta_check(sp, 5, err, sizeof err), 0);
    jv_meta_space s;
    assert_int_equal(jv_meta_space_reserve(&s, sp, 5, NULL), 0);
    assert_int_equal(s.reserved, 0xF0000); /* 0xE0100 rounded up to 64 KiB granules */
    assert_int_equal((uintptr_t)s.base % JV_META_GRANULE, 0);
    assert_int_equal(jv_meta_space_committed(&s), 0);
    jv_meta_space_release(&s);
    assert_null(s.base);
}

static void meta2_locals_follow_globals_whatever_the_order(void **st) {
    jv_meta_spec sp[4] = {
        {"L1", false, 0, 0, 12}, {"G1", true, 0, 1, 12}, {"L2", false, 0, 0, 21},
        {"G2", true, 0, 3, 20},
    };
    uint64_t end = jv_meta_layout(sp, 4);
    assert_int_equal(sp[1].offset, 0);                       /* G1: 256 KiB */
    assert_int_equal(sp[3].offset, 0x40000);                 /* G2: 4 KiB */
    assert_int_equal(sp[0].offset, 0x41000);                 /* L1: 128 KiB */
    assert_int_equal(sp[2].offset, 0x61000);                 /* L2: 256 B */
    assert_int_equal(end, 0x61100);
    /* word rounding: a 1-byte table pushes the next offset to a multiple of 8 */
    jv_meta_spec w[2] = {{"tiny", true, 0, 0, 32}, {"next", true, 0, 0, 12}};
    assert_int_equal(jv_meta_range_size(&w[0]), 1);
    jv_meta_layout(w, 2);
    assert_int_equal(w[1].offset, 8);
    assert_int_equal(jv_meta_check(w, 2, NULL, 0), 0);
}

static void meta10_worked_computations(void **st) {
    jv_meta_spec sp[5];
    memcpy(sp, pvm_specs, sizeof sp);
    jv_meta_layout(sp, 5);
    jv_meta_space s;
    assert_int_equal(jv_meta_space_reserve(&s, sp, 5, NULL), 0);
    const uint64_t a = 0x10002345;
    static const struct { uint64_t byte; unsigned lshift; uint8_t mask; } want[5] = {
        {0x4000, 4, 0x30}, {0x44000, 4, 0x30}, {0x82000, 2, 0x04},
        {0xA4000, 4, 0x30}, {0xE0010, 0, 0x01},
    };
    for (int i = 0; i < 5; i++) {
        assert_ptr_equal(jv_meta_byte_addr(&s, &sp[i], a), s.base + want[i].byte);
        assert_int_equal(jv_meta_lshift(&sp[i], a), want[i].lshift);
        assert_int_equal(jv_meta_byte_mask(&sp[i], a), want[i].mask);
    }
    /* and the operations agree with the arithmetic */
    assert_int_equal(jv_meta_ensure_mapped(&s, &sp[0], a, 1), 0);
    jv_meta_store(&s, &sp[0], a, 2);
    assert_int_equal(s.base[0x4000], 2 << 4);
    assert_int_equal(jv_meta_load(&s, &sp[0], a), 2);
    jv_meta_space_release(&s);
}

/* ---- META-3: the sanity check ------------------------------------------------------------------ */
static void meta3_overlap_half_open(void **st) {
    char err[256];
    jv_meta_spec a = {"A", true, 0, 0, 3, }, b = {"B", false, 0, 0, 3};
    uint64_t size = jv_meta_range_size(&a);
    assert_int_equal(size, 64ull << 20);
    jv_meta_spec p[2] = {a, b};
    p[1].offset = size; /* adjacent: [0,size) [size,2size) */
    assert_int_equal(jv_meta_check(p, 2, err, sizeof err), 0);
    p[1].offset = size - 1;
    assert_int_equal(jv_meta_check(p, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "A"));
    assert_non_null(strstr(err, "B"));
    assert_non_null(strstr(err, "overlap"));
    /* the MMTk off-by-one case: offsets 1 and size overlap by one byte */
    p[0].offset = 1;
    p[1].offset = size;
    assert_int_equal(jv_meta_check(p, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "overlap"));
    p[1].offset = size + 1;
    assert_int_equal(jv_meta_check(p, 2, err, sizeof err), 0);
    /* the pitfall: a global and a local at the same offset, whatever the groups */
    jv_meta_spec q[2] = {{"G", true, 0x1000, 0, 12}, {"L", false, 0x1000, 1, 12}};
    assert_int_equal(jv_meta_check(q, 2, err, sizeof err), -1);
    /* identical globals too */
    q[1].is_global = true;
    assert_int_equal(jv_meta_check(q, 2, NULL, 0), -1);
    /* three specs, overlap between the first and the third */
    jv_meta_spec t[3] = {{"X", true, 0, 0, 12}, {"Y", true, 0x40000, 0, 12},
                         {"Z", false, 0x1FFF8, 0, 21}};
    assert_int_equal(jv_meta_check(t, 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "Z"));
    t[2].offset = 0x20000;
    assert_int_equal(jv_meta_check(t, 3, err, sizeof err), 0);
}

static void meta3_invalid_specs(void **st) {
    char err[256];
    jv_meta_spec s = {"wide", true, 0, 7, 12};
    assert_int_equal(jv_meta_check(&s, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "wide"));
    assert_non_null(strstr(err, "log_bits"));
    s.log_bits = 6;
    assert_int_equal(jv_meta_check(&s, 1, err, sizeof err), 0);
    s.log_region = 33;
    assert_int_equal(jv_meta_check(&s, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "log_region"));
    s.log_region = 12;
    s.offset = 4; /* a u64 field must be 8-aligned */
    assert_int_equal(jv_meta_check(&s, 1, err, sizeof err), -1);
    s.offset = 8;
    assert_int_equal(jv_meta_check(&s, 1, err, sizeof err), 0);
    s.offset = UINT64_MAX - 4;
    assert_int_equal(jv_meta_check(&s, 1, err, sizeof err), -1);
    jv_meta_space sp;
    s.log_bits = 7;
    s.offset = 0;
    assert_int_equal(jv_meta_space_reserve(&sp, &s, 1, NULL), -EINVAL);
    assert_null(sp.base);
    assert_int_equal(jv_meta_space_reserve(&sp, &s, 0, NULL), -EINVAL);
}

/* ---- META-9: accounting ------------------------------------------------------------------------ */
static void meta9_accounting(void **st) {
    jv_meta_spec s = {"vo", true, 0, 0, 3}; /* 1 bit per 8 B: ratio 6 */
    static const uint64_t in[] = {0, 63, 64, 65, 1024}, out[] = {0, 1, 1, 2, 16};
    for (int i = 0; i < 5; i++)
        assert_int_equal(jv_meta_pages_for_data(&s, in[i]), out[i]);
    assert_int_equal(jv_meta_bytes_for_data(&s, 64), 1);
    assert_int_equal(jv_meta_bytes_for_data(&s, 65), 2);
    jv_meta_spec wide = {"u64", true, 0, 6, 0}; /* ratio -3: 8 metadata bytes per data byte */
    assert_int_equal(jv_meta_bytes_for_data(&wide, 3), 24);
    assert_int_equal(jv_meta_range_size(&wide), 1ull << 35);
    jv_meta_spec sp[5];
    memcpy(sp, pvm_specs, sizeof sp);
    /* 1 data page: every spec needs one metadata page (never 0) */
    assert_int_equal(jv_meta_pages_for_data_all(sp, 5, 1), 5);
    /* 2^20 pages: 64 + 64 + 32 + 64 + 1 */
    assert_int_equal(jv_meta_pages_for_data_all(sp, 5, 1u << 20), 225);
    assert_int_equal(jv_meta_pages_for_data_all(sp, 5, 0), 0);
}

/* ---- META-5: lazy commit ---------------------------------------------------------------------- */
static void meta5_lazy_commit_granule_ends(void **st) {
    jv_meta_spec sp[5];
    memcpy(sp, pvm_specs, sizeof sp);
    jv_meta_layout(sp, 5);
    jv_meta_space s;
    assert_int_equal(jv_meta_space_reserve(&s, sp, 5, NULL), 0);
    const jv_meta_spec *d = &sp[2]; /* dirty: 0x80000.., 1 bit per page */
    assert_false(jv_meta_is_mapped(&s, d, 0x10000));
    assert_int_equal(jv_meta_ensure_mapped(&s, d, 0x10000, 0x1000), 0);
    assert_int_equal(jv_meta_space_committed(&s), JV_META_GRANULE);
    /* granule 8 = metadata [0x80000, 0x90000) = dirty bits of pages 0 .. 0x7FFFF */
    assert_true(jv_meta_is_mapped(&s, d, 0));                     /* first byte of the granule */
    assert_true(jv_meta_is_mapped(&s, d, 0x7FFFFull << 12));      /* last byte of the granule */
    assert_true(jv_meta_is_mapped(&s, d, 0xFFFull << 12));        /* end of the first host page */
    assert_true(jv_meta_is_mapped(&s, d, 0x8000ull << 12));       /* start of the second one */
    assert_false(jv_meta_is_mapped(&s, d, 0x80000ull << 12));     /* next granule */
    assert_false(jv_meta_is_mapped(&s, &sp[1], 0xFFFFF000ull));  /* previous granule (MAT_STATE) */
    assert_false(jv_meta_is_mapped(&s, d, 1ull << 32));          /* outside the space */
    /* both ends are writable and read zero (META-4) */
    assert_int_equal(jv_meta_load(&s, d, 0), 0);
    assert_int_equal(jv_meta_load(&s, d, 0x7FFFFull << 12), 0);
    jv_meta_store(&s, d, 0, 1);
    jv_meta_store(&s, d, 0x7FFFFull << 12, 1);
    assert_int_equal(s.base[0x80000], 1);
    assert_int_equal(s.base[0x8FFFF], 0x80);
    /* idempotent */
    assert_int_equal(jv_meta_ensure_mapped(&s, d, 0, 0x1000), 0);
    assert_int_equal(jv_meta_load(&s, d, 0), 1);
    assert_int_equal(jv_meta_space_committed(&s), JV_META_GRANULE);
    /* a range whose metadata straddles a granule boundary commits both granules */
    assert_int_equal(jv_meta_ensure_mapped(&s, d, 0x7FFFFull << 12, 0x2000), 0);
    assert_true(jv_meta_is_mapped(&s, d, 0x80000ull << 12));
    assert_int_equal(jv_meta_space_committed(&s), 2 * JV_META_GRANULE);
    /* zero length commits nothing; a range past 2^32 is clamped */
    assert_int_equal(jv_meta_ensure_mapped(&s, &sp[0], 0, 0), 0);
    assert_false(jv_meta_is_mapped(&s, &sp[0], 0));
    assert_int_equal(jv_meta_ensure_mapped(&s, &sp[4], 0xFFFFF000ull, 0x10000), 0);
    assert_true(jv_meta_is_mapped(&s, &sp[4], 0xFFFFFFFFull));
    /* the whole table */
    assert_int_equal(jv_meta_ensure_mapped_all(&s, &sp[3]), 0);
    assert_true(jv_meta_is_mapped(&s, &sp[3], 0));
    assert_true(jv_meta_is_mapped(&s, &sp[3], 0xFFFFFFFFull));
    /* clear zeroes in place, granules stay committed */
    size_t committed = jv_meta_space_committed(&s);
    jv_meta_space_clear(&s);
    assert_int_equal(jv_meta_load(&s, d, 0), 0);
    assert_int_equal(jv_meta_load(&s, d, 0x7FFFFull << 12), 0);
    assert_int_equal(jv_meta_space_committed(&s), committed);
    jv_meta_space_release(&s);
    jv_meta_space_release(&s); /* safe twice */
}

static void meta5_access_checker(void **st) {
    jv_meta_spec sp[5];
    memcpy(sp, pvm_specs, sizeof sp);
    jv_meta_layout(sp, 5);
    jv_meta_space s;
    assert_false(jv_meta_access_ok(&(jv_meta_space){0}, &sp[0], 0)); /* released space */
    assert_int_equal(jv_meta_space_reserve(&s, sp, 5, NULL), 0);
    assert_false(jv_meta_access_ok(&s, &sp[2], 0x10000)); /* not committed */
    assert_int_equal(jv_meta_ensure_mapped(&s, &sp[2], 0x10000, 1), 0);
    assert_true(jv_meta_access_ok(&s, &sp[2], 0x10000));
    assert_false(jv_meta_access_ok(&s, &sp[2], 1ull << 32)); /* beyond the guest space */
    /* a spec that is not part of the reserved set: its table lies past the reservation */
    jv_meta_spec foreign = {"foreign", false, 0xF0000, 3, 12};
    assert_false(jv_meta_access_ok(&s, &foreign, 0));
    assert_int_equal(jv_meta_ensure_mapped(&s, &foreign, 0, 1), -ERANGE);
    jv_meta_space_release(&s);
}

static void meta5_large_extent_uses_heap_bitmap(void **st) {
    jv_meta_spec sp;
    jv_meta_space s;
    reserve_one(&s, &sp, 0, 3, 0); /* 64 MiB = 1024 granules */
    assert_int_equal(s.ngranules, 1024);
    assert_non_null(s.commit_heap);
    assert_int_equal(jv_meta_ensure_mapped(&s, &sp, 0xFFFFFFF8ull, 8), 0);
    assert_true(jv_meta_is_mapped(&s, &sp, 0xFFFFFFF8ull));
    assert_false(jv_meta_is_mapped(&s, &sp, 0));
    jv_meta_store(&s, &sp, 0xFFFFFFF8ull, 1);
    assert_int_equal(s.base[(64 << 20) - 1], 0x80);
    jv_meta_space_release(&s);
}

/* ---- Reservation at a requested address ------------------------------------------------------- */
static void reserve_at_requested_address(void **st) {
    jv_meta_spec sp[5];
    memcpy(sp, pvm_specs, sizeof sp);
    jv_meta_layout(sp, 5);
    jv_meta_space a, b;
    assert_int_equal(jv_meta_space_reserve(&a, sp, 5, NULL), 0);
    uint8_t *at = a.base;
    jv_meta_space_release(&a);
    assert_int_equal(jv_meta_space_reserve(&a, sp, 5, at), 0);
    assert_ptr_equal(a.base, at);
    /* occupied: must fail loudly, not clobber */
    assert_int_equal(jv_meta_ensure_mapped(&a, &sp[0], 0, 1), 0);
    jv_meta_store(&a, &sp[0], 0, 3);
    assert_int_equal(jv_meta_space_reserve(&b, sp, 5, at), -EEXIST);
    assert_null(b.base);
    assert_int_equal(jv_meta_space_reserve(&b, sp, 5, at + JV_META_GRANULE), -EEXIST);
    assert_int_equal(jv_meta_load(&a, &sp[0], 0), 3);
    /* unaligned request */
    assert_int_equal(jv_meta_space_reserve(&b, sp, 5, at + 1), -EINVAL);
    jv_meta_space_release(&a);
}

/* ---- META-6/7: every operation at every width ------------------------------------------------- */
static uint64_t trunc_to(uint8_t b, uint64_t v) {
    unsigned bits = 1u << b;
    return bits >= 64 ? v : v & ((1ull << bits) - 1);
}

static bool upd_double_plus_one(uint64_t old, uint64_t *nv, void *ctx) {
    *nv = old * 2 + 1;
    (*(int *)ctx)++;
    return true;
}
static bool upd_refuse(uint64_t old, uint64_t *nv, void *ctx) {
    (void)nv;
    (*(int *)ctx)++;
    return false;
}

/* Values of regions 0..N-1 (region i at data address i << 12) all zero except the ones set. */
static void check_neighbours(jv_meta_space *s, jv_meta_spec *sp, uint64_t center, uint64_t want) {
    for (uint64_t i = center ? center - 1 : 0; i <= center + 1; i++) {
        uint64_t v = jv_meta_load(s, sp, i << 12);
        assert_int_equal(v, i == center ? want : 0);
    }
}

static void meta6_every_op_every_width(void **st) {
    for (uint8_t b = 0; b <= 6; b++) {
        jv_meta_spec sp;
        jv_meta_space s;
        reserve_one(&s, &sp, b, 12, 0);
        assert_int_equal(jv_meta_ensure_mapped(&s, &sp, 0, 64 << 12), 0);
        const uint64_t max = jv_meta_field_mask(&sp);
        for (uint64_t c = 1; c < 20; c += 3) { /* several positions within a byte/word */
            const uint64_t a = c << 12;
            /* load / store (truncated to the field, neighbours untouched) */
            jv_meta_store(&s, &sp, a, max);
            check_neighbours(&s, &sp, c, max);
            jv_meta_store(&s, &sp, a, max + 2); /* truncated to 1 */
            check_neighbours(&s, &sp, c, 1);
            jv_meta_set_zero(&s, &sp, a);
            check_neighbours(&s, &sp, c, 0);
            /* atomic store / load */
            jv_meta_store_atomic(&s, &sp, a, max, __ATOMIC_RELEASE);
            assert_int_equal(jv_meta_load_atomic(&s, &sp, a, __ATOMIC_ACQUIRE), max);
            check_neighbours(&s, &sp, c, max);
            jv_meta_set_zero_atomic(&s, &sp, a, __ATOMIC_SEQ_CST);
            check_neighbours(&s, &sp, c, 0);
            /* CAS success and failure */
            uint64_t exp = 0;
            assert_true(jv_meta_compare_exchange_atomic(&s, &sp, a, &exp, 1, __ATOMIC_SEQ_CST,
                                                        __ATOMIC_RELAXED));
            check_neighbours(&s, &sp, c, 1);
            exp = 0;
            assert_false(jv_meta_compare_exchange_atomic(&s, &sp, a, &exp, max, __ATOMIC_SEQ_CST,
                                                         __ATOMIC_RELAXED));
            assert_int_equal(exp, 1); /* the current value */
            check_neighbours(&s, &sp, c, 1);
            exp = 1;
            assert_true(jv_meta_compare_exchange_atomic(&s, &sp, a, &exp, max, __ATOMIC_ACQ_REL,
                                                        __ATOMIC_ACQUIRE));
            check_neighbours(&s, &sp, c, max);
            jv_meta_set_zero(&s, &sp, a);
            /* fetch_add by 1, by the maximum, with wrapping inside the field */
            assert_int_equal(jv_meta_fetch_add_atomic(&s, &sp, a, 1, __ATOMIC_SEQ_CST), 0);
            check_neighbours(&s, &sp, c, 1);
            assert_int_equal(jv_meta_fetch_add_atomic(&s, &sp, a, max, __ATOMIC_SEQ_CST), 1);
            check_neighbours(&s, &sp, c, 0); /* 1 + max wraps to 0 */
            jv_meta_store(&s, &sp, a, max);
            assert_int_equal(jv_meta_fetch_add_atomic(&s, &sp, a, 1, __ATOMIC_RELAXED), max);
            check_neighbours(&s, &sp, c, 0);
            jv_meta_store(&s, &sp, a, max);
            assert_int_equal(jv_meta_fetch_add_atomic(&s, &sp, a, max, __ATOMIC_RELAXED), max);
            check_neighbours(&s, &sp, c, trunc_to(b, max - 1));
            /* fetch_sub, wrapping below zero */
            jv_meta_set_zero(&s, &sp, a);
            assert_int_equal(jv_meta_fetch_sub_atomic(&s, &sp, a, 1, __ATOMIC_SEQ_CST), 0);
            check_neighbours(&s, &sp, c, max);
            assert_int_equal(jv_meta_fetch_sub_atomic(&s, &sp, a, max, __ATOMIC_SEQ_CST), max);
            check_neighbours(&s, &sp, c, 0);
            /* fetch_and / fetch_or */
            const uint64_t pat = trunc_to(b, 0xA5A5A5A5A5A5A5A5ull) | 1;
            assert_int_equal(jv_meta_fetch_or_atomic(&s, &sp, a, pat, __ATOMIC_SEQ_CST), 0);
            check_neighbours(&s, &sp, c, pat);
            assert_int_equal(jv_meta_fetch_or_atomic(&s, &sp, a, ~0ull, __ATOMIC_SEQ_CST), pat);
            check_neighbours(&s, &sp, c, max); /* value masked: neighbours untouched */
            assert_int_equal(jv_meta_fetch_and_atomic(&s, &sp, a, pat, __ATOMIC_SEQ_CST), max);
            check_neighbours(&s, &sp, c, pat);
            assert_int_equal(jv_meta_fetch_and_atomic(&s, &sp, a, 0, __ATOMIC_SEQ_CST), pat);
            check_neighbours(&s, &sp, c, 0);
            /* fetch_update */
            int calls = 0;
            uint64_t old = 99;
            assert_true(jv_meta_fetch_update_atomic(&s, &sp, a, upd_double_plus_one, &calls,
                                                    __ATOMIC_SEQ_CST, &old));
            assert_int_equal(old, 0);
            check_neighbours(&s, &sp, c, 1);
            assert_true(jv_meta_fetch_update_atomic(&s, &sp, a, upd_double_plus_one, &calls,
                                                    __ATOMIC_SEQ_CST, &old));
            assert_int_equal(old, 1);
            check_neighbours(&s, &sp, c, trunc_to(b, 3));
            assert_int_equal(calls, 2);
            assert_false(jv_meta_fetch_update_atomic(&s, &sp, a, upd_refuse, &calls,
                                                     __ATOMIC_SEQ_CST, &old));
            assert_int_equal(old, trunc_to(b, 3));
            check_neighbours(&s, &sp, c, trunc_to(b, 3));
            jv_meta_set_zero(&s, &sp, a);
            /* raw access */
            jv_meta_store(&s, &sp, a, 1);
            uint8_t *p = jv_meta_byte_addr(&s, &sp, a);
            assert_int_equal(jv_meta_load_raw_byte(&s, &sp, a), *p);
            uint64_t w;
            memcpy(&w, (const void *)((uintptr_t)p & ~(uintptr_t)7), 8);
            assert_int_equal(jv_meta_load_raw_word(&s, &sp, a), w);
            assert_int_not_equal(w, 0);
            jv_meta_set_raw_byte_atomic(&s, &sp, a, __ATOMIC_SEQ_CST);
            assert_int_equal(*p, 0xFF);
            *p = 0;
            jv_meta_set_zero(&s, &sp, a);
            check_neighbours(&s, &sp, c, 0);
        }
        jv_meta_space_release(&s);
    }
}

/* Random operation sequences against a per-region model, every width. */
static void meta6_random_ops_match_model(void **st) {
    enum { N = 200 };
    for (uint8_t b = 0; b <= 6; b++) {
        jv_meta_spec sp;
        jv_meta_space s;
        reserve_one(&s, &sp, b, 4, 0);
        assert_int_equal(jv_meta_ensure_mapped(&s, &sp, 0, N << 4), 0);
        uint64_t model[N] = {0};
        for (int it = 0; it < 20000; it++) {
            unsigned i = (unsigned)rnd_below(N);
            uint64_t a = ((uint64_t)i << 4) + rnd_below(16), v = rnd(), old = model[i], got = 0;
            if (rnd() & 1)
                v = trunc_to(b, v);
            switch (rnd_below(10)) {
            case 0: jv_meta_store(&s, &sp, a, v); model[i] = trunc_to(b, v); break;
            case 1: jv_meta_store_atomic(&s, &sp, a, v, __ATOMIC_SEQ_CST); model[i] = trunc_to(b, v); break;
            case 2: got = jv_meta_fetch_add_atomic(&s, &sp, a, v, __ATOMIC_SEQ_CST);
                    assert_int_equal(got, old); model[i] = trunc_to(b, old + v); break;
            case 3: got = jv_meta_fetch_sub_atomic(&s, &sp, a, v, __ATOMIC_SEQ_CST);
                    assert_int_equal(got, old); model[i] = trunc_to(b, old - v); break;
            case 4: got = jv_meta_fetch_and_atomic(&s, &sp, a, v, __ATOMIC_SEQ_CST);
                    assert_int_equal(got, old); model[i] = old & trunc_to(b, v); break;
            case 5: got = jv_meta_fetch_or_atomic(&s, &sp, a, v, __ATOMIC_SEQ_CST);
                    assert_int_equal(got, old); model[i] = old | trunc_to(b, v); break;
            case 6: {
                uint64_t e = (rnd() & 1) ? old : v;
                bool want = trunc_to(b, e) == old;
                bool ok = jv_meta_compare_exchange_atomic(&s, &sp, a, &e, v, __ATOMIC_SEQ_CST,
                                                          __ATOMIC_SEQ_CST);
                assert_int_equal(ok, want); /* single-threaded: never spurious */
                if (ok) model[i] = trunc_to(b, v);
                else assert_int_equal(e, old);
                break;
            }
            case 7: jv_meta_set_zero_atomic(&s, &sp, a, __ATOMIC_SEQ_CST); model[i] = 0; break;
            default:
                assert_int_equal(jv_meta_load(&s, &sp, a), old);
                assert_int_equal(jv_meta_load_atomic(&s, &sp, a, __ATOMIC_SEQ_CST), old);
                break;
            }
        }
        for (unsigned i = 0; i < N; i++)
            assert_int_equal(jv_meta_load(&s, &sp, (uint64_t)i << 4), model[i]);
        jv_meta_space_release(&s);
    }
}

/* Concurrent fetch-ops on neighbouring sub-byte fields (META-6: never change neighbours). */
typedef struct thr_arg {
    jv_meta_space *s;
    jv_meta_spec *sp;
    unsigned field;
} thr_arg;
enum { THREADS = 4, ITERS = 20001 };
static void *thr_add(void *p) {
    thr_arg *t = p;
    for (int i = 0; i < ITERS; i++) {
        jv_meta_fetch_add_atomic(t->s, t->sp, (uint64_t)t->field << 12, 1, __ATOMIC_RELAXED);
        uint64_t exp, seen;
        do { /* a CAS increment loop on the second byte: retries absorb spurious failures */
            exp = jv_meta_load_atomic(t->s, t->sp, (uint64_t)(t->field + 4) << 12, __ATOMIC_RELAXED);
            seen = exp;
        } while (!jv_meta_compare_exchange_atomic(t->s, t->sp, (uint64_t)(t->field + 4) << 12,
                                                  &seen, exp + 1, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_RELAXED));
    }
    return NULL;
}
static void meta7_concurrent_neighbours(void **st) {
    jv_meta_spec sp;
    jv_meta_space s;
    reserve_one(&s, &sp, 1, 12, 0); /* 2-bit fields: 4 per byte */
    assert_int_equal(jv_meta_ensure_mapped(&s, &sp, 0, 8 << 12), 0);
    pthread_t th[THREADS];
    thr_arg args[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        args[i] = (thr_arg){&s, &sp, i};
        assert_int_equal(pthread_create(&th[i], NULL, thr_add, &args[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (unsigned i = 0; i < 2 * THREADS; i++)
        assert_int_equal(jv_meta_load(&s, &sp, (uint64_t)i << 12), ITERS % 4);
    jv_meta_space_release(&s);
}

/* ---- Naive per-region reference (bulk, find, scan) ------------------------------------------ */
static uint64_t range_end(uint64_t start, uint64_t size) {
    return size > (1ull << 32) - start ? 1ull << 32 : start + size;
}
static void ref_fill(jv_meta_space *s, jv_meta_spec *sp, uint64_t start, uint64_t size, bool set) {
    uint64_t end = range_end(start, size);
    if (start >= end)
        return;
    for (uint64_t x = start >> sp->log_region; x <= (end - 1) >> sp->log_region; x++)
        if (jv_meta_is_mapped(s, sp, x << sp->log_region))
            jv_meta_store(s, sp, x << sp->log_region, set ? jv_meta_field_mask(sp) : 0);
}
static bool ref_find_next(jv_meta_space *s, jv_meta_spec *sp, uint64_t addr, uint64_t limit,
                          uint64_t *found) {
    uint64_t end = range_end(addr, limit);
    for (uint64_t x = addr >> sp->log_region; addr < end && (x << sp->log_region) < end; x++) {
        uint64_t a = x << sp->log_region;
        if (!jv_meta_is_mapped(s, sp, a))
            return false;
        if (jv_meta_load(s, sp, a)) {
            *found = a;
            return true;
        }
    }
    return false;
}
static bool ref_find_prev(jv_meta_space *s, jv_meta_spec *sp, uint64_t addr, uint64_t limit,
                          uint64_t *found) {
    if (limit == 0)
        return false;
    uint64_t lo = limit > addr ? 0 : addr - limit + 1;
    for (uint64_t x = (addr >> sp->log_region) + 1; x-- > (lo >> sp->log_region);) {
        uint64_t a = x << sp->log_region;
        if (!jv_meta_is_mapped(s, sp, a))
            return false;
        if (jv_meta_load(s, sp, a)) {
            *found = a;
            return true;
        }
    }
    return false;
}
typedef struct visits {
    uint64_t n, addr[4096], val[4096];
    uint64_t stop_after;
} visits;
static bool record(uint64_t a, uint64_t v, void *ctx) {
    visits *vs = ctx;
    if (vs->n < 4096) {
        vs->addr[vs->n] = a;
        vs->val[vs->n] = v;
    }
    vs->n++;
    return vs->n != vs->stop_after;
}
static void ref_scan(jv_meta_space *s, jv_meta_spec *sp, uint64_t start, uint64_t end,
                     visits *vs) {
    if (end > 1ull << 32)
        end = 1ull << 32;
    if (start >= end)
        return;
    for (uint64_t x = start >> sp->log_region; x <= (end - 1) >> sp->log_region; x++) {
        uint64_t a = x << sp->log_region;
        if (jv_meta_is_mapped(s, sp, a) && jv_meta_load(s, sp, a))
            if (!record(a, jv_meta_load(s, sp, a), vs))
                return;
    }
}

/* Test geometries: (b, r, offset). Offsets that are not 8-aligned, and tables that begin in
 * the middle of a granule, exercise the partial-word and granule-straddling paths. */
static const struct { uint8_t b, r; uint64_t off; } geo[] = {
    {0, 3, 0}, {0, 12, 0x10003}, {1, 3, 0x8005}, {2, 5, 0}, {3, 7, 0x2},
    {4, 8, 0x6}, {5, 9, 0x4}, {6, 10, 0x8}, {0, 0, 0xFFF8}, {1, 2, 0x1FFFD},
};

/* A window of data around the first granule boundary inside the table: W regions on each side,
 * so that searches, scans and bulk ops cross from one commit granule into the next. */
static void setup_window(const jv_meta_spec *sp, uint64_t *wlo, uint64_t *whi) {
    const uint64_t W = 3000;
    uint64_t jb = ((sp->offset + 1 + JV_META_GRANULE - 1) & ~(uint64_t)(JV_META_GRANULE - 1)) - sp->offset;
    uint64_t xb = (jb * 8) >> sp->log_bits, nreg = (1ull << 32) >> sp->log_region;
    uint64_t x0 = xb > W ? xb - W : 0, x1 = xb + W < nreg ? xb + W : nreg;
    *wlo = x0 << sp->log_region;
    *whi = x1 << sp->log_region;
}

static void fill_random(jv_meta_space *s, jv_meta_spec *sp, uint64_t lo, uint64_t hi,
                        unsigned one_in) {
    for (uint64_t x = lo >> sp->log_region; x <= (hi - 1) >> sp->log_region; x++) {
        uint64_t a = x << sp->log_region;
        if (jv_meta_is_mapped(s, sp, a))
            jv_meta_store(s, sp, a, rnd_below(one_in) == 0 ? (rnd() | 1) : 0);
    }
}

/* Commit the metadata of the window's left side (cfg 0), right side (cfg 1) or both (cfg 2)
 * of the granule boundary, so that searches run into uncommitted granules from either direction. */
static void commit_cfg(jv_meta_space *s, const jv_meta_spec *sp, uint64_t lo, uint64_t hi,
                       int cfg) {
    uint64_t jb = ((sp->offset + 1 + JV_META_GRANULE - 1) & ~(uint64_t)(JV_META_GRANULE - 1)) - sp->offset;
    uint64_t mid = ((jb * 8) >> sp->log_bits) << sp->log_region; /* first region of the next granule */
    if (cfg != 1 && mid > lo)
        assert_int_equal(jv_meta_ensure_mapped(s, sp, lo, mid - lo), 0);
    if (cfg != 0)
        assert_int_equal(jv_meta_ensure_mapped(s, sp, mid, hi - mid), 0);
    if (mid > lo)
        assert_int_equal(jv_meta_is_mapped(s, sp, mid - 1), cfg != 1);
    assert_int_equal(jv_meta_is_mapped(s, sp, mid), cfg != 0);
}

static uint64_t rand_addr(uint64_t lo, uint64_t hi) { return lo + rnd_below(hi - lo); }
static uint64_t rand_len(uint64_t span, uint8_t r) {
    switch (rnd_below(4)) {
    case 0: return rnd_below(4ull << r);              /* tiny */
    case 1: return rnd_below(span);                    /* anything in the window */
    case 2: return (rnd_below(64) + 1) << r;           /* whole regions */
    default: return span - rnd_below(4ull << r);       /* about the window */
    }
}

static void compare_tables(jv_meta_space *s1, jv_meta_spec *sp1, jv_meta_space *s2,
                           jv_meta_spec *sp2, uint64_t lo, uint64_t hi) {
    for (uint64_t x = lo >> sp1->log_region; x <= (hi - 1) >> sp1->log_region; x++) {
        uint64_t a = x << sp1->log_region;
        bool m1 = jv_meta_is_mapped(s1, sp1, a), m2 = jv_meta_is_mapped(s2, sp2, a);
        uint64_t v1 = m1 ? jv_meta_load(s1, sp1, a) : 0, v2 = m2 ? jv_meta_load(s2, sp2, a) : 0;
        if (v1 != v2)
            fail_msg("region 0x%llx: %llu vs %llu", (unsigned long long)a,
                     (unsigned long long)v1, (unsigned long long)v2);
    }
}

/* Bulk zero / set / copy with unaligned edges against the naive reference. The fast and the
 * reference version run on two spaces with identical contents and commit state. */
static void meta7_bulk_vs_reference(void **st) {
    for (size_t g = 0; g < sizeof geo / sizeof geo[0]; g++) {
      for (int cfg = 0; cfg < 3; cfg++) {
        jv_meta_spec sp1, sp2, sp3;
        jv_meta_space s1, s2, s3;
        reserve_one(&s1, &sp1, geo[g].b, geo[g].r, geo[g].off);
        reserve_one(&s2, &sp2, geo[g].b, geo[g].r, geo[g].off);
        reserve_one(&s3, &sp3, geo[g].b, geo[g].r, geo[g].off); /* bcopy source */
        uint64_t lo, hi;
        setup_window(&sp1, &lo, &hi);
        commit_cfg(&s1, &sp1, lo, hi, cfg);
        commit_cfg(&s2, &sp2, lo, hi, cfg);
        commit_cfg(&s3, &sp3, lo, hi, (cfg + 1) % 3);
        for (int round = 0; round < 3; round++) {
            uint64_t seed = rng_state;
            fill_random(&s1, &sp1, lo, hi, 3);
            rng_state = seed;
            fill_random(&s2, &sp2, lo, hi, 3);
            fill_random(&s3, &sp3, lo, hi, 2);
            compare_tables(&s1, &sp1, &s2, &sp2, lo, hi);
            for (int it = 0; it < 60; it++) {
                uint64_t a = rand_addr(lo, hi), n = rand_len(hi - lo, geo[g].r);
                switch (rnd_below(3)) {
                case 0:
                    jv_meta_bzero(&s1, &sp1, a, n);
                    ref_fill(&s2, &sp2, a, n, false);
                    break;
                case 1:
                    assert_int_equal(jv_meta_bset(&s1, &sp1, a, n), 0);
                    assert_int_equal(jv_meta_ensure_mapped(&s2, &sp2, a, n), 0);
                    ref_fill(&s2, &sp2, a, n, true);
                    break;
                default: {
                    assert_int_equal(jv_meta_bcopy(&s1, &sp1, &s3, &sp3, a, n), 0);
                    assert_int_equal(jv_meta_ensure_mapped(&s2, &sp2, a, n), 0);
                    uint64_t end = range_end(a, n);
                    if (n && a < end)
                        for (uint64_t x = a >> sp2.log_region; x <= (end - 1) >> sp2.log_region; x++) {
                            uint64_t d = x << sp2.log_region;
                            jv_meta_store(&s2, &sp2, d,
                                          jv_meta_is_mapped(&s3, &sp3, d) ? jv_meta_load(&s3, &sp3, d) : 0);
                        }
                    break;
                }
                }
                compare_tables(&s1, &sp1, &s2, &sp2, lo,
                               hi + (hi - lo) > (1ull << 32) ? 1ull << 32 : hi + (hi - lo));
            }
        }
        /* bzero over the whole space skips uncommitted granules */
        jv_meta_bzero(&s1, &sp1, 0, 1ull << 32);
        uint64_t f;
        assert_false(jv_meta_find_next_non_zero(&s1, &sp1, lo, hi - lo, &f));
        visits *vs = calloc(1, sizeof *vs);
        assert_int_equal(jv_meta_scan_non_zero(&s1, &sp1, 0, 1ull << 32, record, vs), 0);
        free(vs);
        jv_meta_space_release(&s1);
        jv_meta_space_release(&s2);
        jv_meta_space_release(&s3);
      }
    }
}

static void meta7_bulk_whole_and_fractional_bytes(void **st) {
    jv_meta_spec sp;
    jv_meta_space s;
    reserve_one(&s, &sp, 0, 12, 0); /* 1 bit per page */
    uint8_t *t = jv_meta_table(&s, &sp);
    assert_int_equal(jv_meta_bset(&s, &sp, 3 << 12, 2 << 12), 0); /* pages 3, 4 */
    assert_int_equal(t[0], 0x18);
    assert_int_equal(jv_meta_bset(&s, &sp, 8 << 12, 16 << 12), 0); /* bytes 1, 2 whole */
    assert_int_equal(t[1], 0xFF);
    assert_int_equal(t[2], 0xFF);
    assert_int_equal(t[3], 0);
    assert_int_equal(jv_meta_bset(&s, &sp, (6 << 12) + 1, 30 << 12), 0); /* pages 6..36 */
    assert_int_equal(t[0], 0xD8);
    assert_int_equal(t[3], 0xFF);
    assert_int_equal(t[4], 0x1F);
    jv_meta_bzero(&s, &sp, 9 << 12, 1); /* one byte of data: page 9 */
    assert_int_equal(t[1], 0xFD);
    jv_meta_bzero(&s, &sp, 0, 0); /* nothing */
    assert_int_equal(t[0], 0xD8);
    jv_meta_bzero(&s, &sp, 0, 40 << 12);
    for (int i = 0; i < 5; i++)
        assert_int_equal(t[i], 0);
    /* bcopy requires equal b and r */
    jv_meta_spec other = {"o", true, 0, 1, 12};
    assert_int_equal(jv_meta_bcopy(&s, &sp, &s, &other, 0, 4096), -EINVAL);
    jv_meta_space_release(&s);
}

/* find_prev / find_next / scan against the reference on random bit patterns. */
static void meta8_find_and_scan_vs_reference(void **st) {
    visits *v1 = calloc(1, sizeof *v1), *v2 = calloc(1, sizeof *v2);
    assert_non_null(v1);
    assert_non_null(v2);
    for (size_t g = 0; g < sizeof geo / sizeof geo[0]; g++) {
      for (int cfg = 0; cfg < 3; cfg++) {
        jv_meta_spec sp;
        jv_meta_space s;
        reserve_one(&s, &sp, geo[g].b, geo[g].r, geo[g].off);
        uint64_t lo, hi;
        setup_window(&sp, &lo, &hi);
        commit_cfg(&s, &sp, lo, hi, cfg);
        static const unsigned sparsity[] = {2, 50, 5000};
        for (int round = 0; round < 3; round++) {
            fill_random(&s, &sp, lo, hi, sparsity[round]);
            for (int it = 0; it < 200; it++) {
                uint64_t a = rand_addr(lo, hi), n = rand_len(hi - lo, geo[g].r);
                uint64_t f1 = 1, f2 = 2;
                bool r1 = jv_meta_find_next_non_zero(&s, &sp, a, n, &f1);
                bool r2 = ref_find_next(&s, &sp, a, n, &f2);
                if (r1 != r2 || (r1 && f1 != f2))
                    fail_msg("geo %zu next(0x%llx, 0x%llx): %d 0x%llx vs ref %d 0x%llx", g,
                             (unsigned long long)a, (unsigned long long)n, r1,
                             (unsigned long long)f1, r2, (unsigned long long)f2);
                r1 = jv_meta_find_prev_non_zero(&s, &sp, a, n, &f1);
                r2 = ref_find_prev(&s, &sp, a, n, &f2);
                if (r1 != r2 || (r1 && f1 != f2))
                    fail_msg("geo %zu prev(0x%llx, 0x%llx): %d 0x%llx vs ref %d 0x%llx", g,
                             (unsigned long long)a, (unsigned long long)n, r1,
                             (unsigned long long)f1, r2, (unsigned long long)f2);
                /* scan a window that is not too long for the reference */
                uint64_t e = a + rnd_below((hi - lo) / 2 + 1);
                memset(v1, 0, sizeof *v1);
                memset(v2, 0, sizeof *v2);
                v1->stop_after = v2->stop_after = (it % 5 == 0) ? 1 + rnd_below(5) : 0;
                uint64_t cnt = jv_meta_scan_non_zero(&s, &sp, a, e, record, v1);
                ref_scan(&s, &sp, a, e, v2);
                assert_int_equal(cnt, v1->n);
                assert_int_equal(v1->n, v2->n);
                for (uint64_t i = 0; i < v1->n && i < 4096; i++) {
                    assert_int_equal(v1->addr[i], v2->addr[i]);
                    assert_int_equal(v1->val[i], v2->val[i]);
                }
            }
        }
        jv_meta_space_release(&s);
      }
    }
    free(v1);
    free(v2);
}

static void meta8_find_edges(void **st) {
    jv_meta_spec sp;
    jv_meta_space s;
    reserve_one(&s, &sp, 0, 12, 0);
    uint64_t f;
    /* nothing committed: stops at once */
    assert_false(jv_meta_find_next_non_zero(&s, &sp, 0, 1ull << 32, &f));
    assert_false(jv_meta_find_prev_non_zero(&s, &sp, 0xFFFFFFFF, 1ull << 32, &f));
    assert_int_equal(jv_meta_ensure_mapped_all(&s, &sp), 0);
    jv_meta_store(&s, &sp, 0x5000, 1);
    jv_meta_store(&s, &sp, 0xFFFFF000ull, 1);
    /* the region containing addr counts: data address rounded down to the region */
    assert_true(jv_meta_find_next_non_zero(&s, &sp, 0x5FFF, 1, &f));
    assert_int_equal(f, 0x5000);
    assert_true(jv_meta_find_prev_non_zero(&s, &sp, 0x5000, 1, &f));
    assert_int_equal(f, 0x5000);
    /* limits are exclusive: [0x4000, 0x5000) does not reach page 5 */
    assert_false(jv_meta_find_next_non_zero(&s, &sp, 0x4000, 0x1000, &f));
    assert_true(jv_meta_find_next_non_zero(&s, &sp, 0x4000, 0x1001, &f));
    /* (0x6000 - 0x1000, 0x6000] = pages 5 (partly) and 6 */
    assert_true(jv_meta_find_prev_non_zero(&s, &sp, 0x6000, 0x1000, &f));
    assert_false(jv_meta_find_prev_non_zero(&s, &sp, 0x6000, 1, &f));
    assert_true(jv_meta_find_prev_non_zero(&s, &sp, 0x6000, 2, &f));
    assert_int_equal(f, 0x5000);
    assert_false(jv_meta_find_prev_non_zero(&s, &sp, 0x6000, 0, &f));
    /* the top of the space; limits past 2^32 are clamped */
    assert_true(jv_meta_find_next_non_zero(&s, &sp, 0x6000, UINT64_MAX, &f));
    assert_int_equal(f, 0xFFFFF000ull);
    assert_true(jv_meta_find_prev_non_zero(&s, &sp, 0xFFFFFFFFull, 1, &f));
    assert_int_equal(f, 0xFFFFF000ull);
    assert_false(jv_meta_find_next_non_zero(&s, &sp, 1ull << 32, 10, &f));
    jv_meta_space_release(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meta1_check_values_addresses),
        cmocka_unit_test(meta1_check_values_lshift_and_mask),
        cmocka_unit_test(meta1_round_trips),
        cmocka_unit_test(meta2_pvm_layout_sizes_and_offsets),
        cmocka_unit_test(meta2_locals_follow_globals_whatever_the_order),
        cmocka_unit_test(meta10_worked_computations),
        cmocka_unit_test(meta3_overlap_half_open),
        cmocka_unit_test(meta3_invalid_specs),
        cmocka_unit_test(meta9_accounting),
        cmocka_unit_test(meta5_lazy_commit_granule_ends),
        cmocka_unit_test(meta5_access_checker),
        cmocka_unit_test(meta5_large_extent_uses_heap_bitmap),
        cmocka_unit_test(reserve_at_requested_address),
        cmocka_unit_test(meta6_every_op_every_width),
        cmocka_unit_test(meta6_random_ops_match_model),
        cmocka_unit_test(meta7_concurrent_neighbours),
        cmocka_unit_test(meta7_bulk_whole_and_fractional_bytes),
        cmocka_unit_test(meta7_bulk_vs_reference),
        cmocka_unit_test(meta8_find_edges),
        cmocka_unit_test(meta8_find_and_scan_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
