/* api: JAM service blobs (PVM-SV1) — E(|m|) ++ m ++ standard container through
 * javm_program_load_service: the metadata is skipped (empty, short, and past 127 bytes where
 * the length takes two bytes), the program is the container's, and a length that runs past the
 * end, is truncated or is not canonical is refused with a message that says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "javm.h"
#include "pvm/pvm.h"

/* A standard container: no data, no heap, a 4 KiB stack, the code blob "trap" (0 jump entries,
 * z = 0, |c| = 1, code 00, bitmask 01). */
static const uint8_t code_blob[] = {0, 0, 1, 0, 1};

static size_t container(uint8_t *out) {
    static const uint8_t head[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0};
    memcpy(out, head, sizeof head);
    size_t n = sizeof head;
    out[n++] = sizeof code_blob; /* E4 |c| */
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0;
    memcpy(out + n, code_blob, sizeof code_blob);
    return n + sizeof code_blob;
}

/* E(|m|) ++ m ++ container, m = meta_len bytes of 'a'. */
static size_t service(uint8_t *out, size_t meta_len) {
    size_t n = jv_pvm_varint_encode(meta_len, out);
    memset(out + n, 'a', meta_len);
    n += meta_len;
    return n + container(out + n);
}

static void loads_and_runs(void **state) {
    (void)state;
    static uint8_t blob[1024];
    static const size_t sizes[] = {0, 5, 127, 128, 300};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = service(blob, sizes[k]);
        javm_program *p = NULL;
        assert_int_equal(javm_program_load_service(blob, n, NULL, &p), JAVM_OK);
        assert_int_equal(javm_program_code_size(p), 1);
        javm_instance *vm = NULL;
        assert_int_equal(javm_instance_new(p, NULL, &vm), JAVM_OK);
        assert_int_equal(javm_instance_init_standard(vm, NULL, 0), JAVM_OK);
        javm_gas_set(vm, 10);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
        assert_int_equal(ex.pc, 0);
        javm_instance_free(vm);
        javm_program_free(p);
    }
}

static void refuses_bad_lengths(void **state) {
    (void)state;
    uint8_t blob[64];
    size_t n = service(blob, 3);
    javm_program *p = (javm_program *)1;
    /* the metadata length says 40 bytes: it runs past the end of a 24-byte blob */
    blob[0] = 40;
    assert_int_equal(javm_program_load_service(blob, n, NULL, &p), JAVM_ERR_BAD_CONTAINER);
    assert_null(p);
    assert_non_null(strstr(javm_last_error(), "metadata of 40 bytes runs past the end"));
    /* a two-byte length cut off */
    uint8_t cut[] = {0x80};
    assert_int_equal(javm_program_load_service(cut, 1, NULL, &p), JAVM_ERR_BAD_CONTAINER);
    assert_non_null(strstr(javm_last_error(), "truncated"));
    assert_int_equal(javm_program_load_service(cut, 0, NULL, &p), JAVM_ERR_BAD_CONTAINER);
    /* 3 written in two bytes is not canonical */
    uint8_t nc[64] = {0x80, 3, 'a', 'b', 'c'};
    size_t m = 5 + container(nc + 5);
    assert_int_equal(javm_program_load_service(nc, m, NULL, &p), JAVM_ERR_BAD_CONTAINER);
    assert_non_null(strstr(javm_last_error(), "not canonically encoded"));
    /* a bad container after good metadata is the container's error */
    n = service(blob, 2);
    assert_int_equal(javm_program_load_service(blob, n - 1, NULL, &p), JAVM_ERR_BAD_CONTAINER);
    assert_non_null(strstr(javm_last_error(), "container:"));
    assert_int_equal(javm_program_load_service(blob, n, NULL, NULL), JAVM_ERR_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_and_runs),
        cmocka_unit_test(refuses_bad_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
