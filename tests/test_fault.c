/* fault: the callback contract of the SIGSEGV mechanism (FLT-1..FLT-6), independent of any
 * engine: what a callback receives (address, access kind, siginfo, ucontext), resuming from a
 * changed ucontext (a register set and RIP moved past the faulting instruction, as the
 * recompiler does), NOT_MINE chaining, sent signals, SIG_IGN, and unregistering.
 *
 * Tests that change the process's SIGSEGV action run in a forked child. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault/fault.h"

#define PAGE 4096u

typedef struct probe {
    int calls;
    jv_fault_info last;
    jv_fault_verdict verdict;
    int open_on_fault; /* mprotect the window read-write before returning */
    int skip_load;     /* emulate the 3-byte `mov (%rax),%rbx`: rbx = 42, RIP += 3 */
    uint8_t *win;
} probe;

static jv_fault_verdict probe_fn(void *ctx, const jv_fault_info *fi) {
    probe *p = ctx;
    p->calls++;
    p->last = *fi;
    if (p->open_on_fault) mprotect(p->win, 2 * PAGE, PROT_READ | PROT_WRITE);
#if defined(__x86_64__)
    if (p->skip_load) {
        fi->uc->uc_mcontext.gregs[REG_RBX] = 42;
        fi->uc->uc_mcontext.gregs[REG_RIP] += 3;
    }
#endif
    return p->verdict;
}

static uint8_t *window(void) {
    uint8_t *w = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(w != MAP_FAILED);
    return w;
}

/* FLT-1, FLT-2: a read and a write fault in the window reach the callback with the address,
 * the access kind, the siginfo and the ucontext; HANDLED resumes the instruction. */
static void callback_gets_address_and_kind(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    assert_int_equal(jv_fault_thread_prepare(), JAVM_OK);
    probe p = {.verdict = JV_FAULT_HANDLED, .open_on_fault = 1};
    p.win = window();
    int slot = jv_fault_register((uintptr_t)p.win, (uintptr_t)p.win + 2 * PAGE, probe_fn, &p);
    assert_true(slot >= 0);
    volatile uint8_t *v = p.win;
    assert_int_equal(v[PAGE + 7], 0);
    assert_int_equal(p.calls, 1);
    assert_ptr_equal((void *)p.last.addr, p.win + PAGE + 7);
    assert_int_equal(p.last.access, JV_FAULT_READ);
    assert_non_null(p.last.si);
    assert_non_null(p.last.uc);
    assert_int_equal(p.last.si->si_signo, SIGSEGV);
    mprotect(p.win, 2 * PAGE, PROT_READ);
    v[9] = 5;
    assert_int_equal(p.calls, 2);
    assert_ptr_equal((void *)p.last.addr, p.win + 9);
    assert_int_equal(p.last.access, JV_FAULT_WRITE);
    assert_int_equal(v[9], 5);
    jv_fault_unregister(slot);
    munmap(p.win, 2 * PAGE);
}

/* FLT-2: the callback changes the interrupted context (a guest register held in a host
 * register, RIP past the faulting instruction) and the thread resumes from it. */
static void callback_changes_ucontext(void **st) {
#if defined(__x86_64__) && defined(__linux__)
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    assert_int_equal(jv_fault_thread_prepare(), JAVM_OK);
    probe p = {.verdict = JV_FAULT_HANDLED, .skip_load = 1};
    p.win = window();
    int slot = jv_fault_register((uintptr_t)p.win, (uintptr_t)p.win + 2 * PAGE, probe_fn, &p);
    assert_true(slot >= 0);
    uint64_t out = 7;
    uint8_t *addr = p.win + 64;
    /* 48 8b 18 = mov (%rax),%rbx: three bytes, which the callback skips */
    __asm__ volatile(".byte 0x48, 0x8b, 0x18" : "+b"(out) : "a"(addr) : "memory");
    assert_int_equal(out, 42);
    assert_int_equal(p.calls, 1);
    assert_ptr_equal((void *)p.last.addr, addr);
    jv_fault_unregister(slot);
    munmap(p.win, 2 * PAGE);
#else
    skip();
#endif
}

/* ---- In a child: the chained action ---------------------------------------------------------- */
static sigjmp_buf g_jb;
static volatile sig_atomic_t g_prev_hits;
static void prev_handler(int sig, siginfo_t *si, void *uc) {
    g_prev_hits++;
    siglongjmp(g_jb, 1);
}

static void set_action(void (*fn)(int, siginfo_t *, void *), void (*plain)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (fn) {
        sa.sa_sigaction = fn;
        sa.sa_flags = SA_SIGINFO;
    } else {
        sa.sa_handler = plain;
    }
    sigaction(SIGSEGV, &sa, NULL);
}

/* FLT-3: NOT_MINE reaches the previous action; after unregistering, the callback is not
 * called at all (FLT-1). */
static int child_not_mine(void) {
    set_action(prev_handler, NULL);
    if (jv_fault_reinstall() != JAVM_OK) return 10;
    if (jv_fault_thread_prepare() != JAVM_OK) return 11;
    probe p = {.verdict = JV_FAULT_NOT_MINE};
    p.win = window();
    int slot = jv_fault_register((uintptr_t)p.win, (uintptr_t)p.win + 2 * PAGE, probe_fn, &p);
    if (slot < 0) return 12;
    if (sigsetjmp(g_jb, 1) == 0) {
        (void)((volatile uint8_t *)p.win)[3];
        return 13;
    }
    if (p.calls != 1 || g_prev_hits != 1) return 14;
    jv_fault_unregister(slot);
    if (sigsetjmp(g_jb, 1) == 0) {
        (void)((volatile uint8_t *)p.win)[3];
        return 15;
    }
    if (p.calls != 1 || g_prev_hits != 2) return 16;
    return 0;
}

/* FLT-1, FLT-6: a sent SIGSEGV never reaches a callback (even with a window registered whose
 * callback would claim it), and an application that ignores SIGSEGV survives a sent one. */
static int child_sent_ignored(void) {
    set_action(NULL, SIG_IGN);
    if (jv_fault_reinstall() != JAVM_OK) return 10;
    probe p = {.verdict = JV_FAULT_HANDLED};
    p.win = window();
    int slot = jv_fault_register((uintptr_t)p.win, (uintptr_t)p.win + 2 * PAGE, probe_fn, &p);
    if (slot < 0) return 11;
    if (kill(getpid(), SIGSEGV) != 0) return 12;
    if (raise(SIGSEGV) != 0) return 13;
    if (p.calls != 0) return 14;
    return 0;
}

/* FLT-6: with SIG_DFL chained, a sent signal still terminates by SIGSEGV. */
static int child_sent_default(void) {
    set_action(NULL, SIG_DFL);
    if (jv_fault_reinstall() != JAVM_OK) return 10;
    raise(SIGSEGV);
    return 11;
}

static int run_child(int (*fn)(void), int *sig) {
    pid_t pid = fork();
    if (pid == 0) _exit(fn());
    int status = 0;
    waitpid(pid, &status, 0);
    *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void chained_not_mine(void **st) {
    int sig;
    assert_int_equal(run_child(child_not_mine, &sig), 0);
}

static void sent_signal_ignored_by_application(void **st) {
    int sig;
    assert_int_equal(run_child(child_sent_ignored, &sig), 0);
}

static void sent_signal_default_terminates(void **st) {
    int sig;
    assert_int_equal(run_child(child_sent_default, &sig), -1);
    assert_int_equal(sig, SIGSEGV);
}

/* Registration bounds: an empty or inverted window, or no callback, is refused. */
static void register_validates(void **st) {
    probe p = {0};
    assert_int_equal(jv_fault_register(0x1000, 0x1000, probe_fn, &p), -1);
    assert_int_equal(jv_fault_register(0x2000, 0x1000, probe_fn, &p), -1);
    assert_int_equal(jv_fault_register(0x1000, 0x2000, NULL, &p), -1);
    int s = jv_fault_register(0x1000, 0x2000, probe_fn, &p);
    assert_true(s >= 0);
    jv_fault_unregister(s);
    jv_fault_unregister(-1);
    jv_fault_unregister(JV_FAULT_MAX_WINDOWS);
}

int main(void) {
    assert_int_equal(jv_fault_install(), JAVM_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chained_not_mine),
        cmocka_unit_test(sent_signal_ignored_by_application),
        cmocka_unit_test(sent_signal_default_terminates),
        cmocka_unit_test(callback_gets_address_and_kind),
        cmocka_unit_test(callback_changes_ucontext),
        cmocka_unit_test(register_validates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
