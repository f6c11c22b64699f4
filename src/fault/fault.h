/* fault — the process-wide SIGSEGV and SIGBUS mechanism: one handler for every engine that runs guest
 * code on host-protected memory (the paged engine, the recompiler).
 *
 * What it owns
 *   - the SIGSEGV and SIGBUS actions (installed once per process, each chained to the action found before it,
 *     re-installed on request), the per-thread alternate signal stacks, and the registry of
 *     address windows with the callback that owns each;
 *   - nothing about the PVM: which faults an engine resolves, how it decodes the access and
 *     where it exits is the engine's callback (dependencies run one way: engines use this
 *     layer, never the reverse).
 *
 * The callback contract (FLT-n, cited by tests)
 *   FLT-1  a SIGSEGV or SIGBUS raised by the hardware (si_code > 0) whose address lies in a
 *          registered window [lo, hi) calls that window's callback, on the faulting thread, in
 *          the signal handler (on the alternate stack), with that signal blocked. (SIGBUS is how
 *          the first touch of an armed page arrives, MEM-11 in mem/mem.h.) Sent signals (kill, raise,
 *          sigqueue: si_code <= 0) and addresses outside every window never reach a callback.
 *   FLT-2  the callback receives its ctx and a jv_fault_info: the fault address, the access
 *          kind (read / write from bit 1 of the x86-64 page-fault error code, when the trap is
 *          a page fault; unknown otherwise), the siginfo and the ucontext. It may read and
 *          change the ucontext (general registers, RIP): the thread resumes from it when the
 *          callback returns JV_FAULT_HANDLED.
 *   FLT-3  JV_FAULT_NOT_MINE passes the signal on to the chained action, exactly as if no
 *          window had matched (a callback must return it for faults of a thread that is not
 *          running its guest, or outside the access it expects).
 *   FLT-4  a callback may leave with siglongjmp to a point on the same thread; it must call
 *          jv_fault_unblock() first (it unblocks both signals) (the kernel's mask for the handler stays otherwise).
 *   FLT-5  the callback must be async-signal-safe. It runs while its window is registered;
 *          unregistering a window waits for nothing, so an owner unregisters only while none of
 *          its threads can fault in it (no guest code running on it).
 *   FLT-6  chaining: the previous action runs as installed — SA_SIGINFO handlers with the
 *          siginfo and ucontext, plain handlers with the signal number; SIG_DFL restores the
 *          default action (a hardware fault then re-executes and dies with a core dump; a sent
 *          signal is re-raised); SIG_IGN ignores a sent signal and, for a hardware fault (which
 *          the kernel never ignores), behaves as SIG_DFL.
 *   FLT-7  the thread's state is the application's outside guest code: its alternate signal
 *          stack (kept; ours only swapped in while guest code runs if its own is too small) and
 *          its signal mask (a thread that blocks SIGSEGV or SIGBUS has them unblocked only while
 *          guest code runs). The mask is looked at on every outermost run, so a thread may
 *          change it between runs.
 */
#ifndef JV_FAULT_H
#define JV_FAULT_H

#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#include "javm.h"

typedef enum jv_fault_access {
    JV_FAULT_READ = 0,
    JV_FAULT_WRITE = 1,
    JV_FAULT_ACCESS_UNKNOWN = 2, /* not a page-fault trap, or no error code */
} jv_fault_access;

typedef struct jv_fault_info {
    uintptr_t addr;        /* si_addr: the first inaccessible byte the host reported */
    jv_fault_access access;
    siginfo_t *si;
    ucontext_t *uc;        /* the interrupted context; may be changed (FLT-2) */
} jv_fault_info;

typedef enum jv_fault_verdict {
    JV_FAULT_NOT_MINE = 0, /* chain (FLT-3) */
    JV_FAULT_HANDLED = 1,  /* resume from the (possibly changed) ucontext */
} jv_fault_verdict;

typedef jv_fault_verdict (*jv_fault_fn)(void *ctx, const jv_fault_info *fi);

/* Installs the SIGSEGV and SIGBUS handler once per process (pthread_once); returns the status of that
 * one installation. Chains each signal to the action found at installation time. */
javm_status jv_fault_install(void);
/* Installs the handler again if another one replaced it (which then becomes the chained one). */
javm_status jv_fault_reinstall(void);

/* Registry of windows: lock-free lookup in the handler; registration takes a mutex. Windows
 * must not overlap; call jv_fault_install first. Returns a slot (>= 0), or -1 when
 * JV_FAULT_MAX_WINDOWS windows are registered. */
#define JV_FAULT_MAX_WINDOWS JAVM_MAX_PAGED_INSTANCES /* the public limit (javm.h) */
int jv_fault_register(uintptr_t lo, uintptr_t hi, jv_fault_fn fn, void *ctx);
void jv_fault_unregister(int slot);

/* FLT-4: unblock SIGSEGV and SIGBUS before leaving a callback with siglongjmp. */
void jv_fault_unblock(void);

/* FLT-7. Prepares the calling thread to take guest faults: its alternate signal stack — the
 * thread's own if it has one of at least 32 KiB (shared), else ours (256 KiB, created once and
 * kept until thread exit; a thread with a smaller stack of its own keeps it, ours is swapped in
 * only while guest code runs). Call it before running guest code; it is the only step that can
 * fail. */
javm_status jv_fault_thread_prepare(void);
/* FLT-7. Around each stretch of guest code on the thread (after jv_fault_thread_prepare):
 * enter unblocks SIGSEGV (a thread that blocks it would otherwise be killed by the first
 * fault) and swaps in our stack where needed; leave restores the application's stack and
 * signal mask. Neither fails. They nest (a run started from a trace callback): only the
 * outermost pair saves and restores. */
void jv_fault_thread_enter(void);
void jv_fault_thread_leave(void);

#endif /* JV_FAULT_H */
