/* fault: a fault in the embedder's own code while a guest runs still reaches the embedder's
 * handler (issue "recompiler", the fault-handler rule; FLT-6). While one thread runs a guest on
 * a hardware-paged engine (paged, jit), another thread of the embedder faults
 *   - on a page of its own,
 *   - reading a guest page of the running instance that is mapped but not yet touched,
 *   - writing such a page, and reading an unmapped guest page;
 * every fault must reach the handler the embedder installed before javm (not be resolved as the
 * guest's first touch), and the guest must finish with exactly the soft engine's state. Runs in
 * a child process: a fault swallowed or mis-chained would otherwise kill the test runner. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine_diff.h"
#include "instance.h"
#include "pvm/asm.h"

/* An outer loop of host calls around an inner loop of 20000 iterations that touches one page;
 * the host decides when to stop. */
static const char k_loop[] = "  load_imm r10, 0x20000\n"
                             "  fallthrough\n"
                             "outer:\n"
                             "  load_imm r1, 20000\n"
                             "  fallthrough\n"
                             "inner:\n"
                             "  load_u64 r2, 0x20000\n"
                             "  add_64 r3, r3, r2\n"
                             "  add_imm_64 r1, r1, -1\n"
                             "  branch_ne_imm r1, 0, inner\n"
                             "  ecalli 7\n"
                             "  jump outer\n";

static sigjmp_buf g_jb;         /* the faulting (embedder) thread's */
static volatile uintptr_t g_caught; /* the address the embedder's handler saw */
static volatile pthread_t g_fault_thread;

static void embedder_handler(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    if (!pthread_equal(pthread_self(), g_fault_thread)) _exit(40); /* wrong thread */
    g_caught = (uintptr_t)si->si_addr;
    siglongjmp(g_jb, 1);
}

typedef struct side {
    uint8_t *window;        /* the running instance's guest window */
    _Atomic int started, done;
    int rc;
} side;

/* Faults at p (a read, or a write) and returns 0 if the embedder's handler saw exactly p. */
static int fault_at(volatile uint8_t *p, int write) {
    g_caught = 0;
    if (sigsetjmp(g_jb, 1) == 0) {
        if (write) *p = 0x77;
        else (void)*p;
        return 1; /* no fault at all: the access went through */
    }
    return g_caught == (uintptr_t)p ? 0 : 2;
}

static void *embedder_thread(void *arg) {
    side *s = arg;
    g_fault_thread = pthread_self();
    while (!s->started) usleep(100);
    uint8_t *own = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int round = 0; round < 50 && s->rc == 0; round++) {
        int r;
        if ((r = fault_at(own + 8, round & 1))) s->rc = 10 + r;
        else if ((r = fault_at(s->window + 0x24008, 0))) s->rc = 20 + r; /* mapped, untouched */
        else if ((r = fault_at(s->window + 0x25010, 1))) s->rc = 30 + r;
        else if ((r = fault_at(s->window + 0x90000, round & 1))) s->rc = 50 + r; /* unmapped */
        usleep(200);
    }
    munmap(own, 4096);
    s->done = 1;
    return NULL;
}

static javm_instance *instance(const javm_program *p, javm_engine e) {
    javm_instance *vm = try_instance(p, e, 1);
    if (!vm) return NULL;
    if (javm_map(vm, 0x20000, 8 * 4096, JAVM_ACCESS_RW, "\x03", 1) != JAVM_OK) return NULL;
    javm_gas_set(vm, INT64_C(1) << 40);
    return vm;
}

/* Runs the guest until the embedder thread is done (then for as many host calls on soft). */
static int drive(javm_instance *vm, side *s, unsigned *calls, unsigned limit) {
    for (;;) {
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        if (javm_run(vm, &ex) != JAVM_OK) return 60;
        if (ex.kind != JAVM_EXIT_HOST_CALL || ex.arg != 7) return 61;
        ++*calls;
        if (s) {
            s->started = 1;
            if (s->done) return 0;
        } else if (*calls == limit) {
            return 0;
        }
    }
}

static int child_on(javm_engine e, const javm_program *p) {
    javm_instance *vm = instance(p, e), *ref = instance(p, JAVM_ENGINE_SOFT);
    if (!vm || !ref) return 70;
    side s = {.window = ((javm_instance *)vm)->mem.base};
    pthread_t t;
    if (pthread_create(&t, NULL, embedder_thread, &s) != 0) return 71;
    unsigned calls = 0, ref_calls = 0;
    int rc = drive(vm, &s, &calls, 0);
    pthread_join(t, NULL);
    if (rc) return rc;
    if (s.rc) return s.rc;
    if ((rc = drive(ref, NULL, &ref_calls, calls))) return rc;
    char why[256];
    if (jv_diff_instances(vm, ref, why, sizeof why)) {
        fprintf(stderr, "%s: %s\n", javm_engine_name(e), why);
        return 80;
    }
    javm_instance_free(vm);
    javm_instance_free(ref);
    return 0;
}

static int child(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = embedder_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0) return 90;
    /* an untouched guest page may be armed (MEM-11): the embedder's access to it is a SIGBUS */
    if (sigaction(SIGBUS, &sa, NULL) != 0) return 90;
    if (jv_fault_reinstall() != JAVM_OK) return 91; /* javm on top, chaining to ours */
    uint8_t *blob = NULL;
    size_t len = 0;
    javm_program *p = NULL;
    if (jv_asm_assemble(k_loop, strlen(k_loop), &blob, &len) != JAVM_OK ||
        javm_program_load(blob, len, &p) != JAVM_OK)
        return 92;
    free(blob);
    static const javm_engine hw[] = {JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
    for (unsigned i = 0; i < 2; i++) {
        if (!javm_engine_available(hw[i])) continue;
        int rc = child_on(hw[i], p);
        if (rc) return rc + 100 * (int)i;
    }
    javm_program_free(p);
    return 0;
}

static void embedder_fault_on_another_thread_reaches_embedder(void **st) {
    (void)st;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child());
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) fail_msg("child killed by signal %d", WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Nested runs: a trace callback of a running paged instance runs another instance (jit where
 * available, else paged) on the same thread, which first-touches pages. On a thread that blocks
 * SIGSEGV and has a small alternate stack of its own, both runs complete, and after the outer
 * run the thread's mask blocks SIGSEGV again and its own stack is back (FLT-7 holds for the
 * outermost run, not only for the innermost). */
static const char k_touch[] = "  load_imm r10, 0x20000\n"
                              "  load_imm r1, 8\n"
                              "  fallthrough\n"
                              "loop:\n"
                              "  store_ind_u64 r1, r10, 0\n"
                              "  add_imm_64 r10, r10, 4096\n"
                              "  add_imm_64 r1, r1, -1\n"
                              "  branch_ne_imm r1, 0, loop\n"
                              "  load_imm r0, -65536\n"
                              "  jump_ind r0, 0\n";

typedef struct nest {
    javm_program *inner_p;
    int rc, ran;
} nest;

static void nest_trace(void *user, const javm_instance *outer, uint32_t pc) {
    (void)outer, (void)pc;
    nest *n = user;
    if (n->ran++) return;
    javm_engine e = javm_engine_available(JAVM_ENGINE_JIT) ? JAVM_ENGINE_JIT : JAVM_ENGINE_PAGED;
    javm_instance *vm = instance(n->inner_p, e);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    if (!vm || javm_run(vm, &ex) != JAVM_OK || ex.kind != JAVM_EXIT_HALT) n->rc = 1;
    uint64_t v = 0;
    if (!n->rc && (javm_mem_read(vm, 0x27000, &v, 8) != JAVM_OK || v != 1)) n->rc = 2;
    javm_instance_free(vm);
}

static void *nest_thread(void *arg) {
    int *rc = arg;
    *rc = 0;
    static __thread uint8_t mine[16384];
    stack_t ss = {.ss_sp = mine, .ss_size = sizeof mine, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        *rc = 1;
        return NULL;
    }
    uint8_t *blob = NULL;
    size_t len = 0;
    nest n = {0};
    javm_program *outer_p = NULL;
    if (jv_asm_assemble(k_touch, strlen(k_touch), &blob, &len) != JAVM_OK ||
        javm_program_load(blob, len, &n.inner_p) != JAVM_OK ||
        javm_program_load(blob, len, &outer_p) != JAVM_OK) {
        *rc = 2;
        return NULL;
    }
    free(blob);
    javm_instance *outer = instance(outer_p, JAVM_ENGINE_PAGED);
    if (!outer) {
        *rc = 3;
        return NULL;
    }
    javm_set_trace(outer, nest_trace, &n);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    if (javm_run(outer, &ex) != JAVM_OK || ex.kind != JAVM_EXIT_HALT) *rc = 4;
    else if (n.rc) *rc = 10 + n.rc;
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    stack_t cur;
    if (!*rc && sigismember(&now, SIGSEGV) != 1) *rc = 5; /* the mask is not restored */
    if (!*rc && (sigaltstack(NULL, &cur) != 0 || cur.ss_sp != mine)) *rc = 6;
    javm_instance_free(outer);
    javm_program_free(outer_p);
    javm_program_free(n.inner_p);
    stack_t off = {.ss_flags = SS_DISABLE}; /* not ours to unmap at thread exit (ASan would) */
    sigaltstack(&off, NULL);
    return NULL;
}

static int child_nested(void) {
    if (!javm_engine_available(JAVM_ENGINE_PAGED)) return 0;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_t t;
    int rc = -1;
    if (pthread_create(&t, NULL, nest_thread, &rc) != 0) return 20;
    pthread_join(t, NULL);
    return rc;
}

static void nested_run_restores_mask_and_stack(void **st) {
    (void)st;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child_nested());
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) fail_msg("child killed by signal %d", WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(embedder_fault_on_another_thread_reaches_embedder),
        cmocka_unit_test(nested_run_restores_mask_and_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
