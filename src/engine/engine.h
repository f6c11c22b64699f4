/* engine — the engines behind one operations table (jv_engine_ops): the soft engine's entry
 * (the pvm layer's checked loops) and the hardware-paged engine: first-touch accounting from
 * real page faults.
 *
 * What it owns
 *   - the operations table of each engine it implements (soft, paged);
 *   - the per-instance paged context (jv_paged): where the published op and registers are,
 *     the paged engine's fault callback (registered with the fault layer, fault/fault.h, for
 *     its window: it decodes the published access and resolves or exits), the exit path of a
 *     PVM-level fault, statistics;
 *   - the fault resolution: jv_mem_touch (the soft engine's touch: the all-or-nothing
 *     jv_mat_touch, classified by jv_mem_classify, MEM-3, when it faults), debit the #3 charge,
 *     and open the host protection of the touched pages (ENG-3);
 * The interpreter loop itself is the pvm layer's shared body, instantiated here with plain
 * machine loads/stores on the window (exec.c). Files: paged.c (context, fault callback,
 * resolve, wrap slow path, operations table), exec.c (the paged loop), soft.c (the soft
 * engine's table).
 *
 * Glossary
 *   window     the instance's 4 GiB host reservation (jv_mem.base, jv_mem.window_size bytes,
 *              guard included); registered with the fault layer for the instance's lifetime.
 *   published op  before every guest load/store the paged loop stores the current op (the
 *              pre-decoded instruction) in st->cur (one store); registers live in st->regs.
 *              The callback decodes the access from them with the pvm layer's operand
 *              formula (jv_pvm_op_addr / _width / _is_store) — because the host reports only
 *              the first inaccessible byte (for a straddle, in the second page), never the
 *              start or width. No x86 decoding. Direct accesses outside the loop (tests,
 *              benchmarks: jv_paged_access) publish the access itself in jv_paged.acc instead.
 *   resolve    the callback's work for one faulting access (jv_paged_resolve).
 *
 * Rules (cited by tests as ENG-n)
 *   ENG-1  host protection is a function of the metadata, never more permissive: a writable
 *          page is PROT_NONE while NotPresent, PROT_READ while PresentRo, PROT_READ|PROT_WRITE
 *          while PresentRw; a read-only page is PROT_READ once its unit is mapped, else
 *          PROT_NONE. Anything less permissive merely costs one more (free) fault.
 *   ENG-2  the fault layer calls the window's callback (FLT-1); the callback claims the fault
 *          iff the instance is running on the faulting thread, the access kind matches and the
 *          address lies inside the published access (decoded from the published op); otherwise
 *          it returns JV_FAULT_NOT_MINE and the fault layer chains (FLT-3, FLT-6).
 *   ENG-3  resolve = jv_mem_touch, the soft engine's touch: jv_mat_touch over the whole access
 *          (charge debited from the gas counter, stats; a fault is classified by jv_mem_classify ->
 *          PVM-level exit, nothing charged or changed); then open each page per ENG-1,
 *          low -> high (a read-write page by jv_mem_sync_protection); a read-only page opens its
 *          whole unit (the maximal run of read-only pages around it ∩ its 2 MiB cluster, named
 *          by jv_unit_base) and sets the unit's ro_unit bit. The callback then returns and the
 *          instruction is retried; it cannot fault again.
 *   ENG-4  a PVM-level fault leaves the callback with siglongjmp to the run function's exit
 *          path (jv_fault_unblock first, FLT-4). The exit reports the jv_mem_classify address
 *          (the page base of the lowest inaccessible byte), never the host address.
 *   ENG-5  an access whose bytes may wrap past 0xFFFFFFFF (addr > 0xFFFFFFF8) never faults
 *          on the window: the loop sends it to jv_paged_load_slow / jv_paged_store_slow, which
 *          resolve it like a fault and then perform it modulo 2^32 (jv_load_wrap /
 *          jv_store_wrap, as the soft engine's slow path does). All other accesses are plain
 *          machine loads/stores.
 *   ENG-6  gas equality: the #3 charge of a resolve is exactly jv_mat_touch's, the same as
 *          the soft engine's slow path; an access that hits already-open pages charges 0 in
 *          both engines (pages present with the needed permission charge nothing).
 *   ENG-7  memory snapshots (mem layer, MEM-6) serve the paged engine unchanged: the window's
 *          pages are mapped MAP_PRIVATE from the snapshot's memfd; the kernel copies a page on
 *          its first guest write, which the engine has opened by then.
 *   ENG-8  reset for reuse touches only dirty pages (jv_mem_reset_dirty, mem/mem.h): one
 *          madvise(MADV_DONTNEED) per run of them gives a snapshot page its snapshot bytes back.
 */
#ifndef JV_ENGINE_H
#define JV_ENGINE_H

#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "javm.h"
#include "fault/fault.h"
#include "mem/mem.h"
#include "pvm/pvm.h"

/* ---- The engine operations table -------------------------------------------------------------
 * What the api layer knows of an engine (API-3): one table per engine, chosen by javm_engine
 * at javm_instance_new. The api owns the index (api.c, jv_api_engine); each engine defines its
 * table next to its code. */
typedef enum jv_engine_loop {
    JV_ENGINE_LOOP_DEFAULT = 0,
    JV_ENGINE_LOOP_SWITCH = 1, /* switch dispatch (the soft engine's alternative loop) */
    JV_ENGINE_LOOP_TRACE = 2,  /* single-stepping, calls st->trace_fn before every instruction */
} jv_engine_loop;

typedef struct jv_engine_ops {
    const char *name;    /* "soft", "paged": javm_engine_name / javm_engine_parse */
    jv_mem_mode mem_mode; /* the memory mode its instances are created with */
    /* Whether this build and host can run it (no side effects). */
    bool (*available)(void);
    /* true: the engine has no single-stepping loop; runs with a trace hook are refused. */
    bool no_trace;
    /* Engine context for an instance of prog over an initialized jv_mem of mem_mode; *ctx may
     * stay NULL. */
    javm_status (*create)(const javm_program *prog, jv_mem *m, void **ctx);
    void (*destroy)(void *ctx); /* NULL-safe */
    /* Called on the running thread before jv_pvm_enter consumes the resume point: everything
     * that can fail before guest code runs fails here, leaving the instance unchanged. */
    javm_status (*prepare_thread)(void *ctx);
    /* Runs from op `start` until an exit (st filled as jv_pvm_exec_soft does). A status other
     * than JAVM_OK leaves st at a retry of the interrupted instruction (docs/ENGINE.md). */
    javm_status (*run)(void *ctx, jv_pvm_state *st, const javm_program *prog, jv_mem *m,
                       uint32_t start, jv_engine_loop loop);
    /* Adds the engine's own statistics (e.g. ro_units) to *out; NULL if it has none. */
    void (*stats)(const void *ctx, javm_stats *out);
} jv_engine_ops;

extern const jv_engine_ops jv_engine_soft;  /* soft.c: the pvm layer's checked loops */
extern const jv_engine_ops jv_engine_paged; /* paged.c */

/* ---- Published access ------------------------------------------------------------------- */
#define JV_ACC_WIDTH_SHIFT 32
#define JV_ACC_WRITE_BIT (1ull << 40)
#define JV_ACC_VALID_BIT (1ull << 41)
static inline uint64_t jv_acc_pack(uint32_t addr, unsigned width, bool is_write) {
    return (uint64_t)addr | ((uint64_t)width << JV_ACC_WIDTH_SHIFT) |
           (is_write ? JV_ACC_WRITE_BIT : 0) | JV_ACC_VALID_BIT;
}

/* ---- Per-instance paged context --------------------------------------------------------- */
typedef struct jv_paged_stats {
    uint64_t first_touch_faults; /* pages that left NotPresent in a resolve */
    uint64_t cow_pages;          /* pages that became PresentRw in a resolve */
    uint64_t ro_units;           /* read-only units opened by fault-around */
    uint64_t mat_gas;            /* #3 gas debited by resolves */
    uint64_t host_faults;        /* SIGSEGVs handled (includes PVM-level faults) */
    uint64_t ahead_batches;      /* MEM-12 write-ahead batches opened */
    uint64_t ahead_pages;        /* pages they covered */
    uint64_t watched_pages;      /* MEM-13 reads that left their page writable and watched */
} jv_paged_stats;

typedef struct jv_paged {
    jv_mem *mem;
    volatile uint64_t acc;   /* a published direct access (jv_acc_pack); 0 = none */
    const jv_pvm_op *const volatile *cur; /* the loop's published op (&st->cur) or NULL */
    const uint64_t *regs;    /* the loop's registers (st->regs) */
    int64_t *gas;            /* the gas counter resolves debit (memory-resident while running) */
    volatile int running;    /* 1 while this thread executes guest code on the window */
    pthread_t thread;        /* the thread that runs it (valid while running) */
    sigjmp_buf exit_jb;      /* PVM-level fault exit (ENG-4) */
    jv_mem_result fault;     /* classification of the access that left through exit_jb */
    int os_errno;            /* nonzero: opening protection failed (exit_jb taken, kind OK) */
    int degrade;             /* nonzero: the VMA budget is spent (MEM-7; exit_jb taken) */
    jv_paged_stats stats;
    int slot;                /* fault-registry slot (fault.h), -1 if not registered */
    /* MEM-12 stream detection: the last armed page resolved (UINT32_MAX: none) and the size of
     * the last batch opened */
    uint32_t ahead_last, ahead_k;
    int settle_failed; /* nonzero: os_errno is from a failed settle (jv_paged_settle) */
} jv_paged;

/* Availability: Linux x86-64 with 4 KiB host pages. */
bool jv_engine_paged_available(void);

/* Lifetime of a paged context over an initialized JV_MEM_PAGED jv_mem: registers the window
 * with the fault layer (installing it on first use). */
javm_status jv_paged_init(jv_paged *p, jv_mem *m);
void jv_paged_fini(jv_paged *p);

/* Called by the run function around guest execution on the current thread: sets up this
 * thread's alternate signal stack (once per thread) and marks the context running. */
javm_status jv_paged_enter(jv_paged *p, int64_t *gas);
void jv_paged_leave(jv_paged *p);

/* ENG-3. Returns 0 when every page of the access is now open as needed (charge debited),
 * 1 when the access is a PVM-level fault/panic (p->fault holds it; nothing changed),
 * -1 when it cannot be resolved in paged mode, nothing changed: opening host protection failed
 * (p->os_errno set) or the VMA budget is spent (p->degrade set, MEM-7). Async-signal-safe. */
int jv_paged_resolve(jv_paged *p, uint32_t addr, unsigned width, bool is_write);

/* ---- Write-ahead batches (MEM-12, mem/mem.h) ---------------------------------------------------
 * Used by the jit (whose out-of-line gas gate settles; the paged engine's gate is the
 * interpreter's and never sees a pre-charged counter, so it opens none). jv_paged_resolve
 * settles first when the access touches a page of the open batch.
 * jv_paged_settle: settles the space's open batch (and its watched pages, MEM-13) into *p->gas
 * (+ pre-charge − charge) and the statistics. 0, or -1 with p->os_errno set (mem's settle failed; whatever it applied is
 * accounted). Async-signal-safe.
 * jv_paged_ahead: after a resolve of the armed page pn (its last page) succeeded: if the access
 * streams (pn follows the last armed page resolved, or is the page just past the open batch),
 * settles the open batch and opens the next one from pn + 1 (8 pages, doubling up to
 * JV_MEM_AHEAD_MAX while the stream runs on), pre-charging its pages x cow_cost from *p->gas;
 * only while *p->gas - floor stays at least that pre-charge again afterwards (floor: what the
 * caller's gates need in reserve, the jit's bias). 0, or -1 when the settle failed. */
int jv_paged_settle(jv_paged *p);
int jv_paged_ahead(jv_paged *p, uint32_t pn, uint64_t floor);

/* ---- Read-watched pages (MEM-13, mem/mem.h) ----------------------------------------------------
 * Also the jit's only. A resolve with p->mem->watch_ok set may leave a read page writable and
 * watched; jv_paged_resolve then pre-charges cow_cost per watched page from *p->gas (a resolve
 * of an access to a watched page needs no settle: its touch and the settle's are the same
 * one-way read -> written step). jv_paged_settle settles the
 * watched pages too (after the batch), and jv_paged_pending says whether either is open (the
 * counter is then a lower bound of the gas). jv_paged_watch_ok: ample gas for one more watched
 * page (*gas - floor stays at least twice its pre-charge). */
static inline bool jv_paged_pending(const jv_mem *m) { return m->ahead_count || m->watch_count; }
static inline bool jv_paged_watch_ok(const jv_mem *m, int64_t gas, uint64_t floor) {
    return gas >= 0 && (uint64_t)gas >= floor && (uint64_t)gas - floor >= 2 * m->cow_cost;
}

/* ENG-5: the slow partner of the paged accessors (wrap-around candidates). On a PVM-level
 * fault returns its classification; on success performs the access modulo 2^32. */
JV_NOINLINE jv_mem_result jv_paged_load_slow(jv_paged *p, uint32_t addr, unsigned width,
                                             uint64_t *val);
JV_NOINLINE jv_mem_result jv_paged_store_slow(jv_paged *p, uint32_t addr, unsigned width,
                                              uint64_t val);

/* ENG-5: accesses starting above this address may wrap; they take the slow partners. */
#define JV_PAGED_WRAP_LIMIT 0xFFFFFFF8u

/* One guest access exactly as the paged loop performs it (publish, machine access, PVM-level
 * faults returned as the result; an OS failure returns kind PANIC with p->os_errno set). The
 * caller must be inside jv_paged_enter. For tests and benchmarks. */
jv_mem_result jv_paged_access(jv_paged *p, uint32_t addr, unsigned width, bool is_write,
                              uint64_t *val);

/* ---- MEM-7 for every engine on a paged window (paged, jit) ------------------------------------
 * A space degraded to soft checks runs with the soft engine's loop until its next frame:
 * engines call jv_engine_run_degraded instead of their own loop while m->mode is JV_MEM_SOFT.
 * When a resolve reports the budget spent (jv_paged_resolve -1 with degrade set), the engine
 * leaves its loop with st a retry of the access (as for a page fault: pc at the op, resume at
 * it, its block not charged again) and calls jv_engine_degrade_and_continue, which degrades the
 * space and runs on from there with the soft loop (JAVM_ERR_OS if the kernel refused). */
javm_status jv_engine_run_degraded(jv_pvm_state *st, const javm_program *prog, jv_mem *m,
                                   uint32_t start, bool trace);
javm_status jv_engine_degrade_and_continue(jv_pvm_state *st, const javm_program *prog,
                                           jv_mem *m, bool trace);

/* ---- The paged loop -------------------------------------------------------------------------
 * Runs the pvm layer's interpreter body from op `start` (from jv_pvm_enter) with plain machine
 * accesses on the window until an exit, exactly like jv_pvm_exec_soft (st filled the same way;
 * st->mat_gas/first_touch/cow accumulate the resolves' statistics). trace = 1 runs the
 * single-stepping variant that calls st->trace_fn. Returns JAVM_ERR_OS only if opening host
 * protection failed (the state is then a retry of the access; its #3 charge, if any, was
 * already debited by the touch, so the retry charges nothing). */
javm_status jv_engine_exec_paged(jv_pvm_state *st, const javm_program *prog, jv_paged *pg,
                                 uint32_t start, bool trace);

#endif /* JV_ENGINE_H */
