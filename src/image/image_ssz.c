/* image — the SSZ encoding of Images and their content hash (IMG-5). The schema is written out
 * in docs/IMAGE.md ("Binary encoding"); the decoder accepts exactly that and validates the
 * result (IMG-1). */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/error.h"

#define BAD(...) jv_set_error(JAVM_ERR_BAD_IMAGE, __VA_ARGS__)
#define ARENA_LIMIT 0xFFFFFFFFu
#define DESC_MAX_PAGES (1u << 20) /* a DataDesc describes at most 4 GiB */
#define PAGEREF_SIZE 12u
#define ENDPOINT_SIZE (4u + 4u + 1u + 8u * JV_PVM_NUM_REGS) /* 113 */

static const jv_ssz_field image_fields[] = {
    {"version", 4},      {"isa", 1},       {"gas_model", 1}, {"code", 0},  {"mappings", 0},
    {"pinned_slots", 0}, {"initial_slots", 0}, {"endpoints", 0}, {"arena", 0},
};
#define NFIELDS 9
enum { F_VERSION, F_ISA, F_GAS, F_CODE, F_MAPS, F_PINNED, F_INITIAL, F_EPS, F_ARENA };
static const jv_ssz_field mapping_fields[] = {{"start", 8}, {"size", 8}, {"source", 0}};
static const jv_ssz_field slot_fields[] = {{"key", 4}, {"size", 8}, {"pages", 0}};

static uint64_t le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- Encoding ------------------------------------------------------------------------------ */
/* A list of variable-size elements from their encodings: the offset table, then the bodies. */
static void put_var_list(jv_ssz_buf *b, jv_ssz_buf *elems, uint32_t n) {
    uint64_t off = 4ull * n;
    for (uint32_t i = 0; i < n; i++) {
        jv_ssz_put_uint(b, off, 4);
        off += elems[i].len;
    }
    for (uint32_t i = 0; i < n; i++) jv_ssz_put_bytes(b, elems[i].p, elems[i].len);
}

static javm_status encode_slot(const jv_img_slot *s, jv_ssz_buf *arena, jv_ssz_buf *out) {
    jv_ssz_buf refs = {0};
    const jv_datacap *d = s->data;
    for (uint64_t i = 0; i < jv_cap_data_backing_len(d); i++) {
        const jv_cap_slot *sl = jv_cap_data_backing_slot(d, i);
        if (sl->kind == JV_SLOT_EMPTY) continue;
        if (sl->kind == JV_SLOT_MISSING) {
            jv_ssz_buf_fini(&refs);
            return jv_set_error(JAVM_ERR_MISSING_PAGE,
                                "image: slot %u: page %llu is Missing; only present content can "
                                "be encoded", s->key, (unsigned long long)i);
        }
        const uint8_t *p = sl->u.page->bytes;
        uint32_t len = JV_PAGE_SIZE;
        while (len && !p[len - 1]) len--;
        if (!len) continue; /* a zero page (not canonical in a backing, but harmless) */
        if (arena->len + len > ARENA_LIMIT) {
            jv_ssz_buf_fini(&refs);
            return BAD("image: the arena would exceed 4 GiB");
        }
        jv_ssz_put_uint(&refs, i, 4);
        jv_ssz_put_uint(&refs, arena->len, 4);
        jv_ssz_put_uint(&refs, len, 4);
        jv_ssz_put_bytes(arena, p, len);
    }
    jv_ssz_put_uint(out, s->key, 4);
    jv_ssz_put_uint(out, jv_cap_data_size(d), 8);
    jv_ssz_put_uint(out, 16, 4);
    jv_ssz_put_bytes(out, refs.p, refs.len);
    bool oom = refs.oom;
    jv_ssz_buf_fini(&refs);
    return oom ? jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory encoding") : JAVM_OK;
}

static void fini_all(jv_ssz_buf *b, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) jv_ssz_buf_fini(&b[i]);
    free(b);
}

static javm_status encode_slots(const jv_img_slot *s, uint32_t n, jv_ssz_buf *arena,
                                jv_ssz_buf *out) {
    jv_ssz_buf *e = calloc(n ? n : 1, sizeof *e);
    if (!e) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory encoding");
    javm_status st = JAVM_OK;
    for (uint32_t i = 0; i < n && !st; i++) st = encode_slot(&s[i], arena, &e[i]);
    if (!st) put_var_list(out, e, n);
    fini_all(e, n);
    return st;
}

javm_status jv_image_encode(const jv_image *img, jv_ssz_buf *out) {
    if (!img->valid) return jv_set_error(JAVM_ERR_STATE, "image: encode: the Image is not sealed");
    jv_ssz_buf f[NFIELDS] = {{0}}, arena = {0};
    javm_status st = JAVM_OK;
    jv_ssz_put_uint(&f[F_VERSION], JV_IMG_VERSION, 4);
    jv_ssz_put_uint(&f[F_ISA], (uint64_t)img->prog->isa, 1);
    jv_ssz_put_uint(&f[F_GAS], (uint64_t)img->prog->gas_model, 1);
    jv_ssz_put_bytes(&f[F_CODE], img->blob, img->blob_len);
    jv_ssz_buf *m = calloc(img->nmaps ? img->nmaps : 1, sizeof *m);
    if (!m) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory encoding");
    for (uint32_t i = 0; i < img->nmaps; i++) {
        jv_ssz_put_uint(&m[i], img->maps[i].start, 8);
        jv_ssz_put_uint(&m[i], img->maps[i].size, 8);
        jv_ssz_put_uint(&m[i], 20, 4);
        for (unsigned k = 0; k < img->maps[i].source_len; k++)
            jv_ssz_put_uint(&m[i], img->maps[i].source[k], 4);
    }
    put_var_list(&f[F_MAPS], m, img->nmaps);
    fini_all(m, img->nmaps);
    if (!st) st = encode_slots(img->pinned, img->npinned, &arena, &f[F_PINNED]);
    if (!st) st = encode_slots(img->initial, img->ninitial, &arena, &f[F_INITIAL]);
    for (uint32_t i = 0; i < img->neps; i++) {
        const jv_img_endpoint *e = &img->eps[i];
        jv_ssz_put_uint(&f[F_EPS], e->key, 4);
        jv_ssz_put_uint(&f[F_EPS], e->entry_pc, 4);
        jv_ssz_put_uint(&f[F_EPS], e->arg_registers, 1);
        for (unsigned r = 0; r < JV_PVM_NUM_REGS; r++) jv_ssz_put_uint(&f[F_EPS], e->regs[r], 8);
    }
    f[F_ARENA] = arena;
    jv_ssz_span v[NFIELDS];
    bool oom = false;
    for (int i = 0; i < NFIELDS; i++) {
        v[i] = (jv_ssz_span){f[i].p, f[i].len};
        oom |= f[i].oom;
    }
    if (!st && oom) st = jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory encoding");
    if (!st) st = jv_ssz_container_encode(out, image_fields, NFIELDS, v);
    if (!st && out->oom) st = jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory encoding");
    for (int i = 0; i < NFIELDS; i++) jv_ssz_buf_fini(&f[i]);
    return st;
}

/* ---- Decoding ------------------------------------------------------------------------------ */
static javm_status decode_slot(jv_ssz_span s, jv_ssz_span arena, bool pinned, uint32_t idx,
                               jv_image *img) {
    const char *what = pinned ? "pinned slot" : "initial slot";
    jv_ssz_span f[3];
    javm_status st = jv_ssz_container_split(s, slot_fields, 3, f, what);
    if (st) return jv_set_error(JAVM_ERR_BAD_IMAGE, "image: %s #%u: %s", what, idx, javm_last_error());
    uint32_t key = (uint32_t)le(f[0].p, 4);
    uint64_t size = le(f[1].p, 8);
    if (size == 0 || size % JV_PAGE_SIZE || size > JV_GUEST_SPACE)
        return BAD("image: %s %u: size %llu is not a page multiple in 4096..4 GiB", what, key,
                   (unsigned long long)size);
    size_t n;
    if ((st = jv_ssz_fixed_list_count(f[2], PAGEREF_SIZE, DESC_MAX_PAGES, &n, "pages")))
        return jv_set_error(JAVM_ERR_BAD_IMAGE, "image: %s %u: %s", what, key, javm_last_error());
    jv_datacap *d;
    if ((st = jv_cap_data_create_empty(size, &d))) return st;
    for (size_t i = 0; i < n && !st; i++) {
        const uint8_t *r = f[2].p + i * PAGEREF_SIZE;
        uint64_t pi = le(r, 4), off = le(r + 4, 4), len = le(r + 8, 4);
        if (i && pi <= le(r - PAGEREF_SIZE, 4))
            st = BAD("image: %s %u: page %llu is not after the previous page (strictly "
                     "ascending)", what, key, (unsigned long long)pi);
        else if (pi >= size / JV_PAGE_SIZE)
            st = BAD("image: %s %u: page %llu is past the size %llu", what, key,
                     (unsigned long long)pi, (unsigned long long)size);
        else if (len == 0 || len > JV_PAGE_SIZE)
            st = BAD("image: %s %u: page %llu: length %llu is not in 1..4096", what, key,
                     (unsigned long long)pi, (unsigned long long)len);
        else if (off > arena.len || len > arena.len - off)
            st = BAD("image: %s %u: page %llu: arena window [%llu, +%llu) is outside the %zu-byte "
                     "arena", what, key, (unsigned long long)pi, (unsigned long long)off,
                     (unsigned long long)len, arena.len);
        else if (arena.p[off + len - 1] == 0)
            st = BAD("image: %s %u: page %llu: the stored prefix ends in a zero byte (trailing "
                     "zeros are dropped, zero pages are not listed)", what, key,
                     (unsigned long long)pi);
        else
            st = jv_cap_data_put_page(d, pi * JV_PAGE_SIZE, arena.p + off, (size_t)len);
    }
    if (!st) st = jv_image_add_slot(img, pinned, key, d);
    jv_cap_data_destroy(d);
    return st;
}

static javm_status decode_slots(jv_ssz_span s, jv_ssz_span arena, bool pinned, jv_image *img,
                                jv_ssz_span *tmp) {
    size_t n;
    javm_status st = jv_ssz_var_list_split(s, JV_IMG_MAX_SLOTS, tmp, JV_IMG_MAX_SLOTS, &n,
                                           pinned ? "pinned_slots" : "initial_slots");
    if (st) return jv_set_error(JAVM_ERR_BAD_IMAGE, "image: %s", javm_last_error());
    for (size_t i = 0; i < n && !st; i++) st = decode_slot(tmp[i], arena, pinned, (uint32_t)i, img);
    return st;
}

javm_status jv_image_decode(const uint8_t *bytes, size_t len, jv_image **out) {
    *out = NULL;
    if (!bytes && len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: bytes are NULL");
    jv_ssz_span f[NFIELDS];
    javm_status st =
        jv_ssz_container_split((jv_ssz_span){bytes, len}, image_fields, NFIELDS, f, "Image");
    if (st) return jv_set_error(JAVM_ERR_BAD_IMAGE, "image: %s", javm_last_error());
    uint64_t version = le(f[F_VERSION].p, 4), isa = f[F_ISA].p[0], gas = f[F_GAS].p[0];
    if (version != JV_IMG_VERSION)
        return BAD("image: version %llu is not %u", (unsigned long long)version, JV_IMG_VERSION);
    if (isa > JAVM_ISA_GP08) return BAD("image: isa %llu is not 0 (gp07) or 1 (gp08)", (unsigned long long)isa);
    if (gas > JAVM_GAS_GP08)
        return BAD("image: gas_model %llu is not 0 (gp07) or 1 (gp08)", (unsigned long long)gas);
    if (f[F_ARENA].len > ARENA_LIMIT) return BAD("image: arena exceeds 4 GiB");
    jv_image *img;
    if ((st = jv_image_create(f[F_CODE].p, f[F_CODE].len, (javm_isa)isa, (javm_gas_model)gas, &img)))
        return st;
    jv_ssz_span *tmp = malloc(JV_IMG_MAX_SLOTS * sizeof *tmp);
    if (!tmp) {
        jv_image_destroy(img);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory");
    }
    size_t n;
    st = jv_ssz_var_list_split(f[F_MAPS], JV_IMG_MAX_MAPPINGS, tmp, JV_IMG_MAX_MAPPINGS, &n, "mappings");
    if (st) st = jv_set_error(JAVM_ERR_BAD_IMAGE, "image: %s", javm_last_error());
    for (size_t i = 0; i < n && !st; i++) {
        jv_ssz_span m[3];
        size_t steps;
        if ((st = jv_ssz_container_split(tmp[i], mapping_fields, 3, m, "mapping")) ||
            (st = jv_ssz_fixed_list_count(m[2], 4, JV_IMG_MAX_SOURCE_DEPTH, &steps, "source"))) {
            st = jv_set_error(JAVM_ERR_BAD_IMAGE, "image: mapping #%zu: %s", i, javm_last_error());
            break;
        }
        uint32_t src[JV_IMG_MAX_SOURCE_DEPTH];
        for (size_t k = 0; k < steps; k++) src[k] = (uint32_t)le(m[2].p + 4 * k, 4);
        st = jv_image_add_mapping(img, le(m[0].p, 8), le(m[1].p, 8), src, (unsigned)steps);
    }
    if (!st) st = decode_slots(f[F_PINNED], f[F_ARENA], true, img, tmp);
    if (!st) st = decode_slots(f[F_INITIAL], f[F_ARENA], false, img, tmp);
    free(tmp);
    if (!st && (st = jv_ssz_fixed_list_count(f[F_EPS], ENDPOINT_SIZE, JV_IMG_MAX_ENDPOINTS, &n,
                                             "endpoints")))
        st = jv_set_error(JAVM_ERR_BAD_IMAGE, "image: %s", javm_last_error());
    for (size_t i = 0; i < n && !st; i++) {
        const uint8_t *e = f[F_EPS].p + i * ENDPOINT_SIZE;
        uint64_t regs[JV_PVM_NUM_REGS];
        for (unsigned r = 0; r < JV_PVM_NUM_REGS; r++) regs[r] = le(e + 9 + 8 * r, 8);
        st = jv_image_add_endpoint(img, (uint32_t)le(e, 4), (uint32_t)le(e + 4, 4), e[8], regs);
    }
    if (!st) st = jv_image_validate(img);
    if (st) {
        jv_image_destroy(img);
        return st;
    }
    *out = img;
    return JAVM_OK;
}

/* ---- Content hash (IMG-5) ------------------------------------------------------------------ */
static javm_status list_root(const uint8_t *leaves, uint32_t n, uint64_t limit, jv_hash32 *out) {
    jv_hash32 r;
    javm_status st = jv_ssz_merkleize(leaves, n, limit, &r);
    if (!st) jv_ssz_mix_in_length(&r, n, out);
    return st;
}

static javm_status slots_root(const jv_img_slot *s, uint32_t n, jv_hash32 *out) {
    uint8_t *leaves = malloc((size_t)(n ? n : 1) * 32);
    if (!leaves) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory hashing");
    javm_status st = JAVM_OK;
    for (uint32_t i = 0; i < n && !st; i++) {
        uint8_t two[64];
        jv_ssz_htr_uint(s[i].key, (jv_hash32 *)two);
        st = jv_cap_data_root(s[i].data, (jv_hash32 *)(two + 32));
        if (!st) st = jv_ssz_merkleize(two, 2, 2, (jv_hash32 *)(leaves + 32 * i));
    }
    if (!st) st = list_root(leaves, n, JV_IMG_MAX_SLOTS, out);
    free(leaves);
    return st;
}

javm_status jv_image_hash(const jv_image *img, jv_hash32 *out) {
    uint8_t top[8 * 32];
    jv_hash32 *t = (jv_hash32 *)top;
    jv_ssz_htr_uint(JV_IMG_VERSION, &t[0]);
    jv_ssz_htr_uint((uint64_t)img->prog->isa, &t[1]);
    jv_ssz_htr_uint((uint64_t)img->prog->gas_model, &t[2]);
    javm_status st = jv_ssz_htr_bytelist(img->blob, img->blob_len, JV_IMG_MAX_BLOB, &t[3]);
    uint8_t *leaves = malloc((size_t)(JV_IMG_MAX_MAPPINGS > JV_IMG_MAX_ENDPOINTS
                                          ? JV_IMG_MAX_MAPPINGS
                                          : JV_IMG_MAX_ENDPOINTS) * 32);
    if (!leaves) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory hashing");
    for (uint32_t i = 0; i < img->nmaps && !st; i++) {
        const jv_img_mapping *m = &img->maps[i];
        uint8_t f[3 * 32];
        uint64_t src[JV_IMG_MAX_SOURCE_DEPTH];
        for (unsigned k = 0; k < m->source_len; k++) src[k] = m->source[k];
        jv_ssz_htr_uint(m->start, (jv_hash32 *)f);
        jv_ssz_htr_uint(m->size, (jv_hash32 *)(f + 32));
        st = jv_ssz_htr_uint_list(src, m->source_len, 4, JV_IMG_MAX_SOURCE_DEPTH,
                                  (jv_hash32 *)(f + 64));
        if (!st) st = jv_ssz_merkleize(f, 3, 3, (jv_hash32 *)(leaves + 32 * i));
    }
    if (!st) st = list_root(leaves, img->nmaps, JV_IMG_MAX_MAPPINGS, &t[4]);
    if (!st) st = slots_root(img->pinned, img->npinned, &t[5]);
    if (!st) st = slots_root(img->initial, img->ninitial, &t[6]);
    for (uint32_t i = 0; i < img->neps && !st; i++) {
        const jv_img_endpoint *e = &img->eps[i];
        uint8_t f[4 * 32], regs[8 * JV_PVM_NUM_REGS];
        for (unsigned r = 0; r < JV_PVM_NUM_REGS; r++)
            for (unsigned k = 0; k < 8; k++) regs[8 * r + k] = (uint8_t)(e->regs[r] >> (8 * k));
        jv_ssz_htr_uint(e->key, (jv_hash32 *)f);
        jv_ssz_htr_uint(e->entry_pc, (jv_hash32 *)(f + 32));
        jv_ssz_htr_uint(e->arg_registers, (jv_hash32 *)(f + 64));
        st = jv_ssz_htr_bytevector(regs, sizeof regs, (jv_hash32 *)(f + 96));
        if (!st) st = jv_ssz_merkleize(f, 4, 4, (jv_hash32 *)(leaves + 32 * i));
    }
    if (!st) st = list_root(leaves, img->neps, JV_IMG_MAX_ENDPOINTS, &t[7]);
    free(leaves);
    if (!st) st = jv_ssz_merkleize(top, 8, 8, out);
    return st;
}
