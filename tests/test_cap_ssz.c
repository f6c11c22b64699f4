/* cap layer: SHA-256 backends, the SSZ toolkit and the PageSlot / PageBytes encodings, against
 * every worked value of docs/PAGESTORE.md (§4, §6, §9, §10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "cap/cap.h"

static const char *const ZHEX[9] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b",
    "db56114e00fdd4c1f85c892bf35ac9a89289aaecb1ebd0a96cde606a748b5d71",
    "c78009fdf07fc56a11f122370658a353aaa542ed63e44c4bc15ff4cd105ab33c",
    "536d98837f2dd165a55d5eeae91485954472d56f246df256bf3cae19352a123c",
    "9efde052aa15429fae05bad4d0b1d7c64da64d03d7a1854a588c2cb8430c0d30",
    "d88ddfeed400a8755596b21942c1497e114c302e6118290f91e6772976041fa1",
    "87eb0ddba57e35f6d286673802a4af5975e22506c7cf4c64bb6be5ee11527f2c",
    "26846476fd5fc54a5d43385167c95144f2643f533cc85bb9d16b782f8d7db193",
};
#define P_HASH "02f1d52bff14b6db28a9d18bb303bcab642420c3bf0bd8d5b18e976683dd402e"
#define HELLO_PAGE_HASH "c586e42b289729e1b2b732a06a085910c0b19378b66b8dc1bde2cf86b87572a6"

static void assert_hash(const jv_hash32 *h, const char *hex) {
    char got[65];
    jv_cap_hash_hex(h, got);
    assert_string_equal(got, hex);
}

static uint8_t page_p[4096]; /* byte i = i mod 256 */

static void ref_sha256(const void *m, size_t n, uint8_t out[32]) {
    unsigned len = 32;
    assert_int_equal(EVP_Digest(m, n, out, &len, EVP_sha256(), NULL), 1);
}

static const jv_sha_backend backends[3] = {JV_SHA_OPENSSL, JV_SHA_SHANI, JV_SHA_AVX512};
static bool backend_usable(jv_sha_backend b) { return jv_cap_sha256_set_backend(b) == JAVM_OK; }

static void zero_hashes(void **st) {
    (void)st;
    for (unsigned d = 0; d <= 8; d++) assert_hash(jv_cap_zero_hash(d), ZHEX[d]);
}

/* Both backends agree with an independent SHA-256 on many 64-byte messages, in every batch
 * size and with out aliasing in. */
static void sha_backends_match_reference(void **st) {
    (void)st;
    uint8_t in[64 * 40], out[32 * 40], want[32];
    for (int b = 0; b < 3; b++) {
        if (!backend_usable(backends[b])) continue;
        for (size_t n = 1; n <= 40; n++) {
            for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)(i * 131 + n * 7 + b);
            jv_cap_sha256_pairs(in, n, out);
            for (size_t k = 0; k < n; k++) {
                ref_sha256(in + 64 * k, 64, want);
                assert_memory_equal(out + 32 * k, want, 32);
            }
            uint8_t alias[64 * 40];
            memcpy(alias, in, sizeof alias);
            jv_cap_sha256_pairs(alias, n, alias);
            assert_memory_equal(alias, out, 32 * n);
        }
    }
    jv_cap_sha256_set_backend(JV_SHA_AUTO);
    jv_hash32 h;
    jv_cap_sha256(page_p, 4096, &h);
    assert_hash(&h, "c8f5d0341d54d951a71b136e6e2afcb14d11ed8489a7ae126a8fee0df6ecf193");
}

static void page_hash_worked_values(void **st) {
    (void)st;
    for (int b = 0; b < 3; b++) {
        if (!backend_usable(backends[b])) continue;
        jv_hash32 h;
        uint8_t zero[4096] = {0};
        jv_cap_page_hash(zero, 4096, &h);
        assert_hash(&h, ZHEX[7]);
        jv_cap_page_hash(zero, 0, &h);
        assert_hash(&h, ZHEX[7]);
        jv_cap_page_hash(page_p, 4096, &h);
        assert_hash(&h, P_HASH);
        jv_cap_page_hash((const uint8_t *)"hello", 5, &h); /* zero-padded */
        assert_hash(&h, HELLO_PAGE_HASH);
        uint8_t hello[4096] = {'h', 'e', 'l', 'l', 'o'};
        jv_cap_page_hash(hello, 4096, &h);
        assert_hash(&h, HELLO_PAGE_HASH);
        /* the page hash equals hash_tree_root(ByteVector[4096]) */
        assert_int_equal(jv_ssz_htr_bytevector(page_p, 4096, &h), JAVM_OK);
        assert_hash(&h, P_HASH);
    }
    jv_cap_sha256_set_backend(JV_SHA_AUTO);
}

/* Independent naive page root (recursive, one EVP digest per node) over random pages with zero
 * runs of every aligned size: checks the zero-subtree short cut and both backends. */
static void naive_root(const uint8_t *chunks, size_t n, uint8_t out[32]) {
    if (n == 1) {
        memcpy(out, chunks, 32);
        return;
    }
    uint8_t two[64];
    naive_root(chunks, n / 2, two);
    naive_root(chunks + 32 * (n / 2), n / 2, two + 32);
    ref_sha256(two, 64, out);
}

static void page_hash_matches_naive(void **st) {
    (void)st;
    uint64_t x = 12345;
    uint8_t pg[4096], want[32];
    for (int round = 0; round < 60; round++) {
        for (int i = 0; i < 4096; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            pg[i] = (uint8_t)(x >> 33);
        }
        /* zero an aligned run of 2^k chunks, and sometimes a single byte-level tail */
        int k = round % 8, start = (int)((x >> 20) % (128 >> k)) << k;
        memset(pg + 32 * start, 0, (size_t)32 << k);
        if (round % 3 == 0) memset(pg + 2048, 0, 2048);
        naive_root(pg, 128, want);
        for (int b = 0; b < 3; b++) {
            if (!backend_usable(backends[b])) continue;
            jv_hash32 h;
            jv_cap_page_hash(pg, 4096, &h);
            assert_memory_equal(h.b, want, 32);
        }
    }
    jv_cap_sha256_set_backend(JV_SHA_AUTO);
}

static void htr_worked_values(void **st) {
    (void)st;
    jv_hash32 h;
    uint8_t zero[4096] = {0}, ff[33];
    memset(ff, 0xff, sizeof ff);
    assert_int_equal(jv_ssz_htr_bytelist(NULL, 0, 4096, &h), JAVM_OK);
    assert_hash(&h, "96559674a79656e540871e1f39c9b91e152aa8cddb71493e754827c4cc809d57");
    assert_int_equal(jv_ssz_htr_bytevector(zero, 4096, &h), JAVM_OK);
    assert_hash(&h, ZHEX[7]);
    assert_int_equal(jv_ssz_htr_bytelist(zero, 4096, 4096, &h), JAVM_OK);
    assert_hash(&h, "cafb669a7aa784adfc55e4e86571fced4f70bc15ff14fceff12f2bab64c321eb");
    assert_int_equal(jv_ssz_htr_bytelist(page_p, 4096, 4096, &h), JAVM_OK);
    assert_hash(&h, "9653d5157201b7e3caca09a71277fc19c6b003d57c1ce3c78a53b81d1836faa0");
    jv_hash32 hello;
    assert_int_equal(jv_ssz_htr_bytelist((const uint8_t *)"hello", 5, 4096, &hello), JAVM_OK);
    assert_hash(&hello, "b040779b542428044faf4d5dea7c582c5af3b10e98c5fad94f3eb54c042e6d48");
    assert_int_equal(jv_ssz_htr_bytelist(ff, 33, 4096, &h), JAVM_OK);
    assert_hash(&h, "783660e4ab4f78c3ff4d1ee97891f8592be118c3992c28be79f1e9bf2a38afe1");
    jv_ssz_htr_uint(0x0102030405060708ull, &h);
    assert_hash(&h, "0807060504030201000000000000000000000000000000000000000000000000");
    uint64_t vals[3] = {1, 2, 3};
    assert_int_equal(jv_ssz_htr_uint_list(vals, 3, 8, 8, &h), JAVM_OK);
    assert_hash(&h, "7e0adeccea8b17f07c3d1531a414d0b1f25543d5ddd519604ce30d5af83b1859");
    /* Container{index: uint64 = 7, data: ByteList[4096] = "hello", flags: uint8 = 1} */
    uint8_t fields[3 * 32];
    jv_ssz_htr_uint(7, (jv_hash32 *)fields);
    memcpy(fields + 32, hello.b, 32);
    jv_ssz_htr_uint(1, (jv_hash32 *)(fields + 64));
    assert_int_equal(jv_ssz_merkleize(fields, 3, 3, &h), JAVM_OK);
    assert_hash(&h, "b597bb55b54ebcda6f19d952793924f8529700da83a8eb4f5371e404b75a4093");
    /* Union[None, ByteVector[4096], ByteList[4096]] */
    jv_hash32 z0 = {{0}}, r;
    jv_ssz_mix_in_selector(&z0, 0, &h);
    assert_hash(&h, "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b");
    assert_int_equal(jv_ssz_htr_bytevector(zero, 4096, &r), JAVM_OK);
    jv_ssz_mix_in_selector(&r, 1, &h);
    assert_hash(&h, "c9f59f09b94638577b0693f337c20cc60b3a7a8b2c1a15287b21b6c9ca8b9d62");
    jv_ssz_mix_in_selector(&hello, 2, &h);
    assert_hash(&h, "059679c9351e6c3e257e92ab823b15e0a7afd1d78c361d5ed12098f5ea036f7f");
}

static void merkleize_rules(void **st) {
    (void)st;
    jv_hash32 h;
    uint8_t c[5 * 32];
    for (int i = 0; i < 5 * 32; i++) c[i] = (uint8_t)(i + 1);
    /* no chunks -> Z[depth]; limit 0 and 1 -> depth 0 */
    assert_int_equal(jv_ssz_merkleize(NULL, 0, 0, &h), JAVM_OK);
    assert_hash(&h, ZHEX[0]);
    assert_int_equal(jv_ssz_merkleize(NULL, 0, 256, &h), JAVM_OK);
    assert_hash(&h, ZHEX[8]);
    assert_int_equal(jv_ssz_merkleize(c, 1, 1, &h), JAVM_OK);
    assert_memory_equal(h.b, c, 32);
    /* n > limit is an error */
    assert_int_equal(jv_ssz_merkleize(c, 5, 4, &h), JAVM_ERR_INVALID_ARGUMENT);
    /* 5 chunks, limit 8: independent reduction with Z padding */
    uint8_t l1[4 * 32], l2[2 * 32], want[32], two[64];
    for (int i = 0; i < 2; i++) ref_sha256(c + 64 * i, 64, l1 + 32 * i);
    memcpy(two, c + 128, 32);
    memset(two + 32, 0, 32);
    ref_sha256(two, 64, l1 + 64);
    ref_sha256(l1, 64, l2);
    jv_hash32 z1;
    jv_cap_hash_from_hex(ZHEX[1], &z1);
    memcpy(two, l1 + 64, 32);
    memcpy(two + 32, z1.b, 32);
    ref_sha256(two, 64, l2 + 32);
    ref_sha256(l2, 64, want);
    assert_int_equal(jv_ssz_merkleize(c, 5, 8, &h), JAVM_OK);
    assert_memory_equal(h.b, want, 32);
    /* limit 16 adds one more level against Z[3] */
    jv_hash32 z3, top = {{0}}, r16;
    memcpy(top.b, want, 32);
    jv_cap_hash_from_hex(ZHEX[3], &z3);
    jv_cap_sha256_pair(&top, &z3, &r16);
    assert_int_equal(jv_ssz_merkleize(c, 5, 16, &h), JAVM_OK);
    assert_memory_equal(h.b, r16.b, 32);
    /* mix_in_length uses 32 LE bytes */
    jv_hash32 ml;
    jv_ssz_mix_in_length(&top, 0x0102, &ml);
    memcpy(two, want, 32);
    memset(two + 32, 0, 32);
    two[32] = 0x02;
    two[33] = 0x01;
    ref_sha256(two, 64, want);
    assert_memory_equal(ml.b, want, 32);
}

static const jv_ssz_field ex_fields[3] = {{"index", 8}, {"data", 0}, {"flags", 1}};
static const uint8_t ex_enc[18] = {7, 0, 0, 0, 0, 0, 0, 0, 0x0d, 0, 0, 0, 1, 'h', 'e', 'l', 'l', 'o'};
static const jv_ssz_field ex2_fields[3] = {{"a", 0}, {"b", 2}, {"c", 0}};
static const uint8_t ex2_enc[15] = {0x0a, 0, 0, 0, 0x34, 0x12, 0x0c, 0, 0, 0, 0xaa, 0xbb, 0xcc};

static void container_serialization(void **st) {
    (void)st;
    uint8_t idx[8] = {7}, flags = 1;
    jv_ssz_span v[3] = {{idx, 8}, {(const uint8_t *)"hello", 5}, {&flags, 1}};
    jv_ssz_buf b = {0};
    assert_int_equal(jv_ssz_container_encode(&b, ex_fields, 3, v), JAVM_OK);
    assert_int_equal(b.len, 18);
    assert_memory_equal(b.p, ex_enc, 18);
    jv_ssz_span f[3];
    jv_ssz_span s = {ex_enc, 18};
    assert_int_equal(jv_ssz_container_split(s, ex_fields, 3, f, "ex"), JAVM_OK);
    uint64_t x;
    assert_int_equal(jv_ssz_get_uint(f[0], 8, &x, "index"), JAVM_OK);
    assert_int_equal(x, 7);
    assert_int_equal(f[1].len, 5);
    assert_memory_equal(f[1].p, "hello", 5);
    assert_int_equal(jv_ssz_check_bytelist(f[1], 4096, "data"), JAVM_OK);
    bool fl;
    assert_int_equal(jv_ssz_get_bool(f[2], &fl, "flags"), JAVM_OK);
    assert_true(fl);
    jv_ssz_buf_fini(&b);

    uint8_t bb[2] = {0x34, 0x12};
    jv_ssz_span v2[3] = {{(const uint8_t *)"\xaa\xbb", 2}, {bb, 2}, {(const uint8_t *)"\xcc", 1}};
    assert_int_equal(jv_ssz_container_encode(&b, ex2_fields, 3, v2), JAVM_OK);
    assert_int_equal(b.len, 13);
    assert_memory_equal(b.p, ex2_enc, 13);
    s.p = ex2_enc;
    s.len = 13;
    assert_int_equal(jv_ssz_container_split(s, ex2_fields, 3, f, "ex2"), JAVM_OK);
    assert_int_equal(f[0].len, 2);
    assert_int_equal(f[2].len, 1);
    assert_int_equal(f[2].p[0], 0xcc);
    assert_int_equal(jv_ssz_get_uint(f[1], 2, &x, "b"), JAVM_OK);
    assert_int_equal(x, 0x1234);
    jv_ssz_buf_fini(&b);
    /* a fixed field of the wrong size cannot be encoded */
    v2[1].len = 1;
    assert_int_equal(jv_ssz_container_encode(&b, ex2_fields, 3, v2), JAVM_ERR_INVALID_ARGUMENT);
    jv_ssz_buf_fini(&b);
}

static void container_malformed(void **st) {
    (void)st;
    uint8_t e[18];
    jv_ssz_span f[3], s = {e, 18};
    /* too short for the fixed part */
    memcpy(e, ex_enc, 18);
    s.len = 12;
    assert_int_equal(jv_ssz_container_split(s, ex_fields, 3, f, "ex"), JAVM_ERR_BAD_SSZ);
    s.len = 18;
    /* first offset not the fixed-part length (too small, too large) */
    e[8] = 0x0c;
    assert_int_equal(jv_ssz_container_split(s, ex_fields, 3, f, "ex"), JAVM_ERR_BAD_SSZ);
    e[8] = 0x0e;
    assert_int_equal(jv_ssz_container_split(s, ex_fields, 3, f, "ex"), JAVM_ERR_BAD_SSZ);
    /* offset past the end */
    e[8] = 0x13;
    assert_int_equal(jv_ssz_container_split(s, ex_fields, 3, f, "ex"), JAVM_ERR_BAD_SSZ);
    e[8] = 0x0d;
    e[11] = 0x01; /* huge */
    assert_int_equal(jv_ssz_container_split(s, ex_fields, 3, f, "ex"), JAVM_ERR_BAD_SSZ);
    /* two variable fields with decreasing offsets */
    uint8_t e2[13];
    memcpy(e2, ex2_enc, 13);
    e2[6] = 0x09;
    jv_ssz_span s2 = {e2, 13};
    assert_int_equal(jv_ssz_container_split(s2, ex2_fields, 3, f, "ex2"), JAVM_ERR_BAD_SSZ);
    e2[6] = 0x0e;
    assert_int_equal(jv_ssz_container_split(s2, ex2_fields, 3, f, "ex2"), JAVM_ERR_BAD_SSZ);
    /* fixed-size container with trailing bytes */
    static const jv_ssz_field fx[2] = {{"x", 4}, {"y", 2}};
    uint8_t e3[7] = {0};
    jv_ssz_span s3 = {e3, 7};
    assert_int_equal(jv_ssz_container_split(s3, fx, 2, f, "fx"), JAVM_ERR_BAD_SSZ);
    s3.len = 6;
    assert_int_equal(jv_ssz_container_split(s3, fx, 2, f, "fx"), JAVM_OK);
    /* ByteList over its limit, basic values of the wrong width, booleans > 1 */
    jv_ssz_span big = {ex_enc, 18};
    assert_int_equal(jv_ssz_check_bytelist(big, 17, "l"), JAVM_ERR_BAD_SSZ);
    assert_int_equal(jv_ssz_check_bytevector(big, 17, "v"), JAVM_ERR_BAD_SSZ);
    uint64_t x;
    jv_ssz_span three = {ex_enc, 3};
    assert_int_equal(jv_ssz_get_uint(three, 4, &x, "u"), JAVM_ERR_BAD_SSZ);
    uint8_t two = 2;
    bool bo;
    jv_ssz_span sb = {&two, 1};
    assert_int_equal(jv_ssz_get_bool(sb, &bo, "b"), JAVM_ERR_BAD_SSZ);
    assert_true(strstr(javm_last_error(), "0x02") != NULL);
}

static void unions_and_lists(void **st) {
    (void)st;
    unsigned sel;
    jv_ssz_span body;
    uint8_t none = 0;
    jv_ssz_span s = {&none, 1};
    assert_int_equal(jv_ssz_union_split(s, 3, true, &sel, &body, "u"), JAVM_OK);
    assert_int_equal(sel, 0);
    assert_int_equal(body.len, 0);
    const uint8_t opt2[6] = {2, 'h', 'e', 'l', 'l', 'o'};
    s.p = opt2;
    s.len = 6;
    assert_int_equal(jv_ssz_union_split(s, 3, true, &sel, &body, "u"), JAVM_OK);
    assert_int_equal(sel, 2);
    assert_memory_equal(body.p, "hello", 5);
    /* malformed unions */
    s.len = 0;
    assert_int_equal(jv_ssz_union_split(s, 3, true, &sel, &body, "u"), JAVM_ERR_BAD_SSZ);
    uint8_t bad[2] = {3, 0};
    s.p = bad;
    s.len = 1;
    assert_int_equal(jv_ssz_union_split(s, 3, true, &sel, &body, "u"), JAVM_ERR_BAD_SSZ);
    bad[0] = 128;
    assert_int_equal(jv_ssz_union_split(s, 200, false, &sel, &body, "u"), JAVM_ERR_BAD_SSZ);
    assert_true(strstr(javm_last_error(), "reserved") != NULL);
    bad[0] = 0;
    s.len = 2;
    assert_int_equal(jv_ssz_union_split(s, 3, true, &sel, &body, "u"), JAVM_ERR_BAD_SSZ);
    /* lists of fixed-size elements */
    size_t n;
    uint8_t l[24] = {0};
    jv_ssz_span ls = {l, 24};
    assert_int_equal(jv_ssz_fixed_list_count(ls, 8, 3, &n, "l"), JAVM_OK);
    assert_int_equal(n, 3);
    assert_int_equal(jv_ssz_fixed_list_count(ls, 8, 2, &n, "l"), JAVM_ERR_BAD_SSZ);
    ls.len = 23;
    assert_int_equal(jv_ssz_fixed_list_count(ls, 8, 3, &n, "l"), JAVM_ERR_BAD_SSZ);
    /* lists of variable-size elements: ["ab", "", "c"] */
    const uint8_t vl[15] = {12, 0, 0, 0, 14, 0, 0, 0, 14, 0, 0, 0, 'a', 'b', 'c'};
    jv_ssz_span e[4];
    jv_ssz_span vs = {vl, 15};
    assert_int_equal(jv_ssz_var_list_split(vs, 4, e, 4, &n, "vl"), JAVM_OK);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].len, 2);
    assert_int_equal(e[1].len, 0);
    assert_int_equal(e[2].len, 1);
    assert_int_equal(e[2].p[0], 'c');
    assert_int_equal(jv_ssz_var_list_split(vs, 2, e, 4, &n, "vl"), JAVM_ERR_BAD_SSZ); /* limit */
    uint8_t m[15];
    memcpy(m, vl, 15);
    m[0] = 13; /* not a multiple of 4 */
    vs.p = m;
    assert_int_equal(jv_ssz_var_list_split(vs, 4, e, 4, &n, "vl"), JAVM_ERR_BAD_SSZ);
    m[0] = 12;
    m[4] = 11; /* below the previous */
    assert_int_equal(jv_ssz_var_list_split(vs, 4, e, 4, &n, "vl"), JAVM_ERR_BAD_SSZ);
    m[4] = 16; /* past the end */
    assert_int_equal(jv_ssz_var_list_split(vs, 4, e, 4, &n, "vl"), JAVM_ERR_BAD_SSZ);
    m[4] = 14;
    m[0] = 40; /* first offset past the end */
    assert_int_equal(jv_ssz_var_list_split(vs, 20, e, 20, &n, "vl"), JAVM_ERR_BAD_SSZ);
    vs.len = 3;
    assert_int_equal(jv_ssz_var_list_split(vs, 4, e, 4, &n, "vl"), JAVM_ERR_BAD_SSZ);
    vs.len = 0;
    assert_int_equal(jv_ssz_var_list_split(vs, 4, e, 4, &n, "vl"), JAVM_OK);
    assert_int_equal(n, 0);
}

/* PAGESTORE §6: byte-exact PageSlot / PageBytes encodings and strict decoding. */
static void pageslot_encodings(void **st) {
    (void)st;
    jv_ssz_buf b = {0};
    jv_cap_slot e = jv_cap_slot_empty;
    jv_cap_slot_encode(&b, &e);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.p[0], 0);
    jv_ssz_buf_fini(&b);

    jv_hash32 z1;
    jv_cap_hash_from_hex(ZHEX[1], &z1);
    jv_cap_slot m = jv_cap_slot_missing(&z1);
    jv_cap_slot_encode(&b, &m);
    assert_int_equal(b.len, 33);
    assert_int_equal(b.p[0], 2);
    assert_memory_equal(b.p + 1, z1.b, 32);
    jv_cap_slot d;
    jv_ssz_span s = {b.p, b.len};
    assert_int_equal(jv_cap_slot_decode(s, 0, &d), JAVM_OK);
    assert_int_equal(d.kind, JV_SLOT_MISSING);
    assert_memory_equal(d.u.hash.b, z1.b, 32);
    jv_ssz_buf_fini(&b);

    jv_cap_page *p;
    assert_int_equal(jv_cap_page_create(page_p, 4096, &p), JAVM_OK);
    jv_cap_slot l = jv_cap_slot_loaded(p);
    jv_cap_slot_encode(&b, &l);
    assert_int_equal(b.len, 4133);
    assert_int_equal(b.p[0], 1);
    jv_hash32 ph;
    jv_cap_hash_from_hex(P_HASH, &ph);
    assert_memory_equal(b.p + 1, ph.b, 32);
    assert_memory_equal(b.p + 33, "\x24\x00\x00\x00", 4);
    assert_memory_equal(b.p + 37, page_p, 4096);
    s.p = b.p;
    s.len = b.len;
    assert_int_equal(jv_cap_slot_decode(s, 0, &d), JAVM_OK);
    assert_int_equal(d.kind, JV_SLOT_LOADED);
    assert_true(d.u.page != p);
    assert_int_equal((uintptr_t)d.u.page->bytes % 4096, 0); /* CAP-1 */
    assert_memory_equal(d.u.page->bytes, page_p, 4096);
    /* CAP-5: substitution */
    jv_hash32 r1, r2;
    jv_cap_slot mp = jv_cap_slot_missing(&p->hash);
    jv_cap_slot_root(&l, &r1);
    jv_cap_slot_root(&mp, &r2);
    assert_memory_equal(r1.b, r2.b, 32);
    assert_memory_equal(r1.b, ph.b, 32);
    jv_cap_slot_root(&e, &r1);
    assert_hash(&r1, ZHEX[0]);
    jv_cap_slot_release(&d);
    /* PageBytes alone */
    jv_ssz_buf pb = {0};
    jv_cap_pagebytes_encode(&pb, p);
    assert_int_equal(pb.len, 4132);
    jv_cap_page *q;
    jv_ssz_span ps = {pb.p, pb.len};
    assert_int_equal(jv_cap_pagebytes_decode(ps, 0, &q), JAVM_OK);
    assert_memory_equal(q->hash.b, ph.b, 32);
    jv_cap_page_unref(q);
    jv_ssz_buf_fini(&pb);
    jv_cap_slot_release(&l);

    /* malformed encodings */
    uint8_t *enc = b.p;
    struct {
        size_t off;
        uint8_t val;
        size_t len;
        javm_status want;
    } cases[] = {
        {0, 3, 4133, JAVM_ERR_BAD_SSZ},          /* unknown selector */
        {0, 0xff, 4133, JAVM_ERR_BAD_SSZ},       /* reserved selector */
        {0, 0, 2, JAVM_ERR_BAD_SSZ},             /* Empty with a trailing byte */
        {0, 0, 4133, JAVM_ERR_BAD_SSZ},          /* Empty with a page behind it */
        {0, 2, 32, JAVM_ERR_BAD_SSZ},            /* Missing one byte short */
        {0, 2, 34, JAVM_ERR_BAD_SSZ},            /* Missing one byte long */
        {0, 1, 36, JAVM_ERR_BAD_SSZ},            /* Loaded shorter than the fixed part */
        {33, 0x23, 4133, JAVM_ERR_BAD_SSZ},      /* offset 35 */
        {33, 0x25, 4133, JAVM_ERR_BAD_SSZ},      /* offset 37 */
        {36, 0x01, 4133, JAVM_ERR_BAD_SSZ},      /* offset high byte set */
        {0, 1, 4132, JAVM_ERR_BAD_SSZ},          /* payload 4095 bytes */
        {0, 1, 37, JAVM_ERR_BAD_SSZ},            /* payload empty */
        {100, 0x55, 4133, JAVM_ERR_HASH_MISMATCH}, /* content changed */
        {5, 0x55, 4133, JAVM_ERR_HASH_MISMATCH},   /* hash changed */
    };
    uint8_t *buf = malloc(4200);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(buf, enc, 4133);
        memset(buf + 4133, 0, 4200 - 4133);
        buf[cases[i].off] = cases[i].val;
        jv_ssz_span cs = {buf, cases[i].len};
        d = jv_cap_slot_empty;
        javm_status got = jv_cap_slot_decode(cs, 0, &d);
        if (got != cases[i].want) fail_msg("case %zu: got %d (%s)", i, got, javm_last_error());
        assert_int_equal(d.kind, JV_SLOT_EMPTY);
        assert_true(javm_last_error()[0] != 0);
    }
    /* payload 4097 bytes */
    memcpy(buf, enc, 4133);
    buf[4133] = 0;
    jv_ssz_span longer = {buf, 4134};
    assert_int_equal(jv_cap_slot_decode(longer, 0, &d), JAVM_ERR_BAD_SSZ);
    assert_true(strstr(javm_last_error(), "4097") != NULL);
    jv_ssz_span none = {buf, 0};
    assert_int_equal(jv_cap_slot_decode(none, 0, &d), JAVM_ERR_BAD_SSZ);
    /* trusted input skips the hash check (e.g. the sentinel of an unhashed page) */
    memcpy(buf, enc, 4133);
    memset(buf + 1, 0, 32);
    jv_ssz_span tr = {buf, 4133};
    assert_int_equal(jv_cap_slot_decode(tr, 0, &d), JAVM_ERR_HASH_MISMATCH);
    assert_int_equal(jv_cap_slot_decode(tr, JV_CAP_DECODE_TRUSTED, &d), JAVM_OK);
    assert_hash(&d.u.page->hash, ZHEX[0]);
    jv_cap_slot_release(&d);
    free(buf);
    jv_ssz_buf_fini(&b);
}

static void page_objects(void **st) {
    (void)st;
    jv_cap_page *p, *u, *c;
    assert_int_equal(jv_cap_page_create((const uint8_t *)"hello", 5, &p), JAVM_OK);
    assert_hash(&p->hash, HELLO_PAGE_HASH);
    assert_int_equal((uintptr_t)p->bytes % 4096, 0);
    assert_int_equal(p->bytes[5], 0);
    assert_int_equal(p->bytes[4095], 0);
    assert_int_equal(jv_cap_page_refcount(p), 1);
    assert_int_equal(jv_cap_page_create_unhashed(page_p, 4096, &u), JAVM_OK);
    assert_hash(&u->hash, ZHEX[0]);
    assert_memory_equal(u->bytes, page_p, 4096);
    assert_int_equal(jv_cap_page_clone(p, &c), JAVM_OK);
    assert_true(c->bytes != p->bytes);
    assert_int_equal((uintptr_t)c->bytes % 4096, 0);
    assert_memory_equal(c->bytes, p->bytes, 4096);
    assert_memory_equal(c->hash.b, p->hash.b, 32);
    jv_cap_page_ref(p);
    assert_int_equal(jv_cap_page_refcount(p), 2);
    jv_cap_page_unref(p);
    jv_cap_page_unref(p);
    jv_cap_page_unref(u);
    jv_cap_page_unref(c);
    jv_cap_page_unref(NULL);
    jv_hash32 h;
    assert_int_equal(jv_cap_hash_from_hex("zz", &h), JAVM_ERR_INVALID_ARGUMENT);
    char bad[65];
    memset(bad, 'a', 64);
    bad[64] = 0;
    bad[10] = 'g';
    assert_int_equal(jv_cap_hash_from_hex(bad, &h), JAVM_ERR_INVALID_ARGUMENT);
}

int main(void) {
    for (int i = 0; i < 4096; i++) page_p[i] = (uint8_t)i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_hashes),
        cmocka_unit_test(sha_backends_match_reference),
        cmocka_unit_test(page_hash_worked_values),
        cmocka_unit_test(page_hash_matches_naive),
        cmocka_unit_test(htr_worked_values),
        cmocka_unit_test(merkleize_rules),
        cmocka_unit_test(container_serialization),
        cmocka_unit_test(container_malformed),
        cmocka_unit_test(unions_and_lists),
        cmocka_unit_test(pageslot_encodings),
        cmocka_unit_test(page_objects),
    };
    return cmocka_run_group_tests_name("cap_ssz", tests, NULL, NULL);
}
