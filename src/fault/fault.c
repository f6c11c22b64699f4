/* fault — the process-wide SIGSEGV and SIGBUS handler, the window registry, chaining and alternate signal
 * stacks (FLT-1..FLT-6). */
#include "fault/fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/error.h"

/* ---- Registry ------------------------------------------------------------------------------
 * A fixed array of slots, each guarded by a sequence number: writers (register/unregister,
 * serialized by a mutex) make it odd while they change the slot and even again after. The
 * handler reads without locks and skips a slot whose sequence is odd or changed while it read
 * (a slot being rewritten never holds the window that is faulting: that window's owner is
 * running on the faulting thread and keeps it registered, FLT-5). */
typedef struct jv_fault_slot {
    _Atomic unsigned seq;
    _Atomic uintptr_t lo, hi; /* hi == 0: free */
    _Atomic(jv_fault_fn) fn;
    _Atomic(void *) ctx;
} jv_fault_slot;

static jv_fault_slot g_slots[JV_FAULT_MAX_WINDOWS];
static _Atomic unsigned g_high; /* slots [0, g_high) may be in use */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void slot_write(jv_fault_slot *s, uintptr_t lo, uintptr_t hi, jv_fault_fn fn, void *ctx) {
    unsigned q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->lo, lo, memory_order_relaxed);
    atomic_store_explicit(&s->hi, hi, memory_order_relaxed);
    atomic_store_explicit(&s->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&s->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

int jv_fault_register(uintptr_t lo, uintptr_t hi, jv_fault_fn fn, void *ctx) {
    if (!fn || hi <= lo) return -1;
    pthread_mutex_lock(&g_lock);
    int slot = -1;
    for (unsigned i = 0; i < JV_FAULT_MAX_WINDOWS; i++) {
        if (atomic_load_explicit(&g_slots[i].hi, memory_order_relaxed) == 0) {
            slot = (int)i;
            break;
        }
    }
    if (slot >= 0) {
        slot_write(&g_slots[slot], lo, hi, fn, ctx);
        if ((unsigned)slot >= atomic_load_explicit(&g_high, memory_order_relaxed))
            atomic_store_explicit(&g_high, (unsigned)slot + 1, memory_order_release);
    }
    pthread_mutex_unlock(&g_lock);
    return slot;
}

void jv_fault_unregister(int slot) {
    if (slot < 0 || slot >= JV_FAULT_MAX_WINDOWS) return;
    pthread_mutex_lock(&g_lock);
    slot_write(&g_slots[slot], 0, 0, NULL, NULL);
    pthread_mutex_unlock(&g_lock);
}

/* The callback and ctx of the window holding a, or false. */
static bool jv_fault_lookup(uintptr_t a, jv_fault_fn *fn, void **ctx) {
    unsigned n = atomic_load_explicit(&g_high, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        jv_fault_slot *s = &g_slots[i];
        unsigned q = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q & 1) continue;
        uintptr_t lo = atomic_load_explicit(&s->lo, memory_order_relaxed);
        uintptr_t hi = atomic_load_explicit(&s->hi, memory_order_relaxed);
        jv_fault_fn f = atomic_load_explicit(&s->fn, memory_order_relaxed);
        void *c = atomic_load_explicit(&s->ctx, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != q) continue;
        if (f && a >= lo && a < hi) {
            *fn = f;
            *ctx = c;
            return true;
        }
    }
    return false;
}

/* The signals guest faults arrive as: SIGSEGV (a protection or unmapped-page fault) and SIGBUS
 * (a first touch of an armed page, docs/MEMORY.md MEM-11). */
static void fault_sigset(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGSEGV);
    sigaddset(set, SIGBUS);
}

void jv_fault_unblock(void) {
    sigset_t set;
    fault_sigset(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- Chaining (FLT-6) ------------------------------------------------------------------------
 * The SIGSEGV and SIGBUS actions found at installation (or at the last reinstall), one pair
 * per signal ([0] SIGSEGV, [1] SIGBUS). Two slots and an index so a reinstall never tears the
 * action a concurrent handler is reading. */
#define NSIG_OURS 2
static const int g_sigs[NSIG_OURS] = {SIGSEGV, SIGBUS};
static struct sigaction g_prev_slot[NSIG_OURS][2];
static _Atomic int g_prev_idx[NSIG_OURS];

static void jv_fault_chain(int sig, siginfo_t *si, void *uc) {
    int k = sig == SIGBUS;
    const struct sigaction *prev =
        &g_prev_slot[k][atomic_load_explicit(&g_prev_idx[k], memory_order_acquire)];
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction) {
            prev->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (prev->sa_handler == SIG_IGN) {
        if (si->si_code <= 0) return; /* a sent signal the application ignores */
    } else if (prev->sa_handler != SIG_DFL) {
        prev->sa_handler(sig);
        return;
    }
    /* SIG_DFL, or SIG_IGN for a hardware fault (which the kernel does not ignore either):
     * restore the default action. A hardware fault re-executes the instruction on return and
     * dies with the default action (core dump intact); a sent signal is re-raised. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (si->si_code <= 0) raise(sig);
}

/* ---- The handler (FLT-1..FLT-3) ------------------------------------------------------------- */
#if defined(__x86_64__) && defined(__linux__)
#define JV_TRAP_PAGE_FAULT 14 /* x86 #PF */
#define JV_PF_WRITE 2u        /* page-fault error code: the access was a write */
#endif

static jv_fault_access jv_fault_access_of(const ucontext_t *uc) {
#if defined(__x86_64__) && defined(__linux__)
    if (uc->uc_mcontext.gregs[REG_TRAPNO] == JV_TRAP_PAGE_FAULT)
        return (uc->uc_mcontext.gregs[REG_ERR] & JV_PF_WRITE) ? JV_FAULT_WRITE : JV_FAULT_READ;
#else
    (void)uc;
#endif
    return JV_FAULT_ACCESS_UNKNOWN;
}

/* Returns 1 if a window's callback handled the fault, 0 otherwise. */
static int jv_fault_dispatch(siginfo_t *si, ucontext_t *uc) {
    if (si->si_code <= 0) return 0; /* sent with kill/raise/sigqueue, not a fault */
    jv_fault_fn fn;
    void *ctx;
    if (!jv_fault_lookup((uintptr_t)si->si_addr, &fn, &ctx)) return 0;
    jv_fault_info fi = {.addr = (uintptr_t)si->si_addr,
                        .access = jv_fault_access_of(uc),
                        .si = si,
                        .uc = uc};
    return fn(ctx, &fi) == JV_FAULT_HANDLED;
}

static void jv_fault_handler(int sig, siginfo_t *si, void *uc) {
    int saved_errno = errno;
    int handled = jv_fault_dispatch(si, uc);
    errno = saved_errno;
    if (!handled) jv_fault_chain(sig, si, uc);
}

/* The public hook for embedders that install their own SIGSEGV handler after javm: call it
 * first; it returns 0 for faults that are not javm's (and does not return for javm's guest
 * faults that end a run, which leave through the engine's exit path). */
JAVM_API int javm_handle_fault(int sig, void *siginfo, void *ucontext) {
    if ((sig != SIGSEGV && sig != SIGBUS) || !siginfo || !ucontext) return 0;
    return jv_fault_dispatch(siginfo, ucontext);
}

/* ---- Installation ------------------------------------------------------------------------------ */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static javm_status g_install_status = JAVM_ERR_OS;
static int g_install_errno;

/* Our action (SIGSEGV and SIGBUS): on the alternate stack, other signals left unblocked. */
static void jv_fault_action(struct sigaction *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sa_sigaction = jv_fault_handler;
    sa->sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa->sa_mask);
}

static void jv_fault_do_install(void) {
    struct sigaction sa;
    jv_fault_action(&sa);
    for (int k = 0; k < NSIG_OURS; k++) {
        if (sigaction(g_sigs[k], &sa, &g_prev_slot[k][0]) != 0) {
            g_install_errno = errno;
            return;
        }
    }
    g_install_status = JAVM_OK;
}

javm_status jv_fault_install(void) {
    pthread_once(&g_once, jv_fault_do_install);
    if (g_install_status != JAVM_OK)
        return jv_set_error(JAVM_ERR_OS, "fault: installing the SIGSEGV/SIGBUS handler failed: %s",
                            strerror(g_install_errno));
    return JAVM_OK;
}

/* Installs the handler again if something replaced it since (its action becomes the one we
 * chain to). For hosts that install and restore SIGSEGV handlers around their own code, e.g.
 * cmocka around each test, and for embedders; see docs/ENGINE.md. */
javm_status jv_fault_reinstall(void) {
    javm_status st = jv_fault_install();
    if (st != JAVM_OK) return st;
    pthread_mutex_lock(&g_lock);
    int rc = 0;
    for (int k = 0; k < NSIG_OURS && rc == 0; k++) {
        struct sigaction cur;
        rc = sigaction(g_sigs[k], NULL, &cur);
        if (rc != 0 || ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == jv_fault_handler))
            continue;
        struct sigaction sa;
        jv_fault_action(&sa);
        if ((void *)cur.sa_handler != (void *)jv_fault_handler) { /* not a mangled copy of ours */
            int next = 1 - atomic_load_explicit(&g_prev_idx[k], memory_order_relaxed);
            g_prev_slot[k][next] = cur;
            atomic_store_explicit(&g_prev_idx[k], next, memory_order_release);
        }
        rc = sigaction(g_sigs[k], &sa, NULL);
    }
    pthread_mutex_unlock(&g_lock);
    if (rc != 0)
        return jv_set_error(JAVM_ERR_OS, "fault: installing the SIGSEGV/SIGBUS handler failed: %s",
                            strerror(errno));
    return JAVM_OK;
}

/* ---- Alternate signal stacks and the signal mask (FLT-7) ----------------------------------
 * One stack per thread that runs guest code, created on first use unless the thread already
 * has one of at least JV_ALTSTACK_MIN bytes (an embedding application's or a sanitizer's, which
 * we then share). A thread with a smaller one of its own keeps it: ours is swapped in for each
 * run (jv_fault_thread_enter) and the application's put back after it (jv_fault_thread_leave).
 * Freed by a thread-specific-data destructor at thread exit. The stack is an mmap with a
 * PROT_NONE guard page below it. */
#define JV_ALTSTACK_SIZE (256u * 1024u)
#define JV_ALTSTACK_GUARD 4096u /* PROT_NONE page below the stack */
#define JV_ALTSTACK_MIN 32768u
static pthread_key_t g_stack_key;
static pthread_once_t g_stack_once = PTHREAD_ONCE_INIT;
enum { T_UNKNOWN = 0, T_OURS, T_SHARED, T_SWAP };
static __thread int t_stack_mode;
static __thread void *t_stack_mem; /* ours, if allocated */
static __thread stack_t t_app_stack; /* the application's, while ours is swapped in */
static __thread int t_swapped, t_segv_blocked;
static __thread sigset_t t_app_mask; /* while t_segv_blocked: the mask found at enter */
/* The mask is looked at on every outermost run (one system call, ~0.1 µs: about 4 % of a host
 * call's round trip on a paged instance): a thread may block SIGSEGV at any time between runs,
 * and a fault taken with it blocked kills the process. */

static void jv_altstack_free(void *mem) {
    if (!mem) return;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == (uint8_t *)mem + JV_ALTSTACK_GUARD &&
        !(cur.ss_flags & SS_ONSTACK)) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
    }
    munmap(mem, JV_ALTSTACK_SIZE + JV_ALTSTACK_GUARD);
}

static void jv_altstack_key_init(void) { pthread_key_create(&g_stack_key, jv_altstack_free); }

static stack_t our_stack(void) {
    return (stack_t){.ss_sp = (uint8_t *)t_stack_mem + JV_ALTSTACK_GUARD,
                     .ss_size = JV_ALTSTACK_SIZE,
                     .ss_flags = 0};
}

javm_status jv_fault_thread_prepare(void) {
    if (t_stack_mode == T_OURS || t_stack_mode == T_SHARED) return JAVM_OK;
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return jv_set_error(JAVM_ERR_OS, "fault: sigaltstack: %s", strerror(errno));
    if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= JV_ALTSTACK_MIN) { /* share it */
        t_stack_mode = T_SHARED;
        return JAVM_OK;
    }
    if (!t_stack_mem) {
        pthread_once(&g_stack_once, jv_altstack_key_init);
        void *mem = mmap(NULL, JV_ALTSTACK_SIZE + JV_ALTSTACK_GUARD, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED)
            return jv_set_error(JAVM_ERR_NO_MEMORY, "fault: alternate signal stack: %s",
                                strerror(errno));
        mprotect(mem, JV_ALTSTACK_GUARD, PROT_NONE);
        t_stack_mem = mem;
        pthread_setspecific(g_stack_key, mem);
    }
    if (!(cur.ss_flags & SS_DISABLE)) { /* the application's, too small: swap per run */
        t_stack_mode = T_SWAP;
        return JAVM_OK;
    }
    stack_t ss = our_stack();
    if (sigaltstack(&ss, NULL) != 0)
        return jv_set_error(JAVM_ERR_OS, "fault: sigaltstack: %s", strerror(errno));
    t_stack_mode = T_OURS;
    return JAVM_OK;
}

/* Only the outermost run of a thread saves and restores: an inner run (started from a trace
 * callback) finds SIGSEGV unblocked and our stack in place, and must leave them so. */
static __thread unsigned t_depth;

void jv_fault_thread_enter(void) {
    if (t_depth++ > 0) return;
    sigset_t set, old;
    fault_sigset(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, &old);
    t_segv_blocked = sigismember(&old, SIGSEGV) == 1 || sigismember(&old, SIGBUS) == 1;
    t_app_mask = old;
    if (t_stack_mode == T_SWAP && !t_swapped) {
        stack_t ss = our_stack();
        if (sigaltstack(&ss, &t_app_stack) == 0) t_swapped = 1;
    }
}

void jv_fault_thread_leave(void) {
    if (t_depth == 0 || --t_depth > 0) return;
    if (t_swapped) {
        t_app_stack.ss_flags &= ~SS_ONSTACK;
        sigaltstack(&t_app_stack, NULL);
        t_swapped = 0;
        t_stack_mode = T_UNKNOWN; /* looked at again before the next run */
    }
    if (t_segv_blocked) { /* block again exactly those of the two that were blocked */
        sigset_t set;
        sigemptyset(&set);
        if (sigismember(&t_app_mask, SIGSEGV) == 1) sigaddset(&set, SIGSEGV);
        if (sigismember(&t_app_mask, SIGBUS) == 1) sigaddset(&set, SIGBUS);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        t_segv_blocked = 0;
    }
}
