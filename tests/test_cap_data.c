/* cap layer: DataCap operations, roots and identity (docs/PAGESTORE.md §2-§8), page resolution and
 * the refcount discipline (run under SAN=1 for the leak checks). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "cap/cap.h"

#define P_HASH "02f1d52bff14b6db28a9d18bb303bcab642420c3bf0bd8d5b18e976683dd402e"
#define Z7 "87eb0ddba57e35f6d286673802a4af5975e22506c7cf4c64bb6be5ee11527f2c"

static uint8_t page_p[4096];

static void assert_hash(const jv_hash32 *h, const char *hex) {
    char got[65];
    jv_cap_hash_hex(h, got);
    assert_string_equal(got, hex);
}

static void root_of(const jv_datacap *d, jv_hash32 *root, jv_hash32 *cap_hash) {
    assert_int_equal(jv_cap_data_root(d, root), JAVM_OK);
    if (cap_hash) assert_int_equal(jv_cap_data_cap_hash(d, cap_hash), JAVM_OK);
}

static void check(const jv_datacap *d, bool canonical) {
    if (jv_cap_data_check(d, canonical, true) != JAVM_OK) fail_msg("%s", javm_last_error());
}

/* ---- first-principles reference (EVP digests, recursive trees) ---------------------------- */
static void ref_sha(const uint8_t *m, size_t n, uint8_t out[32]) {
    unsigned len = 32;
    assert_int_equal(EVP_Digest(m, n, out, &len, EVP_sha256(), NULL), 1);
}
static void ref_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32]) {
    uint8_t two[64];
    memcpy(two, l, 32);
    memcpy(two + 32, r, 32);
    ref_sha(two, 64, out);
}
static void ref_tree(const uint8_t *chunks, size_t n, uint8_t out[32]) { /* n a power of 2 */
    if (n == 1) {
        memcpy(out, chunks, 32);
        return;
    }
    uint8_t l[32], r[32];
    ref_tree(chunks, n / 2, l);
    ref_tree(chunks + 32 * (n / 2), n / 2, r);
    ref_node(l, r, out);
}
static void ref_page_hash(const uint8_t *page, uint8_t out[32]) { ref_tree(page, 128, out); }

/* PAGESTORE §5, row 5, from first principles: size 12288, pages [P, zero page, "hello" page]. */
static void root_from_first_principles(void **st) {
    (void)st;
    uint8_t content[3 * 4096] = {0};
    memcpy(content, page_p, 4096);
    memcpy(content + 8192, "hello", 5);
    uint8_t leaves[4 * 32] = {0}, pages_root[32], size_chunk[32] = {0}, root[32], sel[32] = {2},
            cap_hash[32];
    ref_page_hash(content, leaves);             /* P */
    /* leaf 1: Empty -> 0^32; leaf 3: padding -> Z[0] = 0^32 */
    ref_page_hash(content + 8192, leaves + 64); /* hello page */
    ref_tree(leaves, 4, pages_root);
    size_chunk[0] = 0x00;
    size_chunk[1] = 0x30; /* 12288 = 0x3000 LE */
    ref_node(size_chunk, pages_root, root);
    ref_node(root, sel, cap_hash);

    jv_datacap *d;
    assert_int_equal(jv_cap_data_create_sized(content, sizeof content, 0, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_size(d), 12288);
    assert_int_equal(jv_cap_data_backing_len(d), 3);
    assert_int_equal(jv_cap_data_backing_slot(d, 1)->kind, JV_SLOT_EMPTY);
    check(d, true);
    jv_hash32 r, c;
    root_of(d, &r, &c);
    assert_memory_equal(r.b, root, 32);
    assert_memory_equal(c.b, cap_hash, 32);
    /* and the spec's derived values for the same cap */
    assert_hash(&r, "a6dbf6c2869f7dc2e76c48d4758811435b0561a73252cf991869182cedce624b");
    assert_hash(&c, "390d096f9cd80cb15a6b4cf04bd44f0f6522d683ec2cecfd0bd7aeaf6fc44f5b");
    jv_cap_data_destroy(d);
}

/* PAGESTORE §5, rows 1-4. */
static void derived_datacap_values(void **st) {
    (void)st;
    jv_datacap *d;
    jv_hash32 r, c;
    assert_int_equal(jv_cap_data_create_sized(NULL, 0, 0, &d), JAVM_OK); /* size 4096, [Empty] */
    assert_int_equal(jv_cap_data_size(d), 4096);
    assert_int_equal(jv_cap_data_backing_len(d), 0);
    root_of(d, &r, &c);
    assert_hash(&r, "ed5f4ed0d6617d50abd49d4c84281e175b48a7e1edf550a89bf2c9b5c4ce01f0");
    assert_hash(&c, "bca79a4850d7c13977a98026c2d86dd151e9e1bdd6c3673e307c723a5f30024a");
    jv_cap_data_destroy(d);

    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, 0, &d), JAVM_OK);
    root_of(d, &r, &c);
    assert_hash(&r, "4dbbac7657adcfce02072ccd682853c0a87b2f49762a17f188964e2a73aebbb5");
    assert_hash(&c, "1833a6f4afde0d3acbb71555bae15f7c158cbb4dd1dc3c989e22ca0ac3e65994");
    jv_cap_data_destroy(d);

    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, 8192, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(d), 1); /* trailing Empty trimmed */
    root_of(d, &r, &c);
    assert_hash(&r, "55896b5d8e57ab77483c5590f34142d8d5f1f06130c60a73de8507c0f92a57f3");
    assert_hash(&c, "3f5504d0d743ff7f015b0608efc436101b9cc3c4949ad0fdd37856cb3d583c66");
    jv_cap_data_destroy(d);

    assert_int_equal(jv_cap_data_create_empty(8192, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_put_page(d, 4096, page_p, 4096), JAVM_OK);
    root_of(d, &r, &c);
    assert_hash(&r, "a9951285427a8976d498b2ebe669728f20fff33ee5418772ae1e3d9a5f869acd");
    assert_hash(&c, "2b39c3e3470aad5851c0637e3a2014e653b84091a90ca489e5579cdc9bfd389f");
    check(d, true);
    jv_cap_data_destroy(d);
}

static void size_rules(void **st) {
    (void)st;
    jv_datacap *a, *b, *c;
    assert_int_equal(jv_cap_data_create_sized((const uint8_t *)"Hello", 5, 0, &a), JAVM_OK);
    assert_int_equal(jv_cap_data_create_sized((const uint8_t *)"Hello", 5, 8192, &b), JAVM_OK);
    assert_int_equal(jv_cap_data_create_sized((const uint8_t *)"Hello", 5, 4097, &c), JAVM_OK);
    assert_int_equal(jv_cap_data_size(a), 4096);
    assert_int_equal(jv_cap_data_size(b), 8192);
    assert_int_equal(jv_cap_data_size(c), 8192);
    jv_hash32 ra, rb, rc;
    root_of(a, &ra, NULL);
    root_of(b, &rb, NULL);
    root_of(c, &rc, NULL);
    assert_memory_not_equal(ra.b, rb.b, 32); /* size is committed: no content stripping */
    assert_memory_equal(rb.b, rc.b, 32);
    jv_cap_data_destroy(a);
    jv_cap_data_destroy(b);
    jv_cap_data_destroy(c);
    /* content longer than the target wins; 4097 bytes -> 2 pages */
    uint8_t big[4097];
    memset(big, 1, sizeof big);
    assert_int_equal(jv_cap_data_create_sized(big, sizeof big, 100, &a), JAVM_OK);
    assert_int_equal(jv_cap_data_size(a), 8192);
    assert_int_equal(jv_cap_data_backing_len(a), 2);
    check(a, true);
    jv_cap_data_destroy(a);
    assert_int_equal(jv_cap_data_create_sized(NULL, 0, JV_CAP_MAX_SIZE + 1, &a), JAVM_ERR_INVALID_ARGUMENT);
    assert_null(a);
    assert_int_equal(jv_cap_data_create_empty(100, &a), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_cap_data_create_empty(0, &a), JAVM_ERR_INVALID_ARGUMENT);
    /* a 4 GiB cap: Empty pages past the slot array cost nothing; the root folds them via Z[] */
    assert_int_equal(jv_cap_data_create_empty(1ull << 32, &a), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(a), 0);
    jv_hash32 r, want, size_chunk;
    root_of(a, &r, NULL);
    jv_ssz_htr_uint(1ull << 32, &size_chunk);
    jv_cap_sha256_pair(&size_chunk, jv_cap_zero_hash(20), &want);
    assert_memory_equal(r.b, want.b, 32);
    assert_int_equal(jv_cap_data_put_page(a, 4096, page_p, 4096), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(a), 2);
    root_of(a, &r, NULL);
    jv_cap_data_destroy(a);
}

/* CAP-3: a Loaded zero page is not Empty; every canonical path stores Empty. */
static void zero_page_canonicalization(void **st) {
    (void)st;
    uint8_t zero[4096] = {0};
    jv_datacap *e, *d;
    jv_hash32 re, rd;
    assert_int_equal(jv_cap_data_create_empty(8192, &e), JAVM_OK);
    root_of(e, &re, NULL);
    /* put_page of zeros -> Empty, even over a non-zero page */
    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, 8192, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_put_page(d, 0, zero, 4096), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(d), 0);
    root_of(d, &rd, NULL);
    assert_memory_equal(re.b, rd.b, 32);
    jv_cap_data_destroy(d);
    /* from_bytes_sized with all-zero content */
    assert_int_equal(jv_cap_data_create_sized(zero, 4096, 8192, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(d), 0);
    root_of(d, &rd, NULL);
    assert_memory_equal(re.b, rd.b, 32);
    jv_cap_data_destroy(d);
    /* a Loaded zero page put as a raw slot hashes differently (leaf Z[7], not 0^32) */
    jv_cap_page *zp;
    assert_int_equal(jv_cap_page_create(zero, 4096, &zp), JAVM_OK);
    assert_hash(&zp->hash, Z7);
    assert_int_equal(jv_cap_data_create_empty(8192, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_put_slot(d, 0, jv_cap_slot_loaded(zp)), JAVM_OK);
    root_of(d, &rd, NULL);
    assert_memory_not_equal(re.b, rd.b, 32);
    assert_int_equal(jv_cap_data_check(d, true, true), JAVM_ERR_STATE); /* not canonical */
    check(d, false);
    /* write_page of zeros is explicit in the overlay, flush makes it Empty again */
    assert_int_equal(jv_cap_data_write_page(d, 0, zero, 4096), JAVM_OK);
    assert_true(jv_cap_data_is_dirty(d, 0));
    jv_datacap *f;
    assert_int_equal(jv_cap_data_flush(d, NULL, &f), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(f), 0);
    root_of(f, &rd, NULL);
    assert_memory_equal(re.b, rd.b, 32);
    check(f, true);
    jv_cap_data_destroy(f);
    jv_cap_data_destroy(d);
    jv_cap_data_destroy(e);
}

/* CAP-5: Loaded(p) and Missing(p.hash) give the same enclosing root. */
static void substitution_invariant(void **st) {
    (void)st;
    uint8_t content[3 * 4096] = {0};
    memcpy(content, page_p, 4096);
    memcpy(content + 8192, "hello", 5);
    jv_datacap *a, *b;
    assert_int_equal(jv_cap_data_create_sized(content, sizeof content, 0, &a), JAVM_OK);
    assert_int_equal(jv_cap_data_clone(a, &b), JAVM_OK);
    for (uint64_t i = 0; i < 3; i += 2) {
        jv_hash32 h = jv_cap_data_backing_slot(a, i)->u.page->hash;
        assert_int_equal(jv_cap_data_put_slot(b, i, jv_cap_slot_missing(&h)), JAVM_OK);
    }
    assert_int_equal(jv_cap_data_slot(b, 0)->kind, JV_SLOT_MISSING);
    assert_int_equal(jv_cap_data_slot(a, 0)->kind, JV_SLOT_LOADED); /* CAP-2: a unchanged */
    jv_hash32 ra, rb;
    root_of(a, &ra, NULL);
    root_of(b, &rb, NULL);
    assert_memory_equal(ra.b, rb.b, 32);
    jv_cap_data_destroy(a);
    jv_cap_data_destroy(b);
}

static void flush_canonical_and_idempotent(void **st) {
    (void)st;
    uint8_t content[4 * 4096];
    for (size_t i = 0; i < sizeof content; i++) content[i] = (uint8_t)(i * 7 + 1);
    jv_datacap *d, *f1, *f2, *ref;
    assert_int_equal(jv_cap_data_create_sized(content, sizeof content, 6 * 4096, &d), JAVM_OK);
    /* overlay: zero the last stored page, change page 1, add page 4, an Empty entry at 2 */
    uint8_t zero[4096] = {0}, one[4096];
    memset(one, 0x11, sizeof one);
    assert_int_equal(jv_cap_data_write_page(d, 3 * 4096, zero, 4096), JAVM_OK);
    assert_int_equal(jv_cap_data_write_page(d, 4 * 4096, one, 100), JAVM_OK);
    jv_cap_page *u;
    assert_int_equal(jv_cap_page_create_unhashed(one, 4096, &u), JAVM_OK);
    assert_int_equal(jv_cap_data_insert_overlay_page(d, 1, jv_cap_slot_loaded(u)), JAVM_OK);
    assert_int_equal(jv_cap_data_insert_overlay_page(d, 2, jv_cap_slot_empty), JAVM_OK);
    assert_false(jv_cap_data_is_dirty(d, 2)); /* an Empty overlay entry is clean */
    assert_true(jv_cap_data_is_dirty(d, 1));
    assert_false(jv_cap_data_is_dirty(d, 0));
    assert_int_equal(jv_cap_data_slot(d, 2)->kind, JV_SLOT_LOADED); /* backing shows through */
    check(d, true);
    jv_hash32 r;
    assert_int_equal(jv_cap_data_root(d, &r), JAVM_ERR_STATE); /* CAP-6 */
    assert_int_equal(jv_cap_data_cap_hash(d, &r), JAVM_ERR_STATE);
    /* the effective bytes */
    uint8_t eff[6 * 4096];
    assert_int_equal(jv_cap_data_copy_into(d, 0, eff, sizeof eff, NULL), JAVM_OK);
    memcpy(content + 4096, one, 4096);
    memset(content + 3 * 4096, 0, 4096);
    assert_memory_equal(eff, content, 4 * 4096);
    assert_memory_equal(eff + 4 * 4096, one, 100);
    assert_int_equal(eff[4 * 4096 + 100], 0);

    assert_int_equal(jv_cap_data_flush(d, NULL, &f1), JAVM_OK);
    assert_true(jv_cap_data_is_clean(f1));
    assert_int_equal(jv_cap_data_size(f1), 6 * 4096);
    assert_int_equal(jv_cap_data_backing_len(f1), 5); /* [c0, one, c2, Empty, one'] */
    assert_int_equal(jv_cap_data_backing_slot(f1, 3)->kind, JV_SLOT_EMPTY);
    check(f1, true); /* rehashed: CAP-4 */
    /* the flushed cap equals one built directly from the effective bytes */
    assert_int_equal(jv_cap_data_create_sized(eff, sizeof eff, 0, &ref), JAVM_OK);
    jv_hash32 r1, r2, rr;
    root_of(f1, &r1, NULL);
    root_of(ref, &rr, NULL);
    assert_memory_equal(r1.b, rr.b, 32);
    /* idempotence: flushing a clean cap is a clone with the same root */
    assert_int_equal(jv_cap_data_flush(f1, NULL, &f2), JAVM_OK);
    root_of(f2, &r2, NULL);
    assert_memory_equal(r1.b, r2.b, 32);
    assert_int_equal(jv_cap_data_backing_refs(f1), 2);
    /* the original still has its overlay and its old backing */
    assert_true(jv_cap_data_is_dirty(d, 1));
    assert_int_equal(jv_cap_data_backing_len(d), 4);
    jv_cap_data_destroy(ref);
    jv_cap_data_destroy(f2);
    jv_cap_data_destroy(f1);
    /* trailing trim: zeroing the last non-empty page shrinks the slot array, size unchanged */
    jv_datacap *g;
    assert_int_equal(jv_cap_data_create_sized(content, 4096, 3 * 4096, &g), JAVM_OK);
    assert_int_equal(jv_cap_data_write_page(g, 0, zero, 0), JAVM_OK);
    assert_int_equal(jv_cap_data_flush(g, NULL, &f1), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(f1), 0);
    assert_int_equal(jv_cap_data_size(f1), 3 * 4096);
    jv_cap_data_destroy(f1);
    jv_cap_data_destroy(g);
    jv_cap_data_destroy(d);
}

static void clone_is_shared_and_cow(void **st) {
    (void)st;
    jv_datacap *a, *b;
    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, 8192, &a), JAVM_OK);
    const jv_cap_page *p = jv_cap_data_backing_slot(a, 0)->u.page;
    assert_int_equal(jv_cap_data_clone(a, &b), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_refs(a), 2); /* O(1): one refcount increment */
    assert_ptr_equal(jv_cap_data_backing_slot(b, 0)->u.page, p);
    assert_int_equal(jv_cap_page_refcount(p), 1);
    jv_hash32 ra, rb;
    root_of(a, &ra, NULL);
    /* construction on the clone copies the slot array, not the pages (CAP-2) */
    assert_int_equal(jv_cap_data_put_page(b, 4096, (const uint8_t *)"x", 1), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_refs(a), 1);
    assert_int_equal(jv_cap_data_backing_refs(b), 1);
    assert_ptr_equal(jv_cap_data_backing_slot(b, 0)->u.page, p);
    assert_int_equal(jv_cap_page_refcount(p), 2);
    root_of(b, &rb, NULL);
    assert_memory_not_equal(ra.b, rb.b, 32);
    jv_hash32 ra2;
    root_of(a, &ra2, NULL);
    assert_memory_equal(ra.b, ra2.b, 32);
    /* clone of a dirty cap copies the overlay with page references */
    assert_int_equal(jv_cap_data_write_page(b, 0, page_p, 10), JAVM_OK);
    jv_datacap *c;
    assert_int_equal(jv_cap_data_clone(b, &c), JAVM_OK);
    assert_ptr_equal(jv_cap_data_slot(c, 0)->u.page, jv_cap_data_slot(b, 0)->u.page);
    assert_int_equal(jv_cap_page_refcount(jv_cap_data_slot(c, 0)->u.page), 2);
    jv_cap_data_destroy(c);
    assert_int_equal(jv_cap_page_refcount(jv_cap_data_slot(b, 0)->u.page), 1);
    jv_cap_data_destroy(b);
    assert_int_equal(jv_cap_page_refcount(p), 1);
    jv_cap_data_destroy(a);
}

static void place_shared_shares_frames(void **st) {
    (void)st;
    uint8_t content[3 * 4096] = {0};
    memcpy(content, page_p, 4096);
    memset(content + 8192, 7, 4096);
    jv_datacap *img, *inst;
    assert_int_equal(jv_cap_data_create_sized(content, sizeof content, 0, &img), JAVM_OK);
    const jv_cap_page *p0 = jv_cap_data_backing_slot(img, 0)->u.page;
    const jv_cap_page *p2 = jv_cap_data_backing_slot(img, 2)->u.page;
    assert_int_equal(jv_cap_data_create_empty(8 * 4096, &inst), JAVM_OK);
    assert_int_equal(jv_cap_data_put_page(inst, 5 * 4096, (const uint8_t *)"old", 3), JAVM_OK);
    assert_int_equal(jv_cap_data_place_shared(inst, 4 * 4096, img), JAVM_OK);
    /* the very same slabs, refcounts incremented, no bytes copied */
    assert_ptr_equal(jv_cap_data_slot(inst, 4)->u.page, p0);
    assert_ptr_equal(jv_cap_data_slot(inst, 6)->u.page, p2);
    assert_int_equal(jv_cap_page_refcount(p0), 2);
    assert_int_equal(jv_cap_page_refcount(p2), 2);
    assert_int_equal(jv_cap_data_slot(inst, 5)->kind, JV_SLOT_EMPTY); /* "old" replaced */
    check(inst, true);
    uint8_t eff[8 * 4096] = {0}, want[8 * 4096] = {0};
    memcpy(want + 4 * 4096, content, sizeof content);
    assert_int_equal(jv_cap_data_copy_into(inst, 0, eff, sizeof eff, NULL), JAVM_OK);
    assert_memory_equal(eff, want, sizeof eff);
    /* clamped at the end of the destination, trailing Empty trimmed */
    jv_datacap *small;
    assert_int_equal(jv_cap_data_create_empty(6 * 4096, &small), JAVM_OK);
    assert_int_equal(jv_cap_data_place_shared(small, 4 * 4096, img), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(small), 5);
    assert_int_equal(jv_cap_data_place_shared(small, 6 * 4096, img), JAVM_OK); /* no-op */
    assert_int_equal(jv_cap_data_place_shared(small, 100, img), JAVM_ERR_UNALIGNED);
    assert_int_equal(jv_cap_page_refcount(p0), 3);
    /* placing a cap into itself */
    assert_int_equal(jv_cap_data_place_shared(small, 0, small), JAVM_OK);
    check(small, true);
    /* the source must be clean */
    jv_datacap *dirty;
    assert_int_equal(jv_cap_data_clone(img, &dirty), JAVM_OK);
    assert_int_equal(jv_cap_data_write_page(dirty, 0, page_p, 1), JAVM_OK);
    assert_int_equal(jv_cap_data_place_shared(inst, 0, dirty), JAVM_ERR_STATE);
    jv_cap_data_destroy(dirty);
    jv_cap_data_destroy(small);
    jv_cap_data_destroy(inst);
    assert_int_equal(jv_cap_page_refcount(p0), 1);
    jv_cap_data_destroy(img);
}

/* Aligned runs of 64 slots are shared as whole groups; writes after sharing copy only the group
 * they touch and never show through to the other cap (CAP-2). */
static void place_shared_whole_groups(void **st) {
    (void)st;
    enum { N = 200 };
    uint8_t *content = malloc((size_t)N * 4096);
    for (size_t i = 0; i < (size_t)N * 4096; i++) content[i] = (uint8_t)(i / 4096 + 1);
    jv_datacap *img, *inst;
    assert_int_equal(jv_cap_data_create_sized(content, (size_t)N * 4096, 0, &img), JAVM_OK);
    jv_hash32 img_root;
    root_of(img, &img_root, NULL);
    assert_int_equal(jv_cap_data_create_empty(512 * 4096, &inst), JAVM_OK);
    assert_int_equal(jv_cap_data_place_shared(inst, 64 * 4096, img), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(inst), 64 + N);
    for (uint64_t k = 0; k < N; k++)
        assert_ptr_equal(jv_cap_data_slot(inst, 64 + k)->u.page, jv_cap_data_slot(img, k)->u.page);
    check(inst, true);
    /* change one page in each of the two caps: the other is unaffected */
    assert_int_equal(jv_cap_data_put_page(inst, 70 * 4096, (const uint8_t *)"zz", 2), JAVM_OK);
    assert_int_equal(jv_cap_data_put_page(img, 3 * 4096, (const uint8_t *)"yy", 2), JAVM_OK);
    assert_int_equal(jv_cap_data_slot(img, 6)->u.page->bytes[0], 7);
    assert_int_equal(jv_cap_data_slot(inst, 67)->u.page->bytes[0], 4);
    assert_int_equal(jv_cap_data_slot(inst, 70)->u.page->bytes[0], 'z');
    /* the placed range reads back as the image did */
    uint8_t *eff = malloc((size_t)N * 4096);
    assert_int_equal(jv_cap_data_copy_into(inst, 64 * 4096, eff, (size_t)N * 4096, NULL), JAVM_OK);
    memcpy(content + 6 * 4096, "zz", 2);
    memset(content + 6 * 4096 + 2, 0, 4094);
    assert_memory_equal(eff, content, (size_t)N * 4096);
    /* flush of a big cap with one dirty page */
    assert_int_equal(jv_cap_data_write_page(inst, 300 * 4096, (const uint8_t *)"w", 1), JAVM_OK);
    jv_datacap *f;
    assert_int_equal(jv_cap_data_flush(inst, NULL, &f), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(f), 301);
    check(f, true);
    /* overwrite the placed range with an all-Empty cap: trims back */
    jv_datacap *empty;
    assert_int_equal(jv_cap_data_create_empty(512 * 4096, &empty), JAVM_OK);
    assert_int_equal(jv_cap_data_place_shared(f, 0, empty), JAVM_OK);
    assert_int_equal(jv_cap_data_backing_len(f), 0);
    jv_hash32 r1, r2;
    root_of(f, &r1, NULL);
    root_of(empty, &r2, NULL);
    assert_memory_equal(r1.b, r2.b, 32);
    jv_cap_data_destroy(empty);
    jv_cap_data_destroy(f);
    jv_cap_data_destroy(inst);
    jv_cap_data_destroy(img);
    free(eff);
    free(content);
}

static void lookup_and_copy_errors(void **st) {
    (void)st;
    jv_datacap *d;
    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, 3 * 4096, &d), JAVM_OK);
    jv_cap_view v;
    assert_int_equal(jv_cap_data_page_at(d, 4095, &v), JAVM_OK);
    assert_int_equal(v.kind, JV_VIEW_BYTES);
    assert_int_equal((uintptr_t)v.bytes % 4096, 0);
    assert_int_equal(jv_cap_data_page_at(d, 4096, &v), JAVM_OK);
    assert_int_equal(v.kind, JV_VIEW_ZERO);
    assert_int_equal(jv_cap_data_page_at(d, 3 * 4096, &v), JAVM_ERR_INVALID_ARGUMENT);
    uint8_t buf[64];
    assert_int_equal(jv_cap_data_copy_into(d, 3 * 4096 - 10, buf, 11, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_cap_data_copy_into(d, UINT64_MAX, buf, 2, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_cap_data_copy_into(d, 3 * 4096, buf, 0, NULL), JAVM_OK);
    assert_int_equal(jv_cap_data_copy_into(d, 4090, buf, 12, NULL), JAVM_OK); /* straddles */
    assert_memory_equal(buf, page_p + 4090, 6);
    assert_int_equal(buf[6], 0);
    /* construction-time argument errors */
    assert_int_equal(jv_cap_data_put_page(d, 100, page_p, 1), JAVM_ERR_UNALIGNED);
    assert_int_equal(jv_cap_data_put_page(d, 3 * 4096, page_p, 1), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_cap_data_put_page(d, 0, page_p, 4097), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_cap_data_write_page(d, 3 * 4096, page_p, 1), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_cap_data_insert_overlay_page(d, 3, jv_cap_slot_empty), JAVM_ERR_INVALID_ARGUMENT);
    jv_cap_page *p;
    assert_int_equal(jv_cap_page_create(page_p, 1, &p), JAVM_OK); /* reference dropped on error */
    assert_int_equal(jv_cap_data_insert_overlay_page(d, 9, jv_cap_slot_loaded(p)), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(jv_cap_page_create(page_p, 1, &p), JAVM_OK);
    assert_int_equal(jv_cap_data_put_slot(d, 9, jv_cap_slot_loaded(p)), JAVM_ERR_INVALID_ARGUMENT);
    /* overlay replaces in place and stays sorted */
    for (int k = 2; k >= 0; k--) assert_int_equal(jv_cap_data_write_page(d, (uint64_t)k * 4096, page_p + k, 1), JAVM_OK);
    assert_int_equal(jv_cap_data_write_page(d, 4096, page_p + 9, 1), JAVM_OK);
    assert_int_equal(d->ov_len, 3);
    assert_int_equal(jv_cap_data_slot(d, 1)->u.page->bytes[0], 9);
    check(d, true);
    jv_cap_data_destroy(d);
}

/* ---- Missing pages and resolution (CAP-7) ------------------------------------------------- */
static javm_status bad_resolver(void *ctx, const jv_hash32 *h, uint8_t out[4096]) {
    (void)h;
    if (ctx) return JAVM_ERR_MISSING_PAGE;
    memset(out, 0, 4096); /* wrong bytes */
    return JAVM_OK;
}

static void missing_pages_and_resolution(void **st) {
    (void)st;
    jv_cap_store *s;
    assert_int_equal(jv_cap_store_create(&s), JAVM_OK);
    jv_cap_page *p, *u;
    assert_int_equal(jv_cap_page_create(page_p, 4096, &p), JAVM_OK);
    assert_int_equal(jv_cap_store_put(s, p), JAVM_OK);
    assert_int_equal(jv_cap_store_put(s, p), JAVM_OK); /* idempotent */
    assert_int_equal(jv_cap_store_count(s), 1);
    assert_int_equal(jv_cap_page_create_unhashed(page_p, 10, &u), JAVM_OK);
    assert_int_equal(jv_cap_store_put(s, u), JAVM_ERR_HASH_MISMATCH); /* sentinel refused */
    jv_cap_page_unref(u);
    jv_hash32 h = p->hash;
    jv_cap_page_unref(p);

    jv_datacap *d;
    assert_int_equal(jv_cap_data_create_empty(2 * 4096, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_put_slot(d, 1, jv_cap_slot_missing(&h)), JAVM_OK);
    jv_hash32 before;
    root_of(d, &before, NULL); /* allowed: the leaf is h */
    uint8_t buf[8192];
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(jv_cap_data_copy_into(d, 0, buf, sizeof buf, NULL), JAVM_ERR_MISSING_PAGE);
    assert_true(strstr(javm_last_error(), P_HASH) != NULL);
    /* the Empty page before it still reads zero; the Missing one is never zero-filled */
    assert_int_equal(jv_cap_data_copy_into(d, 0, buf, 4096, NULL), JAVM_OK);
    assert_int_equal(buf[0], 0);
    jv_cap_resolver r = jv_cap_store_resolver(s);
    assert_int_equal(jv_cap_data_copy_into(d, 4096, buf, 4096, &r), JAVM_OK);
    assert_memory_equal(buf, page_p, 4096);
    jv_cap_resolver wrong = {bad_resolver, NULL}, failing = {bad_resolver, (void *)1};
    assert_int_equal(jv_cap_data_copy_into(d, 4096, buf, 1, &wrong), JAVM_ERR_HASH_MISMATCH);
    assert_int_equal(jv_cap_data_copy_into(d, 4096, buf, 1, &failing), JAVM_ERR_MISSING_PAGE);
    /* an unknown hash */
    jv_hash32 other = h;
    other.b[0] ^= 1;
    jv_datacap *d2;
    assert_int_equal(jv_cap_data_create_empty(4096, &d2), JAVM_OK);
    assert_int_equal(jv_cap_data_put_slot(d2, 0, jv_cap_slot_missing(&other)), JAVM_OK);
    assert_int_equal(jv_cap_data_copy_into(d2, 0, buf, 1, &r), JAVM_ERR_MISSING_PAGE);
    assert_int_equal(jv_cap_data_resolve(d2, &r), JAVM_ERR_MISSING_PAGE);
    jv_cap_data_destroy(d2);
    /* flush of a Missing overlay entry: error without a resolver, resolved with one */
    jv_datacap *f;
    assert_int_equal(jv_cap_data_insert_overlay_page(d, 0, jv_cap_slot_missing(&h)), JAVM_OK);
    assert_int_equal(jv_cap_data_flush(d, NULL, &f), JAVM_ERR_MISSING_PAGE);
    assert_null(f);
    assert_int_equal(jv_cap_data_flush(d, &r, &f), JAVM_OK);
    assert_int_equal(jv_cap_data_slot(f, 0)->kind, JV_SLOT_LOADED);
    jv_cap_data_destroy(f);
    /* resolve(): Missing -> Loaded, root unchanged (substitution) */
    jv_datacap *c;
    assert_int_equal(jv_cap_data_clone(d, &c), JAVM_OK);
    assert_int_equal(jv_cap_data_resolve(c, &r), JAVM_OK);
    assert_int_equal(jv_cap_data_slot(c, 1)->kind, JV_SLOT_LOADED);
    assert_int_equal(jv_cap_data_slot(c, 0)->kind, JV_SLOT_LOADED);
    assert_int_equal(jv_cap_data_backing_slot(d, 1)->kind, JV_SLOT_MISSING); /* d untouched */
    jv_cap_data_destroy(c);
    jv_cap_data_destroy(d);
    assert_int_equal(jv_cap_data_create_empty(4096, &d), JAVM_OK);
    assert_int_equal(jv_cap_data_put_slot(d, 0, jv_cap_slot_missing(&h)), JAVM_OK);
    assert_int_equal(jv_cap_data_resolve(d, &r), JAVM_OK);
    jv_hash32 after;
    root_of(d, &after, NULL);
    jv_datacap *ref;
    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, 0, &ref), JAVM_OK);
    jv_hash32 rr;
    root_of(ref, &rr, NULL);
    assert_memory_equal(after.b, rr.b, 32);
    jv_cap_data_destroy(ref);
    jv_cap_data_destroy(d);
    jv_cap_store_destroy(s);
}

/* ---- refcount discipline under load (leak-checked by SAN=1) ------------------------------- */
static uint64_t rng_s = 88172645463325252ull;
static uint64_t rng(void) {
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return rng_s;
}

/* Random create / clone / write / put / place_shared / flush / root / drop over 24 caps of 160
 * pages, each mirrored by a plain byte array: contents must always match the mirror, flushed
 * caps must be canonical with the root of a cap built directly from the mirror, and every page
 * reference must be returned at the end (leaks: SAN=1). */
enum { SN = 24, SPAGES = 160, SBYTES = SPAGES * 4096 };
static void expect_mirror(const jv_datacap *d, const uint8_t *mirror) {
    static uint8_t got[SBYTES];
    assert_int_equal(jv_cap_data_copy_into(d, 0, got, SBYTES, NULL), JAVM_OK);
    assert_memory_equal(got, mirror, SBYTES);
}

static void thousands_of_caps(void **st) {
    (void)st;
    jv_datacap *caps[SN] = {0};
    uint8_t *mir[SN];
    for (int k = 0; k < SN; k++) mir[k] = malloc(SBYTES);
    uint8_t *base_mir = calloc(1, SBYTES);
    memcpy(base_mir, page_p, 4096);
    uint8_t buf[4096];
    jv_datacap *base;
    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, SBYTES, &base), JAVM_OK);
    const jv_cap_page *p0 = jv_cap_data_backing_slot(base, 0)->u.page;
    for (int it = 0; it < 4000; it++) {
        int k = (int)(rng() % SN);
        jv_datacap *d = caps[k];
        uint64_t pg = rng() % SPAGES;
        switch (rng() % 8) {
        case 0: jv_cap_data_destroy(d); caps[k] = NULL; break;
        case 1:
            jv_cap_data_destroy(d);
            assert_int_equal(jv_cap_data_clone(base, &caps[k]), JAVM_OK);
            memcpy(mir[k], base_mir, SBYTES);
            break;
        case 2:
            if (d) {
                jv_datacap *f;
                assert_int_equal(jv_cap_data_flush(d, NULL, &f), JAVM_OK);
                check(f, true);
                expect_mirror(f, mir[k]);
                jv_datacap *ref;
                jv_hash32 r1, r2;
                assert_int_equal(jv_cap_data_create_sized(mir[k], SBYTES, 0, &ref), JAVM_OK);
                root_of(f, &r1, NULL);
                root_of(ref, &r2, NULL);
                assert_memory_equal(r1.b, r2.b, 32);
                jv_cap_data_destroy(ref);
                jv_cap_data_destroy(d);
                caps[k] = f;
            }
            break;
        case 3:
            if (d) {
                size_t n = rng() % 4097;
                memset(buf, (int)(rng() % 3), sizeof buf);
                assert_int_equal(jv_cap_data_write_page(d, pg * 4096, buf, n), JAVM_OK);
                memset(mir[k] + pg * 4096, 0, 4096);
                memcpy(mir[k] + pg * 4096, buf, n);
            }
            break;
        case 4:
            if (d && jv_cap_data_is_clean(d)) {
                memset(buf, (int)(rng() % 3), sizeof buf);
                assert_int_equal(jv_cap_data_put_page(d, pg * 4096, buf, 4096), JAVM_OK);
                memcpy(mir[k] + pg * 4096, buf, 4096);
            }
            break;
        case 5: {
            int j = (int)(rng() % SN);
            uint64_t at = rng() % 4 ? (rng() % 3) * 64 : pg;
            if (d && caps[j] && jv_cap_data_is_clean(caps[j]) && jv_cap_data_is_clean(d)) {
                assert_int_equal(jv_cap_data_place_shared(d, at * 4096, caps[j]), JAVM_OK);
                memmove(mir[k] + at * 4096, mir[j], (SPAGES - at) * 4096);
            }
            break;
        }
        case 6:
            if (d) {
                int j = (k + 1) % SN;
                jv_datacap *c;
                assert_int_equal(jv_cap_data_clone(d, &c), JAVM_OK);
                jv_cap_data_destroy(caps[j]);
                caps[j] = c;
                memcpy(mir[j], mir[k], SBYTES);
            }
            break;
        default:
            if (d) {
                expect_mirror(d, mir[k]);
                jv_hash32 r;
                assert_int_equal(jv_cap_data_root(d, &r), jv_cap_data_is_clean(d) ? JAVM_OK : JAVM_ERR_STATE);
            }
            break;
        }
    }
    for (int k = 0; k < SN; k++) {
        if (caps[k]) expect_mirror(caps[k], mir[k]);
        jv_cap_data_destroy(caps[k]);
        free(mir[k]);
    }
    assert_int_equal(jv_cap_page_refcount(p0), 1); /* every share was returned */
    assert_int_equal(jv_cap_data_backing_refs(base), 1);
    jv_cap_data_destroy(base);
    free(base_mir);
}

/* CAP-9: clones and drops of one shared backing from two threads. */
static void *clone_drop_worker(void *arg) {
    const jv_datacap *base = arg;
    for (int i = 0; i < 20000; i++) {
        jv_datacap *c;
        if (jv_cap_data_clone(base, &c) != JAVM_OK) return (void *)1;
        jv_cap_page *p = jv_cap_page_ref(jv_cap_data_backing_slot(c, 0)->u.page);
        jv_cap_data_destroy(c);
        jv_cap_page_unref(p);
    }
    return NULL;
}

static void atomic_refcounts_across_threads(void **st) {
    (void)st;
    jv_datacap *base;
    assert_int_equal(jv_cap_data_create_sized(page_p, 4096, 0, &base), JAVM_OK);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, clone_drop_worker, base), 0);
    for (int i = 0; i < 2; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(jv_cap_data_backing_refs(base), 1);
    assert_int_equal(jv_cap_page_refcount(jv_cap_data_backing_slot(base, 0)->u.page), 1);
    jv_cap_data_destroy(base);
}

/* jv_cap_data_root_of_bytes (the `cap root` path) equals building the cap and taking its root,
 * for every thread count: zero pages inside and at the end, a partial last page (with and
 * without non-zero bytes in it), a target size past the bytes, an empty input. */
static void root_of_bytes_equals_datacap_root(void **st) {
    enum { N = 37 };
    uint8_t *buf = malloc((size_t)N * 4096);
    assert_non_null(buf);
    uint64_t x = 12345;
    for (size_t i = 0; i < (size_t)N * 4096; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        buf[i] = (uint8_t)(x >> 56);
    }
    memset(buf + 3 * 4096, 0, 4096);            /* an interior zero page */
    memset(buf + 30 * 4096, 0, 7 * 4096);       /* a zero tail */
    static const struct { size_t len; uint64_t target; } cases[] = {
        {0, 0}, {1, 0}, {4096, 0}, {4097, 0}, {5 * 4096 + 100, 0}, {30 * 4096, 0},
        {30 * 4096 + 5, 0}, {N * 4096, 0}, {N * 4096 - 1, 0}, {29 * 4096 + 17, 1 << 20},
        {4 * 4096, (uint64_t)1 << 32}, {0, 3 * 4096}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        jv_datacap *d;
        jv_hash32 want, got;
        assert_int_equal(jv_cap_data_create_sized(buf, cases[c].len, cases[c].target, &d), JAVM_OK);
        root_of(d, &want, NULL);
        jv_cap_data_destroy(d);
        for (unsigned t = 1; t <= JV_CAP_ROOT_MAX_THREADS + 1; t++) {
            assert_int_equal(jv_cap_data_root_of_bytes(buf, cases[c].len, cases[c].target, t, &got),
                             JAVM_OK);
            assert_memory_equal(got.b, want.b, 32);
        }
        assert_int_equal(jv_cap_data_root_of_bytes(buf, cases[c].len, cases[c].target, 0, &got),
                         JAVM_OK); /* 0 threads means 1 */
        assert_memory_equal(got.b, want.b, 32);
    }
    jv_hash32 h;
    assert_int_equal(jv_cap_data_root_of_bytes(buf, 4096, JV_CAP_MAX_SIZE + 1, 1, &h),
                     JAVM_ERR_INVALID_ARGUMENT);
    free(buf);
}

int main(void) {
    for (int i = 0; i < 4096; i++) page_p[i] = (uint8_t)i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(root_from_first_principles),
        cmocka_unit_test(derived_datacap_values),
        cmocka_unit_test(size_rules),
        cmocka_unit_test(zero_page_canonicalization),
        cmocka_unit_test(substitution_invariant),
        cmocka_unit_test(flush_canonical_and_idempotent),
        cmocka_unit_test(clone_is_shared_and_cow),
        cmocka_unit_test(place_shared_shares_frames),
        cmocka_unit_test(place_shared_whole_groups),
        cmocka_unit_test(lookup_and_copy_errors),
        cmocka_unit_test(missing_pages_and_resolution),
        cmocka_unit_test(thousands_of_caps),
        cmocka_unit_test(atomic_refcounts_across_threads),
        cmocka_unit_test(root_of_bytes_equals_datacap_root),
    };
    return cmocka_run_group_tests_name("cap_data", tests, NULL, NULL);
}
