/* engine — the paged loop: the pvm layer's shared interpreter body instantiated with plain
 * machine loads and stores on the guest window (ENG-5), and the run wrapper that owns the
 * PVM-level fault exit (ENG-4). */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"
#include "pvm/pvm.h"
#include "pvm/semantics.h"
#include "util/error.h"

/* The gas counter lives in st->gas for the whole loop: a fault resolved by the handler debits
 * #3 gas there (ENG-6), and the barrier after each access makes the loop re-read it. */
#define JV_GAS_IN_STATE 1

/* Before every guest access (JV_MEM_PRE): publish the op in st->cur, so that an exit taken
 * from the signal handler finds it there. The gas is in st already (JV_GAS_IN_STATE) and the
 * registers (st->regs, reached through a pointer) are in memory thanks to the compiler barrier
 * in the accessors. */
#define JV_MEM_PRE() (st->cur = ip)

/* The accessors. Addresses above JV_PAGED_WRAP_LIMIT may wrap at 2^32: the slow partner
 * resolves and performs them byte-wise (ENG-5). Otherwise one machine access. The barriers keep
 * the compiler from moving the access across the op publication (JV_MEM_PRE), from keeping
 * registers/gas only in host registers across it (the handler decodes the address from
 * st->regs), and make it re-read st->gas afterwards. */
#define JV_PAGED_ACCESS(w, addr, access_stmt, slow_call)                                        \
    do {                                                                                       \
        if (JV_UNLIKELY((addr) > JV_PAGED_WRAP_LIMIT)) {                                       \
            jv_mem_result jv_r = (slow_call);                                                  \
            if (jv_r.kind != JV_MEM_OK) JV_MEM_FAIL(jv_r);                                     \
        } else {                                                                               \
            __asm__ volatile("" ::: "memory");                                                 \
            access_stmt;                                                                       \
            __asm__ volatile("" ::: "memory");                                                 \
        }                                                                                      \
    } while (0)
#define JV_LOAD(w, addr, dst)                                                                  \
    do {                                                                                       \
        JV_PAGED_ACCESS(w, addr, (dst) = jv_load_le(jv_wbase + (addr), (w)),                       \
                        jv_paged_load_slow(pg, (addr), (w), &(dst)));                          \
    } while (0)
#define JV_STORE(w, addr, val)                                                                 \
    do {                                                                                       \
        JV_PAGED_ACCESS(w, addr, jv_store_le(jv_wbase + (addr), (w), (val)),                       \
                        jv_paged_store_slow(pg, (addr), (w), (val)));                          \
    } while (0)
#define JV_SBRK(size) jv_pvm_sbrk(st, pg->mem, (size))

static JV_NOINLINE void jv_paged_loop(jv_pvm_state *st, const javm_program *prog, jv_paged *pg,
                                      uint32_t start) {
    uint8_t *const jv_wbase = pg->mem->base;
#include "pvm/interp_body.h"
}

static JV_NOINLINE void jv_paged_loop_trace(jv_pvm_state *st, const javm_program *prog,
                                            jv_paged *pg, uint32_t start) {
    uint8_t *const jv_wbase = pg->mem->base;
#define JV_BODY_SWITCH 1
#define JV_TRACE_HOOK() JV_PVM_TRACE_STEP()
#include "pvm/interp_body.h"
#undef JV_TRACE_HOOK
#undef JV_BODY_SWITCH
}

#undef JV_GAS_IN_STATE
#undef JV_MEM_PRE
#undef JV_PAGED_ACCESS
#undef JV_LOAD
#undef JV_STORE
#undef JV_SBRK

/* Makes st a retry of op (the state before it, as a page fault leaves it): the next entry
 * resumes at the op without charging its block again. */
static void retry_at(jv_pvm_state *st, const javm_program *prog, const jv_pvm_op *op) {
    st->resume = (uint32_t)(op - prog->ops);
    st->pc = jv_pvm_op_pc(prog, st->resume);
    st->instructions -= (uint64_t)jv_pvm_op_rest(op) + 1;
}

/* The soft engine's loops on a degraded space (MEM-7): the same touch, states and gas. */
static void run_soft(jv_pvm_state *st, const javm_program *prog, jv_mem *m, uint32_t start,
                     bool trace) {
    if (trace) jv_pvm_exec_soft_trace(st, prog, m, start);
    else jv_pvm_exec_soft(st, prog, m, start);
}

javm_status jv_engine_run_degraded(jv_pvm_state *st, const javm_program *prog, jv_mem *m,
                                   uint32_t start, bool trace) {
    run_soft(st, prog, m, start, trace);
    return JAVM_OK;
}

javm_status jv_engine_degrade_and_continue(jv_pvm_state *st, const javm_program *prog,
                                           jv_mem *m, bool trace) {
    javm_status s = jv_mem_degrade(m);
    if (s != JAVM_OK) return s; /* the state is the retry; the next run heals first */
    uint32_t at;
    if (jv_pvm_enter(st, prog, &at)) run_soft(st, prog, m, at, trace);
    return JAVM_OK;
}

/* Runs the paged loop from `start` until an exit (see jv_pvm_exec_soft). A PVM-level fault
 * taken in the signal handler comes back here through pg->exit_jb and becomes the same exit the
 * soft loop produces (jv_pvm_exit_mem with the op and gas published before the access). An
 * access that would exceed the VMA budget (MEM-7) comes back the same way with nothing changed:
 * the space is degraded to soft checks and the run continues at that access with the soft
 * engine's loop. Returns JAVM_ERR_OS if opening host protection failed: the touch was undone
 * (MEM-8), the state is a retry of the access, nothing of it charged, so a later run charges
 * it exactly once. */
javm_status jv_engine_exec_paged(jv_pvm_state *st, const javm_program *prog, jv_paged *pg,
                                 uint32_t start, bool trace) {
    if (pg->mem->mode == JV_MEM_SOFT) /* degraded earlier in this frame */
        return jv_engine_run_degraded(st, prog, pg->mem, start, trace);
    javm_status s = jv_paged_enter(pg, &st->gas);
    if (s != JAVM_OK) return s;
    st->cur = NULL;
    pg->cur = (const jv_pvm_op *const volatile *)&st->cur;
    pg->regs = st->regs;
    jv_paged_stats before = pg->stats;
    bool degrade = false;
    if (sigsetjmp(pg->exit_jb, 0) == 0) {
        if (trace) jv_paged_loop_trace(st, prog, pg, start);
        else jv_paged_loop(st, prog, pg, start);
    } else if (pg->os_errno) {
        retry_at(st, prog, st->cur);
        s = jv_set_error(JAVM_ERR_OS, "engine: opening guest pages failed: %s",
                         strerror(pg->os_errno));
    } else if (pg->degrade) {
        retry_at(st, prog, st->cur);
        degrade = true;
    } else {
        jv_pvm_exit_mem(st, prog, st->cur, pg->fault);
    }
    jv_paged_leave(pg);
    pg->cur = NULL;
    st->mat_gas += pg->stats.mat_gas - before.mat_gas;
    st->first_touch += pg->stats.first_touch_faults - before.first_touch_faults;
    st->cow += pg->stats.cow_pages - before.cow_pages;
    if (degrade) s = jv_engine_degrade_and_continue(st, prog, pg->mem, trace);
    return s;
}
