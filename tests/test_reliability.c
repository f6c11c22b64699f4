/* Reliability of the hardware-paged engines (paged, and the jit where available) under host
 * failures and hostile guests (issue "reliability"
 * defects 1, 2, 3, 9 and the VMA budget; defect 8 is in test_fault.c):
 *   - a failed protection while resolving a fault leaves nothing recorded: host access of the
 *     page afterwards is safe and a later run charges the access exactly once (MEM-8);
 *   - a failed javm_protect leaves metadata and host protection agreeing (MEM-8);
 *   - a thread that blocks SIGSEGV runs paged instances, and keeps its mask (FLT-7);
 *   - an application's small alternate signal stack is kept (FLT-7);
 *   - the worst VMA pattern (every other page of 1 GiB) runs to the soft engine's exact result
 *     without JAVM_ERR_OS, and other instances are unaffected (MEM-7).
 * Host failures are injected with jv_mem_inject_mprotect_failures (ENOMEM, as the kernel
 * reports an exhausted vm.max_map_count). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_helpers.h"
#include "engine/engine.h"
#include "engine_diff.h"
#include "pvm/asm.h"
#include "regs.h"

#define PAGE JV_PAGE_SIZE

/* The engines that run on a hardware-protected window. */
static const javm_engine k_hw[] = {JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
#define FOR_HW(e)                                                                              \
    for (unsigned e##_i = 0; e##_i < 2; e##_i++)                                               \
        for (javm_engine e = k_hw[e##_i]; javm_engine_available(e); e = (javm_engine)-1)

static void same(const javm_instance *a, const javm_instance *b) {
    char why[256];
    if (jv_diff_instances(a, b, why, sizeof why)) fail_msg("soft vs paged: %s", why);
}

/* Stores r4 at 0x20FFC (8 bytes: straddles 0x20000 and 0x21000), then loads it back, halts. */
static const char *k_straddle = "  load_imm r2, 0x20FFC\n  store_ind_u64 r4, r2, 0\n"
                                "  load_ind_u64 r5, r2, 0\n  jump_ind r0, 0\n";

static void run_ok(javm_instance *vm, javm_exit_kind kind) {
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, kind);
}

/* A soft and a hardware-window instance (vm[0], vm[1]) of p with `pages` RW pages at 0x20000,
 * r0 the halt address, r4 = r4 and 10000 gas. */
static void soft_and_hw(const javm_program *p, javm_engine hw, unsigned pages, uint64_t r4,
                        javm_instance *vm[2]) {
    for (int k = 0; k < 2; k++) {
        vm[k] = test_instance(p, k ? hw : JAVM_ENGINE_SOFT, 1);
        assert_int_equal(javm_map(vm[k], 0x20000, pages * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
        assert_int_equal(javm_reg_set(vm[k], 0, JV_HALT_ADDRESS), JAVM_OK);
        assert_int_equal(javm_reg_set(vm[k], 4, r4), JAVM_OK);
        javm_gas_set(vm[k], 10000);
    }
}

/* Defect 1: the protection of the first page (or, for the straddle, of the second page and
 * then of the first page's rollback) fails while resolving; the run reports JAVM_ERR_OS, host
 * reads and writes of the pages then work, nothing of the access was recorded, and the next run
 * ends exactly as the soft engine's run. */
static void failed_open_records_nothing(void **st) {
    static const long fails[][2] = {{0, 1}, {1, 1}, {1, 2}}; /* {skip, fail} */
    javm_program *p = test_assemble(k_straddle);
    jv_uffd_force_off(true); /* the injected failures are of mprotect: the classic path */
    FOR_HW(hw)
    for (unsigned f = 0; f < 3; f++) {
        assert_int_equal(jv_fault_reinstall(), JAVM_OK);
        javm_instance *vm[2];
        soft_and_hw(p, hw, 2, 0x1122334455667788ull, vm);
        run_ok(vm[0], JAVM_EXIT_HALT);
        int64_t gas0 = javm_gas_get(vm[1]);
        jv_mem_inject_mprotect_failures(fails[f][0], fails[f][1]);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        javm_status s = javm_run(vm[1], &ex);
        jv_mem_inject_mprotect_failures(0, 0);
        assert_int_equal(s, JAVM_ERR_OS);
        /* nothing recorded: both pages NotPresent, clean, gas as charged at block entry */
        for (uint32_t pn = 0x20; pn <= 0x21; pn++) {
            assert_int_equal(jv_pg_state(vm[1]->mem.pages[pn]), JV_STATE_NOT_PRESENT);
            assert_false(jv_bit_get(vm[1]->mem.dirty, pn));
        }
        assert_true(javm_gas_get(vm[1]) <= gas0);
        javm_stats stt = JAVM_STATS_INIT;
        javm_stats_get(vm[1], &stt);
        assert_int_equal(stt.mat_gas, 0);
        /* host access is safe (it crashed here before) */
        uint8_t b[16];
        assert_int_equal(javm_mem_read(vm[1], 0x20FF8, b, sizeof b), JAVM_OK);
        assert_int_equal(javm_mem_write(vm[1], 0x20FF0, "x", 1), JAVM_OK);
        assert_int_equal(javm_mem_write(vm[0], 0x20FF0, "x", 1), JAVM_OK);
        /* the retry completes exactly as the soft engine did */
        run_ok(vm[1], JAVM_EXIT_HALT);
        same(vm[0], vm[1]);
        assert_int_equal(test_reg(vm[1], 5), 0x1122334455667788ull);
        javm_instance_free(vm[0]);
        javm_instance_free(vm[1]);
    }
    jv_uffd_force_off(false);
    javm_program_free(p);
}

/* Defect 2: javm_protect whose mprotect fails (and, second round, whose rollback fails too)
 * leaves the old permission in the metadata and a guest store behaves by it, on both engines:
 * metadata and host protection never disagree. */
static void failed_protect_keeps_metadata_and_host_in_step(void **st) {
    javm_program *p = test_assemble("  load_imm r2, 0x20000\n  store_ind_u64 r4, r2, 0\n"
                                    "  jump_ind r0, 0\n");
    FOR_HW(hw)
    for (int fail = 1; fail <= 2; fail++) {
        assert_int_equal(jv_fault_reinstall(), JAVM_OK);
        javm_instance *vm[2];
        soft_and_hw(p, hw, 4, 7, vm);
        for (int k = 0; k < 2; k++) {
            run_ok(vm[k], JAVM_EXIT_HALT); /* the page is written: host read-write (paged) */
            /* a mixed range (written page and untouched pages): several protection runs */
            jv_mem_inject_mprotect_failures(0, fail);
            javm_status s = javm_protect(vm[k], 0x20000, 4 * PAGE, JAVM_ACCESS_RO);
            jv_mem_inject_mprotect_failures(0, 0);
            assert_int_equal(s, JAVM_ERR_OS);
            for (uint32_t a = 0x20000; a < 0x24000; a += PAGE)
                assert_int_equal(javm_page_access(vm[k], a), JAVM_ACCESS_RW);
            assert_int_equal(jv_pg_state(vm[k]->mem.pages[0x20]), JV_STATE_PRESENT_RW);
            /* the guest store follows the metadata: it succeeds (read-write) */
            assert_int_equal(javm_reg_set(vm[k], 4, 9), JAVM_OK);
            assert_int_equal(javm_pc_set(vm[k], 0), JAVM_OK);
            run_ok(vm[k], JAVM_EXIT_HALT);
            uint64_t v = 0;
            assert_int_equal(javm_mem_read(vm[k], 0x20000, &v, 8), JAVM_OK);
            assert_int_equal(v, 9);
            /* and a protect that succeeds takes effect on the guest */
            assert_int_equal(javm_protect(vm[k], 0x20000, 4 * PAGE, JAVM_ACCESS_RO), JAVM_OK);
            assert_int_equal(javm_pc_set(vm[k], 0), JAVM_OK);
            run_ok(vm[k], JAVM_EXIT_PANIC); /* a store to read-only memory */
            assert_int_equal(javm_mem_read(vm[k], 0x20000, &v, 8), JAVM_OK);
            assert_int_equal(v, 9);
        }
        same(vm[0], vm[1]);
        javm_instance_free(vm[0]);
        javm_instance_free(vm[1]);
    }
    javm_program_free(p);
}

/* ---- Thread state (FLT-7) ------------------------------------------------------------------ */
/* Writes 8 pages (first touches), then reads an unmapped page: a page-fault exit. */
static const char *k_touches = "  load_imm r2, 0x20000\n  load_imm r3, 8\n  fallthrough\n"
                               "l: store_ind_u8 r3, r2, 8\n  add_imm_64 r2, r2, 4096\n"
                               "  add_imm_64 r3, r3, -1\n  branch_ne_imm r3, 0, l\n"
                               "  load_u8 r4, 0x40000\n  trap\n";

static int run_touches_on(javm_engine e) {
    uint8_t *blob = NULL;
    size_t len = 0;
    javm_program *p = NULL;
    if (jv_asm_assemble(k_touches, strlen(k_touches), &blob, &len) != JAVM_OK) return 1;
    if (javm_program_load(blob, len, &p) != JAVM_OK) return 2;
    free(blob);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    cfg.mat = 1;
    javm_instance *vm = NULL;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK) return 3;
    if (javm_map(vm, 0x20000, 8 * PAGE, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) return 4;
    javm_gas_set(vm, 100000);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    if (javm_run(vm, &ex) != JAVM_OK) return 5;
    if (ex.kind != JAVM_EXIT_PAGE_FAULT || ex.arg != 0x40000) return 6;
    javm_stats s = JAVM_STATS_INIT;
    javm_stats_get(vm, &s);
    if (s.cow_pages != 8) return 7;
    javm_instance_free(vm);
    javm_program_free(p);
    return 0;
}

static int run_touches(void) {
    FOR_HW(hw) {
        int rc = run_touches_on(hw);
        if (rc) return rc + 100 * (int)hw;
    }
    return 0;
}

static void *blocked_thread(void *arg) {
    int *rc = arg;
    *rc = run_touches();
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    if (*rc == 0 && sigismember(&now, SIGSEGV) != 1) *rc = 8; /* mask restored */
    if (*rc == 0 && (*rc = run_touches()) == 0) { /* and again */
        pthread_sigmask(SIG_BLOCK, NULL, &now);
        if (sigismember(&now, SIGSEGV) != 1) *rc = 9;
    }
    return NULL;
}

/* In a child (the first fault killed the process before): a worker created with every
 * signal blocked runs paged instances. */
/* fn's result, run on a new thread (which inherits the caller's mask). */
static int in_thread(void *(*fn)(void *)) {
    pthread_t t;
    int rc = -1;
    if (pthread_create(&t, NULL, fn, &rc) != 0) return 20;
    pthread_join(t, NULL);
    return rc;
}

static int child_blocked(void) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    return in_thread(blocked_thread);
}

static int fork_run(int (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(fn());
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static void thread_blocking_sigsegv_runs_paged(void **st) {
    assert_int_equal(fork_run(child_blocked), 0);
}

/* A worker that runs with SIGSEGV open, then blocks it and runs again: the mask is looked at on
 * every run, not only on a thread's first one (a per-thread cache of "open" killed it). */
static void *late_blocking_thread(void *arg) {
    int *rc = arg;
    if ((*rc = run_touches()) != 0) return NULL;
    sigset_t all, now;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    if ((*rc = run_touches()) != 0) return NULL;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    if (sigismember(&now, SIGSEGV) != 1 || sigismember(&now, SIGBUS) != 1) *rc = 10;
    pthread_sigmask(SIG_UNBLOCK, &all, NULL);
    if (*rc == 0) *rc = run_touches(); /* and open again */
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    if (*rc == 0 && sigismember(&now, SIGSEGV) == 1) *rc = 11;
    return NULL;
}

static int child_late_blocking(void) { return in_thread(late_blocking_thread); }

static void thread_blocking_sigsegv_after_a_run_runs_paged(void **st) {
    assert_int_equal(fork_run(child_late_blocking), 0);
}

/* Defect 9: an application's 16 KiB alternate stack is kept (ours is used during the run). */
static void *small_stack_thread(void *arg) {
    int *rc = arg;
    static __thread uint8_t mine[16384];
    stack_t ss = {.ss_sp = mine, .ss_size = sizeof mine, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        *rc = 30;
        return NULL;
    }
    for (int round = 0; round < 2; round++) {
        *rc = run_touches();
        if (*rc) return NULL;
        stack_t cur;
        if (sigaltstack(NULL, &cur) != 0 || cur.ss_sp != (void *)mine ||
            cur.ss_size != sizeof mine || (cur.ss_flags & SS_DISABLE)) {
            *rc = 31;
            return NULL;
        }
    }
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    return NULL;
}

static void small_application_altstack_is_kept(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    pthread_t t;
    int rc = -1;
    assert_int_equal(pthread_create(&t, NULL, small_stack_thread, &rc), 0);
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);
}

/* ---- The VMA budget (MEM-7) ---------------------------------------------------------------- */
#define WORST_BASE 0x10000000u
#define WORST_SIZE (1ull << 30)
/* A store to every other page of 1 GiB: alone ~262,000 VMAs with per-page protection, four
 * times vm.max_map_count. */
static const char *k_worst = "  load_imm r2, 0x10000000\n  load_imm r3, 131072\n  fallthrough\n"
                             "l: store_ind_u8 r3, r2, 0\n  add_imm_64 r2, r2, 8192\n"
                             "  add_imm_64 r3, r3, -1\n  branch_ne_imm r3, 0, l\n"
                             "  load_ind_u8 r5, r2, -8192\n  jump_ind r0, 0\n";

static void worst_vma_pattern_matches_soft(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    javm_program *p = test_assemble(k_worst);
    javm_program *small = test_assemble(k_touches);
    /* a bystander instance created before, run after the hostile one */
    javm_instance *other = test_instance(small, JAVM_ENGINE_PAGED, 1);
    assert_int_equal(javm_map(other, 0x20000, 8 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    javm_gas_set(other, 100000);
    javm_instance *vm[3] = {NULL, NULL, NULL};
    int n = 1 + javm_engine_available(JAVM_ENGINE_JIT);
    for (int k = 0; k <= n; k++) {
        vm[k] = test_instance(p, k == 0 ? JAVM_ENGINE_SOFT : k_hw[k - 1], 1);
        assert_int_equal(javm_map(vm[k], WORST_BASE, WORST_SIZE, JAVM_ACCESS_RW, NULL, 0),
                         JAVM_OK);
    }
    uint64_t want_degrades[3] = {0, 0, 0};
    for (int round = 0; round < 2; round++) { /* and again after a reset */
        for (int k = 0; k <= n; k++) {
            /* MEM-11: first writes to armed pages change no VMA, so a live space never needs
             * the switch to soft checks for this pattern */
            want_degrades[k] += !vm[k]->mem.uffd_live;
            javm_gas_set(vm[k], 1ll << 40);
            assert_int_equal(javm_reg_set(vm[k], 0, JV_HALT_ADDRESS), JAVM_OK);
            run_ok(vm[k], JAVM_EXIT_HALT);
        }
        for (int k = 1; k <= n; k++) {
            same(vm[0], vm[k]);
            javm_stats s = JAVM_STATS_INIT;
            javm_stats_get(vm[k], &s);
            assert_int_equal(s.cow_pages, 131072ull * (round + 1)); /* statistics accumulate */
            assert_int_equal(test_reg(vm[k], 5), 1);
            assert_int_equal(vm[k]->mem.degrades, want_degrades[k]); /* went soft if not armed */
        }
        for (int k = 0; k <= n; k++)
            assert_int_equal(javm_instance_reset(vm[k], NULL), JAVM_OK);
        for (int k = 1; k <= n; k++)
            assert_int_equal(vm[k]->mem.mode, JV_MEM_PAGED); /* back to hardware paging */
    }
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(other, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
    assert_int_equal(other->mem.degrades, 0);
    javm_instance_free(other);
    for (int k = 0; k <= n; k++) javm_instance_free(vm[k]);
    javm_program_free(p);
    javm_program_free(small);
}

/* A tiny budget: the switch to soft checks happens in the middle of blocks, straddles and
 * fault exits of a run, and the results stay the soft engine's. */
static void degrading_mid_run_is_exact(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    javm_program *p = test_assemble(k_touches);
    FOR_HW(hw)
    for (int64_t budget = 0; budget <= 12; budget++) {
        javm_instance *vm[2];
        for (int k = 0; k < 2; k++) {
            vm[k] = test_instance(p, k ? hw : JAVM_ENGINE_SOFT, 1);
            vm[k]->mem.vma_budget = budget;
            assert_int_equal(javm_map(vm[k], 0x20000, 8 * PAGE, JAVM_ACCESS_RW, NULL, 0),
                             JAVM_OK);
            javm_gas_set(vm[k], 100000);
            run_ok(vm[k], JAVM_EXIT_PAGE_FAULT);
            assert_int_equal(javm_map(vm[k], 0x40000, PAGE, JAVM_ACCESS_RO, "\x05", 1), JAVM_OK);
            run_ok(vm[k], JAVM_EXIT_PANIC);
        }
        same(vm[0], vm[1]);
        assert_int_equal(test_reg(vm[1], 4), 5);
        javm_instance_free(vm[0]);
        javm_instance_free(vm[1]);
    }
    javm_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thread_blocking_sigsegv_runs_paged),
        cmocka_unit_test(thread_blocking_sigsegv_after_a_run_runs_paged),
        cmocka_unit_test(failed_open_records_nothing),
        cmocka_unit_test(failed_protect_keeps_metadata_and_host_in_step),
        cmocka_unit_test(small_application_altstack_is_kept),
        cmocka_unit_test(worst_vma_pattern_matches_soft),
        cmocka_unit_test(degrading_mid_run_is_exact),
    };
    if (!javm_engine_available(JAVM_ENGINE_PAGED)) {
        printf("paged engine unavailable: nothing to test\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
