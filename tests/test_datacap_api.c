/* The public DataCap API (javm.h "DataCaps"): construction from bytes and page by page, O(1)
 * clones that never see each other's changes, reads that refuse Missing pages, roots and cap
 * hashes against the derived vectors of docs/PAGESTORE.md, and the SSZ PageSlot / PageBytes
 * encodings byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "javm.h"

static uint8_t page_p[4096]; /* byte i = i mod 256 */

static void hex_of(const uint8_t h[32], char out[65]) {
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", h[i]);
}
static void assert_root(const javm_datacap *d, const char *root, const char *cap_hash) {
    uint8_t h[32];
    char x[65];
    assert_int_equal(javm_datacap_root(d, h), JAVM_OK);
    hex_of(h, x);
    assert_string_equal(x, root);
    assert_int_equal(javm_datacap_cap_hash(d, h), JAVM_OK);
    hex_of(h, x);
    assert_string_equal(x, cap_hash);
}

static int setup(void **state) {
    for (int i = 0; i < 4096; i++) page_p[i] = (uint8_t)i;
    return 0;
}

static void derived_vectors(void **state) {
    javm_datacap *d;
    assert_int_equal(javm_datacap_new(NULL, 0, 4096, &d), JAVM_OK);
    assert_int_equal(javm_datacap_size(d), 4096);
    assert_root(d, "ed5f4ed0d6617d50abd49d4c84281e175b48a7e1edf550a89bf2c9b5c4ce01f0",
                "bca79a4850d7c13977a98026c2d86dd151e9e1bdd6c3673e307c723a5f30024a");
    javm_datacap_free(d);
    assert_int_equal(javm_datacap_new(page_p, 4096, 0, &d), JAVM_OK);
    assert_root(d, "4dbbac7657adcfce02072ccd682853c0a87b2f49762a17f188964e2a73aebbb5",
                "1833a6f4afde0d3acbb71555bae15f7c158cbb4dd1dc3c989e22ca0ac3e65994");
    javm_datacap_free(d);
    /* page by page: [P, Empty] then [Empty, P] */
    assert_int_equal(javm_datacap_new(NULL, 0, 8192, &d), JAVM_OK);
    assert_int_equal(javm_datacap_put_page(d, 0, page_p, 4096), JAVM_OK);
    assert_root(d, "55896b5d8e57ab77483c5590f34142d8d5f1f06130c60a73de8507c0f92a57f3",
                "3f5504d0d743ff7f015b0608efc436101b9cc3c4949ad0fdd37856cb3d583c66");
    assert_int_equal(javm_datacap_put_page(d, 0, NULL, 0), JAVM_OK);
    assert_int_equal(javm_datacap_put_page(d, 1, page_p, 4096), JAVM_OK);
    assert_root(d, "a9951285427a8976d498b2ebe669728f20fff33ee5418772ae1e3d9a5f869acd",
                "2b39c3e3470aad5851c0637e3a2014e653b84091a90ca489e5579cdc9bfd389f");
    assert_int_equal(javm_datacap_put_page(d, 2, page_p, 1), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_datacap_put_page(d, 0, page_p, 4097), JAVM_ERR_INVALID_ARGUMENT);
    javm_datacap_free(d);
    /* from bytes: P, zeros, "hello" (the content's zero tail makes the last page) */
    uint8_t buf[3 * 4096] = {0};
    memcpy(buf, page_p, 4096);
    memcpy(buf + 8192, "hello", 5);
    assert_int_equal(javm_datacap_new(buf, 8192 + 5, 0, &d), JAVM_OK);
    assert_int_equal(javm_datacap_size(d), 12288);
    assert_root(d, "a6dbf6c2869f7dc2e76c48d4758811435b0561a73252cf991869182cedce624b",
                "390d096f9cd80cb15a6b4cf04bd44f0f6522d683ec2cecfd0bd7aeaf6fc44f5b");
    uint8_t back[3 * 4096];
    assert_int_equal(javm_datacap_read(d, 0, back, sizeof back), JAVM_OK);
    assert_memory_equal(back, buf, sizeof buf);
    assert_int_equal(javm_datacap_read(d, 12288 - 10, back, 11), JAVM_ERR_INVALID_ARGUMENT);
    javm_datacap_free(d);
}

static void clones_are_independent(void **state) {
    javm_datacap *a, *b;
    assert_int_equal(javm_datacap_new(page_p, 4096, 8192, &a), JAVM_OK);
    assert_int_equal(javm_datacap_clone(a, &b), JAVM_OK);
    assert_int_equal(javm_datacap_put_page(b, 1, page_p, 4096), JAVM_OK);
    uint8_t x[4096];
    assert_int_equal(javm_datacap_read(a, 4096, x, 4096), JAVM_OK);
    uint8_t zero[4096] = {0};
    assert_memory_equal(x, zero, 4096);
    assert_int_equal(javm_datacap_read(b, 4096, x, 4096), JAVM_OK);
    assert_memory_equal(x, page_p, 4096);
    javm_datacap_free(a); /* b keeps its pages */
    assert_int_equal(javm_datacap_read(b, 0, x, 4096), JAVM_OK);
    assert_memory_equal(x, page_p, 4096);
    /* b's identity is that of the same bytes built afresh */
    uint8_t two[8192];
    memcpy(two, page_p, 4096);
    memcpy(two + 4096, page_p, 4096);
    javm_datacap *c;
    assert_int_equal(javm_datacap_new(two, sizeof two, 0, &c), JAVM_OK);
    uint8_t rb[32], rc[32];
    assert_int_equal(javm_datacap_root(b, rb), JAVM_OK);
    assert_int_equal(javm_datacap_root(c, rc), JAVM_OK);
    assert_memory_equal(rb, rc, 32);
    javm_datacap_free(b);
    javm_datacap_free(c);
}

static void ssz_encodings(void **state) {
    /* PageBytes of P: hash, offset 36, the bytes */
    static uint8_t pb[JAVM_PAGEBYTES_SSZ_SIZE];
    assert_int_equal(javm_pagebytes_encode(page_p, 4096, pb), JAVM_OK);
    char x[65];
    hex_of(pb, x);
    assert_string_equal(x, "02f1d52bff14b6db28a9d18bb303bcab642420c3bf0bd8d5b18e976683dd402e");
    assert_memory_equal(pb + 32, "\x24\0\0\0", 4);
    assert_memory_equal(pb + 36, page_p, 4096);
    uint8_t content[4096], hash[32];
    assert_int_equal(javm_pagebytes_decode(pb, sizeof pb, content, hash), JAVM_OK);
    assert_memory_equal(content, page_p, 4096);
    pb[100] ^= 1; /* the stated hash no longer matches */
    assert_int_equal(javm_pagebytes_decode(pb, sizeof pb, content, hash), JAVM_ERR_HASH_MISMATCH);
    pb[100] ^= 1;
    assert_int_equal(javm_pagebytes_decode(pb, sizeof pb - 1, content, hash), JAVM_ERR_BAD_SSZ);

    /* PageSlots of a cap [P, Empty]: Loaded = 01 ‖ PageBytes, Empty = 00 */
    javm_datacap *d;
    assert_int_equal(javm_datacap_new(page_p, 4096, 8192, &d), JAVM_OK);
    static uint8_t slot[JAVM_PAGESLOT_SSZ_MAX];
    size_t n;
    assert_int_equal(javm_datacap_page_encode(d, 0, slot, sizeof slot, &n), JAVM_OK);
    assert_int_equal(n, 4133);
    assert_int_equal(slot[0], 1);
    assert_memory_equal(slot + 1, pb, sizeof pb);
    assert_int_equal(javm_datacap_page_encode(d, 1, slot, 1, &n), JAVM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(slot[0], 0);
    assert_int_equal(javm_datacap_page_encode(d, 0, slot, 100, &n), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_datacap_page_encode(d, 2, slot, sizeof slot, &n),
                     JAVM_ERR_INVALID_ARGUMENT);

    /* Decoding Loaded(P) into page 1 gives [P, P]; a Missing(Z[1]) slot keeps the root of the
     * substituted page but is never read as zeros */
    assert_int_equal(javm_datacap_page_encode(d, 0, slot, sizeof slot, &n), JAVM_OK);
    assert_int_equal(javm_datacap_page_decode(d, 1, slot, n, 0), JAVM_OK);
    uint8_t r_loaded[32], r_missing[32];
    assert_int_equal(javm_datacap_root(d, r_loaded), JAVM_OK);
    uint8_t missing[33] = {2};
    memcpy(missing + 1, pb, 32); /* Missing(hash of P) */
    assert_int_equal(javm_datacap_page_decode(d, 1, missing, sizeof missing, 0), JAVM_OK);
    assert_int_equal(javm_datacap_root(d, r_missing), JAVM_OK);
    assert_memory_equal(r_loaded, r_missing, 32); /* substitution invariant */
    uint8_t buf[8];
    assert_int_equal(javm_datacap_read(d, 4096 + 8, buf, 8), JAVM_ERR_MISSING_PAGE);
    assert_int_equal(javm_datacap_read(d, 0, buf, 8), JAVM_OK); /* page 0 is still there */
    assert_int_equal(javm_datacap_page_encode(d, 1, slot, sizeof slot, &n), JAVM_OK);
    assert_int_equal(n, 33);
    assert_memory_equal(slot, missing, 33);
    /* malformed slots are refused and change nothing */
    uint8_t bad_sel[1] = {3}, bad_empty[2] = {0, 0};
    assert_int_equal(javm_datacap_page_decode(d, 0, bad_sel, 1, 0), JAVM_ERR_BAD_SSZ);
    assert_int_equal(javm_datacap_page_decode(d, 0, bad_empty, 2, 0), JAVM_ERR_BAD_SSZ);
    assert_int_equal(javm_datacap_page_decode(d, 0, missing, 32, 0), JAVM_ERR_BAD_SSZ);
    assert_int_equal(javm_datacap_read(d, 0, buf, 8), JAVM_OK);
    assert_memory_equal(buf, page_p, 8);
    /* an all-zero Loaded page is stored as Empty (canonical): same root as an Empty slot */
    static uint8_t zpage[JAVM_PAGEBYTES_SSZ_SIZE + 1];
    zpage[0] = 1;
    assert_int_equal(javm_pagebytes_encode(NULL, 0, zpage + 1), JAVM_OK);
    assert_int_equal(javm_datacap_page_decode(d, 1, zpage, sizeof zpage, 0), JAVM_OK);
    assert_int_equal(javm_datacap_root(d, r_loaded), JAVM_OK);
    hex_of(r_loaded, x);
    assert_string_equal(x, "55896b5d8e57ab77483c5590f34142d8d5f1f06130c60a73de8507c0f92a57f3");
    javm_datacap_free(d);
}

static void bad_arguments(void **state) {
    javm_datacap *d = NULL;
    assert_int_equal(javm_datacap_new(NULL, 5, 0, &d), JAVM_ERR_INVALID_ARGUMENT);
    assert_null(d);
    assert_int_equal(javm_datacap_new(NULL, 0, 1ull << 50, &d), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_datacap_new(NULL, 0, 0, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_datacap_clone(NULL, &d), JAVM_ERR_INVALID_ARGUMENT);
    uint8_t h[32];
    assert_int_equal(javm_datacap_root(NULL, h), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_datacap_size(NULL), 0);
    javm_datacap_free(NULL);
    assert_int_equal(javm_datacap_new(NULL, 0, 1, &d), JAVM_OK); /* rounded up to a page */
    assert_int_equal(javm_datacap_size(d), 4096);
    assert_int_equal(javm_datacap_read(d, 4097, h, 0), JAVM_ERR_INVALID_ARGUMENT);
    javm_datacap_free(d);
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(derived_vectors),
        cmocka_unit_test(clones_are_independent),
        cmocka_unit_test(ssz_encodings),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(t, setup, NULL);
}
