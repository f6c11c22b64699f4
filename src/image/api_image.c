/* image — the public Image calls (javm_image_*, javm.h "Images") over jv_image. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "image/image.h"
#include "util/error.h"

#define NULLARG(what) jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: %s: NULL argument", what)

javm_status javm_image_new(const uint8_t *blob, size_t len, const javm_load_options *opts,
                           javm_image **out) {
    if (!out) return NULLARG("new");
    *out = NULL;
    javm_load_options o;
    javm_load_options_init(&o);
    if (opts) {
        if (opts->size < JAVM_LOAD_OPTIONS_SIZE_V1 || opts->size > sizeof o)
            return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                                "image: load options size %u is not a known layout", opts->size);
        memcpy(&o, opts, opts->size);
    }
    jv_image *img;
    javm_status s = jv_image_create(blob, len, o.isa, o.gas_model, &img);
    if (!s) *out = (javm_image *)img;
    return s;
}

javm_status javm_image_add_mapping(javm_image *img, uint32_t start, uint64_t size,
                                   const uint32_t *source, unsigned source_len) {
    if (!img) return NULLARG("add_mapping");
    return jv_image_add_mapping(&img->img, start, size, source, source_len);
}

javm_status javm_image_add_slot(javm_image *img, int pinned, uint32_t key, const javm_datacap *d) {
    if (!img || !d) return NULLARG("add_slot");
    return jv_image_add_slot(&img->img, pinned != 0, key, d->d);
}

javm_status javm_image_add_endpoint(javm_image *img, uint32_t key, uint32_t entry_pc,
                                    unsigned arg_registers, const uint64_t regs[JAVM_NUM_REGS]) {
    if (!img) return NULLARG("add_endpoint");
    return jv_image_add_endpoint(&img->img, key, entry_pc, arg_registers, regs);
}

javm_status javm_image_seal(javm_image *img) {
    if (!img) return NULLARG("seal");
    return jv_image_validate(&img->img);
}

javm_status javm_image_decode(const uint8_t *bytes, size_t len, javm_image **out) {
    if (!out) return NULLARG("decode");
    *out = NULL;
    jv_image *img;
    javm_status s = jv_image_decode(bytes, len, &img);
    if (!s) *out = (javm_image *)img;
    return s;
}

static javm_status sealed(const javm_image *img, const char *what) {
    if (!img) return NULLARG(what);
    if (!img->img.valid)
        return jv_set_error(JAVM_ERR_STATE, "image: %s: the Image is not sealed", what);
    return JAVM_OK;
}

javm_status javm_image_encode(const javm_image *img, uint8_t *buf, size_t cap, size_t *len) {
    javm_status s = sealed(img, "encode");
    if (s) return s;
    if (!len) return NULLARG("encode");
    *len = 0;
    jv_ssz_buf b = {0};
    if ((s = jv_image_encode(&img->img, &b))) {
        jv_ssz_buf_fini(&b);
        return s;
    }
    *len = b.len;
    if (buf && cap < b.len)
        s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: encode: %zu bytes needed, %zu given",
                         b.len, cap);
    else if (buf)
        memcpy(buf, b.p, b.len);
    jv_ssz_buf_fini(&b);
    return s;
}

javm_status javm_image_content_hash(const javm_image *img, uint8_t out[JAVM_HASH_SIZE]) {
    javm_status s = sealed(img, "content_hash");
    if (s) return s;
    if (!out) return NULLARG("content_hash");
    memcpy(out, img->img.content_hash.b, 32);
    return JAVM_OK;
}

int javm_image_mapping_is_pinned(const javm_image *img, uint32_t start) {
    return img && jv_image_mapping_is_pinned(&img->img, start);
}

uint64_t javm_image_call_frame_cost(const javm_image *img) {
    return img && img->img.valid ? jv_image_cost(&img->img).call_frame_cost : 0;
}

void javm_image_free(javm_image *img) { jv_image_destroy(img ? &img->img : NULL); }
