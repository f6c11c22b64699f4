/* meta — atomic, bulk, search and scan operations (docs/MEMORY.md §14; see meta.h). */
#include "meta/meta.h"

#include <errno.h>
#include <string.h>

#define RELAXED __ATOMIC_RELAXED

/* ---- Field helpers --------------------------------------------------------------------------- */
/* For b < 3: the containing byte, the field's shift and its in-byte mask. */
typedef struct sub {
    uint8_t *p;
    unsigned sh;
    uint8_t m;
} sub;

static sub sub_of(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a) {
    sub f;
    f.p = jv_meta_byte_addr(s, spec, a);
    f.sh = jv_meta_lshift(spec, a);
    f.m = (uint8_t)(jv_meta_field_mask(spec) << f.sh);
    return f;
}

static uint64_t sub_get(sub f, uint8_t byte) { return (uint64_t)((byte & f.m) >> f.sh); }
static uint8_t sub_put(sub f, uint8_t byte, uint64_t v) {
    return (uint8_t)((byte & ~f.m) | ((v << f.sh) & f.m));
}

#define P16(p) ((uint16_t *)(void *)(p))
#define P32(p) ((uint32_t *)(void *)(p))
#define P64(p) ((uint64_t *)(void *)(p))

/* ---- Atomic load / store --------------------------------------------------------------------- */
uint64_t jv_meta_load_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                             int order) {
    uint8_t *p = jv_meta_byte_addr(s, spec, a);
    switch (spec->log_bits) {
    case 0: case 1: case 2: {
        sub f = sub_of(s, spec, a);
        return sub_get(f, __atomic_load_n(f.p, order));
    }
    case 3: return __atomic_load_n(p, order);
    case 4: return __atomic_load_n(P16(p), order);
    case 5: return __atomic_load_n(P32(p), order);
    default: return __atomic_load_n(P64(p), order);
    }
}

void jv_meta_store_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                          uint64_t v, int order) {
    uint8_t *p = jv_meta_byte_addr(s, spec, a);
    switch (spec->log_bits) {
    case 0: case 1: case 2: {
        sub f = sub_of(s, spec, a);
        uint8_t old = __atomic_load_n(f.p, RELAXED);
        while (!__atomic_compare_exchange_n(f.p, &old, sub_put(f, old, v), true, order, RELAXED))
            ;
        break;
    }
    case 3: __atomic_store_n(p, (uint8_t)v, order); break;
    case 4: __atomic_store_n(P16(p), (uint16_t)v, order); break;
    case 5: __atomic_store_n(P32(p), (uint32_t)v, order); break;
    default: __atomic_store_n(P64(p), v, order); break;
    }
}

void jv_meta_set_zero_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                             int order) {
    if (spec->log_bits < 3) {
        sub f = sub_of(s, spec, a);
        __atomic_fetch_and(f.p, (uint8_t)~f.m, order);
        return;
    }
    jv_meta_store_atomic(s, spec, a, 0, order);
}

/* ---- Compare-exchange (META-7) --------------------------------------------------------------- */
bool jv_meta_compare_exchange_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                     uint64_t a, uint64_t *expected, uint64_t desired,
                                     int success_order, int failure_order) {
    uint8_t *p = jv_meta_byte_addr(s, spec, a);
    uint64_t fm = jv_meta_field_mask(spec);
    switch (spec->log_bits) {
    case 0: case 1: case 2: {
        sub f = sub_of(s, spec, a);
        uint8_t cur = __atomic_load_n(f.p, RELAXED);
        uint8_t exp = sub_put(f, cur, *expected), des = sub_put(f, cur, desired);
        if (__atomic_compare_exchange_n(f.p, &exp, des, false, success_order, failure_order))
            return true;
        *expected = sub_get(f, exp);
        return false;
    }
    case 3: {
        uint8_t exp = (uint8_t)(*expected & fm);
        bool ok = __atomic_compare_exchange_n(p, &exp, (uint8_t)desired, false, success_order,
                                              failure_order);
        *expected = exp;
        return ok;
    }
    case 4: {
        uint16_t exp = (uint16_t)(*expected & fm);
        bool ok = __atomic_compare_exchange_n(P16(p), &exp, (uint16_t)desired, false,
                                              success_order, failure_order);
        *expected = exp;
        return ok;
    }
    case 5: {
        uint32_t exp = (uint32_t)(*expected & fm);
        bool ok = __atomic_compare_exchange_n(P32(p), &exp, (uint32_t)desired, false,
                                              success_order, failure_order);
        *expected = exp;
        return ok;
    }
    default:
        return __atomic_compare_exchange_n(P64(p), expected, desired, false, success_order,
                                           failure_order);
    }
}

/* ---- Fetch-ops ------------------------------------------------------------------------------- */
/* Sub-byte add (neg = false) or sub (neg = true): CAS loop, wrapping inside the field. */
static uint64_t sub_fetch_addsub(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                                 uint64_t v, bool neg, int order) {
    sub f = sub_of(s, spec, a);
    uint64_t fm = jv_meta_field_mask(spec);
    uint8_t old = __atomic_load_n(f.p, RELAXED);
    for (;;) {
        uint64_t cur = sub_get(f, old);
        uint64_t nv = (neg ? cur - v : cur + v) & fm;
        if (__atomic_compare_exchange_n(f.p, &old, sub_put(f, old, nv), true, order, RELAXED))
            return cur;
    }
}

uint64_t jv_meta_fetch_add_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                                  uint64_t v, int order) {
    uint8_t *p = jv_meta_byte_addr(s, spec, a);
    switch (spec->log_bits) {
    case 0: case 1: case 2: return sub_fetch_addsub(s, spec, a, v, false, order);
    case 3: return __atomic_fetch_add(p, (uint8_t)v, order);
    case 4: return __atomic_fetch_add(P16(p), (uint16_t)v, order);
    case 5: return __atomic_fetch_add(P32(p), (uint32_t)v, order);
    default: return __atomic_fetch_add(P64(p), v, order);
    }
}

uint64_t jv_meta_fetch_sub_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                                  uint64_t v, int order) {
    uint8_t *p = jv_meta_byte_addr(s, spec, a);
    switch (spec->log_bits) {
    case 0: case 1: case 2: return sub_fetch_addsub(s, spec, a, v, true, order);
    case 3: return __atomic_fetch_sub(p, (uint8_t)v, order);
    case 4: return __atomic_fetch_sub(P16(p), (uint16_t)v, order);
    case 5: return __atomic_fetch_sub(P32(p), (uint32_t)v, order);
    default: return __atomic_fetch_sub(P64(p), v, order);
    }
}

uint64_t jv_meta_fetch_and_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                                  uint64_t v, int order) {
    uint8_t *p = jv_meta_byte_addr(s, spec, a);
    switch (spec->log_bits) {
    case 0: case 1: case 2: {
        sub f = sub_of(s, spec, a); /* the other bits forced to 1 */
        uint8_t mask = (uint8_t)(((v << f.sh) & f.m) | (uint8_t)~f.m);
        return sub_get(f, __atomic_fetch_and(f.p, mask, order));
    }
    case 3: return __atomic_fetch_and(p, (uint8_t)v, order);
    case 4: return __atomic_fetch_and(P16(p), (uint16_t)v, order);
    case 5: return __atomic_fetch_and(P32(p), (uint32_t)v, order);
    default: return __atomic_fetch_and(P64(p), v, order);
    }
}

uint64_t jv_meta_fetch_or_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                                 uint64_t v, int order) {
    uint8_t *p = jv_meta_byte_addr(s, spec, a);
    switch (spec->log_bits) {
    case 0: case 1: case 2: {
        sub f = sub_of(s, spec, a); /* the value masked to the field */
        return sub_get(f, __atomic_fetch_or(f.p, (uint8_t)((v << f.sh) & f.m), order));
    }
    case 3: return __atomic_fetch_or(p, (uint8_t)v, order);
    case 4: return __atomic_fetch_or(P16(p), (uint16_t)v, order);
    case 5: return __atomic_fetch_or(P32(p), (uint32_t)v, order);
    default: return __atomic_fetch_or(P64(p), v, order);
    }
}

bool jv_meta_fetch_update_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                                 jv_meta_update_fn f, void *ctx, int order, uint64_t *old) {
    uint64_t cur = jv_meta_load_atomic(s, spec, a, RELAXED);
    for (;;) {
        uint64_t nv;
        if (!f(cur, &nv, ctx)) {
            if (old)
                *old = cur;
            return false;
        }
        /* on failure (real or spurious) cur is refreshed and f runs again */
        if (jv_meta_compare_exchange_atomic(s, spec, a, &cur, nv, order, RELAXED)) {
            if (old)
                *old = cur;
            return true;
        }
    }
}

/* ---- Raw access ------------------------------------------------------------------------------ */
void jv_meta_set_raw_byte_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a,
                                 int order) {
    __atomic_store_n(jv_meta_byte_addr(s, spec, a), (uint8_t)0xFF, order);
}

uint8_t jv_meta_load_raw_byte(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a) {
    return *jv_meta_byte_addr(s, spec, a);
}

uint64_t jv_meta_load_raw_word(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t a) {
    uintptr_t p = (uintptr_t)jv_meta_byte_addr(s, spec, a) & ~(uintptr_t)7;
    return *(const uint64_t *)p;
}

/* ---- Bit ranges ------------------------------------------------------------------------------
 * Region x owns bits [x << b, (x + 1) << b) of its table's little-endian bit stream, so every
 * bulk, search and scan operation works on a bit range [B0, B1) of the table. */
typedef struct bits {
    uint64_t b0, b1; /* bit range, b0 < b1 */
} bits;

/* The regions intersecting [lo, hi) (hi exclusive, clamped to 2^32). False if none. */
static bool bits_of(const jv_meta_spec *spec, uint64_t lo, uint64_t hi, bits *r) {
    if (hi > JV_META_ADDR_SPACE)
        hi = JV_META_ADDR_SPACE;
    if (lo >= hi)
        return false;
    uint64_t x0 = lo >> spec->log_region, x1 = (hi - 1) >> spec->log_region;
    r->b0 = x0 << spec->log_bits;
    r->b1 = (x1 + 1) << spec->log_bits;
    return true;
}

static uint64_t bits_of_end(uint64_t start, uint64_t size) {
    return size > JV_META_ADDR_SPACE - (start < JV_META_ADDR_SPACE ? start : JV_META_ADDR_SPACE)
               ? JV_META_ADDR_SPACE
               : start + size;
}

/* Base-relative offset of table byte j, and the table-byte index of the next granule boundary. */
static uint64_t next_granule_j(const jv_meta_spec *spec, uint64_t j) {
    uint64_t o = spec->offset + j;
    return ((o | (JV_META_GRANULE - 1)) + 1) - spec->offset;
}

static bool j_mapped(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t j) {
    return jv_meta_ptr_is_mapped(s, jv_meta_table(s, spec) + j);
}

static uint8_t first_mask(uint64_t b0) { return (uint8_t)(0xFFu << (b0 & 7)); }
static uint8_t last_mask(uint64_t b1) {
    return (b1 & 7) ? (uint8_t)(0xFFu >> (8 - (b1 & 7))) : 0xFF;
}
/* The mask of table byte j within bit range r. */
static uint8_t byte_mask(bits r, uint64_t j) {
    uint8_t m = 0xFF;
    if (j == r.b0 >> 3)
        m &= first_mask(r.b0);
    if (j == (r.b1 - 1) >> 3)
        m &= last_mask(r.b1);
    return m;
}

/* ---- Bulk zero / set ------------------------------------------------------------------------- */
/* op 0 = zero, 1 = set; over table bytes [j0, j1) which lie in one granule. */
static void fill_segment(uint8_t *t, bits r, uint64_t j0, uint64_t j1, int op) {
    uint64_t lo = j0, hi = j1;
    uint8_t m0 = byte_mask(r, j0);
    if (m0 != 0xFF) {
        if (op) __atomic_fetch_or(&t[j0], m0, RELAXED);
        else __atomic_fetch_and(&t[j0], (uint8_t)~m0, RELAXED);
        lo++;
    }
    if (hi > lo) {
        uint8_t m1 = byte_mask(r, hi - 1);
        if (m1 != 0xFF) {
            if (op) __atomic_fetch_or(&t[hi - 1], m1, RELAXED);
            else __atomic_fetch_and(&t[hi - 1], (uint8_t)~m1, RELAXED);
            hi--;
        }
    }
    if (hi > lo)
        memset(t + lo, op ? 0xFF : 0, (size_t)(hi - lo));
}

static void fill(const jv_meta_space *s, const jv_meta_spec *spec, bits r, int op) {
    uint8_t *t = jv_meta_table(s, spec);
    uint64_t j = r.b0 >> 3, jend = (r.b1 + 7) >> 3;
    while (j < jend) {
        uint64_t e = next_granule_j(spec, j);
        if (e > jend)
            e = jend;
        if (j_mapped(s, spec, j))
            fill_segment(t, r, j, e, op);
        j = e;
    }
}

void jv_meta_bzero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t start,
                   uint64_t size) {
    bits r;
    if (bits_of(spec, start, bits_of_end(start, size), &r))
        fill(s, spec, r, 0);
}

int jv_meta_bset(jv_meta_space *s, const jv_meta_spec *spec, uint64_t start, uint64_t size) {
    bits r;
    if (!bits_of(spec, start, bits_of_end(start, size), &r))
        return 0;
    int rc = jv_meta_ensure_mapped(s, spec, start, size);
    if (rc)
        return rc;
    fill(s, spec, r, 1);
    return 0;
}

/* ---- Bulk copy ------------------------------------------------------------------------------- */
static void merge_byte(uint8_t *d, uint8_t v, uint8_t m) {
    uint8_t old = __atomic_load_n(d, RELAXED);
    while (!__atomic_compare_exchange_n(d, &old, (uint8_t)((old & ~m) | (v & m)), true, RELAXED,
                                        RELAXED))
        ;
}

int jv_meta_bcopy(jv_meta_space *dst, const jv_meta_spec *dst_spec, const jv_meta_space *src,
                  const jv_meta_spec *src_spec, uint64_t start, uint64_t size) {
    if (dst_spec->log_bits != src_spec->log_bits || dst_spec->log_region != src_spec->log_region)
        return -EINVAL;
    bits r;
    if (!bits_of(dst_spec, start, bits_of_end(start, size), &r))
        return 0;
    if (dst == src && dst_spec->offset == src_spec->offset)
        return 0;
    int rc = jv_meta_ensure_mapped(dst, dst_spec, start, size);
    if (rc)
        return rc;
    uint8_t *dt = jv_meta_table(dst, dst_spec);
    const uint8_t *st = jv_meta_table(src, src_spec);
    uint64_t j = r.b0 >> 3, jend = (r.b1 + 7) >> 3;
    while (j < jend) {
        uint64_t e = next_granule_j(src_spec, j);
        if (e > jend)
            e = jend;
        bool mapped = j_mapped(src, src_spec, j);
        uint64_t lo = j, hi = e;
        uint8_t m0 = byte_mask(r, lo);
        if (m0 != 0xFF) {
            merge_byte(&dt[lo], mapped ? st[lo] : 0, m0);
            lo++;
        }
        if (hi > lo) {
            uint8_t m1 = byte_mask(r, hi - 1);
            if (m1 != 0xFF) {
                merge_byte(&dt[hi - 1], mapped ? st[hi - 1] : 0, m1);
                hi--;
            }
        }
        if (hi > lo) {
            if (mapped)
                memmove(dt + lo, st + lo, (size_t)(hi - lo));
            else
                memset(dt + lo, 0, (size_t)(hi - lo));
        }
        j = e;
    }
    return 0;
}

/* ---- Word reads for search and scan ---------------------------------------------------------
 * Word k of a table = table bytes [8k, 8k + 8). read_word loads the bytes of word k that lie in
 * [jlo, jhi) (the bytes the bit range needs) and are committed, into their positions; the rest
 * read as zero. dir > 0 (ascending) loads the committed prefix and reports *stop when an
 * uncommitted byte ends it; dir < 0 the committed suffix; dir == 0 every committed byte. A word
 * spans at most two granules. */
static uint64_t read_word(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t k,
                          uint64_t jlo, uint64_t jhi, int dir, bool *stop) {
    const uint8_t *t = jv_meta_table(s, spec);
    uint64_t lo = 8 * k > jlo ? 8 * k : jlo, hi = 8 * k + 8 < jhi ? 8 * k + 8 : jhi;
    uint64_t cb = next_granule_j(spec, lo); /* first byte of the next granule */
    bool m_lo = j_mapped(s, spec, lo), m_hi = cb >= hi ? m_lo : j_mapped(s, spec, hi - 1);
    *stop = false;
    if (m_lo && m_hi) {
        if (lo == 8 * k && hi == 8 * k + 8) {
            uint64_t w;
            memcpy(&w, t + lo, 8);
            return w;
        }
    } else if (dir > 0) {
        *stop = true;
        if (!m_lo)
            return 0;
        hi = cb;
    } else if (dir < 0) {
        *stop = true;
        if (!m_hi)
            return 0;
        lo = cb;
    } else {
        if (!m_lo && !m_hi)
            return 0;
        if (m_lo) hi = cb;
        else lo = cb;
    }
    uint64_t w = 0;
    for (uint64_t j = lo; j < hi; j++)
        w |= (uint64_t)t[j] << (8 * (j - 8 * k));
    return w;
}

/* A table-byte span [lo, hi) known to lie in one committed granule: the word loops read whole words
 * inside it without consulting the commit bitmap. Granules never become uncommitted while a
 * space is reserved, so the cache cannot go stale during one search. */
typedef struct span {
    uint64_t lo, hi;
} span;

static void span_refresh(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t j, span *c) {
    if (!j_mapped(s, spec, j))
        return;
    uint64_t o = (spec->offset + j) & ~(uint64_t)(JV_META_GRANULE - 1);
    c->lo = o > spec->offset ? o - spec->offset : 0;
    c->hi = next_granule_j(spec, j);
}

/* read_word with the fast path: an aligned word wholly inside the needed bytes and the cached
 * committed span is one 8-byte load. */
static inline uint64_t read_word_c(const jv_meta_space *s, const jv_meta_spec *spec,
                                   const uint8_t *t, uint64_t k, uint64_t jlo, uint64_t jhi,
                                   int dir, bool *stop, span *c) {
    uint64_t j0 = 8 * k;
    if (j0 >= c->lo && j0 + 8 <= c->hi && j0 >= jlo && j0 + 8 <= jhi) {
        uint64_t w;
        memcpy(&w, t + j0, 8);
        *stop = false;
        return w;
    }
    uint64_t w = read_word(s, spec, k, jlo, jhi, dir, stop);
    if (!*stop) { /* cache the granule the loop moves into next */
        uint64_t lo = j0 > jlo ? j0 : jlo, hi = j0 + 8 < jhi ? j0 + 8 : jhi;
        span_refresh(s, spec, dir < 0 ? lo : hi - 1, c);
    }
    return w;
}

/* Bits of word k that lie in [b0, b1). */
static uint64_t word_mask(uint64_t k, bits r) {
    uint64_t m = ~0ull;
    if (r.b0 > 64 * k)
        m &= ~0ull << (r.b0 - 64 * k);
    if (r.b1 < 64 * k + 64)
        m &= ~0ull >> (64 * k + 64 - r.b1);
    return m;
}

/* Words [*fa, *fb) lie wholly inside the bit range and the cached committed span: the tight
 * loops read them with plain 8-byte loads and no masking or commit checks. */
static inline void fast_window(span c, bits r, uint64_t *fa, uint64_t *fb) {
    uint64_t a = (r.b0 + 63) >> 6, b = r.b1 >> 6, ca = (c.lo + 7) >> 3, cb = c.hi >> 3;
    *fa = a > ca ? a : ca;
    *fb = b < cb ? b : cb;
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t found_addr(const jv_meta_spec *spec, uint64_t bit) {
    return (bit >> spec->log_bits) << spec->log_region;
}

bool jv_meta_find_next_non_zero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t addr,
                                uint64_t limit, uint64_t *found) {
    bits r;
    if (!bits_of(spec, addr, bits_of_end(addr, limit), &r))
        return false;
    const uint8_t *t = jv_meta_table(s, spec);
    uint64_t jlo = r.b0 >> 3, jhi = (r.b1 + 7) >> 3;
    uint64_t k = r.b0 >> 6, kend = (r.b1 - 1) >> 6, fa, fb, w;
    span c = {1, 0};
    while (k <= kend) {
        fast_window(c, r, &fa, &fb);
        if (k >= fa && k < fb) {
            for (w = 0; k < fb && !(w = load64(t + 8 * k)); k++)
                ;
            if (w) {
                *found = found_addr(spec, 64 * k + (uint64_t)__builtin_ctzll(w));
                return true;
            }
            continue;
        }
        bool stop;
        w = read_word_c(s, spec, t, k, jlo, jhi, 1, &stop, &c) & word_mask(k, r);
        if (w) {
            *found = found_addr(spec, 64 * k + (uint64_t)__builtin_ctzll(w));
            return true;
        }
        if (stop)
            return false;
        k++;
    }
    return false;
}

bool jv_meta_find_prev_non_zero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t addr,
                                uint64_t limit, uint64_t *found) {
    if (limit == 0 || addr >= JV_META_ADDR_SPACE)
        return false;
    uint64_t lo = limit > addr ? 0 : addr - limit + 1; /* (addr - limit, addr] */
    bits r;
    if (!bits_of(spec, lo, addr + 1, &r))
        return false;
    const uint8_t *t = jv_meta_table(s, spec);
    uint64_t jlo = r.b0 >> 3, jhi = (r.b1 + 7) >> 3, fa, fb, w;
    int64_t k = (int64_t)((r.b1 - 1) >> 6), kstart = (int64_t)(r.b0 >> 6); /* k < 2^33 */
    span c = {1, 0};
    while (k >= kstart) {
        fast_window(c, r, &fa, &fb);
        if ((uint64_t)k >= fa && (uint64_t)k < fb) {
            for (w = 0; k >= (int64_t)fa && !(w = load64(t + 8 * (uint64_t)k)); k--)
                ;
            if (w) {
                *found = found_addr(spec, 64 * (uint64_t)k + 63 - (uint64_t)__builtin_clzll(w));
                return true;
            }
            continue;
        }
        bool stop;
        w = read_word_c(s, spec, t, (uint64_t)k, jlo, jhi, -1, &stop, &c) & word_mask((uint64_t)k, r);
        if (w) {
            *found = found_addr(spec, 64 * (uint64_t)k + 63 - (uint64_t)__builtin_clzll(w));
            return true;
        }
        if (stop)
            return false;
        k--;
    }
    return false;
}

/* Visit the fields of word k (masked to the range): 1-bit specs pop set bits (w &= w - 1),
 * wider ones clear one field at a time. Returns false when visit asks to stop. */
static inline bool visit_word(const jv_meta_spec *spec, uint64_t k, uint64_t w,
                              jv_meta_visit_fn visit, void *ctx, uint64_t *n) {
    const unsigned b = spec->log_bits, rg = spec->log_region;
    if (b == 0) {
        for (; w; w &= w - 1) {
            ++*n;
            if (!visit((64 * k + (uint64_t)__builtin_ctzll(w)) << rg, 1, ctx))
                return false;
        }
        return true;
    }
    const uint64_t fm = jv_meta_field_mask(spec);
    while (w) {
        unsigned pos = (unsigned)__builtin_ctzll(w) & ~((1u << b) - 1);
        uint64_t v = (w >> pos) & fm;
        w &= ~(fm << pos);
        ++*n;
        if (!visit(((64 * k + pos) >> b) << rg, v, ctx))
            return false;
    }
    return true;
}

uint64_t jv_meta_scan_non_zero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t start,
                               uint64_t end, jv_meta_visit_fn visit, void *ctx) {
    bits r;
    if (!bits_of(spec, start, end, &r))
        return 0;
    const uint8_t *t = jv_meta_table(s, spec);
    uint64_t jlo = r.b0 >> 3, jhi = (r.b1 + 7) >> 3, n = 0;
    uint64_t k = r.b0 >> 6, kend = (r.b1 - 1) >> 6, fa, fb;
    span c = {1, 0};
    while (k <= kend) {
        fast_window(c, r, &fa, &fb);
        if (k >= fa && k < fb) {
            for (; k < fb; k++) {
                uint64_t w = load64(t + 8 * k);
                if (w && !visit_word(spec, k, w, visit, ctx, &n))
                    return n;
            }
            continue;
        }
        uint64_t j = 8 * k > jlo ? 8 * k : jlo;
        if (!j_mapped(s, spec, j) && next_granule_j(spec, j) >= 8 * k + 8) {
            k = next_granule_j(spec, j) / 8; /* skip the whole uncommitted granule */
            continue;
        }
        bool stop;
        uint64_t w = read_word_c(s, spec, t, k, jlo, jhi, 0, &stop, &c) & word_mask(k, r);
        if (!visit_word(spec, k, w, visit, ctx, &n))
            return n;
        k++;
    }
    return n;
}
