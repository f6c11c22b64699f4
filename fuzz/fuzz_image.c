/* libFuzzer target for the Image decoder (image/image.h, docs/IMAGE.md "Binary encoding").
 * Every input is decoded twice: as it is, and as a patch over a valid Image encoding (the input
 * gives byte positions and values to change, and a truncation), so that mutations reach the
 * inner fields. The decoder must refuse bad input with JAVM_ERR_BAD_IMAGE (or another error)
 * and a message, never crash or leak; whatever it accepts must re-encode canonically: encoding
 * it and decoding that gives the same content hash and the same bytes again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) abort();                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *g_valid;
static size_t g_valid_len;

/* load_u64 r7, 0x10000000; jump_ind r0, 0 */
static const uint8_t code[] = {0x3a, 0x07, 0x00, 0x00, 0x00, 0x10, 0x32, 0x00};

static void make_valid(void) {
    uint8_t blob[32];
    size_t n = 0;
    blob[n++] = 0;               /* no jump table */
    blob[n++] = 0;               /* z */
    blob[n++] = sizeof code;     /* |c| */
    memcpy(blob + n, code, sizeof code);
    n += sizeof code;
    blob[n++] = 0x41;            /* bitmask: instructions at 0 and 6 */
    jv_image *img;
    CHECK(jv_image_create(blob, n, JAVM_ISA_GP07, JAVM_GAS_GP07, &img) == JAVM_OK);
    jv_datacap *a, *b;
    CHECK(jv_cap_data_create_sized((const uint8_t *)"hello", 5, 8192, &a) == JAVM_OK);
    CHECK(jv_cap_data_create_sized((const uint8_t *)"ro", 2, 4096, &b) == JAVM_OK);
    CHECK(jv_image_add_slot(img, true, 2, b) == JAVM_OK);
    CHECK(jv_image_add_slot(img, false, 1, a) == JAVM_OK);
    uint32_t k1 = 1, k2 = 2;
    CHECK(jv_image_add_mapping(img, 0x10000000, 0x4000, &k1, 1) == JAVM_OK);
    CHECK(jv_image_add_mapping(img, 0x10100000, 0x1000, &k2, 1) == JAVM_OK);
    CHECK(jv_image_add_mapping(img, 0x10200000, 0x1000, NULL, 0) == JAVM_OK);
    uint64_t regs[JV_PVM_NUM_REGS] = {0xFFFF0000u, 0x10201000u};
    CHECK(jv_image_add_endpoint(img, 0, 0, 1, regs) == JAVM_OK);
    CHECK(jv_image_validate(img) == JAVM_OK);
    jv_ssz_buf out = {0};
    CHECK(jv_image_encode(img, &out) == JAVM_OK);
    g_valid = out.p;
    g_valid_len = out.len;
    jv_cap_data_destroy(a);
    jv_cap_data_destroy(b);
    jv_image_destroy(img);
}

static void decode_one(const uint8_t *p, size_t n) {
    jv_image *img;
    javm_status s = jv_image_decode(p, n, &img);
    if (s != JAVM_OK) {
        CHECK(img == NULL);
        CHECK(javm_last_error()[0] != 0);
        return;
    }
    jv_ssz_buf e1 = {0}, e2 = {0};
    CHECK(jv_image_encode(img, &e1) == JAVM_OK);
    jv_image *back;
    CHECK(jv_image_decode(e1.p, e1.len, &back) == JAVM_OK);
    CHECK(memcmp(back->content_hash.b, img->content_hash.b, 32) == 0);
    CHECK(jv_image_encode(back, &e2) == JAVM_OK);
    CHECK(e1.len == e2.len && memcmp(e1.p, e2.p, e1.len) == 0);
    jv_ssz_buf_fini(&e1);
    jv_ssz_buf_fini(&e2);
    jv_image_destroy(back);
    jv_image_destroy(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_valid) make_valid();
    decode_one(data, size);
    /* patch: pairs (position, value) over the valid encoding; the first byte truncates */
    uint8_t *p = malloc(g_valid_len);
    CHECK(p);
    memcpy(p, g_valid, g_valid_len);
    size_t n = g_valid_len;
    if (size && data[0] < 16) n -= n * data[0] / 64;
    for (size_t i = 1; i + 1 < size; i += 2) p[(data[i] * 131u + i) % g_valid_len] = data[i + 1];
    decode_one(p, n);
    free(p);
    return 0;
}
