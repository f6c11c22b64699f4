/* Pages (refcounted aligned slabs + content hash), slots, and their SSZ wire encodings
 * (docs/PAGESTORE.md §2, §4, §6). */
#include <stdlib.h>
#include <string.h>

#include "cap/cap.h"
#include "cap/cap_internal.h"
#include "util/error.h"

const jv_cap_slot jv_cap_slot_empty = {.kind = JV_SLOT_EMPTY};

static const uint8_t zero_page[JV_CAP_PAGE_SIZE] __attribute__((aligned(64)));

/* libc memcmp against a zero page: vectorized, ~40-100 ns for 4 KiB, early exit. */
bool jv_cap_is_zero(const uint8_t *p, size_t len) {
    while (len) {
        size_t n = len < JV_CAP_PAGE_SIZE ? len : JV_CAP_PAGE_SIZE;
        if (memcmp(p, zero_page, n)) return false;
        p += n;
        len -= n;
    }
    return true;
}

void jv_cap_page_hash(const uint8_t *content, size_t len, jv_hash32 *out) {
    if (len > JV_CAP_PAGE_SIZE) len = JV_CAP_PAGE_SIZE;
    if (jv_cap_is_zero(content, len)) {
        *out = *jv_cap_zero_hash(JV_CAP_PAGE_DEPTH);
        return;
    }
    /* Depth 7 with at most 128 chunks: uses the stack buffer, cannot fail. */
    javm_status st = jv_cap_merkle_bytes(content, len, JV_CAP_PAGE_DEPTH, out);
    (void)st;
}

static javm_status page_alloc(jv_cap_page **out) {
    jv_cap_page *p = malloc(sizeof *p);
    uint8_t *slab = aligned_alloc(JV_CAP_PAGE_SIZE, JV_CAP_PAGE_SIZE);
    if (!p || !slab) {
        free(p);
        free(slab);
        *out = NULL;
        return jv_set_error(JAVM_ERR_NO_MEMORY, "cap: out of memory allocating a page");
    }
    atomic_init(&p->refs, 1);
    p->bytes = slab;
    *out = p;
    return JAVM_OK;
}

static javm_status page_fill(const uint8_t *src, size_t len, jv_cap_page **out) {
    javm_status st = page_alloc(out);
    if (st) return st;
    size_t n = len < JV_CAP_PAGE_SIZE ? len : JV_CAP_PAGE_SIZE;
    if (n) memcpy((*out)->bytes, src, n);
    memset((*out)->bytes + n, 0, JV_CAP_PAGE_SIZE - n);
    return JAVM_OK;
}

javm_status jv_cap_page_create(const uint8_t *content, size_t len, jv_cap_page **out) {
    javm_status st = page_fill(content, len, out);
    if (st) return st;
    jv_cap_page_hash((*out)->bytes, JV_CAP_PAGE_SIZE, &(*out)->hash);
    return JAVM_OK;
}

javm_status jv_cap_page_create_unhashed(const uint8_t *src, size_t len, jv_cap_page **out) {
    javm_status st = page_fill(src, len, out);
    if (st) return st;
    memset((*out)->hash.b, 0, JV_CAP_HASH_SIZE);
    return JAVM_OK;
}

javm_status jv_cap_page_create_with_hash(const uint8_t *content, size_t len,
                                         const jv_hash32 *hash, jv_cap_page **out) {
    javm_status st = page_fill(content, len, out);
    if (st) return st;
    (*out)->hash = *hash;
    return JAVM_OK;
}

javm_status jv_cap_page_clone(const jv_cap_page *p, jv_cap_page **out) {
    return jv_cap_page_create_with_hash(p->bytes, JV_CAP_PAGE_SIZE, &p->hash, out);
}

void jv_cap_page_unref(jv_cap_page *p) {
    if (!p) return;
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
        free(p->bytes);
        free(p);
    }
}

void jv_cap_slot_release(jv_cap_slot *s) {
    if (s->kind == JV_SLOT_LOADED) jv_cap_page_unref(s->u.page);
    *s = jv_cap_slot_empty;
}

void jv_cap_slot_root(const jv_cap_slot *s, jv_hash32 *out) {
    switch (s->kind) {
    case JV_SLOT_LOADED: *out = s->u.page->hash; break;
    case JV_SLOT_MISSING: *out = s->u.hash; break;
    default: memset(out->b, 0, JV_CAP_HASH_SIZE); break;
    }
}

/* ---- Wire encodings (PAGESTORE §6) ------------------------------------------------------ */
static const jv_ssz_field pagebytes_fields[2] = {{"hash", 32}, {"bytes", 0}};

void jv_cap_pagebytes_encode(jv_ssz_buf *b, const jv_cap_page *p) {
    jv_ssz_put_bytes(b, p->hash.b, 32);
    jv_ssz_put_uint(b, 36, 4);
    jv_ssz_put_bytes(b, p->bytes, JV_CAP_PAGE_SIZE);
}

javm_status jv_cap_pagebytes_decode(jv_ssz_span s, unsigned flags, jv_cap_page **out) {
    *out = NULL;
    jv_ssz_span f[2];
    javm_status st = jv_ssz_container_split(s, pagebytes_fields, 2, f, "PageBytes");
    if (st) return st;
    if (f[1].len != JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_BAD_SSZ,
                            "ssz: PageBytes: payload is %zu bytes, a page is exactly 4096", f[1].len);
    jv_hash32 h;
    memcpy(h.b, f[0].p, 32);
    if (!(flags & JV_CAP_DECODE_TRUSTED)) {
        jv_hash32 real;
        jv_cap_page_hash(f[1].p, JV_CAP_PAGE_SIZE, &real);
        if (memcmp(real.b, h.b, 32)) {
            char a[65], b[65];
            jv_cap_hash_hex(&h, a);
            jv_cap_hash_hex(&real, b);
            return jv_set_error(JAVM_ERR_HASH_MISMATCH,
                                "PageBytes: stated hash %s, content hashes to %s", a, b);
        }
    }
    return jv_cap_page_create_with_hash(f[1].p, JV_CAP_PAGE_SIZE, &h, out);
}

void jv_cap_slot_encode(jv_ssz_buf *b, const jv_cap_slot *s) {
    uint8_t sel = s->kind;
    jv_ssz_put_bytes(b, &sel, 1);
    if (s->kind == JV_SLOT_LOADED) jv_cap_pagebytes_encode(b, s->u.page);
    else if (s->kind == JV_SLOT_MISSING) jv_ssz_put_bytes(b, s->u.hash.b, 32);
}

javm_status jv_cap_slot_decode(jv_ssz_span s, unsigned flags, jv_cap_slot *out) {
    *out = jv_cap_slot_empty;
    if (s.len == 0) return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: PageSlot: empty (no selector byte)");
    jv_ssz_span body = {s.p + 1, s.len - 1};
    switch (s.p[0]) {
    case JV_SLOT_EMPTY:
        if (s.len != 1)
            return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: PageSlot: Empty is 1 byte, got %zu", s.len);
        return JAVM_OK;
    case JV_SLOT_MISSING:
        if (s.len != JV_CAP_SLOT_MISSING_LEN)
            return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: PageSlot: Missing is 33 bytes, got %zu",
                                s.len);
        out->kind = JV_SLOT_MISSING;
        memcpy(out->u.hash.b, body.p, 32);
        return JAVM_OK;
    case JV_SLOT_LOADED: {
        jv_cap_page *p;
        javm_status st = jv_cap_pagebytes_decode(body, flags, &p);
        if (st) return st;
        *out = jv_cap_slot_loaded(p);
        return JAVM_OK;
    }
    default:
        return jv_set_error(JAVM_ERR_BAD_SSZ,
                            "ssz: PageSlot: selector %u is not 0 (Empty), 1 (Loaded) or 2 (Missing)",
                            s.p[0]);
    }
}

/* ---- Hex --------------------------------------------------------------------------------- */
void jv_cap_hash_hex(const jv_hash32 *h, char out[65]) {
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[h->b[i] >> 4];
        out[2 * i + 1] = hx[h->b[i] & 15];
    }
    out[64] = 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

javm_status jv_cap_hash_from_hex(const char *hex, jv_hash32 *out) {
    if (strlen(hex) != 64)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "hash: '%.80s' is not 64 hex digits", hex);
    for (int i = 0; i < 32; i++) {
        int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "hash: bad hex digit at position %d",
                                a < 0 ? 2 * i : 2 * i + 1);
        out->b[i] = (uint8_t)(a << 4 | b);
    }
    return JAVM_OK;
}
