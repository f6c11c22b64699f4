/* cap — the content-addressed page store (docs/PAGESTORE.md).
 *
 * What it owns
 *   - pages: 4096-byte slabs at 4096-aligned addresses plus a 32-byte content hash, shared by an
 *     atomic reference count (jv_cap_page);
 *   - page slots: Empty (the canonical zero page, no storage) / Loaded(page) / Missing(hash);
 *   - DataCaps: an immutable, refcounted backing (dense slot array, trailing Empty trimmed, a
 *     logical size that is a page multiple) plus a private copy-on-write overlay keyed by page
 *     index; flush folds the overlay into a new canonical backing;
 *   - identity: SSZ hash_tree_root with SHA-256 (page content hash, DataCap root, cap hash);
 *   - a small general SSZ toolkit (uintN, byte vectors/lists, containers with offsets, unions,
 *     merkleize with limit, mix-ins) and the byte-exact PageSlot / PageBytes encodings;
 *   - the SHA-256 backend: OpenSSL libcrypto for flat digests; for the 64-byte messages of
 *     Merkle nodes a 16-lane AVX-512 path plus a two-lane SHA-NI path selected at start-up by
 *     CPUID (self-tested against OpenSSL), else OpenSSL's block interface with a precomputed
 *     padding block;
 *   - page resolution: Missing pages are fetched through a host callback and verified against
 *     their hash; an in-memory content-addressed store (jv_cap_store) is the default callback.
 *   It depends on nothing but libc, pthreads and libcrypto (it does not use mem/mat/meta).
 *
 * Glossary
 *   page          4096 bytes (JV_CAP_PAGE_SIZE); page index i covers bytes [4096 i, 4096 i + 4096).
 *   content hash  page_content_hash(c) = hash_tree_root(ByteVector[4096]) of c zero-padded:
 *                 128 chunks of 32 bytes merkleized into a depth-7 tree (127 SHA-256 of 64 B).
 *   sentinel      the hash 0^32 carried by an unhashed overlay page (the CoW fault path).
 *   slot root     Empty -> 0^32; Loaded(p) -> p->hash; Missing(h) -> h (pass-through).
 *   Z[d]          the root of 2^d zero chunks; Z[0] = 0^32, Z[d+1] = SHA-256(Z[d] || Z[d]).
 *   backing       {size, len, slots}: len <= size / 4096; indices in [len, size/4096) are Empty.
 *                 Stored as a table of refcounted 64-slot groups shared between backings
 *                 (cap_internal.h), so copying a backing copies group pointers only.
 *   overlay       sorted (index, slot) pairs private to one DataCap; Loaded/Missing entries
 *                 shadow the backing, an Empty entry does not (it reads as "clean").
 *   clean         a DataCap whose overlay is empty; only clean caps have a root.
 *
 * Rules (cited by tests as CAP-n)
 *   CAP-1  every slab is exactly 4096 bytes at a 4096-aligned address; cloning and decoding
 *          allocate a fresh aligned slab.
 *   CAP-2  a page reachable from two places is never mutated; a backing (or slot group) with
 *          refs > 1 is copied (group pointers, resp. 64 slot references; no byte copies)
 *          before a construction-time change.
 *   CAP-3  canonical form: a backing built by put_page / from_bytes_sized / flush never holds a
 *          Loaded all-zero page (it is Empty) and has no trailing Empty slot; size is unchanged
 *          by trimming. The overlay may hold all-zero Loaded pages (write_page).
 *   CAP-4  every Loaded page of a canonical backing has hash == page_content_hash(bytes); overlay
 *          pages may carry the sentinel until flush, which rehashes them.
 *   CAP-5  substitution: slot_root(Loaded(p)) == p->hash == slot_root(Missing(p->hash)).
 *   CAP-6  root(d) = SHA-256(size as uint64 chunk || merkleize(slot roots, max(page_count, 1)));
 *          cap_hash(d) = mix_in_selector(root(d), 2) (the Data selector). Defined only for a
 *          clean cap: root of a dirty cap fails with JAVM_ERR_STATE.
 *   CAP-7  a Missing page is never read as zeros: copy_into fails with JAVM_ERR_MISSING_PAGE
 *          unless a resolver supplies bytes whose content hash equals the slot's hash
 *          (else JAVM_ERR_HASH_MISMATCH); flush of an overlay Missing entry fails.
 *   CAP-8  decoders accept exactly the encodings of docs/PAGESTORE.md §6 / §9 and reject everything else
 *          with JAVM_ERR_BAD_SSZ and a message naming the field and byte offset; a decoded
 *          Loaded page's hash is recomputed and must match (JAVM_ERR_HASH_MISMATCH) unless the
 *          caller says the input is trusted.
 *   CAP-9  refcounts are atomic: pages, backings and the store may be shared across threads;
 *          one jv_datacap object itself is used by one thread at a time.
 *   CAP-10 errors return a javm_status and set the thread-local detail (util/error.h); nothing
 *          aborts on bad input. Out of memory is JAVM_ERR_NO_MEMORY, never a crash.
 *
 * Costs: clone O(1) when clean (one refcount increment + a small header; the overlay is copied
 * with one page ref per entry); slot lookup O(log dirty); flush O(pages / 64 + dirty * page root);
 * root O(len) hashes with all-zero subtrees folded through Z[]; page root ~4.5 us for random
 * content (AVX-512; ~6 us SHA-NI only), ~35 ns (a zero scan) for a zero page.
 */
#ifndef JV_CAP_H
#define JV_CAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "javm.h"

#define JV_CAP_PAGE_SIZE 4096u
#define JV_CAP_PAGE_SHIFT 12
#define JV_CAP_HASH_SIZE 32u
#define JV_CAP_PAGE_CHUNKS 128u /* 32-byte chunks per page */
#define JV_CAP_PAGE_DEPTH 7     /* log2(JV_CAP_PAGE_CHUNKS) */
/* Largest DataCap: page indices are u32. */
#define JV_CAP_MAX_PAGES (1ull << 32)
#define JV_CAP_MAX_SIZE (JV_CAP_MAX_PAGES * JV_CAP_PAGE_SIZE)
/* Cap union selectors (docs/PAGESTORE.md §5). */
enum { JV_CAP_SEL_INSTANCE = 0, JV_CAP_SEL_IMAGE = 1, JV_CAP_SEL_DATA = 2, JV_CAP_SEL_CNODE = 3,
       JV_CAP_SEL_TYPE = 4 };

typedef struct jv_hash32 {
    uint8_t b[JV_CAP_HASH_SIZE];
} jv_hash32;

/* ---- SHA-256 (sha256.c) ------------------------------------------------------------------ */
typedef enum jv_sha_backend {
    JV_SHA_AUTO = 0,    /* pick at start-up: SHA-NI if the CPU has it, else OpenSSL blocks */
    JV_SHA_OPENSSL = 1, /* OpenSSL SHA256_Transform + precomputed padding block */
    JV_SHA_SHANI = 2,   /* two-lane SHA-NI compression (x86-64 only) */
    JV_SHA_AVX512 = 3,  /* 16 lanes with AVX-512 for batches of 16 nodes, SHA-NI for the rest */
} jv_sha_backend;

/* Select the Merkle-node backend (process-wide; env JAVM_SHA256=openssl|shani overrides AUTO).
 * AUTO prefers AVX-512, then SHA-NI, then OpenSSL; each is self-tested against OpenSSL first.
 * JAVM_ERR_UNSUPPORTED if SHA-NI is requested but unavailable. */
javm_status jv_cap_sha256_set_backend(jv_sha_backend b);
jv_sha_backend jv_cap_sha256_backend(void);
const char *jv_cap_sha256_backend_name(void);
/* Flat SHA-256 of any message (OpenSSL). */
void jv_cap_sha256(const void *msg, size_t len, jv_hash32 *out);
/* One Merkle node: SHA-256(left || right). */
void jv_cap_sha256_pair(const jv_hash32 *left, const jv_hash32 *right, jv_hash32 *out);
/* n independent Merkle nodes: out[i] = SHA-256(in[64 i .. 64 i + 64)). out may equal in. */
void jv_cap_sha256_pairs(const uint8_t *in, size_t n, uint8_t *out);
/* Z[d] for d <= 64. */
const jv_hash32 *jv_cap_zero_hash(unsigned d);

/* ---- SSZ toolkit (ssz.c) ----------------------------------------------------------------- */
/* A growable output buffer; on allocation failure .oom is set and later writes are dropped. */
typedef struct jv_ssz_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} jv_ssz_buf;
void jv_ssz_buf_fini(jv_ssz_buf *b);
void jv_ssz_put_bytes(jv_ssz_buf *b, const void *src, size_t n);
void jv_ssz_put_uint(jv_ssz_buf *b, uint64_t v, unsigned nbytes); /* uintN, N/8 = 1,2,4,8 */
/* A view into an encoding. */
typedef struct jv_ssz_span {
    const uint8_t *p;
    size_t len;
} jv_ssz_span;
/* uintN / boolean: the span must be exactly nbytes (1,2,4,8) long / exactly 00 or 01. */
javm_status jv_ssz_get_uint(jv_ssz_span s, unsigned nbytes, uint64_t *v, const char *what);
javm_status jv_ssz_get_bool(jv_ssz_span s, bool *v, const char *what);
/* ByteVector[n]: exactly n bytes. ByteList[limit]: at most limit bytes. */
javm_status jv_ssz_check_bytevector(jv_ssz_span s, size_t n, const char *what);
javm_status jv_ssz_check_bytelist(jv_ssz_span s, size_t limit, const char *what);
/* List/Vector of fixed-size elements: span a multiple of elem_size, count <= limit. */
javm_status jv_ssz_fixed_list_count(jv_ssz_span s, size_t elem_size, size_t limit,
                                    size_t *count, const char *what);
/* List of variable-size elements: validates the offset table (first offset = 4 * count,
 * non-decreasing, within the span, count <= limit) and fills elems[0..*count) (elems has room
 * for max_elems; more elements than that -> error). */
javm_status jv_ssz_var_list_split(jv_ssz_span s, size_t limit, jv_ssz_span *elems,
                                  size_t max_elems, size_t *count, const char *what);

/* Containers: field_size[i] = fixed size of field i, or 0 for a variable-size field. */
typedef struct jv_ssz_field {
    const char *name;
    size_t fixed_size; /* 0 = variable */
} jv_ssz_field;
/* Split an encoded container into its field spans, validating the offsets (the first equals
 * the fixed-part length, non-decreasing, within the span) and that no bytes are left over. */
javm_status jv_ssz_container_split(jv_ssz_span s, const jv_ssz_field *fields, size_t nfields,
                                   jv_ssz_span *out, const char *what);
/* Encode a container from its field encodings (fixed fields must have their exact size). */
javm_status jv_ssz_container_encode(jv_ssz_buf *b, const jv_ssz_field *fields, size_t nfields,
                                    const jv_ssz_span *values);
/* Unions: selector byte (<= 127, < noptions) then the value; has_none: option 0 is None and its
 * body must be empty. */
javm_status jv_ssz_union_split(jv_ssz_span s, unsigned noptions, bool has_none,
                               unsigned *selector, jv_ssz_span *body, const char *what);

/* Merkleization (docs/PAGESTORE.md §10). chunks: n 32-byte chunks; limit >= n (else INVALID_ARGUMENT).
 * Aligned all-Z[d] subtrees fold to Z[d+1] without hashing. */
javm_status jv_ssz_merkleize(const uint8_t *chunks, size_t n, uint64_t limit, jv_hash32 *out);
void jv_ssz_mix_in_length(const jv_hash32 *root, uint64_t len, jv_hash32 *out);
void jv_ssz_mix_in_selector(const jv_hash32 *root, unsigned selector, jv_hash32 *out);
/* hash_tree_root of basic values and byte sequences. */
void jv_ssz_htr_uint(uint64_t v, jv_hash32 *out); /* any uintN <= 64 */
javm_status jv_ssz_htr_bytevector(const uint8_t *p, size_t n, jv_hash32 *out);
javm_status jv_ssz_htr_bytelist(const uint8_t *p, size_t n, size_t limit, jv_hash32 *out);
/* List[uintN, limit] root (elem_bytes = N/8 in {1,2,4,8}); vals holds n values. */
javm_status jv_ssz_htr_uint_list(const uint64_t *vals, size_t n, unsigned elem_bytes,
                                 size_t limit, jv_hash32 *out);

/* ---- Pages and slots (page.c) ------------------------------------------------------------ */
typedef struct jv_cap_page {
    atomic_uint refs; /* references held; the page is freed when it drops to 0 */
    jv_hash32 hash;   /* content hash, or the sentinel 0^32 (unhashed overlay page) */
    uint8_t *bytes;   /* 4096 bytes at a 4096-aligned address (CAP-1) */
} jv_cap_page;

/* page_content_hash of content zero-padded to 4096 (len <= 4096). All-zero -> Z[7]. */
void jv_cap_page_hash(const uint8_t *content, size_t len, jv_hash32 *out);
bool jv_cap_is_zero(const uint8_t *p, size_t len);
/* from_content: aligned slab, min(len, 4096) bytes copied, hash computed. refs = 1. */
javm_status jv_cap_page_create(const uint8_t *content, size_t len, jv_cap_page **out);
/* from_page_copy_unhashed: the same copy, hash = sentinel 0^32 (CoW fault path). */
javm_status jv_cap_page_create_unhashed(const uint8_t *src, size_t len, jv_cap_page **out);
/* A page with a given (trusted) hash; used by decoders and the store. */
javm_status jv_cap_page_create_with_hash(const uint8_t *content, size_t len,
                                         const jv_hash32 *hash, jv_cap_page **out);
/* Deep clone: a fresh aligned slab with the same bytes and hash. */
javm_status jv_cap_page_clone(const jv_cap_page *p, jv_cap_page **out);
static inline jv_cap_page *jv_cap_page_ref(jv_cap_page *p) {
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}
void jv_cap_page_unref(jv_cap_page *p); /* NULL is a no-op */
static inline unsigned jv_cap_page_refcount(const jv_cap_page *p) {
    return atomic_load_explicit(&((jv_cap_page *)p)->refs, memory_order_relaxed);
}

typedef enum jv_cap_slot_kind {
    JV_SLOT_EMPTY = 0,
    JV_SLOT_LOADED = 1,
    JV_SLOT_MISSING = 2,
} jv_cap_slot_kind;

/* A slot value. Copies must go through jv_cap_slot_copy (it takes a page reference). */
typedef struct jv_cap_slot {
    uint8_t kind; /* jv_cap_slot_kind */
    union {
        jv_cap_page *page; /* LOADED: one reference owned by this slot */
        jv_hash32 hash;    /* MISSING */
    } u;
} jv_cap_slot;

extern const jv_cap_slot jv_cap_slot_empty;
static inline jv_cap_slot jv_cap_slot_loaded(jv_cap_page *p) { /* takes p's reference */
    jv_cap_slot s = {.kind = JV_SLOT_LOADED, .u.page = p};
    return s;
}
static inline jv_cap_slot jv_cap_slot_missing(const jv_hash32 *h) {
    jv_cap_slot s = {.kind = JV_SLOT_MISSING, .u.hash = *h};
    return s;
}
static inline jv_cap_slot jv_cap_slot_copy(const jv_cap_slot *s) {
    if (s->kind == JV_SLOT_LOADED) jv_cap_page_ref(s->u.page);
    return *s;
}
void jv_cap_slot_release(jv_cap_slot *s); /* drops the reference, leaves Empty */
/* slot root (pass-through; CAP-5). */
void jv_cap_slot_root(const jv_cap_slot *s, jv_hash32 *out);

/* Wire encodings (docs/PAGESTORE.md §6). Encoders append to b. */
#define JV_CAP_PAGEBYTES_LEN (32u + 4u + JV_CAP_PAGE_SIZE) /* 4132 */
#define JV_CAP_SLOT_LOADED_LEN (1u + JV_CAP_PAGEBYTES_LEN) /* 4133 */
#define JV_CAP_SLOT_MISSING_LEN 33u
enum { JV_CAP_DECODE_TRUSTED = 1 }; /* skip recomputing the hash of a decoded page */
void jv_cap_pagebytes_encode(jv_ssz_buf *b, const jv_cap_page *p);
javm_status jv_cap_pagebytes_decode(jv_ssz_span s, unsigned flags, jv_cap_page **out);
void jv_cap_slot_encode(jv_ssz_buf *b, const jv_cap_slot *s);
javm_status jv_cap_slot_decode(jv_ssz_span s, unsigned flags, jv_cap_slot *out);

/* ---- Page resolution (store.c) ----------------------------------------------------------- */
/* A host callback: fill out[4096] with the content whose page content hash is *hash. Return
 * JAVM_OK, or an error (e.g. JAVM_ERR_MISSING_PAGE). The cap layer verifies the bytes. */
typedef javm_status (*jv_cap_resolve_fn)(void *ctx, const jv_hash32 *hash,
                                         uint8_t out[JV_CAP_PAGE_SIZE]);
typedef struct jv_cap_resolver {
    jv_cap_resolve_fn fn;
    void *ctx;
} jv_cap_resolver;

/* The default in-memory content-addressed store (thread-safe; holds page references). */
typedef struct jv_cap_store jv_cap_store;
javm_status jv_cap_store_create(jv_cap_store **out);
void jv_cap_store_destroy(jv_cap_store *st);
/* Add a page under its hash (which must be a real content hash: verified, sentinel refused). */
javm_status jv_cap_store_put(jv_cap_store *st, jv_cap_page *p);
/* A new reference to the page stored under hash, or JAVM_ERR_MISSING_PAGE. */
javm_status jv_cap_store_get(jv_cap_store *st, const jv_hash32 *hash, jv_cap_page **out);
size_t jv_cap_store_count(jv_cap_store *st);
/* A resolver backed by the store. */
jv_cap_resolver jv_cap_store_resolver(jv_cap_store *st);
/* Resolve one hash through r into a new verified page (refs = 1). */
javm_status jv_cap_resolve_page(const jv_cap_resolver *r, const jv_hash32 *hash,
                                jv_cap_page **out);

/* ---- DataCap (datacap.c) ----------------------------------------------------------------- */
typedef struct jv_cap_backing jv_cap_backing;
typedef struct jv_cap_overlay_entry {
    uint32_t index;
    jv_cap_slot slot;
} jv_cap_overlay_entry;

typedef struct jv_datacap {
    jv_cap_backing *backing;    /* shared, immutable while refs > 1 */
    jv_cap_overlay_entry *ov;   /* sorted by index, unique */
    uint32_t ov_len, ov_cap;
} jv_datacap;

/* What page_at resolves to. */
typedef enum jv_cap_view_kind { JV_VIEW_ZERO = 0, JV_VIEW_BYTES = 1, JV_VIEW_MISSING = 2 } jv_cap_view_kind;
typedef struct jv_cap_view {
    jv_cap_view_kind kind;
    const uint8_t *bytes; /* JV_VIEW_BYTES: the page's 4096-aligned slab */
    jv_hash32 hash;       /* JV_VIEW_MISSING */
} jv_cap_view;

/* from_bytes_sized: size = max(target, len) rounded up to a page, at least one page. */
javm_status jv_cap_data_create_sized(const uint8_t *content, size_t len, uint64_t target,
                                     jv_datacap **out);
/* An empty cap of the given size (a page multiple, > 0). */
javm_status jv_cap_data_create_empty(uint64_t size, jv_datacap **out);
javm_status jv_cap_data_clone(const jv_datacap *d, jv_datacap **out);
void jv_cap_data_destroy(jv_datacap *d); /* NULL is a no-op */

uint64_t jv_cap_data_size(const jv_datacap *d);
uint64_t jv_cap_data_page_count(const jv_datacap *d);
uint64_t jv_cap_data_backing_len(const jv_datacap *d); /* one past the last stored slot */
unsigned jv_cap_data_backing_refs(const jv_datacap *d);
/* The backing slot i (no overlay), Empty past the slot array. */
const jv_cap_slot *jv_cap_data_backing_slot(const jv_datacap *d, uint64_t i);
static inline bool jv_cap_data_is_clean(const jv_datacap *d) { return d->ov_len == 0; }

/* page_slot(i): the overlay entry if Loaded/Missing, else the backing slot (Empty past it). */
const jv_cap_slot *jv_cap_data_slot(const jv_datacap *d, uint64_t i);
bool jv_cap_data_is_dirty(const jv_datacap *d, uint64_t i);
/* page_at: the page holding byte off (off < size, else INVALID_ARGUMENT). */
javm_status jv_cap_data_page_at(const jv_datacap *d, uint64_t off, jv_cap_view *out);
/* Effective bytes [start, start + n) into out. Missing pages: resolved through r (verified)
 * when r is non-NULL, else JAVM_ERR_MISSING_PAGE (CAP-7). Past size: INVALID_ARGUMENT. */
javm_status jv_cap_data_copy_into(const jv_datacap *d, uint64_t start, void *out, size_t n,
                                  const jv_cap_resolver *r);
/* Construction: the page at off (page-aligned, < size) becomes content (<= 4096 bytes):
 * Empty if all zero, else Loaded(from_content). Copies a shared backing first (CAP-2). */
javm_status jv_cap_data_put_page(jv_datacap *d, uint64_t off, const uint8_t *content,
                                 size_t len);
/* Construction: store slot (taking its reference, also on failure) at page index i of the
 * backing as is (a Missing slot, or a pre-built page). Copies a shared backing first; trims. The
 * caller keeps canonical form (CAP-3/4) if it wants a canonical cap. */
javm_status jv_cap_data_put_slot(jv_datacap *d, uint64_t i, jv_cap_slot slot);
/* Execution-time write: an explicit Loaded overlay page (even all zero), sentinel hash. */
javm_status jv_cap_data_write_page(jv_datacap *d, uint64_t off, const uint8_t *content,
                                   size_t len);
/* Move slot into the overlay at page index i (< page_count); takes the slot's reference (also
 * on failure). Replaces any previous entry. */
javm_status jv_cap_data_insert_overlay_page(jv_datacap *d, uint64_t i, jv_cap_slot slot);
/* Share src's slots (all of its page_count) into this cap's backing from page-aligned dst_off,
 * clamped to this cap's size: refcount increments only. src must be clean (JAVM_ERR_STATE).
 * Overlay entries of d in the range keep shadowing. */
javm_status jv_cap_data_place_shared(jv_datacap *d, uint64_t dst_off, const jv_datacap *src);
/* A new canonical clean cap: overlay Loaded pages rehashed and put (zero -> Empty), Empty
 * entries skipped, trailing Empty trimmed, size unchanged. A Missing overlay entry fails with
 * JAVM_ERR_MISSING_PAGE unless r resolves it. */
javm_status jv_cap_data_flush(const jv_datacap *d, const jv_cap_resolver *r, jv_datacap **out);
/* Replace every Missing slot (backing and overlay) by the verified page from r. */
javm_status jv_cap_data_resolve(jv_datacap *d, const jv_cap_resolver *r);
/* CAP-6. JAVM_ERR_STATE if the overlay is non-empty. */
javm_status jv_cap_data_root(const jv_datacap *d, jv_hash32 *out);
javm_status jv_cap_data_cap_hash(const jv_datacap *d, jv_hash32 *out);
/* The root jv_cap_data_create_sized(content, len, target) + jv_cap_data_root would give,
 * computed straight from the bytes: no page is copied or allocated (32 bytes of slot root per
 * page). threads (1 .. JV_CAP_ROOT_MAX_THREADS) split the pages into contiguous shares;
 * content must stay readable and unchanged meanwhile. */
#define JV_CAP_ROOT_MAX_THREADS 8
javm_status jv_cap_data_root_of_bytes(const uint8_t *content, size_t len, uint64_t target,
                                      unsigned threads, jv_hash32 *out);
/* Walk and recount the invariants (CAP-1, CAP-3 (when canonical), CAP-4 (when check_hashes),
 * overlay order). JAVM_ERR_STATE with a message naming the first violation. */
javm_status jv_cap_data_check(const jv_datacap *d, bool canonical, bool check_hashes);

/* ---- Formatting -------------------------------------------------------------------------- */
void jv_cap_hash_hex(const jv_hash32 *h, char out[65]);
javm_status jv_cap_hash_from_hex(const char *hex, jv_hash32 *out);

#endif
