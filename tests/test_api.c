/* Public-API misuse: every entry point of include/javm.h given bad input returns a javm_status
 * and a message naming the problem, never crashes, and a failing call leaves the instance as it
 * was. One regression test per defect found in review. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "api/api.h"
#include "engine/engine.h"
#include "javm.h"
#include "regs.h"

/* E(0) E1(0) E(1) code = trap, bitmask = 1 */
static const uint8_t trap_blob[] = {0x00, 0x00, 0x01, 0x00, 0x01};

static javm_program *load_trap(void) {
    javm_program *p = NULL;
    assert_int_equal(javm_program_load(trap_blob, sizeof trap_blob, &p), JAVM_OK);
    return p;
}

static javm_instance *new_instance(const javm_program *p, javm_engine e) {
    javm_config c;
    javm_config_init(&c);
    c.engine = e;
    javm_instance *vm = NULL;
    assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_OK);
    return vm;
}

/* A javm_map_snapshot call that fails on its access argument must not drop what was mapped. */
static void map_snapshot_bad_access_keeps_mapping(void **state) {
    (void)state;
    javm_program *p = load_trap();
    for (int e = 0; e < 2; e++) {
        if (!javm_engine_available((javm_engine)e)) continue;
        javm_instance *vm = new_instance(p, (javm_engine)e);
        uint8_t data[4096], back[4096];
        memset(data, 0xAB, sizeof data);
        assert_int_equal(javm_map(vm, 0x20000, 4096, JAVM_ACCESS_RW, data, sizeof data), JAVM_OK);
        javm_snapshot *snap = NULL;
        assert_int_equal(javm_snapshot_new(data, 100, &snap), JAVM_OK);
        assert_int_equal(javm_map_snapshot(vm, 0x20000, 4096, JAVM_ACCESS_NONE, snap, 0),
                         JAVM_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(javm_last_error(), "access"));
        assert_int_equal(javm_map_snapshot(vm, 0x20000, 4096, (javm_access)7, snap, 0),
                         JAVM_ERR_INVALID_ARGUMENT);
        assert_int_equal(javm_page_access(vm, 0x20000), JAVM_ACCESS_RW);
        assert_int_equal(javm_mem_read(vm, 0x20000, back, sizeof back), JAVM_OK);
        assert_memory_equal(back, data, sizeof data);
        javm_snapshot_free(snap);
        javm_instance_free(vm);
    }
    javm_program_free(p);
}

/* javm_handle_fault is public: a NULL ucontext (or siginfo) is not javm's fault, even for an
 * address inside a window whose instance is running on this thread (here: from a trace hook). */
static const uint8_t load_blob[] = {0x00, 0x00, 0x06, 0x34, 0x01, 0x00, 0x00, 0x02, 0x00, 0x21};
static int g_hook_result = -1;
static void hook_calls_handle_fault(void *user, const javm_instance *vm, uint32_t pc) {
    (void)user, (void)pc;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGSEGV;
    si.si_code = SEGV_ACCERR;
    si.si_addr = vm->mem.base + 0x20000;
    g_hook_result = javm_handle_fault(SIGSEGV, &si, NULL) + 2 * javm_handle_fault(SIGSEGV, NULL, NULL);
}

static void handle_fault_null_context(void **state) {
    (void)state;
    if (!javm_engine_available(JAVM_ENGINE_PAGED)) skip();
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    javm_program *p = NULL;
    assert_int_equal(javm_program_load(load_blob, sizeof load_blob, &p), JAVM_OK);
    javm_instance *vm = new_instance(p, JAVM_ENGINE_PAGED);
    assert_int_equal(javm_map(vm, 0x20000, 4096, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    javm_gas_set(vm, 10);
    javm_set_trace(vm, hook_calls_handle_fault, NULL);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(g_hook_result, 0);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* NULL and out-of-range arguments to every entry point: a status and a message, no crash. */
static void null_and_out_of_range_arguments(void **state) {
    (void)state;
    javm_program *p = NULL;
    javm_instance *vm = NULL;
    javm_snapshot *snap = NULL;
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    uint8_t buf[16] = {0};
    assert_int_equal(javm_program_load(trap_blob, sizeof trap_blob, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_program_load(NULL, 5, &p), JAVM_ERR_INVALID_ARGUMENT);
    assert_null(p);
    assert_int_equal(javm_program_load(NULL, 0, &p), JAVM_ERR_BAD_PROGRAM);
    assert_int_equal(javm_program_load_standard(NULL, 20, &p), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_program_load_standard(buf, sizeof buf, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_program_code_size(NULL), 0);
    assert_int_equal(javm_program_disasm(NULL, 0, (char *)buf, sizeof buf), 0);
    assert_int_equal(javm_instance_new(NULL, NULL, &vm), JAVM_ERR_INVALID_ARGUMENT);
    assert_null(vm);
    p = load_trap();
    assert_int_equal(javm_instance_new(p, NULL, NULL), JAVM_ERR_INVALID_ARGUMENT);
    javm_config c;
    javm_config_init(&c);
    c.engine = (javm_engine)7;
    assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "engine"));
    javm_config_init(&c);
    c.gas_model = (javm_gas_model)3;
    assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_ERR_INVALID_ARGUMENT);
    javm_config_init(&c);
    c.mat = 1;
    c.cow_cost = UINT64_MAX;
    assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_ERR_INVALID_ARGUMENT);
    assert_null(vm);
    assert_int_equal(javm_instance_init_standard(NULL, NULL, 0), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_map(NULL, 0x10000, 4096, JAVM_ACCESS_RW, NULL, 0), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_unmap(NULL, 0x10000, 4096), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_protect(NULL, 0x10000, 4096, JAVM_ACCESS_RO), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_page_access(NULL, 0x10000), JAVM_ACCESS_NONE);
    assert_int_equal(javm_mem_read(NULL, 0, buf, 1), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_mem_write(NULL, 0, buf, 1), JAVM_ERR_INVALID_ARGUMENT);
    uint64_t v = 7;
    assert_int_equal(javm_reg_get(NULL, 0, &v), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_reg_set(NULL, 0, 1), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_gas_get(NULL), 0);
    javm_gas_set(NULL, 5);
    assert_int_equal(javm_pc_get(NULL), 0);
    assert_int_equal(javm_pc_set(NULL, 0), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_run(NULL, &ex), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_instance_reset(NULL, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_stats_get(NULL, NULL), JAVM_ERR_INVALID_ARGUMENT);
    javm_set_trace(NULL, NULL, NULL);
    assert_int_equal(javm_snapshot_new(NULL, 10, &snap), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_snapshot_new(buf, 10, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_null(snap);
    javm_snapshot_free(NULL);
    javm_instance_free(NULL);
    javm_program_free(NULL);
    assert_int_equal(javm_engine_parse(NULL, NULL), JAVM_ERR_INVALID_ARGUMENT);
    javm_config_init(NULL);
    assert_non_null(javm_status_str((javm_status)-1));
    assert_non_null(javm_exit_str((javm_exit_kind)99));
    assert_non_null(javm_engine_name((javm_engine)99));
    assert_int_equal(javm_engine_available((javm_engine)99), 0);

    vm = new_instance(p, JAVM_ENGINE_SOFT);
    assert_int_equal(javm_reg_set(vm, JAVM_NUM_REGS, 1), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "register 13"));
    assert_int_equal(javm_reg_get(vm, 1000, &v), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "register 1000"));
    assert_int_equal(javm_reg_get(vm, 0, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_true(v == 7); /* a failed read leaves the output alone */
    assert_int_equal(javm_run(vm, NULL), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_instance_init_standard(vm, NULL, 0), JAVM_ERR_STATE);
    assert_int_equal(javm_map(vm, 0x10000, 4096, JAVM_ACCESS_RW, NULL, 10), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_map(vm, 0x10001, 4096, JAVM_ACCESS_RW, NULL, 0), JAVM_ERR_UNALIGNED);
    assert_int_equal(javm_map(vm, 0x10000, UINT64_MAX & ~4095ull, JAVM_ACCESS_RW, NULL, 0),
                     JAVM_ERR_OVERFLOW);
    assert_int_equal(javm_map(vm, 0x10000, 4096, JAVM_ACCESS_NONE, NULL, 0), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_protect(vm, 0x10000, 4096, JAVM_ACCESS_RO), JAVM_ERR_NOT_MAPPED);
    assert_int_equal(javm_mem_read(vm, 0x10000, NULL, 1), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_mem_read(vm, 0x10000, buf, SIZE_MAX), JAVM_ERR_OVERFLOW);
    assert_int_equal(javm_mem_write(vm, 0x10000, buf, 1), JAVM_ERR_NOT_MAPPED);
    assert_int_equal(javm_map_snapshot(vm, 0x10000, 4096, JAVM_ACCESS_RO, NULL, 0), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_snapshot_new(buf, sizeof buf, &snap), JAVM_OK);
    assert_int_equal(javm_map_snapshot(vm, 0x10000, 4096, JAVM_ACCESS_RO, snap, 1), JAVM_ERR_UNALIGNED);
    assert_int_equal(javm_map_snapshot(vm, 0x10000, 4096, JAVM_ACCESS_RO, snap, UINT64_MAX & ~4095ull),
                     JAVM_ERR_OVERFLOW);
    javm_snapshot_free(snap);
    /* run to the panic, then run again without a new pc */
    javm_gas_set(vm, 10);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(javm_run(vm, &ex), JAVM_ERR_STATE);
    assert_non_null(strstr(javm_last_error(), "panicked"));
    assert_int_equal(javm_pc_set(vm, UINT32_MAX), JAVM_OK);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, UINT32_MAX);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* javm_instance_init_standard lays the standard layout out afresh on every call: arguments of
 * an earlier call do not show through after shorter new ones, the stack is zero again, and pages
 * sbrk added are gone with the heap top back at its start (docs/PROGRAM.md §3). */
static const uint8_t std_container[] = {
    0x00, 0x00, 0x00,       /* |o| = 0 */
    0x00, 0x00, 0x00,       /* |w| = 0 */
    0x01, 0x00,             /* z = 1 heap page */
    0x00, 0x10, 0x00,       /* s = 4096 */
    0x14, 0x00, 0x00, 0x00, /* |c| = 20 */
    /* load_imm r9, 0x55; store_ind_u8 r9, r1, -8; load_imm r10, 4096; sbrk r11, r10;
     * store_ind_u8 r9, r11, 0; trap */
    0x00, 0x00, 0x0f, 0x33, 0x09, 0x55, 0x78, 0x19, 0xf8, 0x33, 0x0a, 0x00, 0x10, 0x65, 0xab,
    0x78, 0xb9, 0x00, 0x49, 0x54,
};

static void init_standard_again_starts_fresh(void **state) {
    (void)state;
    javm_program *p = NULL;
    assert_int_equal(javm_program_load_standard(std_container, sizeof std_container, &p), JAVM_OK);
    for (int e = 0; e < 2; e++) {
        if (!javm_engine_available((javm_engine)e)) continue;
        if (e == JAVM_ENGINE_PAGED) assert_int_equal(jv_fault_reinstall(), JAVM_OK);
        javm_instance *vm = new_instance(p, (javm_engine)e);
        static uint8_t old_args[8000];
        memset(old_args, 'A', sizeof old_args);
        assert_int_equal(javm_instance_init_standard(vm, old_args, sizeof old_args), JAVM_OK);
        javm_gas_set(vm, 100);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
        uint64_t heap = test_reg(vm, 11);
        assert_int_equal(heap, 0x21000);
        assert_int_equal(javm_page_access(vm, 0x21000), JAVM_ACCESS_RW);

        assert_int_equal(javm_instance_init_standard(vm, (const uint8_t *)"BBBBBBBBBB", 10), JAVM_OK);
        uint8_t buf[4096];
        assert_int_equal(javm_mem_read(vm, 0xFEFF0000, buf, sizeof buf), JAVM_OK);
        assert_memory_equal(buf, "BBBBBBBBBB", 10);
        for (size_t i = 10; i < sizeof buf; i++) assert_int_equal(buf[i], 0);
        assert_int_equal(javm_page_access(vm, 0xFEFF1000), JAVM_ACCESS_NONE);
        assert_int_equal(javm_mem_read(vm, 0xFEFF1000, buf, 1), JAVM_ERR_NOT_MAPPED);
        assert_int_equal(javm_mem_read(vm, 0xFEFE0000 - 8, buf, 1), JAVM_OK);
        assert_int_equal(buf[0], 0);
        assert_int_equal(javm_page_access(vm, 0x21000), JAVM_ACCESS_NONE);
        javm_gas_set(vm, 100);
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
        assert_int_equal(test_reg(vm, 11), heap); /* the same sbrk result as the first run */
        javm_instance_free(vm);
    }
    javm_program_free(p);
}

/* A javm_run that fails before running (here: the paged engine cannot allocate this thread's
 * alternate signal stack) leaves the instance as it was: the next run continues after the
 * pending host call instead of executing the ecalli again and charging its block twice. */
/* load_imm r7, 1; ecalli 5; load_imm r7, 2; trap */
static const uint8_t hostcall_blob[] = {0x00, 0x00, 0x09, 0x33, 0x07, 0x01, 0x0a,
                                        0x05, 0x33, 0x07, 0x02, 0x00, 0x29, 0x01};
typedef struct starved_run {
    javm_instance *vm;
    javm_status first;
} starved_run;

static long vm_size_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmSize:", 7)) kb = atol(line + 7);
    if (f) fclose(f);
    return kb * 1024;
}

static void *starved_thread(void *arg) {
    starved_run *r = arg;
    struct rlimit old, lim;
    getrlimit(RLIMIT_AS, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)vm_size_bytes() + 64 * 1024; /* no room for a 256 KiB stack */
    int limited = setrlimit(RLIMIT_AS, &lim) == 0;
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    r->first = javm_run(r->vm, &ex);
    if (limited) setrlimit(RLIMIT_AS, &old);
    return NULL;
}

static void failed_run_keeps_resume_point(void **state) {
    (void)state;
    if (!javm_engine_available(JAVM_ENGINE_PAGED)) skip();
    javm_program *p = NULL;
    assert_int_equal(javm_program_load(hostcall_blob, sizeof hostcall_blob, &p), JAVM_OK);
    javm_instance *vm = new_instance(p, JAVM_ENGINE_PAGED);
    javm_gas_set(vm, 100);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
    assert_int_equal(ex.pc, 3);
    assert_int_equal(javm_gas_get(vm), 96);
    starved_run r = {vm, JAVM_OK};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, starved_thread, &r), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (r.first != JAVM_OK) { /* the run failed: nothing may have changed */
        assert_int_equal(r.first, JAVM_ERR_NO_MEMORY);
        assert_int_equal(javm_gas_get(vm), 96);
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    } else { /* the thread had an alternate stack already (e.g. a sanitizer's) */
        ex.kind = JAVM_EXIT_PANIC, ex.pc = 8;
    }
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 8);
    assert_int_equal(test_reg(vm, 7), 2);
    assert_int_equal(javm_gas_get(vm), 96);
    javm_instance_free(vm);
    javm_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_snapshot_bad_access_keeps_mapping),
        cmocka_unit_test(handle_fault_null_context),
        cmocka_unit_test(null_and_out_of_range_arguments),
        cmocka_unit_test(init_standard_again_starts_fresh),
        cmocka_unit_test(failed_run_keeps_resume_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
