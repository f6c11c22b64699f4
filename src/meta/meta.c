/* meta — layout, sanity check, the reserved extent and lazy commit (see meta.h). */
#include "meta/meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* ---- Derived quantities ---------------------------------------------------------------------- */
uint64_t jv_meta_range_size(const jv_meta_spec *s) {
    int ratio = jv_meta_ratio(s);
    if (ratio >= JV_META_ADDR_BITS)
        return 1;
    return 1ull << (JV_META_ADDR_BITS - ratio);
}

uint64_t jv_meta_bytes_for_data(const jv_meta_spec *s, uint64_t n) {
    int ratio = jv_meta_ratio(s);
    if (ratio <= 0)
        return n << -ratio;
    if (ratio >= 64)
        return n ? 1 : 0;
    return (n >> ratio) + ((n & ((1ull << ratio) - 1)) ? 1 : 0);
}

uint64_t jv_meta_pages_for_data(const jv_meta_spec *s, uint64_t data_pages) {
    return jv_meta_bytes_for_data(s, data_pages); /* same ratio: pages -> pages */
}

uint64_t jv_meta_pages_for_data_all(const jv_meta_spec *specs, size_t n, uint64_t data_pages) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += jv_meta_pages_for_data(&specs[i], data_pages);
    return total;
}

/* ---- Layout and check (META-2, META-3) ------------------------------------------------------- */
static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

uint64_t jv_meta_layout(jv_meta_spec *specs, size_t n) {
    uint64_t end = 0;
    for (int group = 1; group >= 0; group--) { /* globals, then locals after them */
        for (size_t i = 0; i < n; i++) {
            if (specs[i].is_global != (group == 1))
                continue;
            specs[i].offset = round_up(end, 8);
            end = specs[i].offset + jv_meta_range_size(&specs[i]);
        }
    }
    return end;
}

uint64_t jv_meta_extent(const jv_meta_spec *specs, size_t n) {
    uint64_t end = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t e = specs[i].offset + jv_meta_range_size(&specs[i]);
        if (e > end)
            end = e;
    }
    return end;
}

static const char *spec_name(const jv_meta_spec *s) { return s->name ? s->name : "(unnamed)"; }

int jv_meta_check(const jv_meta_spec *specs, size_t n, char *err, size_t errlen) {
    char dummy[1];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (errlen)
        err[0] = '\0';
    if (n && !specs) {
        snprintf(err, errlen, "meta: no spec array");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const jv_meta_spec *s = &specs[i];
        if (s->log_bits > JV_META_MAX_LOG_BITS) {
            snprintf(err, errlen, "meta: spec %s: log_bits %u > %d", spec_name(s), s->log_bits,
                     JV_META_MAX_LOG_BITS);
            return -1;
        }
        if (s->log_region > JV_META_MAX_LOG_REGION) {
            snprintf(err, errlen, "meta: spec %s: log_region %u > %d", spec_name(s),
                     s->log_region, JV_META_MAX_LOG_REGION);
            return -1;
        }
        if (s->log_bits > 3 && (s->offset & ((1ull << (s->log_bits - 3)) - 1))) {
            snprintf(err, errlen, "meta: spec %s: offset 0x%llx not aligned to its %u-byte field",
                     spec_name(s), (unsigned long long)s->offset, 1u << (s->log_bits - 3));
            return -1;
        }
        if (s->offset > UINT64_MAX - jv_meta_range_size(s)) {
            snprintf(err, errlen, "meta: spec %s: offset 0x%llx overflows", spec_name(s),
                     (unsigned long long)s->offset);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t a0 = specs[i].offset, a1 = a0 + jv_meta_range_size(&specs[i]);
        for (size_t j = i + 1; j < n; j++) {
            uint64_t b0 = specs[j].offset, b1 = b0 + jv_meta_range_size(&specs[j]);
            if (a0 < b1 && b0 < a1) { /* half-open intervals intersect */
                snprintf(err, errlen,
                         "meta: specs %s [0x%llx,0x%llx) and %s [0x%llx,0x%llx) overlap",
                         spec_name(&specs[i]), (unsigned long long)a0, (unsigned long long)a1,
                         spec_name(&specs[j]), (unsigned long long)b0, (unsigned long long)b1);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- The reserved extent --------------------------------------------------------------------- */
static uint64_t *commit_bits(const jv_meta_space *s) {
    return s->ngranules <= JV_META_INLINE_WORDS * 64 ? (uint64_t *)s->commit_inline
                                                     : s->commit_heap;
}

static bool granule_is_committed(const jv_meta_space *s, size_t c) {
    const uint64_t *bits = commit_bits(s);
    return (__atomic_load_n(&bits[c >> 6], __ATOMIC_ACQUIRE) >> (c & 63)) & 1;
}

static int naming_unsupported; /* set once prctl says EINVAL: skip the syscall afterwards */

static void name_region(void *p, size_t len) {
    /* Naming needs Linux >= 5.17 with CONFIG_ANON_VMA_NAME; failure is harmless. */
    if (__atomic_load_n(&naming_unsupported, __ATOMIC_RELAXED))
        return;
    if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, (unsigned long)len,
              (unsigned long)"javm:meta") != 0 &&
        errno == EINVAL)
        __atomic_store_n(&naming_unsupported, 1, __ATOMIC_RELAXED);
}

int jv_meta_space_reserve(jv_meta_space *s, const jv_meta_spec *specs, size_t n, void *at) {
    memset(s, 0, sizeof *s);
    if (n == 0 || jv_meta_check(specs, n, NULL, 0) != 0)
        return -EINVAL;
    uint64_t extent = jv_meta_extent(specs, n);
    if (extent > (1ull << 46))
        return -ENOMEM;
    size_t total = (size_t)round_up(extent, JV_META_GRANULE);
    size_t ngranules = total / JV_META_GRANULE;
    uint64_t *heap = NULL;
    if (ngranules > JV_META_INLINE_WORDS * 64) {
        heap = calloc((ngranules + 63) / 64, sizeof *heap);
        if (!heap)
            return -ENOMEM;
    }
    const int prot = PROT_NONE, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    uint8_t *base;
    void *map;
    size_t map_len;
    if (at) {
        long pg = sysconf(_SC_PAGESIZE);
        if ((uintptr_t)at & (uintptr_t)(pg - 1)) {
            free(heap);
            return -EINVAL;
        }
        void *p = mmap(at, total, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            free(heap);
            return -e;
        }
        if (p != at) { /* kernel without MAP_FIXED_NOREPLACE took it as a hint */
            munmap(p, total);
            free(heap);
            return -EEXIST;
        }
        base = p;
        map = p;
        map_len = total;
    } else {
        size_t span = total + JV_META_GRANULE;
        void *p = mmap(NULL, span, prot, flags, -1, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            free(heap);
            return -e;
        }
        uintptr_t lo = (uintptr_t)p, al = (lo + JV_META_GRANULE - 1) & ~(uintptr_t)(JV_META_GRANULE - 1);
        base = (uint8_t *)al;
        map = p;
        map_len = span;
    }
    name_region(map, map_len);
    s->base = base;
    s->reserved = total;
    s->ngranules = ngranules;
    s->commit_heap = heap;
    s->map = map;
    s->map_len = map_len;
    return 0;
}

void jv_meta_space_release(jv_meta_space *s) {
    if (s->map)
        munmap(s->map, s->map_len);
    free(s->commit_heap);
    memset(s, 0, sizeof *s);
}

static bool page_is_zero(const uint8_t *p, size_t len) {
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < len / 8; i += 4)
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
            return false;
    return true;
}

void jv_meta_space_clear(jv_meta_space *s) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t c = 0; c < s->ngranules; c++) {
        if (!granule_is_committed(s, c))
            continue;
        uint8_t *p = s->base + c * JV_META_GRANULE;
        for (size_t off = 0; off < JV_META_GRANULE; off += pg)
            if (!page_is_zero(p + off, pg))
                memset(p + off, 0, pg);
    }
}

size_t jv_meta_space_committed(const jv_meta_space *s) {
    size_t k = 0;
    for (size_t c = 0; c < s->ngranules; c++)
        k += granule_is_committed(s, c);
    return k * JV_META_GRANULE;
}

/* ---- Lazy commit (META-5) -------------------------------------------------------------------- */
/* Commit granules [c0, c1) of the extent. */
static int commit_granules(jv_meta_space *s, size_t c0, size_t c1) {
    uint64_t *bits = commit_bits(s);
    size_t c = c0;
    while (c < c1) {
        if (granule_is_committed(s, c)) {
            c++;
            continue;
        }
        size_t e = c + 1; /* one mprotect per run of uncommitted granules */
        while (e < c1 && !granule_is_committed(s, e))
            e++;
        if (mprotect(s->base + c * JV_META_GRANULE, (e - c) * JV_META_GRANULE,
                     PROT_READ | PROT_WRITE) != 0)
            return -errno;
        for (size_t k = c; k < e; k++)
            __atomic_fetch_or(&bits[k >> 6], 1ull << (k & 63), __ATOMIC_RELEASE);
        c = e;
    }
    return 0;
}

/* Table byte range [*m0, *m1) holding the fields of the regions that intersect [start, start +
 * len) (clamped to 2^32). Returns false if that set is empty. */
static bool meta_byte_range(const jv_meta_spec *spec, uint64_t start, uint64_t len, uint64_t *m0,
                            uint64_t *m1) {
    if (len == 0 || start >= JV_META_ADDR_SPACE)
        return false;
    uint64_t last = len > JV_META_ADDR_SPACE - start ? JV_META_ADDR_SPACE - 1 : start + len - 1;
    uint64_t x0 = start >> spec->log_region, x1 = last >> spec->log_region;
    unsigned b = spec->log_bits;
    *m0 = (x0 << b) >> 3;
    *m1 = (((x1 + 1) << b) + 7) >> 3;
    return true;
}

int jv_meta_ensure_mapped(jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_start,
                          uint64_t data_len) {
    uint64_t m0, m1;
    if (!s->base)
        return -EINVAL;
    if (!meta_byte_range(spec, data_start, data_len, &m0, &m1))
        return 0;
    uint64_t a0 = spec->offset + m0, a1 = spec->offset + m1;
    if (a1 > s->reserved)
        return -ERANGE;
    return commit_granules(s, (size_t)(a0 >> JV_META_LOG_GRANULE),
                         (size_t)((a1 + JV_META_GRANULE - 1) >> JV_META_LOG_GRANULE));
}

int jv_meta_ensure_mapped_all(jv_meta_space *s, const jv_meta_spec *spec) {
    return jv_meta_ensure_mapped(s, spec, 0, JV_META_ADDR_SPACE);
}

bool jv_meta_ptr_is_mapped(const jv_meta_space *s, const void *p) {
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)s->base;
    if (!s->base || a < b || a - b >= s->reserved)
        return false;
    return granule_is_committed(s, (a - b) >> JV_META_LOG_GRANULE);
}

bool jv_meta_is_mapped(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_addr) {
    if (data_addr >= JV_META_ADDR_SPACE)
        return false;
    return jv_meta_ptr_is_mapped(s, jv_meta_byte_addr(s, spec, data_addr));
}

/* ---- Debug checking -------------------------------------------------------------------------- */
bool jv_meta_access_ok(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_addr) {
    if (!s->base || data_addr >= JV_META_ADDR_SPACE)
        return false;
    uint64_t off = (uint64_t)(jv_meta_byte_addr(s, spec, data_addr) - s->base);
    uint64_t len = spec->log_bits > 3 ? 1ull << (spec->log_bits - 3) : 1;
    if (off < spec->offset || off + len > spec->offset + jv_meta_range_size(spec) ||
        off + len > s->reserved)
        return false;
    return granule_is_committed(s, (size_t)(off >> JV_META_LOG_GRANULE)) &&
           granule_is_committed(s, (size_t)((off + len - 1) >> JV_META_LOG_GRANULE));
}

void jv_meta_access_fail(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_addr) {
    fprintf(stderr,
            "javm meta: bad metadata access: spec %s (offset 0x%llx, b=%u, r=%u), data address "
            "0x%llx, space base %p reserved 0x%zx\n",
            spec_name(spec), (unsigned long long)spec->offset, spec->log_bits, spec->log_region,
            (unsigned long long)data_addr, (void *)s->base, s->reserved);
    abort();
}
