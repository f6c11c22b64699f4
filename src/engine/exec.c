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

/* Runs the paged loop from `start` until an exit (see jv_pvm_exec_soft). A PVM-level fault
 * taken in the signal handler comes back here through pg->exit_jb and becomes the same exit the
 * soft loop produces (jv_pvm_exit_mem with the op and gas published before the access). Returns
 * JAVM_ERR_OS if opening host protection failed (the instance can retry the access later: the
 * state is that of a page-fault retry at the op; the touch that preceded the failed mprotect
 * has already advanced the page states and debited its #3 charge, so the retry charges nothing
 * and the access is charged exactly once overall). */
javm_status jv_engine_exec_paged(jv_pvm_state *st, const javm_program *prog, jv_paged *pg,
                                 uint32_t start, bool trace) {
    javm_status s = jv_paged_enter(pg, &st->gas);
    if (s != JAVM_OK) return s;
    st->cur = NULL;
    pg->cur = (const jv_pvm_op *const volatile *)&st->cur;
    pg->regs = st->regs;
    jv_paged_stats before = pg->stats;
    if (sigsetjmp(pg->exit_jb, 0) == 0) {
        if (trace) jv_paged_loop_trace(st, prog, pg, start);
        else jv_paged_loop(st, prog, pg, start);
    } else if (pg->os_errno) {
        const jv_pvm_op *op = st->cur;
        st->pc = op->pc;
        st->resume = (uint32_t)(op - prog->ops);
        st->instructions -= (uint64_t)op->rest + 1;
        s = jv_set_error(JAVM_ERR_OS, "engine: opening guest pages failed: %s",
                         strerror(pg->os_errno));
    } else {
        jv_pvm_exit_mem(st, prog, st->cur, pg->fault);
    }
    jv_paged_leave(pg);
    pg->cur = NULL;
    st->mat_gas += pg->stats.mat_gas - before.mat_gas;
    st->first_touch += pg->stats.first_touch_faults - before.first_touch_faults;
    st->cow += pg->stats.cow_pages - before.cow_pages;
    return s;
}
