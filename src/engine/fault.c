/* engine — the process-wide SIGSEGV handler, the window registry and alternate signal stacks
 * (ENG-2, ENG-4). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/error.h"

/* ---- Registry ------------------------------------------------------------------------------
 * A fixed array of slots. Writers (register/unregister) serialize on a mutex; the handler reads
 * without locks: owner is published last with release order and read with acquire order, so a
 * handler that sees an owner also sees its bounds. A slot is only reused after its owner was
 * cleared; a window faults only on the thread running it, which holds it alive, so a stale read
 * can never make the handler act on a freed context. */
typedef struct jv_fault_slot {
    _Atomic uintptr_t lo, hi;
    _Atomic(jv_paged *) owner;
} jv_fault_slot;

static jv_fault_slot g_slots[JV_FAULT_MAX_WINDOWS];
static _Atomic unsigned g_high; /* slots [0, g_high) may be in use */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

int jv_fault_register(jv_paged *p, uintptr_t lo, uintptr_t hi) {
    pthread_mutex_lock(&g_lock);
    int slot = -1;
    for (unsigned i = 0; i < JV_FAULT_MAX_WINDOWS; i++) {
        if (atomic_load_explicit(&g_slots[i].owner, memory_order_relaxed) == NULL) {
            slot = (int)i;
            break;
        }
    }
    if (slot >= 0) {
        atomic_store_explicit(&g_slots[slot].lo, lo, memory_order_relaxed);
        atomic_store_explicit(&g_slots[slot].hi, hi, memory_order_relaxed);
        atomic_store_explicit(&g_slots[slot].owner, p, memory_order_release);
        if ((unsigned)slot >= atomic_load_explicit(&g_high, memory_order_relaxed))
            atomic_store_explicit(&g_high, (unsigned)slot + 1, memory_order_release);
    }
    pthread_mutex_unlock(&g_lock);
    return slot;
}

void jv_fault_unregister(int slot) {
    if (slot < 0 || slot >= JV_FAULT_MAX_WINDOWS) return;
    pthread_mutex_lock(&g_lock);
    atomic_store_explicit(&g_slots[slot].owner, NULL, memory_order_release);
    atomic_store_explicit(&g_slots[slot].hi, 0, memory_order_relaxed);
    atomic_store_explicit(&g_slots[slot].lo, 0, memory_order_relaxed);
    pthread_mutex_unlock(&g_lock);
}

static jv_paged *jv_fault_lookup(uintptr_t a) {
    unsigned n = atomic_load_explicit(&g_high, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        jv_paged *o = atomic_load_explicit(&g_slots[i].owner, memory_order_acquire);
        if (!o) continue;
        uintptr_t lo = atomic_load_explicit(&g_slots[i].lo, memory_order_relaxed);
        uintptr_t hi = atomic_load_explicit(&g_slots[i].hi, memory_order_relaxed);
        if (a >= lo && a < hi) return o;
    }
    return NULL;
}

/* ---- Chaining -------------------------------------------------------------------------------- */
/* The SIGSEGV action found at installation (or at the last reinstall). Two slots and an index
 * so a reinstall never tears the action a concurrent handler is reading. */
static struct sigaction g_prev_slot[2];
static _Atomic int g_prev_idx;

static void jv_fault_chain(int sig, siginfo_t *si, void *uc) {
    const struct sigaction *prev =
        &g_prev_slot[atomic_load_explicit(&g_prev_idx, memory_order_acquire)];
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction) {
            prev->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
        return;
    }
    /* SIG_DFL, or SIG_IGN (which the kernel does not honour for a synchronous fault either):
     * restore the default action. A hardware fault re-executes the instruction on return and
     * dies with the default action (core dump intact); a sent signal is re-raised. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (si->si_code <= 0) raise(sig);
}

/* ---- The handler -----------------------------------------------------------------------------
 * Returns 1 after resolving (the caller returns from the signal and the instruction retries), 0
 * if the fault is not inside the published access (not ours), and leaves with siglongjmp for a
 * PVM-level fault. */
static int jv_fault_handle_ours(jv_paged *p, siginfo_t *si, void *uc_) {
    uintptr_t a = (uintptr_t)si->si_addr;
    uint64_t acc = p->acc;
    ucontext_t *uc = uc_;
    bool hw_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
    uint32_t addr;
    unsigned width;
    bool is_write;
    if (acc & JV_ACC_VALID_BIT) { /* a direct access (jv_paged_access) */
        addr = (uint32_t)acc;
        width = (unsigned)(acc >> JV_ACC_WIDTH_SHIFT) & 0xFF;
        is_write = (acc & JV_ACC_WRITE_BIT) != 0;
    } else { /* the loop: the published op's access (registers are in memory) */
        const jv_pvm_op *op = p->cur ? *p->cur : NULL;
        if (!op || !jv_pvm_op_is_mem(op)) return 0;
        addr = jv_pvm_op_addr(op, p->regs);
        width = jv_pvm_op_width(op);
        is_write = jv_pvm_op_is_store(op);
    }
    uintptr_t start = (uintptr_t)p->mem->base + addr;
    /* ENG-2: the fault must lie inside the access (which never wraps, ENG-5). */
    if (width == 0 || width > 8 || hw_write != is_write || a < start || a >= start + width)
        return 0;
    p->stats.host_faults++;
    if (jv_paged_resolve(p, addr, width, is_write) == 0) return 1; /* retry the instruction */
    /* ENG-4: leave through the run function's exit path. The kernel blocked SIGSEGV for the
     * duration of this handler; jumping out does not restore the mask, so unblock it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    siglongjmp(p->exit_jb, 1);
}

/* ENG-2, first half: the context whose window holds the hardware fault's address and which is
 * running on this thread, or NULL. */
static jv_paged *jv_fault_owner(const siginfo_t *si) {
    if (si->si_code <= 0) return NULL; /* sent with kill/raise/sigqueue, not a fault */
    jv_paged *p = jv_fault_lookup((uintptr_t)si->si_addr);
    if (!p || !p->running || !pthread_equal(p->thread, pthread_self())) return NULL;
    return p;
}

static void jv_fault_handler(int sig, siginfo_t *si, void *uc_) {
    int saved_errno = errno;
    jv_paged *p = jv_fault_owner(si);
    if (p && jv_fault_handle_ours(p, si, uc_)) {
        errno = saved_errno;
        return;
    }
    errno = saved_errno;
    jv_fault_chain(sig, si, uc_);
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static javm_status g_install_status = JAVM_ERR_OS;
static int g_install_errno;

/* Our SIGSEGV action: on the alternate stack, other signals left unblocked. */
static void jv_fault_action(struct sigaction *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sa_sigaction = jv_fault_handler;
    sa->sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa->sa_mask);
}

static void jv_fault_do_install(void) {
    struct sigaction sa;
    jv_fault_action(&sa);
    if (sigaction(SIGSEGV, &sa, &g_prev_slot[0]) != 0) {
        g_install_errno = errno;
        return;
    }
    g_install_status = JAVM_OK;
}

/* Installs the handler again if something replaced it since (its action becomes the one we
 * chain to). For hosts that install and restore SIGSEGV handlers around their own code, e.g.
 * cmocka around each test, and for embedders; see docs/ENGINE.md. */
javm_status jv_fault_reinstall(void) {
    javm_status st = jv_fault_install();
    if (st != JAVM_OK) return st;
    pthread_mutex_lock(&g_lock);
    struct sigaction cur;
    int rc = sigaction(SIGSEGV, NULL, &cur);
    if (rc == 0 && !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == jv_fault_handler)) {
        struct sigaction sa;
        jv_fault_action(&sa);
        if ((void *)cur.sa_handler != (void *)jv_fault_handler) { /* not a mangled copy of ours */
            int next = 1 - atomic_load_explicit(&g_prev_idx, memory_order_relaxed);
            g_prev_slot[next] = cur;
            atomic_store_explicit(&g_prev_idx, next, memory_order_release);
        }
        rc = sigaction(SIGSEGV, &sa, NULL);
    }
    pthread_mutex_unlock(&g_lock);
    if (rc != 0)
        return jv_set_error(JAVM_ERR_OS, "engine: installing the SIGSEGV handler failed: %s",
                            strerror(errno));
    return JAVM_OK;
}

/* The public hook for embedders that install their own SIGSEGV handler after javm: call it
 * first; it returns 0 for faults that are not javm's (and does not return for javm's PVM-level
 * faults, which leave through the engine's exit path). */
JAVM_API int javm_handle_fault(int sig, void *siginfo, void *ucontext) {
    siginfo_t *si = siginfo;
    if (sig != SIGSEGV || !si || !ucontext) return 0;
    jv_paged *p = jv_fault_owner(si);
    return p ? jv_fault_handle_ours(p, si, ucontext) : 0;
}

javm_status jv_fault_install(void) {
    pthread_once(&g_once, jv_fault_do_install);
    if (g_install_status != JAVM_OK)
        return jv_set_error(JAVM_ERR_OS, "engine: installing the SIGSEGV handler failed: %s",
                            strerror(g_install_errno));
    return JAVM_OK;
}

/* ---- Alternate signal stacks ----------------------------------------------------------------
 * One per thread that runs paged instances, created on first use unless the thread already has
 * one (an embedding application's or a sanitizer's, which we then share). Freed by a
 * thread-specific-data destructor at thread exit. The stack is an mmap with a PROT_NONE guard
 * page below it. */
#define JV_ALTSTACK_SIZE (256u * 1024u)
#define JV_ALTSTACK_GUARD 4096u /* PROT_NONE page below the stack */
static pthread_key_t g_stack_key;
static pthread_once_t g_stack_once = PTHREAD_ONCE_INIT;
static __thread int t_stack_ready;

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

javm_status jv_fault_thread_prepare(void) {
    if (t_stack_ready) return JAVM_OK;
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return jv_set_error(JAVM_ERR_OS, "engine: sigaltstack: %s", strerror(errno));
    if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= 32768) { /* one exists: share it */
        t_stack_ready = 1;
        return JAVM_OK;
    }
    pthread_once(&g_stack_once, jv_altstack_key_init);
    void *mem = mmap(NULL, JV_ALTSTACK_SIZE + JV_ALTSTACK_GUARD, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return jv_set_error(JAVM_ERR_NO_MEMORY, "engine: alternate signal stack: %s",
                            strerror(errno));
    mprotect(mem, JV_ALTSTACK_GUARD, PROT_NONE);
    stack_t ss = {.ss_sp = (uint8_t *)mem + JV_ALTSTACK_GUARD, .ss_size = JV_ALTSTACK_SIZE,
                  .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        int e = errno;
        munmap(mem, JV_ALTSTACK_SIZE + JV_ALTSTACK_GUARD);
        return jv_set_error(JAVM_ERR_OS, "engine: sigaltstack: %s", strerror(e));
    }
    pthread_setspecific(g_stack_key, mem);
    t_stack_ready = 1;
    return JAVM_OK;
}
