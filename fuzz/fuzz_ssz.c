/* libFuzzer target for the cap layer's SSZ decoders: PageSlot / PageBytes (trusted and
 * untrusted), containers with offsets, unions, and lists. Every decoder must reject bad input
 * with an error (never crash, never leak), and whatever it accepts must re-encode to exactly
 * the input bytes (the encodings are canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cap/cap.h"

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) abort();                                                                    \
    } while (0)

static void slot_roundtrip(const uint8_t *data, size_t size, unsigned flags) {
    jv_cap_slot s;
    jv_ssz_span in = {data, size};
    javm_status st = jv_cap_slot_decode(in, flags, &s);
    if (st != JAVM_OK) {
        CHECK(s.kind == JV_SLOT_EMPTY);
        CHECK(javm_last_error()[0] != 0);
        return;
    }
    if (s.kind == JV_SLOT_LOADED) CHECK(((uintptr_t)s.u.page->bytes & 4095) == 0);
    jv_ssz_buf b = {0};
    jv_cap_slot_encode(&b, &s);
    CHECK(!b.oom && b.len == size && memcmp(b.p, data, size) == 0);
    jv_hash32 r;
    jv_cap_slot_root(&s, &r);
    if (s.kind == JV_SLOT_LOADED && !(flags & JV_CAP_DECODE_TRUSTED)) {
        jv_hash32 h;
        jv_cap_page_hash(s.u.page->bytes, 4096, &h);
        CHECK(memcmp(h.b, r.b, 32) == 0); /* substitution: the root is the verified hash */
    }
    jv_ssz_buf_fini(&b);
    jv_cap_slot_release(&s);
}

/* A near-valid Loaded encoding built from the input, with one byte changed. */
static void mutated_loaded(const uint8_t *data, size_t size) {
    if (size < 4) return;
    uint8_t *content = calloc(1, 4096);
    CHECK(content);
    memcpy(content, data + 4, size - 4 < 4096 ? size - 4 : 4096);
    jv_cap_page *p;
    CHECK(jv_cap_page_create(content, 4096, &p) == JAVM_OK);
    jv_cap_slot s = jv_cap_slot_loaded(p);
    jv_ssz_buf b = {0};
    jv_cap_slot_encode(&b, &s);
    CHECK(b.len == JV_CAP_SLOT_LOADED_LEN);
    size_t pos = ((size_t)data[1] << 8 | data[2]) % (b.len + 2);
    size_t len = b.len;
    if (pos < b.len) b.p[pos] ^= data[3] ? data[3] : 1;
    else len = b.len - 1 + (pos - b.len) * 2; /* one short or one long (reads a slack byte) */
    jv_ssz_put_bytes(&b, "\0", 1);
    slot_roundtrip(b.p, len, 0);
    slot_roundtrip(b.p, len, JV_CAP_DECODE_TRUSTED);
    if (len > 1) {
        jv_cap_page *q = NULL;
        jv_ssz_span pb = {b.p + 1, len - 1};
        if (jv_cap_pagebytes_decode(pb, 0, &q) == JAVM_OK) CHECK(pos == 0 || pos >= b.len);
        jv_cap_page_unref(q);
    }
    jv_ssz_buf_fini(&b);
    jv_cap_slot_release(&s);
    free(content);
}

static const jv_ssz_field fields[4] = {{"a", 0}, {"b", 2}, {"c", 0}, {"d", 1}};

static void container_roundtrip(const uint8_t *data, size_t size) {
    jv_ssz_span in = {data, size}, f[4];
    if (jv_ssz_container_split(in, fields, 4, f, "fuzz") != JAVM_OK) return;
    size_t total = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(f[i].p >= data && f[i].p + f[i].len <= data + size);
        total += f[i].len + (fields[i].fixed_size ? 0 : 4);
    }
    CHECK(total == size);
    jv_ssz_buf b = {0};
    CHECK(jv_ssz_container_encode(&b, fields, 4, f) == JAVM_OK);
    CHECK(b.len == size && memcmp(b.p, data, size) == 0);
    jv_ssz_buf_fini(&b);
}

static void list_roundtrip(const uint8_t *data, size_t size) {
    jv_ssz_span in = {data, size}, e[64];
    size_t n;
    if (jv_ssz_var_list_split(in, 64, e, 64, &n, "fuzz") == JAVM_OK) {
        jv_ssz_buf b = {0};
        size_t off = 4 * n;
        for (size_t i = 0; i < n; i++) {
            jv_ssz_put_uint(&b, off, 4);
            off += e[i].len;
        }
        for (size_t i = 0; i < n; i++) jv_ssz_put_bytes(&b, e[i].p, e[i].len);
        CHECK(b.len == size && (size == 0 || memcmp(b.p, data, size) == 0));
        jv_ssz_buf_fini(&b);
    }
    if (jv_ssz_fixed_list_count(in, 8, 100, &n, "fuzz") == JAVM_OK) CHECK(n * 8 == size && n <= 100);
    unsigned sel;
    jv_ssz_span body;
    if (jv_ssz_union_split(in, 3, true, &sel, &body, "fuzz") == JAVM_OK) {
        CHECK(sel < 3 && body.len + 1 == size);
        CHECK(sel != 0 || body.len == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    slot_roundtrip(data, size, 0);
    slot_roundtrip(data, size, JV_CAP_DECODE_TRUSTED);
    if (size && data[0] == 3) mutated_loaded(data, size);
    container_roundtrip(data, size);
    list_roundtrip(data, size);
    return 0;
}
