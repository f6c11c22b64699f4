/* api — the page store for embedders (javm_datacap_*, javm_pagebytes_*): thin, validating
 * wrappers over the cap layer (cap/cap.h). The handle owns one jv_datacap; clones share pages
 * (CAP-2: a change to one handle copies what is shared first, so other handles never see it). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cap/cap.h"
#include "util/error.h"

javm_status jv_api_datacap_wrap(jv_datacap *d, javm_datacap **out) {
    javm_datacap *h = malloc(sizeof *h);
    if (!h) {
        jv_cap_data_destroy(d);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory");
    }
    h->d = d;
    *out = h;
    return JAVM_OK;
}

javm_status javm_datacap_new(const void *data, size_t len, uint64_t size, javm_datacap **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: output is NULL");
    *out = NULL;
    if (!data && len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: data is NULL");
    if (size > JV_CAP_MAX_SIZE || len > JV_CAP_MAX_SIZE)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "datacap: size %llu exceeds the largest DataCap (2^44 bytes)",
                            (unsigned long long)(size > len ? size : len));
    jv_datacap *d;
    javm_status s = jv_cap_data_create_sized(data, len, size, &d);
    return s ? s : jv_api_datacap_wrap(d, out);
}

static javm_status check_index(const javm_datacap *d, uint64_t index, const char *op) {
    uint64_t pages = jv_cap_data_page_count(d->d);
    if (index >= pages)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "datacap: %s: page %llu is past the last page (%llu pages)", op,
                            (unsigned long long)index, (unsigned long long)pages);
    return JAVM_OK;
}

javm_status javm_datacap_put_page(javm_datacap *d, uint64_t index, const void *content,
                                  size_t len) {
    if (!d || (!content && len))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: put_page: NULL argument");
    if (len > JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "datacap: put_page: %zu bytes exceed one page (4096)", len);
    javm_status s = check_index(d, index, "put_page");
    if (s) return s;
    return jv_cap_data_put_page(d->d, index << JV_CAP_PAGE_SHIFT, content, len);
}

javm_status javm_datacap_clone(const javm_datacap *d, javm_datacap **out) {
    if (!d || !out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: clone: NULL argument");
    *out = NULL;
    jv_datacap *c;
    javm_status s = jv_cap_data_clone(d->d, &c);
    return s ? s : jv_api_datacap_wrap(c, out);
}

void javm_datacap_free(javm_datacap *d) {
    if (!d) return;
    jv_cap_data_destroy(d->d);
    free(d);
}

uint64_t javm_datacap_size(const javm_datacap *d) { return d ? jv_cap_data_size(d->d) : 0; }

javm_status javm_datacap_read(const javm_datacap *d, uint64_t offset, void *dst, size_t n) {
    if (!d || (!dst && n))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: read: NULL argument");
    uint64_t size = jv_cap_data_size(d->d);
    if (offset > size || n > size - offset)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "datacap: read of %zu bytes at %llu runs past the size %llu", n,
                            (unsigned long long)offset, (unsigned long long)size);
    return jv_cap_data_copy_into(d->d, offset, dst, n, NULL);
}

javm_status javm_datacap_root(const javm_datacap *d, uint8_t out[JAVM_HASH_SIZE]) {
    if (!d || !out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: root: NULL argument");
    jv_hash32 h;
    javm_status s = jv_cap_data_root(d->d, &h);
    if (!s) memcpy(out, h.b, 32);
    return s;
}

javm_status javm_datacap_cap_hash(const javm_datacap *d, uint8_t out[JAVM_HASH_SIZE]) {
    if (!d || !out)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: cap_hash: NULL argument");
    jv_hash32 h;
    javm_status s = jv_cap_data_cap_hash(d->d, &h);
    if (!s) memcpy(out, h.b, 32);
    return s;
}

javm_status javm_datacap_page_encode(const javm_datacap *d, uint64_t index, uint8_t *buf,
                                     size_t cap, size_t *len) {
    if (!d || !buf || !len)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: page_encode: NULL argument");
    *len = 0;
    javm_status s = check_index(d, index, "page_encode");
    if (s) return s;
    jv_ssz_buf b = {0};
    jv_cap_slot_encode(&b, jv_cap_data_slot(d->d, index));
    if (b.oom) {
        jv_ssz_buf_fini(&b);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: page_encode: out of memory");
    }
    if (b.len > cap) {
        size_t need = b.len;
        jv_ssz_buf_fini(&b);
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "datacap: page_encode: the slot needs %zu bytes, buffer has %zu", need,
                            cap);
    }
    memcpy(buf, b.p, b.len);
    *len = b.len;
    jv_ssz_buf_fini(&b);
    return JAVM_OK;
}

javm_status javm_datacap_page_decode(javm_datacap *d, uint64_t index, const uint8_t *buf,
                                     size_t len, int trusted) {
    if (!d || (!buf && len))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: page_decode: NULL argument");
    javm_status s = check_index(d, index, "page_decode");
    if (s) return s;
    jv_cap_slot slot;
    s = jv_cap_slot_decode((jv_ssz_span){buf, len}, trusted ? JV_CAP_DECODE_TRUSTED : 0, &slot);
    if (s) return s;
    /* Canonical form (CAP-3): an all-zero Loaded page is stored as Empty. */
    if (slot.kind == JV_SLOT_LOADED && jv_cap_is_zero(slot.u.page->bytes, JV_CAP_PAGE_SIZE))
        jv_cap_slot_release(&slot);
    return jv_cap_data_put_slot(d->d, index, slot);
}

javm_status javm_pagebytes_encode(const void *content, size_t len,
                                  uint8_t out[JAVM_PAGEBYTES_SSZ_SIZE]) {
    if ((!content && len) || !out)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "pagebytes: NULL argument");
    if (len > JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "pagebytes: %zu bytes exceed one page (4096)", len);
    jv_cap_page *p;
    javm_status s = jv_cap_page_create(content, len, &p);
    if (s) return s;
    jv_ssz_buf b = {0};
    jv_cap_pagebytes_encode(&b, p);
    jv_cap_page_unref(p);
    if (b.oom || b.len != JAVM_PAGEBYTES_SSZ_SIZE) {
        jv_ssz_buf_fini(&b);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "pagebytes: out of memory");
    }
    memcpy(out, b.p, b.len);
    jv_ssz_buf_fini(&b);
    return JAVM_OK;
}

javm_status javm_pagebytes_decode(const uint8_t *buf, size_t len, uint8_t content[JAVM_PAGE_SIZE],
                                  uint8_t hash[JAVM_HASH_SIZE]) {
    if (!buf || !content || !hash)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "pagebytes: NULL argument");
    jv_cap_page *p;
    javm_status s = jv_cap_pagebytes_decode((jv_ssz_span){buf, len}, 0, &p);
    if (s) return s;
    memcpy(content, p->bytes, JV_CAP_PAGE_SIZE);
    memcpy(hash, p->hash.b, 32);
    jv_cap_page_unref(p);
    return JAVM_OK;
}
