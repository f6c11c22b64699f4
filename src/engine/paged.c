/* engine — per-instance paged context: the fault callback (ENG-2, ENG-4), fault resolution
 * (ENG-3; the host protections of ENG-1 are applied by the mem layer), the wrap-around slow
 * path (ENG-5) and the paged engine's operations table. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/error.h"

bool jv_engine_paged_available(void) {
#if defined(__linux__) && defined(__x86_64__)
    return sysconf(_SC_PAGESIZE) == (long)JV_PAGE_SIZE;
#else
    return false;
#endif
}

/* ---- The fault callback (ENG-2, ENG-4) -----------------------------------------------------
 * The access the faulting thread was performing: published directly (jv_paged_access) or as
 * the loop's current op, decoded with the registers in memory. False if none is published. */
static bool jv_paged_published(const jv_paged *p, uint32_t *addr, unsigned *width,
                               bool *is_write) {
    uint64_t acc = p->acc;
    if (acc & JV_ACC_VALID_BIT) { /* a direct access (jv_paged_access) */
        *addr = (uint32_t)acc;
        *width = (unsigned)(acc >> JV_ACC_WIDTH_SHIFT) & 0xFF;
        *is_write = (acc & JV_ACC_WRITE_BIT) != 0;
        return true;
    }
    const jv_pvm_op *op = p->cur ? *p->cur : NULL; /* the loop's op (registers in memory) */
    if (!op || !jv_pvm_op_is_mem(op)) return false;
    *addr = jv_pvm_op_addr(op, p->regs);
    *width = jv_pvm_op_width(op);
    *is_write = jv_pvm_op_is_store(op);
    return true;
}

/* Resolves a fault inside the published access and lets the instruction retry; leaves through
 * exit_jb for a PVM-level fault; anything else is not ours. */
static jv_fault_verdict jv_paged_on_fault(void *ctx, const jv_fault_info *fi) {
    jv_paged *p = ctx;
    if (!__atomic_load_n(&p->running, __ATOMIC_ACQUIRE) || !pthread_equal(p->thread, pthread_self()))
        return JV_FAULT_NOT_MINE;
    uint32_t addr;
    unsigned width;
    bool is_write;
    if (!jv_paged_published(p, &addr, &width, &is_write)) return JV_FAULT_NOT_MINE;
    if (fi->access == JV_FAULT_ACCESS_UNKNOWN || (fi->access == JV_FAULT_WRITE) != is_write)
        return JV_FAULT_NOT_MINE;
    /* The fault must lie inside the access (which never wraps, ENG-5). */
    uintptr_t start = (uintptr_t)p->mem->base + addr;
    if (width == 0 || width > 8 || fi->addr < start || fi->addr >= start + width)
        return JV_FAULT_NOT_MINE;
    p->stats.host_faults++;
    if (jv_paged_resolve(p, addr, width, is_write) == 0) return JV_FAULT_HANDLED; /* retry */
    jv_fault_unblock(); /* FLT-4 */
    siglongjmp(p->exit_jb, 1);
}

javm_status jv_paged_init(jv_paged *p, jv_mem *m) {
    memset(p, 0, sizeof *p);
    p->slot = -1;
    p->mem = m;
    if (!jv_engine_paged_available())
        return jv_set_error(JAVM_ERR_UNSUPPORTED,
                            "engine: the paged engine needs Linux x86-64 with 4 KiB pages");
    javm_status st = jv_fault_install();
    if (st != JAVM_OK) return st;
    uintptr_t lo = (uintptr_t)m->base;
    p->slot = jv_fault_register(lo, lo + m->window_size, jv_paged_on_fault, p);
    if (p->slot < 0)
        return jv_set_error(JAVM_ERR_LIMIT, "engine: more than %d paged instances alive",
                            JV_FAULT_MAX_WINDOWS);
    return JAVM_OK;
}

void jv_paged_fini(jv_paged *p) {
    jv_fault_unregister(p->slot);
    p->slot = -1;
}

static javm_status paged_create(const javm_program *prog, jv_mem *m, void **ctx) {
    *ctx = NULL;
    jv_paged *p = malloc(sizeof *p);
    if (!p) return jv_set_error(JAVM_ERR_NO_MEMORY, "engine: out of memory");
    javm_status s = jv_paged_init(p, m);
    if (s != JAVM_OK) {
        jv_paged_fini(p);
        free(p);
        return s;
    }
    *ctx = p;
    return JAVM_OK;
}

static void paged_destroy(void *ctx) {
    if (!ctx) return;
    jv_paged_fini(ctx);
    free(ctx);
}

static void paged_stats(const void *ctx, javm_stats *out) {
    if (ctx) out->ro_units = ((const jv_paged *)ctx)->stats.ro_units;
}

/* Everything that can fail before guest code runs: the thread's alternate stack, and protections
 * a failure may have left unknown (MEM-8). */
static javm_status paged_prepare_thread(void *ctx) {
    javm_status st = jv_fault_thread_prepare();
    return st ? st : jv_mem_heal(((jv_paged *)ctx)->mem);
}

static javm_status paged_run(void *ctx, jv_pvm_state *st, const javm_program *prog, jv_mem *m,
                             uint32_t start, jv_engine_loop loop) {
    return jv_engine_exec_paged(st, prog, ctx, start, loop == JV_ENGINE_LOOP_TRACE);
}

const jv_engine_ops jv_engine_paged = {
    .name = "paged",
    .mem_mode = JV_MEM_PAGED,
    .available = jv_engine_paged_available,
    .create = paged_create,
    .destroy = paged_destroy,
    .prepare_thread = paged_prepare_thread,
    .run = paged_run,
    .stats = paged_stats,
};

javm_status jv_paged_enter(jv_paged *p, int64_t *gas) {
    javm_status st = jv_fault_thread_prepare();
    if (st != JAVM_OK) return st;
    p->gas = gas;
    p->acc = 0;
    p->os_errno = 0;
    p->degrade = 0;
    jv_fault_thread_enter();
    p->thread = pthread_self();
    __atomic_store_n(&p->running, 1, __ATOMIC_RELEASE);
    return JAVM_OK;
}

void jv_paged_leave(jv_paged *p) {
    __atomic_store_n(&p->running, 0, __ATOMIC_RELEASE);
    p->acc = 0;
    jv_fault_thread_leave();
}

/* ---- Fault resolution (ENG-1, ENG-3; the mem layer's MEM-7, MEM-8) ----------------------- */
int jv_paged_resolve(jv_paged *p, uint32_t addr, unsigned width, bool is_write) {
    jv_mem_open o;
    jv_mem *m = p->mem;
    if (JV_UNLIKELY(m->ahead_count)) { /* MEM-12: a page of the batch gets its state first */
        uint32_t lo = addr >> JV_PAGE_SHIFT, hi = (uint32_t)(addr + width - 1) >> JV_PAGE_SHIFT;
        uint32_t b = m->ahead_first, e = m->ahead_first + m->ahead_count;
        if (((lo >= b && lo < e) || (hi >= b && hi < e)) && jv_paged_settle(p)) return -1;
    }
    /* (MEM-13: a watched page needs no settle first: it is in the read state, which only a
     * write changes, once; the settle's write touch of a page written meanwhile is a no-op) */
    int rc = jv_mem_touch_open(p->mem, addr, width, is_write, &o);
    p->stats.ro_units += o.ro_units;
    if (rc == JV_MEM_OPEN_PVM) {
        p->fault = o.r;
        return 1;
    }
    if (rc == JV_MEM_OPEN_BUDGET) {
        p->degrade = 1;
        return -1;
    }
    if (rc < 0) {
        p->os_errno = -rc;
        return -1;
    }
    if (o.r.charge) {
        *p->gas -= (int64_t)o.r.charge; /* the block reserve guarantees this fits (MEMORY §9) */
        p->stats.mat_gas += o.r.charge;
    }
    p->stats.first_touch_faults += o.r.first_touch;
    p->stats.cow_pages += o.r.cow;
    if (o.watched) { /* MEM-13: its first write is charged at the settle */
        *p->gas -= (int64_t)((uint64_t)o.watched * m->cow_cost);
        p->stats.watched_pages += o.watched;
    }
    return 0;
}

/* ---- Wrap-around candidates (ENG-5) -------------------------------------------------------- */
jv_mem_result jv_paged_load_slow(jv_paged *p, uint32_t addr, unsigned width, uint64_t *val) {
    int rc = jv_paged_resolve(p, addr, width, false);
    if (rc > 0) return p->fault;
    if (rc < 0) siglongjmp(p->exit_jb, 1); /* OS failure or budget: the run's exit path */
    *val = jv_load_wrap(p->mem->base, addr, width);
    return (jv_mem_result){0};
}

jv_mem_result jv_paged_store_slow(jv_paged *p, uint32_t addr, unsigned width, uint64_t val) {
    int rc = jv_paged_resolve(p, addr, width, true);
    if (rc > 0) return p->fault;
    if (rc < 0) siglongjmp(p->exit_jb, 1);
    jv_store_wrap(p->mem->base, addr, width, val);
    return (jv_mem_result){0};
}

/* ---- One access as the paged loop performs it (tests, benchmarks) ---------------------------- */
jv_mem_result jv_paged_access(jv_paged *p, uint32_t addr, unsigned width, bool is_write,
                              uint64_t *val) {
    if (addr > JV_PAGED_WRAP_LIMIT)
        return is_write ? jv_paged_store_slow(p, addr, width, *val)
                        : jv_paged_load_slow(p, addr, width, val);
    if (sigsetjmp(p->exit_jb, 0)) {
        p->acc = 0;
        if (p->os_errno || p->degrade) return (jv_mem_result){.kind = JV_MEM_PANIC};
        return p->fault;
    }
    uint8_t *h = p->mem->base + addr;
    p->acc = jv_acc_pack(addr, width, is_write);
    __asm__ volatile("" ::: "memory");
    if (is_write) jv_store_le(h, width, *val);
    else *val = jv_load_le(h, width);
    __asm__ volatile("" ::: "memory");
    p->acc = 0;
    return (jv_mem_result){0};
}

/* ---- Write-ahead batches (MEM-12) -------------------------------------------------------------- */
#define AHEAD_FIRST 8u

/* A settle's outcome (batch or watched pages): the counter was a lower bound of the gas by the
 * pre-charge, exact again; statistics as the touches' own; a failure retried by the next run. */
static int settled(jv_paged *p, int rc, uint64_t pre, uint64_t charge, uint64_t first_touch,
                   uint64_t cow) {
    *p->gas += (int64_t)pre - (int64_t)charge;
    p->stats.mat_gas += charge;
    p->stats.first_touch_faults += first_touch;
    p->stats.cow_pages += cow;
    if (rc == 0) return 0;
    p->os_errno = -rc;
    p->settle_failed = 1;
    return -1;
}

static int settle_batch(jv_paged *p) {
    jv_mem_result r;
    uint64_t pre;
    int rc = jv_mem_ahead_settle(p->mem, &r, &pre);
    return settled(p, rc, pre, r.charge, r.first_touch, r.cow);
}

int jv_paged_settle(jv_paged *p) {
    if (p->mem->ahead_count && settle_batch(p)) return -1;
    if (!p->mem->watch_count) return 0;
    jv_mem_tally r;
    uint64_t pre;
    int rc = jv_mem_watch_settle(p->mem, &r, &pre); /* MEM-13, as a batch */
    return settled(p, rc, pre, r.charge, r.first_touch, r.cow);
}

int jv_paged_ahead(jv_paged *p, uint32_t pn, uint64_t floor) {
    jv_mem *m = p->mem;
    bool at_end = m->ahead_count && pn == m->ahead_first + m->ahead_count;
    bool stream = at_end || (p->ahead_last != UINT32_MAX && pn == p->ahead_last + 1);
    p->ahead_last = pn;
    if (!stream || !jv_mem_ahead_ready()) return 0;
    uint32_t k = at_end && p->ahead_k ? 2 * p->ahead_k : AHEAD_FIRST;
    if (k > JV_MEM_AHEAD_MAX) k = JV_MEM_AHEAD_MAX;
    if (m->ahead_count && settle_batch(p)) return -1; /* (watched pages stay watched) */
    /* ample gas: after the pre-charge the counter keeps at least as much again above floor */
    uint64_t pre = (uint64_t)k * m->cow_cost;
    if (*p->gas < 0 || (uint64_t)*p->gas < floor || (uint64_t)*p->gas - floor < 2 * pre) return 0;
    uint32_t n = jv_mem_ahead_open(m, pn + 1, k);
    if (!n) return 0;
    *p->gas -= (int64_t)((uint64_t)n * m->cow_cost);
    p->ahead_k = k;
    p->stats.ahead_batches++;
    p->stats.ahead_pages += n;
    return 0;
}
