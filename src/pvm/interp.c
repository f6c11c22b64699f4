/* pvm — the soft engine: the shared loop body instantiated with the mem layer's checked
 * accessors (three ways: the default dispatch, forced switch dispatch, and the traced
 * single-step loop), plus run entry (PVM-G3), memory exits and sbrk (PVM-S1). */
#include <string.h>

#include "pvm/pvm.h"
#include "pvm/semantics.h"

void jv_pvm_state_init(jv_pvm_state *st) {
    memset(st, 0, sizeof *st);
    st->resume = JV_PVM_FRESH;
    st->sbrk_enabled = true;
}

static inline bool state_gate(jv_pvm_state *st, uint64_t cost, uint64_t stores) {
    int64_t c = (int64_t)cost;
    if (st->gas < c) return false;
    return st->mat_reserve == 0 || jv_pvm_mat_gate(st->gas - c, stores, st->mat_reserve);
}

bool jv_pvm_enter(jv_pvm_state *st, const javm_program *prog, uint32_t *start) {
    if (st->resume != JV_PVM_FRESH && st->resume != JV_PVM_DONE) {
        uint32_t r = st->resume;
        const jv_pvm_op *o = &prog->ops[r];
        if (!jv_pvm_op_is_gate(o)) { /* the ops from r to the block end are charged already */
            uint32_t rest;
            if (jv_pvm_op_is_mem(o) || o->iop == JV_I_sbrk) rest = jv_pvm_op_rest(o);
            else if (r > 0 && prog->ops[r - 1].iop == JV_I_ecalli)
                rest = jv_pvm_op_rest(&prog->ops[r - 1]) - 1; /* after a host call */
            else rest = jv_pvm_block_rest(prog, r);
            st->instructions += (uint64_t)rest + 1;
        }
        st->resume = JV_PVM_FRESH;
        *start = r;
        return true;
    }
    uint32_t pc = st->pc;
    uint32_t r = jv_pvm_op_at(prog, pc);
    if (r == JV_PVM_NONE) {
        /* not an instruction: executes as trap (a one-instruction block: 1 in gp07, a lone
         * trap's latency 2 in gp08) */
        int64_t tcost = prog->gas_model == JAVM_GAS_GP08 ? JV_GAS08_TRAP_COST : 1;
        if (!state_gate(st, (uint64_t)tcost, 0)) {
            st->exit_kind = JV_EXIT_OOG;
            st->resume = JV_PVM_FRESH;
            return false;
        }
        st->gas -= tcost;
        st->instructions += 1;
        st->exit_kind = JV_EXIT_PANIC;
        st->resume = JV_PVM_DONE;
        return false;
    }
    uint32_t gate = jv_pvm_gate_of(prog, r);
    if (gate != JV_PVM_NONE) { /* a block start: its gate (a GAS op or the fused op itself) */
        *start = gate;
        return true;
    }
    /* mid-block fresh start: pay from pc to the end of its block (gp07), or the containing
     * block's whole cost (gp08, docs/GAS.md; or st->entry_whole_block). The containing block
     * has more than one op, so its gate is a GAS op. */
    uint64_t count = (uint64_t)jv_pvm_block_rest(prog, r) + 1;
    uint64_t cost = count;
    uint64_t stores = jv_pvm_count_stores(prog->ops + r, count);
    if (st->entry_whole_block || prog->gas_model == JAVM_GAS_GP08) {
        uint32_t g = r;
        while (g > 0 && prog->ops[g].iop != JV_I_GAS) g--;
        if (prog->ops[g].iop == JV_I_GAS) {
            cost = jv_pvm_gas_cost(&prog->ops[g]);
            stores = jv_pvm_gas_stores(&prog->ops[g]);
        }
    }
    if (!state_gate(st, cost, stores)) {
        st->exit_kind = JV_EXIT_OOG;
        st->resume = JV_PVM_FRESH;
        return false;
    }
    st->gas -= (int64_t)cost;
    st->instructions += count;
    *start = r;
    return true;
}

void jv_pvm_exit_mem(jv_pvm_state *st, const javm_program *prog, const jv_pvm_op *op,
                     jv_mem_result res) {
    uint32_t i = (uint32_t)(op - prog->ops);
    st->pc = jv_pvm_op_pc(prog, i);
    if (res.kind == JV_MEM_PANIC) {
        st->exit_kind = JV_EXIT_PANIC;
        st->resume = JV_PVM_DONE;
        st->instructions -= jv_pvm_op_rest(op);
        return;
    }
    st->exit_kind = JV_EXIT_FAULT;
    st->exit_arg = res.addr;
    st->resume = i;
    st->instructions -= (uint64_t)jv_pvm_op_rest(op) + 1;
}

uint64_t jv_pvm_sbrk(jv_pvm_state *st, jv_mem *mem, uint64_t size) {
    uint64_t top = st->heap_top;
    if (size == 0) return top;
    if (size >= (1ull << 32) || top + size > st->heap_limit) return 0;
    uint64_t end = top + size;
    uint64_t first = top & ~(uint64_t)(JV_PAGE_SIZE - 1);
    uint64_t last = (end + JV_PAGE_SIZE - 1) & ~(uint64_t)(JV_PAGE_SIZE - 1);
    for (uint64_t pg = first; pg < last; pg += JV_PAGE_SIZE) {
        if (jv_mem_page_access(mem, (uint32_t)pg) != JAVM_ACCESS_NONE) continue;
        if (jv_mem_map(mem, pg, JV_PAGE_SIZE, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) return 0;
    }
    st->heap_top = (uint32_t)end;
    return top;
}

/* ---- Instantiations ------------------------------------------------------------------------- */
#define JV_LOAD(w, addr, dst)                                                                  \
    do {                                                                                       \
        jv_mem_result jv_r = jv_mem_load(mem, (addr), (w), &(dst));                            \
        if (JV_UNLIKELY(jv_r.kind != JV_MEM_OK)) JV_MEM_FAIL(jv_r);                            \
        if (JV_UNLIKELY(jv_r.charge | jv_r.first_touch | jv_r.cow)) JV_MEM_ACCOUNT(jv_r);      \
    } while (0)
#define JV_STORE(w, addr, val)                                                                 \
    do {                                                                                       \
        jv_mem_result jv_r = jv_mem_store(mem, (addr), (w), (val));                            \
        if (JV_UNLIKELY(jv_r.kind != JV_MEM_OK)) JV_MEM_FAIL(jv_r);                            \
        if (JV_UNLIKELY(jv_r.charge | jv_r.first_touch | jv_r.cow)) JV_MEM_ACCOUNT(jv_r);      \
    } while (0)
#define JV_SBRK(size) jv_pvm_sbrk(st, mem, (size))

void jv_pvm_exec_soft(jv_pvm_state *st, const javm_program *prog, jv_mem *mem, uint32_t start) {
#include "pvm/interp_body.h"
}

void jv_pvm_exec_soft_switch(jv_pvm_state *st, const javm_program *prog, jv_mem *mem,
                             uint32_t start) {
#define JV_BODY_SWITCH 1
#include "pvm/interp_body.h"
#undef JV_BODY_SWITCH
}

void jv_pvm_exec_soft_trace(jv_pvm_state *st, const javm_program *prog, jv_mem *mem,
                            uint32_t start) {
#define JV_BODY_SWITCH 1
#define JV_TRACE_HOOK() JV_PVM_TRACE_STEP()
#include "pvm/interp_body.h"
#undef JV_TRACE_HOOK
#undef JV_BODY_SWITCH
}
