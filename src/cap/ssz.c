/* A small general SSZ toolkit (docs/PAGESTORE.md §9, §10): serialization helpers, strict decoders that name the
 * offending field and byte offset, and merkleization with a virtual zero-hash padding. */
#include <stdlib.h>
#include <string.h>

#include "cap/cap.h"
#include "cap/cap_internal.h"
#include "util/error.h"
#include "util/util.h"

/* ---- Output buffer ----------------------------------------------------------------------- */
void jv_ssz_buf_fini(jv_ssz_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static bool buf_reserve(jv_ssz_buf *b, size_t extra) {
    if (b->oom) return false;
    if (extra > SIZE_MAX - b->len) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void jv_ssz_put_bytes(jv_ssz_buf *b, const void *src, size_t n) {
    if (!n || !buf_reserve(b, n)) return;
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

void jv_ssz_put_uint(jv_ssz_buf *b, uint64_t v, unsigned nbytes) {
    uint8_t tmp[8];
    for (unsigned i = 0; i < nbytes && i < 8; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    jv_ssz_put_bytes(b, tmp, nbytes > 8 ? 8 : nbytes);
}

static uint32_t rd_u32(const uint8_t *p) { return (uint32_t)jv_le_get(p, 4); }

/* ---- Basic decoders ---------------------------------------------------------------------- */
javm_status jv_ssz_get_uint(jv_ssz_span s, unsigned nbytes, uint64_t *v, const char *what) {
    if (nbytes != 1 && nbytes != 2 && nbytes != 4 && nbytes != 8)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: %s: unsupported uint%u", what,
                            nbytes * 8);
    if (s.len != nbytes)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: uint%u needs %u bytes, got %zu", what,
                            nbytes * 8, nbytes, s.len);
    *v = jv_le_get(s.p, nbytes);
    return JAVM_OK;
}

javm_status jv_ssz_get_bool(jv_ssz_span s, bool *v, const char *what) {
    if (s.len != 1)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: boolean needs 1 byte, got %zu", what,
                            s.len);
    if (s.p[0] > 1)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: boolean byte is 0x%02x, not 00 or 01",
                            what, s.p[0]);
    *v = s.p[0] == 1;
    return JAVM_OK;
}

javm_status jv_ssz_check_bytevector(jv_ssz_span s, size_t n, const char *what) {
    if (s.len != n)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: ByteVector[%zu] has %zu bytes", what, n,
                            s.len);
    return JAVM_OK;
}

javm_status jv_ssz_check_bytelist(jv_ssz_span s, size_t limit, const char *what) {
    if (s.len > limit)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: %zu bytes exceed ByteList[%zu]", what,
                            s.len, limit);
    return JAVM_OK;
}

javm_status jv_ssz_fixed_list_count(jv_ssz_span s, size_t elem_size, size_t limit,
                                    size_t *count, const char *what) {
    if (!elem_size) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: %s: element size 0", what);
    if (s.len % elem_size)
        return jv_set_error(JAVM_ERR_BAD_SSZ,
                            "ssz: %s: %zu bytes is not a multiple of the %zu-byte element", what,
                            s.len, elem_size);
    size_t n = s.len / elem_size;
    if (n > limit)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: %zu elements exceed the limit %zu", what,
                            n, limit);
    *count = n;
    return JAVM_OK;
}

javm_status jv_ssz_var_list_split(jv_ssz_span s, size_t limit, jv_ssz_span *elems,
                                  size_t max_elems, size_t *count, const char *what) {
    *count = 0;
    if (s.len == 0) return JAVM_OK;
    if (s.len < 4)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: %zu bytes, too short for an offset", what,
                            s.len);
    uint32_t first = rd_u32(s.p);
    if (first < 4 || first % 4)
        return jv_set_error(JAVM_ERR_BAD_SSZ,
                            "ssz: %s: first offset %u is not a positive multiple of 4", what, first);
    if (first > s.len)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: first offset %u past the end (%zu bytes)",
                            what, first, s.len);
    size_t n = first / 4;
    if (n > limit)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: %zu elements exceed the limit %zu", what,
                            n, limit);
    if (n > max_elems)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: %zu elements, room for %zu", what, n,
                            max_elems);
    for (size_t i = 0; i < n; i++) {
        uint32_t off = rd_u32(s.p + 4 * i);
        size_t end = i + 1 < n ? rd_u32(s.p + 4 * (i + 1)) : s.len;
        if (end > s.len)
            return jv_set_error(JAVM_ERR_BAD_SSZ,
                                "ssz: %s: offset %zu of element %zu past the end (%zu bytes)", what,
                                end, i + 1, s.len);
        if (end < off)
            return jv_set_error(JAVM_ERR_BAD_SSZ,
                                "ssz: %s: offset %zu of element %zu is below the previous (%u)",
                                what, end, i + 1, off);
        elems[i].p = s.p + off;
        elems[i].len = end - off;
    }
    *count = n;
    return JAVM_OK;
}

/* ---- Containers and unions --------------------------------------------------------------- */
static size_t fixed_part_len(const jv_ssz_field *f, size_t n) {
    size_t t = 0;
    for (size_t i = 0; i < n; i++) t += f[i].fixed_size ? f[i].fixed_size : 4;
    return t;
}

javm_status jv_ssz_container_split(jv_ssz_span s, const jv_ssz_field *fields, size_t nfields,
                                   jv_ssz_span *out, const char *what) {
    if (!nfields) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: %s: container without fields", what);
    size_t fixed = fixed_part_len(fields, nfields);
    if (s.len < fixed)
        return jv_set_error(JAVM_ERR_BAD_SSZ,
                            "ssz: %s: %zu bytes, shorter than the %zu-byte fixed part", what,
                            s.len, fixed);
    size_t pos = 0, prev_var = SIZE_MAX, prev_off = 0;
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i].fixed_size) {
            out[i].p = s.p + pos;
            out[i].len = fields[i].fixed_size;
            pos += fields[i].fixed_size;
            continue;
        }
        uint32_t off = rd_u32(s.p + pos);
        if (prev_var == SIZE_MAX && off != fixed)
            return jv_set_error(JAVM_ERR_BAD_SSZ,
                                "ssz: %s: offset of field '%s' (byte %zu) is %u, not the fixed-part "
                                "length %zu",
                                what, fields[i].name, pos, off, fixed);
        if (off > s.len)
            return jv_set_error(JAVM_ERR_BAD_SSZ,
                                "ssz: %s: offset of field '%s' (byte %zu) is %u, past the end (%zu)",
                                what, fields[i].name, pos, off, s.len);
        if (prev_var != SIZE_MAX) {
            if (off < prev_off)
                return jv_set_error(JAVM_ERR_BAD_SSZ,
                                    "ssz: %s: offset of field '%s' (byte %zu) is %u, below the "
                                    "previous offset %zu",
                                    what, fields[i].name, pos, off, prev_off);
            out[prev_var].len = off - prev_off;
        }
        out[i].p = s.p + off;
        prev_var = i;
        prev_off = off;
        pos += 4;
    }
    if (prev_var == SIZE_MAX) {
        if (s.len != fixed)
            return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: %zu trailing bytes after the %zu-byte "
                                "fixed-size container", what, s.len - fixed, fixed);
    } else {
        out[prev_var].len = s.len - prev_off;
    }
    return JAVM_OK;
}

javm_status jv_ssz_container_encode(jv_ssz_buf *b, const jv_ssz_field *fields, size_t nfields,
                                    const jv_ssz_span *values) {
    size_t fixed = fixed_part_len(fields, nfields), var = 0;
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i].fixed_size && values[i].len != fields[i].fixed_size)
            return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                                "ssz: field '%s' is %zu bytes, its type is %zu", fields[i].name,
                                values[i].len, fields[i].fixed_size);
        if (!fields[i].fixed_size) var += values[i].len;
    }
    if (fixed + var >= (1ull << 32))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: container encoding reaches 2^32 bytes");
    size_t off = fixed;
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i].fixed_size) {
            jv_ssz_put_bytes(b, values[i].p, values[i].len);
        } else {
            jv_ssz_put_uint(b, off, 4);
            off += values[i].len;
        }
    }
    for (size_t i = 0; i < nfields; i++)
        if (!fields[i].fixed_size) jv_ssz_put_bytes(b, values[i].p, values[i].len);
    if (b->oom) return jv_set_error(JAVM_ERR_NO_MEMORY, "ssz: out of memory encoding a container");
    return JAVM_OK;
}

javm_status jv_ssz_union_split(jv_ssz_span s, unsigned noptions, bool has_none,
                               unsigned *selector, jv_ssz_span *body, const char *what) {
    if (s.len == 0)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: empty union (no selector byte)", what);
    unsigned sel = s.p[0];
    if (sel > 127)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: union selector %u is reserved (> 127)",
                            what, sel);
    if (sel >= noptions)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: union selector %u out of range (%u options)",
                            what, sel, noptions);
    if (has_none && sel == 0 && s.len != 1)
        return jv_set_error(JAVM_ERR_BAD_SSZ, "ssz: %s: union None followed by %zu bytes", what,
                            s.len - 1);
    *selector = sel;
    body->p = s.p + 1;
    body->len = s.len - 1;
    return JAVM_OK;
}

/* ---- Merkleization ----------------------------------------------------------------------- */
/* Reduce `pairs` 64-byte pairs at level d from in to out (32 bytes each); out may equal in.
 * Pairs equal to Z[d] || Z[d] become Z[d+1] without hashing; runs of others are hashed in one
 * batch (the SHA-NI backend hashes two lanes at a time). */
/* in[0..64) == z || z, compared as eight 64-bit words (no libc call in the node loop). */
static inline bool pair_is_zero_hash(const uint8_t *in, const uint8_t *z) {
    uint64_t acc = 0;
    for (int k = 0; k < 4; k++) {
        uint64_t a, b, w;
        memcpy(&a, in + 8 * k, 8);
        memcpy(&b, in + 32 + 8 * k, 8);
        memcpy(&w, z + 8 * k, 8);
        acc |= (a ^ w) | (b ^ w);
    }
    return acc == 0;
}

static void reduce_level(const uint8_t *in, size_t pairs, unsigned d, uint8_t *out) {
    const jv_hash32 *z = jv_cap_zero_hash(d), *z1 = jv_cap_zero_hash(d + 1);
    size_t i = 0;
    while (i < pairs) {
        size_t j = i;
        while (j < pairs && !pair_is_zero_hash(in + 64 * j, z->b)) j++;
        if (j > i) jv_cap_sha256_pairs(in + 64 * i, j - i, out + 32 * i);
        if (j < pairs) memcpy(out + 32 * j, z1->b, 32);
        i = j + 1;
    }
}

javm_status jv_cap_merkle_bytes(const uint8_t *data, size_t nbytes, unsigned depth,
                                jv_hash32 *out) {
    size_t nchunks = nbytes / 32 + (nbytes % 32 != 0);
    if (nchunks == 0) {
        *out = *jv_cap_zero_hash(depth);
        return JAVM_OK;
    }
    if (depth < 64 && nchunks > (1ull << depth))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "merkleize: %zu chunks do not fit depth %u",
                            nchunks, depth);
    if (depth == 0) {
        memset(out->b, 0, 32);
        memcpy(out->b, data, nbytes < 32 ? nbytes : 32);
        return JAVM_OK;
    }
    size_t pairs = (nchunks + 1) / 2;
    uint8_t stackbuf[64 * 32 + 32] __attribute__((aligned(64)));
    uint8_t *work = stackbuf;
    size_t need = pairs * 32 + 32;
    if (need > sizeof stackbuf) {
        work = malloc(need);
        if (!work) return jv_set_error(JAVM_ERR_NO_MEMORY, "merkleize: out of memory (%zu bytes)", need);
    }
    /* Level 0 from the input: whole pairs directly, the last partial pair zero-padded. */
    size_t whole = nbytes / 64;
    reduce_level(data, whole, 0, work);
    if (whole < pairs) {
        uint8_t tail[64] = {0};
        memcpy(tail, data + 64 * whole, nbytes - 64 * whole);
        reduce_level(tail, 1, 0, work + 32 * whole);
    }
    size_t m = pairs;
    for (unsigned d = 1; d < depth; d++) {
        if (m & 1) {
            memcpy(work + 32 * m, jv_cap_zero_hash(d)->b, 32);
            m++;
        }
        reduce_level(work, m / 2, d, work);
        m /= 2;
    }
    memcpy(out->b, work, 32);
    if (work != stackbuf) free(work);
    return JAVM_OK;
}

unsigned jv_cap_ceil_log2(uint64_t n) {
    unsigned d = 0;
    while (d < 64 && (1ull << d) < n) d++;
    return d;
}

javm_status jv_ssz_merkleize(const uint8_t *chunks, size_t n, uint64_t limit, jv_hash32 *out) {
    if (n > limit)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "merkleize: %zu chunks exceed the limit %llu",
                            n, (unsigned long long)limit);
    if (n > SIZE_MAX / 32)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "merkleize: %zu chunks is too many", n);
    return jv_cap_merkle_bytes(chunks, n * 32, jv_cap_ceil_log2(limit ? limit : 1), out);
}

void jv_ssz_mix_in_length(const jv_hash32 *root, uint64_t len, jv_hash32 *out) {
    jv_hash32 l = {{0}};
    for (int i = 0; i < 8; i++) l.b[i] = (uint8_t)(len >> (8 * i));
    jv_cap_sha256_pair(root, &l, out);
}

void jv_ssz_mix_in_selector(const jv_hash32 *root, unsigned selector, jv_hash32 *out) {
    jv_hash32 s = {{0}};
    s.b[0] = (uint8_t)selector;
    jv_cap_sha256_pair(root, &s, out);
}

void jv_ssz_htr_uint(uint64_t v, jv_hash32 *out) {
    memset(out->b, 0, 32);
    for (int i = 0; i < 8; i++) out->b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t byte_chunk_limit(size_t n) { return n / 32 + (n % 32 != 0); }

javm_status jv_ssz_htr_bytevector(const uint8_t *p, size_t n, jv_hash32 *out) {
    if (!n) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: ByteVector[0] is illegal");
    return jv_cap_merkle_bytes(p, n, jv_cap_ceil_log2(byte_chunk_limit(n)), out);
}

javm_status jv_ssz_htr_bytelist(const uint8_t *p, size_t n, size_t limit, jv_hash32 *out) {
    if (n > limit)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: %zu bytes exceed ByteList[%zu]", n, limit);
    jv_hash32 r;
    uint64_t cl = byte_chunk_limit(limit);
    javm_status st = jv_cap_merkle_bytes(p, n, jv_cap_ceil_log2(cl ? cl : 1), &r);
    if (st) return st;
    jv_ssz_mix_in_length(&r, n, out);
    return JAVM_OK;
}

javm_status jv_ssz_htr_uint_list(const uint64_t *vals, size_t n, unsigned elem_bytes,
                                 size_t limit, jv_hash32 *out) {
    if (elem_bytes != 1 && elem_bytes != 2 && elem_bytes != 4 && elem_bytes != 8)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: unsupported uint%u", elem_bytes * 8);
    if (n > limit)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: %zu elements exceed the limit %zu", n, limit);
    if (limit > SIZE_MAX / 8)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "ssz: list limit %zu is too large", limit);
    jv_ssz_buf b = {0};
    for (size_t i = 0; i < n; i++) jv_ssz_put_uint(&b, vals[i], elem_bytes);
    if (b.oom) {
        jv_ssz_buf_fini(&b);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "ssz: out of memory packing a list");
    }
    uint64_t cl = byte_chunk_limit(limit * elem_bytes);
    jv_hash32 r;
    javm_status st = jv_cap_merkle_bytes(b.p, b.len, jv_cap_ceil_log2(cl ? cl : 1), &r);
    jv_ssz_buf_fini(&b);
    if (st) return st;
    jv_ssz_mix_in_length(&r, n, out);
    return JAVM_OK;
}
