/* The ABI rules of include/javm.h: explicit append-only status values, size-prefixed
 * caller-allocated structs, the numeric version, and the paged-instance limit's own status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "javm.h"

/* E(0) E1(0) E(1) code = trap, bitmask = 1 */
static const uint8_t trap_blob[] = {0x00, 0x00, 0x01, 0x00, 0x01};

static javm_program *load_trap(void) {
    javm_program *p = NULL;
    assert_int_equal(javm_program_load(trap_blob, sizeof trap_blob, &p), JAVM_OK);
    return p;
}

/* Published values never change: this table is the ABI, append to it only. */
static void status_values_are_fixed(void **state) {
    (void)state;
    static const struct {
        javm_status s;
        int value;
    } fixed[] = {
        {JAVM_OK, 0},          {JAVM_ERR_INVALID_ARGUMENT, 1}, {JAVM_ERR_NO_MEMORY, 2},
        {JAVM_ERR_BAD_PROGRAM, 3}, {JAVM_ERR_BAD_CONTAINER, 4}, {JAVM_ERR_UNALIGNED, 5},
        {JAVM_ERR_OVERFLOW, 6},    {JAVM_ERR_NOT_MAPPED, 7},    {JAVM_ERR_STATE, 8},
        {JAVM_ERR_UNSUPPORTED, 9}, {JAVM_ERR_OS, 10},           {JAVM_ERR_BAD_SSZ, 11},
        {JAVM_ERR_MISSING_PAGE, 12}, {JAVM_ERR_HASH_MISMATCH, 13}, {JAVM_ERR_LIMIT, 14},
        {JAVM_ERR_BAD_IMAGE, 15},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        assert_int_equal((int)fixed[i].s, fixed[i].value);
        assert_string_not_equal(javm_status_str(fixed[i].s), "unknown status");
    }
    /* every listed status has a description, and the list holds nothing the table lacks */
    int listed = 0;
#define COUNT(name, value, msg) listed++;
    JAVM_STATUS_LIST(COUNT)
#undef COUNT
    assert_int_equal(listed, (int)(sizeof fixed / sizeof fixed[0]));
    assert_string_equal(javm_status_str(JAVM_ERR_LIMIT), "a documented limit was reached");
    assert_string_equal(javm_status_str((javm_status)1000), "unknown status");

    assert_int_equal(JAVM_EXIT_HALT, 0);
    assert_int_equal(JAVM_EXIT_PANIC, 1);
    assert_int_equal(JAVM_EXIT_OUT_OF_GAS, 2);
    assert_int_equal(JAVM_EXIT_PAGE_FAULT, 3);
    assert_int_equal(JAVM_EXIT_HOST_CALL, 4);
}

static void version_number_matches_string(void **state) {
    (void)state;
    assert_int_equal(javm_version_number(), JAVM_VERSION_NUMBER);
    assert_string_equal(javm_version(), JAVM_VERSION_STRING);
    unsigned ma, mi, pa;
    assert_int_equal(sscanf(javm_version(), "%u.%u.%u", &ma, &mi, &pa), 3);
    assert_int_equal(ma, JAVM_VERSION_MAJOR);
    assert_int_equal(mi, JAVM_VERSION_MINOR);
    assert_int_equal(pa, JAVM_VERSION_PATCH);
    assert_int_equal(javm_version_number(), (int)(ma * 1000000 + mi * 1000 + pa));
}

/* A javm_config followed by bytes of a field this library does not know. */
typedef struct {
    javm_config c;
    uint64_t newer_field;
} newer_config;

static void config_size_is_checked(void **state) {
    (void)state;
    javm_program *p = load_trap();
    javm_instance *vm = NULL;
    javm_config c;
    javm_config_init(&c);
    assert_int_equal(c.size, sizeof c);
    assert_int_equal(c.engine, JAVM_ENGINE_SOFT);
    assert_int_equal(c.cow_cost, 0); /* 0 = the default */

    c.size = 0; /* a caller that did not use the initializer */
    assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "size 0"));
    assert_null(vm);

    /* The first layout's size, without the tail padding: accepted, and the padding unread. */
    javm_config_init(&c);
    c.size = JAVM_CONFIG_SIZE_V1;
    c.ro_write_faults = 1;
    assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_OK);
    javm_instance_free(vm);
    vm = NULL;

    newer_config n;
    memset(&n, 0, sizeof n);
    n.c.size = sizeof n;
    assert_int_equal(javm_instance_new(p, &n.c, &vm), JAVM_ERR_UNSUPPORTED);
    assert_non_null(strstr(javm_last_error(), "as new as the header"));
    assert_null(vm);
    javm_program_free(p);
}

/* An exit record followed by bytes of a field this library does not know. */
typedef struct {
    javm_exit_info ex;
    uint8_t canary[16];
} newer_exit;

static void exit_info_size_is_checked(void **state) {
    (void)state;
    javm_program *p = load_trap();
    javm_instance *vm = NULL;
    assert_int_equal(javm_instance_new(p, NULL, &vm), JAVM_OK);
    javm_gas_set(vm, 10);

    javm_exit_info ex = {0};
    assert_int_equal(javm_run(vm, &ex), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "exit info"));
    assert_int_equal(javm_gas_get(vm), 10); /* nothing ran */

    newer_exit n;
    memset(&n, 0xEE, sizeof n);
    n.ex.size = sizeof n;
    assert_int_equal(javm_run(vm, &n.ex), JAVM_OK);
    assert_int_equal(n.ex.size, sizeof n); /* kept */
    assert_int_equal(n.ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(n.ex.pc, 0);
    assert_int_equal(n.ex.arg, 0);
    for (size_t i = 0; i < sizeof n.canary; i++) assert_int_equal(n.canary[i], 0xEE);
    javm_instance_free(vm);
    javm_program_free(p);
}

typedef struct {
    javm_stats st;
    uint8_t canary[16];
} newer_stats;

static void stats_size_is_checked(void **state) {
    (void)state;
    javm_program *p = load_trap();
    javm_instance *vm = NULL;
    assert_int_equal(javm_instance_new(p, NULL, &vm), JAVM_OK);
    javm_gas_set(vm, 10);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);

    javm_stats st = {0};
    assert_int_equal(javm_stats_get(vm, &st), JAVM_ERR_INVALID_ARGUMENT);
    javm_stats ok = JAVM_STATS_INIT;
    assert_int_equal(javm_stats_get(vm, &ok), JAVM_OK);
    assert_int_equal(ok.size, sizeof ok);
    assert_int_equal(ok.instructions, 1); /* the trap */

    newer_stats n;
    memset(&n, 0xEE, sizeof n);
    n.st.size = sizeof n;
    assert_int_equal(javm_stats_get(vm, &n.st), JAVM_OK);
    assert_int_equal(n.st.size, sizeof n);
    assert_memory_equal((uint8_t *)&n.st + offsetof(javm_stats, instructions),
                        (uint8_t *)&ok + offsetof(javm_stats, instructions),
                        sizeof ok - offsetof(javm_stats, instructions));
    for (size_t i = 0; i < sizeof n.canary; i++) assert_int_equal(n.canary[i], 0xEE);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* Past JAVM_MAX_PAGED_INSTANCES live paged instances, javm_instance_new names the limit. */
static void paged_instance_limit_has_its_status(void **state) {
    (void)state;
    if (!javm_engine_available(JAVM_ENGINE_PAGED)) skip();
    javm_program *p = load_trap();
    javm_config c;
    javm_config_init(&c);
    c.engine = JAVM_ENGINE_PAGED;
    javm_instance **vms = calloc(JAVM_MAX_PAGED_INSTANCES, sizeof *vms);
    assert_non_null(vms);
    for (int i = 0; i < JAVM_MAX_PAGED_INSTANCES; i++)
        assert_int_equal(javm_instance_new(p, &c, &vms[i]), JAVM_OK);
    javm_instance *extra = NULL;
    assert_int_equal(javm_instance_new(p, &c, &extra), JAVM_ERR_LIMIT);
    assert_non_null(strstr(javm_last_error(), "paged instances"));
    assert_null(extra);
    javm_instance_free(vms[7]);
    assert_int_equal(javm_instance_new(p, &c, &vms[7]), JAVM_OK); /* a freed slot is reused */
    for (int i = 0; i < JAVM_MAX_PAGED_INSTANCES; i++) javm_instance_free(vms[i]);
    free(vms);
    javm_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_values_are_fixed),
        cmocka_unit_test(version_number_matches_string),
        cmocka_unit_test(config_size_is_checked),
        cmocka_unit_test(exit_info_size_is_checked),
        cmocka_unit_test(stats_size_is_checked),
        cmocka_unit_test(paged_instance_limit_has_its_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
