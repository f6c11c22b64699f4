/* meta — MMTk-style side metadata over the 4 GiB guest address space (docs/MEMORY.md §14).
 *
 * What it owns
 *   - spec descriptors (jv_meta_spec): one dense table per kind of per-region information,
 *     covering the whole 2^32-byte guest space at a fixed ratio, reached by address arithmetic;
 *   - the layout of a set of specs (contiguous, word-rounded, globals then locals) and its
 *     sanity check;
 *   - one reserved extent per guest instance (jv_meta_space): PROT_NONE + MAP_NORESERVE, named
 *     in /proc/self/maps, committed lazily per commit granule;
 *   - the operations of docs/MEMORY.md §14 on any width (1, 2, 4 bits, u8, u16, u32, u64).
 *
 * Glossary
 *   data address  a guest address (0 .. 2^32-1) the metadata describes.
 *   region        2^r data bytes described by one metadata field (r = log_region; 12 = a page).
 *   field         the 2^b metadata bits of one region (b = log_bits, 0..6). ("unit" is mat's word:
 *                 a read-only materialization unit.)
 *   ratio         (3 + r) - b: log2 of data bits per metadata bit.
 *   table         2^(32 - ratio) bytes (at least 1): the metadata of one spec for all 2^32.
 *   base          the run-time address of the extent (per instance); S = base + offset is the
 *                 table start of a spec. Offsets are relative, never absolute addresses.
 *   granule       JV_META_GRANULE bytes of metadata address space: the commit granularity.
 *                 Granule states (docs/MEMORY.md §14): outside the reservation = Unmapped; inside, commit
 *                 bit 0 = Quarantined (reserved, PROT_NONE), bit 1 = Mapped (read-write).
 *
 * Bit order: region x owns bits [x * 2^b, (x + 1) * 2^b) of its table, counted from the least
 * significant bit of byte 0 (little-endian bit stream). For b <= 3 several regions share a
 * byte (region k of a byte uses bits [k * 2^b, (k+1) * 2^b)); for b > 3 a region owns 2^(b-3)
 * naturally aligned bytes, read as a little-endian integer.
 *
 * Rules (cited by tests as META-n)
 *   META-1  address:  b <= 3: S + (x >> (3 - b)), lshift (x mod 2^(3-b)) << b,
 *                     mask ((1 << 2^b) - 1) << lshift;  b > 3: S + (x << (b - 3)), lshift 0,
 *                     where x = addr >> r is taken from the absolute data address.
 *   META-2  layout:   globals first, then locals, each in array order; every offset = the
 *                     previous end rounded up to 8 bytes; the local group starts after the
 *                     global group (its own sub-area), so the two groups can never overlap.
 *   META-3  check:    b <= 6, r <= 32, b > 3 fields naturally aligned, and no two specs overlap
 *                     (checked across ALL specs, whatever their group, with half-open
 *                     [offset, offset + size) intervals: offsets 1 and `size` DO overlap).
 *   META-4  zero is the default: freshly committed metadata reads 0 in every field.
 *   META-5  commit:   ensure_mapped rounds the metadata range outward to whole granules and is
 *                     idempotent; metadata is never committed implicitly except by bset/bcopy
 *                     (which commit their destination) — reading or storing a field whose
 *                     granule is not committed is a caller bug (SIGSEGV on PROT_NONE).
 *   META-6  values:   stores, fetch-ops and CAS take the value modulo 2^(2^b) (truncated to the
 *                     field); they never change neighbouring fields.
 *   META-7  sub-byte compare-exchange may fail SPURIOUSLY: it CASes the containing byte, so a
 *                     concurrent change of a neighbouring field makes it fail although the field
 *                     equals `expected`. Callers retry (the returned *expected is then unchanged).
 *   META-8  search stops at unmapped metadata (find_prev/next return "not found" at the first
 *                     uncommitted granule); scan and bzero skip uncommitted granules (they hold only
 *                     zeros by META-4).
 *   META-9  accounting is computed from data, not from committed memory: metadata pages for n
 *                     data pages = ceil(n / 2^ratio) per spec (never 0 when n > 0).
 *
 * Per-instance (local) metadata: each guest instance owns ONE jv_meta_space, i.e. one reserved
 * extent of its own (for the mem layer about 1.25 MiB of virtual space). Why one extent per
 * instance rather than slots in a shared pool:
 *   - independent lifetimes: an instance reserves on creation and releases on destruction; no
 *     slot allocator, free list or fragmentation, and no cross-instance coordination or locks;
 *   - cheap: reserving is one mmap (+ trimming munmaps) and a prctl, about a microsecond
 *     (bench/bench_meta.c measures reserve+release); MAP_NORESERVE costs no memory and no
 *     commit charge until a granule is committed and written;
 *   - no fixed addresses (docs/MEMORY.md §14): the kernel places each extent, so nothing can collide with
 *     sanitizer shadows, libraries or other instances; a caller may still request an address
 *     (MAP_FIXED_NOREPLACE, failing loudly if anything is there);
 *   - the base lives in the instance (jv_meta_space.base, next to the guest-memory base), so
 *     the hot path pays one load it would pay anyway for the context.
 *
 * Commit granularity: JV_META_GRANULE = 64 KiB of metadata address space. Justification for
 * ~1.25 MiB extents (20 granules for the mem layer's specs):
 *   - physical memory is allocated by the kernel per host page on first write either way, so a
 *     larger granule costs no extra RAM for untouched metadata (reads of committed-but-untouched
 *     pages hit the shared zero page);
 *   - it cuts mprotect calls and VMA splits 16x versus 4 KiB host pages: a typical program's
 *     ranges (RO data at 0x10000, heap above it, stack near 0xFEFE0000) commit about 2 granules
 *     per table, and the extent never holds more than ~20 VMAs;
 *   - 64 KiB is a multiple of every common host page size (4 K, 16 K, 64 K), so granules are
 *     always valid mprotect ranges; the commit state fits in a 4-word inline bitmap (256 granules =
 *     16 MiB extents) with no allocation; larger extents use a heap bitmap;
 *   - one 64 KiB granule of a 1-byte-per-page table covers 256 MiB of guest space; of a
 *     1-bit-per-page table, 2 GiB.
 *
 * Concurrency: guest execution of one instance is single-threaded, so the non-atomic load/store
 * are the hot path. The _atomic operations, fetch-ops, CAS and bulk edge bytes are safe against
 * concurrent metadata operations on the same space. ensure_mapped may race with itself (mprotect
 * is idempotent; the commit bitmap is updated atomically); reserve/release must not race with
 * anything on the same space.
 */
#ifndef JV_META_H
#define JV_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JV_META_ADDR_BITS 32 /* guest address space = 2^32 */
#define JV_META_ADDR_SPACE (1ull << JV_META_ADDR_BITS)
#define JV_META_MAX_LOG_BITS 6
#define JV_META_MAX_LOG_REGION 32
#define JV_META_LOG_GRANULE 16
#define JV_META_GRANULE ((size_t)1 << JV_META_LOG_GRANULE) /* commit granularity (see above) */
#define JV_META_INLINE_WORDS 4                         /* inline commit bitmap: 256 granules */

typedef struct jv_meta_spec {
    const char *name;
    bool is_global;     /* global vs local group */
    uint64_t offset;    /* relative byte offset from the run-time base (assigned by jv_meta_layout) */
    uint8_t log_bits;   /* b: 0..6 (1 bit .. u64) */
    uint8_t log_region; /* r: log2 data bytes per metadata field (12 = one 4 KiB page) */
} jv_meta_spec;

/* ---- Derived quantities (pure arithmetic) --------------------------------------------------- */
/* ratio = (3 + r) - b, may be negative for wide fields over tiny regions. */
static inline int jv_meta_ratio(const jv_meta_spec *s) {
    return 3 + (int)s->log_region - (int)s->log_bits;
}
/* Table size covering 2^32 data bytes: 2^(32 - ratio), at least 1 byte. */
uint64_t jv_meta_range_size(const jv_meta_spec *s);
/* Metadata bytes for n data bytes: ceil(n / 2^ratio) (docs/MEMORY.md §14). */
uint64_t jv_meta_bytes_for_data(const jv_meta_spec *s, uint64_t n);
/* Accounting (META-9): metadata pages for `data_pages` data pages = ceil(data_pages / 2^ratio);
 * the _all form sums over specs. */
uint64_t jv_meta_pages_for_data(const jv_meta_spec *s, uint64_t data_pages);
uint64_t jv_meta_pages_for_data_all(const jv_meta_spec *specs, size_t n, uint64_t data_pages);

/* META-2: assign offsets (globals first then locals, array order within a group, each offset =
 * previous end rounded up to 8 bytes). Returns the total extent (end of the last table). */
uint64_t jv_meta_layout(jv_meta_spec *specs, size_t n);
/* The extent of an already laid-out set: max over specs of offset + range size. */
uint64_t jv_meta_extent(const jv_meta_spec *specs, size_t n);
/* META-3: returns 0, or -1 with a message naming the spec(s) in err (may be NULL). */
int jv_meta_check(const jv_meta_spec *specs, size_t n, char *err, size_t errlen);

/* ---- The reserved extent of one instance ---------------------------------------------------- */
typedef struct jv_meta_space {
    uint8_t *base;   /* run-time base, set once at reserve (NULL when released) */
    size_t reserved; /* bytes reserved at base (a multiple of JV_META_GRANULE) */
    size_t ngranules;  /* reserved / JV_META_GRANULE */
    uint64_t commit_inline[JV_META_INLINE_WORDS]; /* commit bitmap when ngranules <= 256 */
    uint64_t *commit_heap;                         /* commit bitmap otherwise */
    void *map;       /* the whole mapping: [base, base + reserved) plus alignment slack */
    size_t map_len;
} jv_meta_space;

/* Reserve the extent of `specs` (rounded up to granules) PROT_NONE|MAP_NORESERVE. at == NULL:
 * the kernel chooses, base aligned to JV_META_GRANULE (one mmap of reserved + JV_META_GRANULE; the
 * PROT_NONE slack around the aligned base is kept rather than trimmed, saving two munmap calls
 * per instance); else MAP_FIXED_NOREPLACE at `at` (host
 * page aligned), returning -EEXIST if anything is mapped there. The region is named
 * "javm:meta" (prctl PR_SET_VMA; ignored where unsupported). Returns 0 or a negative errno;
 * -EINVAL if the specs fail jv_meta_check. *s is overwritten (release a reserved space first);
 * on failure it is left released (all zero). */
int jv_meta_space_reserve(jv_meta_space *s, const jv_meta_spec *specs, size_t n, void *at);
/* Unmap the extent; the struct reads as released afterwards. Safe on a released space. */
void jv_meta_space_release(jv_meta_space *s);
/* Zero every committed granule in place (docs/MEMORY.md §14: no MADV_DONTNEED). Host pages that already
 * read as zero are not written, so untouched pages stay unallocated. Granules stay committed. */
void jv_meta_space_clear(jv_meta_space *s);
/* Bytes of metadata address space committed (granules x JV_META_GRANULE). */
size_t jv_meta_space_committed(const jv_meta_space *s);

/* META-5: commit (mprotect RW) the metadata covering data range [data_start, data_start +
 * data_len) of `spec` (clamped to 2^32), rounded outward to granules; idempotent; 0 or -errno. */
int jv_meta_ensure_mapped(jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_start,
                          uint64_t data_len);
/* Commit the whole table of a spec. */
int jv_meta_ensure_mapped_all(jv_meta_space *s, const jv_meta_spec *spec);
/* Is the metadata of data_addr's region committed? (false outside the reservation) */
bool jv_meta_is_mapped(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_addr);
/* Is the metadata byte at `p` inside the reservation and committed? */
bool jv_meta_ptr_is_mapped(const jv_meta_space *s, const void *p);

/* ---- Hot path: address translation (META-1) ------------------------------------------------- */
/* Budget: one load of base (usually already in a register), two shifts, two adds. */
static inline uint8_t *jv_meta_table(const jv_meta_space *s, const jv_meta_spec *spec) {
    return s->base + spec->offset;
}
static inline uint8_t *jv_meta_byte_addr(const jv_meta_space *s, const jv_meta_spec *spec,
                                         uint64_t data_addr) {
    uint64_t x = data_addr >> spec->log_region;
    if (spec->log_bits <= 3)
        return s->base + spec->offset + (x >> (3 - spec->log_bits));
    return s->base + spec->offset + (x << (spec->log_bits - 3));
}
static inline unsigned jv_meta_lshift(const jv_meta_spec *spec, uint64_t data_addr) {
    if (spec->log_bits >= 3)
        return 0;
    uint64_t x = data_addr >> spec->log_region;
    return (unsigned)((x & ((1u << (3 - spec->log_bits)) - 1)) << spec->log_bits);
}
/* The unshifted field mask: (1 << 2^b) - 1 (all ones for u64). */
static inline uint64_t jv_meta_field_mask(const jv_meta_spec *spec) {
    unsigned bits = 1u << spec->log_bits;
    return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}
/* For b <= 3: the field's bits within its byte; for b > 3: 0xFF (the whole bytes). */
static inline uint8_t jv_meta_byte_mask(const jv_meta_spec *spec, uint64_t data_addr) {
    if (spec->log_bits >= 3)
        return 0xFF;
    return (uint8_t)(jv_meta_field_mask(spec) << jv_meta_lshift(spec, data_addr));
}

/* ---- Debug checking (docs/MEMORY.md §14: every field inside the reservation and committed) ----
 * jv_meta_access_ok: data_addr < 2^32, the field lies inside the spec's table
 * [offset, offset + range size), inside [base, base + reserved), and in a committed granule.
 * Build with -DJV_META_CHECKED to make the inline load/store verify it and abort with a message
 * naming the spec and address (jv_meta_access_fail) instead of faulting. */
bool jv_meta_access_ok(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_addr);
__attribute__((noreturn, cold)) void jv_meta_access_fail(const jv_meta_space *s,
                                                         const jv_meta_spec *spec,
                                                         uint64_t data_addr);
#ifdef JV_META_CHECKED
#define JV_META_CHECK_ACCESS(s, spec, a)                                                          \
    do {                                                                                          \
        if (!jv_meta_access_ok(s, spec, a))                                                       \
            jv_meta_access_fail(s, spec, a);                                                      \
    } while (0)
#else
#define JV_META_CHECK_ACCESS(s, spec, a) ((void)0)
#endif

/* ---- Non-atomic load / store (the single-threaded hot path; META-6) -------------------------
 * Contract (as for every per-field operation): data_addr < 2^32 and its metadata committed. */
static inline uint64_t jv_meta_load(const jv_meta_space *s, const jv_meta_spec *spec,
                                    uint64_t data_addr) {
    JV_META_CHECK_ACCESS(s, spec, data_addr);
    const uint8_t *p = jv_meta_byte_addr(s, spec, data_addr);
    switch (spec->log_bits) {
    case 0: case 1: case 2:
        return (uint64_t)((*p >> jv_meta_lshift(spec, data_addr)) & jv_meta_field_mask(spec));
    case 3: return *p;
    case 4: return *(const uint16_t *)(const void *)p;
    case 5: return *(const uint32_t *)(const void *)p;
    default: return *(const uint64_t *)(const void *)p;
    }
}
static inline void jv_meta_store(const jv_meta_space *s, const jv_meta_spec *spec,
                                 uint64_t data_addr, uint64_t v) {
    JV_META_CHECK_ACCESS(s, spec, data_addr);
    uint8_t *p = jv_meta_byte_addr(s, spec, data_addr);
    switch (spec->log_bits) {
    case 0: case 1: case 2: {
        unsigned sh = jv_meta_lshift(spec, data_addr);
        uint8_t m = (uint8_t)(jv_meta_field_mask(spec) << sh);
        *p = (uint8_t)((*p & ~m) | ((v << sh) & m));
        break;
    }
    case 3: *p = (uint8_t)v; break;
    case 4: *(uint16_t *)(void *)p = (uint16_t)v; break;
    case 5: *(uint32_t *)(void *)p = (uint32_t)v; break;
    default: *(uint64_t *)(void *)p = v; break;
    }
}

static inline void jv_meta_set_zero(const jv_meta_space *s, const jv_meta_spec *spec,
                                    uint64_t data_addr) {
    jv_meta_store(s, spec, data_addr, 0);
}

/* ---- Atomic operations (meta_ops.c) ---------------------------------------------------------
 * `order` is a GCC/C11 memory order (__ATOMIC_RELAXED, __ATOMIC_ACQUIRE, __ATOMIC_RELEASE,
 * __ATOMIC_ACQ_REL, __ATOMIC_SEQ_CST), valid for the kind of access. Values are truncated to
 * the field (META-6). Sub-byte stores, add and sub are CAS loops on the containing byte; and/or
 * are single fetch_and / fetch_or with the neighbouring bits masked out. Every fetch-op returns
 * the field's previous value. */
uint64_t jv_meta_load_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_addr,
                             int order);
void jv_meta_store_atomic(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t data_addr,
                          uint64_t v, int order);
void jv_meta_set_zero_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                             uint64_t data_addr, int order);
/* Strong for b >= 3; for b < 3 it may fail spuriously (META-7). On failure *expected receives
 * the field's current value (which equals the old *expected after a spurious failure). */
bool jv_meta_compare_exchange_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                     uint64_t data_addr, uint64_t *expected, uint64_t desired,
                                     int success_order, int failure_order);
/* Wrapping arithmetic confined to the field: a 2-bit field at 3 plus 1 becomes 0. */
uint64_t jv_meta_fetch_add_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                  uint64_t data_addr, uint64_t v, int order);
uint64_t jv_meta_fetch_sub_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                  uint64_t data_addr, uint64_t v, int order);
uint64_t jv_meta_fetch_and_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                  uint64_t data_addr, uint64_t v, int order);
uint64_t jv_meta_fetch_or_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                 uint64_t data_addr, uint64_t v, int order);
/* General CAS loop: f(old, &new, ctx) returns false to give up. Returns true if the field was
 * updated; *old (may be NULL) receives the last value f saw. f may run several times. */
typedef bool (*jv_meta_update_fn)(uint64_t old, uint64_t *new_value, void *ctx);
bool jv_meta_fetch_update_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                 uint64_t data_addr, jv_meta_update_fn f, void *ctx,
                                 int order, uint64_t *old);

/* ---- Raw access ------------------------------------------------------------------------------ */
/* Store 0xFF into the metadata byte of data_addr, deliberately setting every neighbouring field
 * in that byte (fast path for flag bytes; for b > 3 the field's least significant byte). */
void jv_meta_set_raw_byte_atomic(const jv_meta_space *s, const jv_meta_spec *spec,
                                 uint64_t data_addr, int order);
uint8_t jv_meta_load_raw_byte(const jv_meta_space *s, const jv_meta_spec *spec,
                              uint64_t data_addr);
/* The naturally aligned 8-byte host word containing the metadata byte (may include bytes of a
 * neighbouring table when the spec's offset is not 8-aligned). */
uint64_t jv_meta_load_raw_word(const jv_meta_space *s, const jv_meta_spec *spec,
                               uint64_t data_addr);

/* ---- Bulk operations over data ranges -------------------------------------------------------
 * A data range [start, start + size) selects every region that intersects it (rounded outward
 * to regions; clamped to 2^32; size 0 selects nothing). Partial edge bytes are updated with
 * atomic fetch_and / fetch_or (or a CAS loop for bcopy); whole bytes in between with memset /
 * memmove. */
/* Zero the fields; uncommitted granules are skipped (already zero, META-8). */
void jv_meta_bzero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t start,
                   uint64_t size);
/* Set every bit of the fields (all ones); commits the metadata first. 0 or -errno. */
int jv_meta_bset(jv_meta_space *s, const jv_meta_spec *spec, uint64_t start, uint64_t size);
/* Copy the fields of the range from (src, src_spec) to (dst, dst_spec); the specs must have the
 * same b and r (else -EINVAL). The spaces may differ. Commits the destination; uncommitted
 * source metadata reads as zero. 0 or -errno. */
int jv_meta_bcopy(jv_meta_space *dst, const jv_meta_spec *dst_spec, const jv_meta_space *src,
                  const jv_meta_spec *src_spec, uint64_t start, uint64_t size);

/* ---- Search and iteration --------------------------------------------------------------------
 * Word-at-a-time over the table's bit stream (trailing/leading zero counts, reverse mapping
 * data = (bit >> b) << r), filtered to the requested regions. */
/* First non-zero field among the regions intersecting [addr, addr + limit), ascending. Stops at
 * uncommitted metadata (META-8). On success *found = the region-aligned data address. */
bool jv_meta_find_next_non_zero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t addr,
                                uint64_t limit, uint64_t *found);
/* Last non-zero field among the regions intersecting (addr - limit, addr], searching downwards
 * from addr's region (inclusive). Stops at uncommitted metadata. */
bool jv_meta_find_prev_non_zero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t addr,
                                uint64_t limit, uint64_t *found);
/* Call visit(region data address, value, ctx) for every non-zero field among the regions
 * intersecting [start, end), ascending; visit returns false to stop. Uncommitted granules are
 * skipped. 1-bit specs pop set bits (w &= w - 1). Returns the number of visits. */
typedef bool (*jv_meta_visit_fn)(uint64_t data_addr, uint64_t value, void *ctx);
uint64_t jv_meta_scan_non_zero(const jv_meta_space *s, const jv_meta_spec *spec, uint64_t start,
                               uint64_t end, jv_meta_visit_fn visit, void *ctx);

#endif /* JV_META_H */
