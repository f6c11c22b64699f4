/* jit — the runtime: instances, running compiled code, the window's fault callback (JIT-4), the
 * slow path called by generated code, and the engine operations table entry. */
#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine/engine.h"
#include "fault/fault.h"
#include "jit/jit_internal.h"
#include "util/error.h"

/* Probed once: CPUID traps to the hypervisor in a virtual machine (tens of microseconds). */
static bool g_available;
static bool g_fsgsbase; /* the kernel lets user code run rdgsbase/wrgsbase (HWCAP2_FSGSBASE) */
static bool g_gs_syscall; /* jv_jit_force_gs_syscall */
static pthread_once_t g_available_once = PTHREAD_ONCE_INIT;
static void probe_available(void) {
#if defined(__linux__) && defined(__x86_64__)
    if (sysconf(_SC_PAGESIZE) != (long)JV_PAGE_SIZE) return;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_POPCNT)) return;
    if (!__get_cpuid(0x80000001, &a, &b, &c, &d) || !(c & bit_LZCNT)) return;
    if (__get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    g_available = (b & bit_BMI) != 0; /* TZCNT */
    g_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0; /* HWCAP2_FSGSBASE (Linux 5.9) */
#endif
}

/* JIT-2: generated code addresses the guest window through the gs segment, whose base is the
 * window for the length of a run (gs is otherwise unused by user code on Linux x86-64; the
 * caller's base is restored at the end of the run). rdgsbase/wrgsbase where the kernel allows
 * them, else arch_prctl. */
static uint64_t gs_base(bool insn) {
    uint64_t v = 0;
    if (insn) __asm__ volatile("rdgsbase %0" : "=r"(v));
    else (void)syscall(SYS_arch_prctl, ARCH_GET_GS, &v);
    return v;
}
/* False if the base could not be set (arch_prctl refused, e.g. by a seccomp filter): generated
 * code must then not run, its accesses would address host memory at the guest address. */
static bool set_gs_base(bool insn, uint64_t v) {
    if (insn) {
        __asm__ volatile("wrgsbase %0" : : "r"(v) : "memory");
        return true;
    }
    return syscall(SYS_arch_prctl, ARCH_SET_GS, v) == 0;
}
static bool gs_insn_path(void) {
    return g_fsgsbase && !__atomic_load_n(&g_gs_syscall, __ATOMIC_RELAXED);
}
void jv_jit_force_gs_syscall(bool on) { __atomic_store_n(&g_gs_syscall, on, __ATOMIC_RELAXED); }

bool jv_jit_available(void) {
    pthread_once(&g_available_once, probe_available);
    return g_available;
}

/* The per-instance context. The paged engine's resolve (jv_paged_resolve: the touch, the #3
 * charge, opening host protection with fault-around) is reused through an embedded jv_paged
 * that is never registered itself: only its mem, gas, fault, os_errno and stats are used. */
typedef struct jv_jit_inst {
    jv_paged pg;
    const jv_jit_code *code;
    const javm_program *prog;
    jv_pvm_state *st;     /* during a run: the state (sbrk) */
    volatile int running; /* 1 while this thread runs guest code */
    pthread_t thread;
    int slot;
    bool ahead;           /* MEM-12 batches in this run (jv_mem_ahead_ready at its start) */
} jv_jit_inst;

/* ---- Fault callback (JIT-4) ------------------------------------------------------------------ */
/* The op whose code contains native offset off: the last op starting at or before it. */
static uint32_t op_at(const jv_jit_code *k, uint32_t off) {
    uint32_t lo = 0, hi = k->nops; /* op_off[lo] <= off < op_off[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (k->op_off[mid] <= off) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* The ucontext slot of every host register (x86.h numbering). */
static const int g_greg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                               REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                               REG_R12, REG_R13, REG_R14, REG_R15};

static jv_fault_verdict jit_on_fault(void *ctx, const jv_fault_info *fi) {
    jv_jit_inst *ji = ctx;
    if (!__atomic_load_n(&ji->running, __ATOMIC_ACQUIRE) || !pthread_equal(ji->thread, pthread_self()))
        return JV_FAULT_NOT_MINE;
    const jv_jit_code *k = ji->code;
    greg_t *gr = fi->uc->uc_mcontext.gregs;
    uintptr_t rip = (uintptr_t)gr[REG_RIP];
    if (rip < (uintptr_t)k->code + k->body_lo || rip >= (uintptr_t)k->code + k->body_hi)
        return JV_FAULT_NOT_MINE;
    uint32_t i = op_at(k, (uint32_t)(rip - (uintptr_t)k->code));
    const jv_pvm_op *op = &ji->prog->ops[i];
    if (!jv_pvm_op_is_mem(op)) return JV_FAULT_NOT_MINE;
    /* the access's guest address, (φb + x) mod 2^32, from the base register as the faulting
     * instruction read it (its host register, or the frame) */
    jv_jit_frame *f = (jv_jit_frame *)(uintptr_t)gr[REG_RSP];
    uint64_t bv = 0;
    if (op->b < JV_PVM_NUM_REGS)
        bv = k->map[op->b] >= 0 ? (uint64_t)gr[g_greg[k->map[op->b]]] : f->regs[op->b];
    uint32_t addr = (uint32_t)(bv + op->x);
    unsigned width = jv_pvm_op_width(op);
    bool is_write = jv_pvm_op_is_store(op);
    if (fi->access == JV_FAULT_ACCESS_UNKNOWN || (fi->access == JV_FAULT_WRITE) != is_write)
        return JV_FAULT_NOT_MINE;
    uintptr_t start = (uintptr_t)ji->pg.mem->base + addr;
    if (fi->addr < start || fi->addr >= start + width) return JV_FAULT_NOT_MINE;
    if ((uint64_t)addr + width > (uint64_t)1 << 32) {
        /* JIT-2: the access wraps at 2^32 (it ran into the guard beyond the window, or into
         * the top page first): on to the slow path, which performs it and returns to the end
         * of the op (after the access an op only moves the loaded value, which the slow path
         * writes itself) */
        f->wrap_ret = (uint64_t)(uintptr_t)(k->code + k->op_off[i + 1]);
        gr[REG_RAX] = (greg_t)addr;
        gr[REG_RCX] = (greg_t)i;
        gr[REG_RIP] = (greg_t)(uintptr_t)(k->code + k->off_wrap);
        return JV_FAULT_HANDLED;
    }
    /* generated code keeps the biased gas counter in rdx (JIT-5) */
    int64_t gas = (int64_t)((uint64_t)gr[REG_RDX] + f->bias);
    ji->pg.gas = &gas;
    ji->pg.stats.host_faults++;
    uint32_t last = (uint32_t)(addr + width - 1) >> JV_PAGE_SHIFT;
    bool armed = ji->ahead && jv_mem_armed(ji->pg.mem, last);
    /* MEM-13: a read of an armed page may leave it writable and watched (pre-charged); a
     * full list is settled first (its pages not written by now are closed to PROT_READ) */
    int rc = 0;
    if (armed && !is_write && ji->pg.mem->watch_count == JV_MEM_WATCH_MAX)
        rc = jv_paged_settle(&ji->pg); /* 0 or -1 (an OS exit) */
    if (rc == 0) {
        ji->pg.mem->watch_ok = armed && !is_write && jv_paged_watch_ok(ji->pg.mem, gas, f->bias);
        rc = jv_paged_resolve(&ji->pg, addr, width, is_write);
        ji->pg.mem->watch_ok = false;
        /* MEM-12: a stream of first touches opens the next pages ahead of it */
        if (rc == 0 && armed) rc = jv_paged_ahead(&ji->pg, last, f->bias);
    }
    f->ahead = jv_paged_pending(ji->pg.mem);
    gr[REG_RDX] = (greg_t)((uint64_t)gas - f->bias);
    if (rc == 0) return JV_FAULT_HANDLED; /* the instruction is retried */
    /* Leave through the exit stub with the host registers as they are (the guest state
     * before the instruction). */
    f->exit_kind = rc > 0 ? JV_JX_MEM : JV_JX_OS;
    f->exit_op = i;
    gr[REG_RIP] = (greg_t)(uintptr_t)(k->code + k->off_exit);
    return JV_FAULT_HANDLED;
}

/* ---- Slow path (called from generated code) ------------------------------------------------ */
/* MEM-12: settles the open batch into the frame's (biased) counter; 1 (exit set) if it failed. */
static int settle_frame(jv_jit_inst *ji, jv_jit_frame *f, uint32_t op_index) {
    if (!jv_paged_pending(ji->pg.mem)) return 0;
    int64_t gas = (int64_t)((uint64_t)f->gas + f->bias);
    ji->pg.gas = &gas;
    int rc = jv_paged_settle(&ji->pg);
    f->gas = (int64_t)((uint64_t)gas - f->bias);
    f->ahead = jv_paged_pending(ji->pg.mem);
    if (rc == 0) return 0;
    if (op_index != UINT32_MAX) {
        f->exit_kind = JV_JX_OS;
        f->exit_op = op_index;
    }
    return 1;
}

int jv_jit_slow(jv_jit_frame *f, uint32_t op_index, uint32_t addr) {
    jv_jit_inst *ji = f->inst;
    const jv_pvm_op *op = &ji->prog->ops[op_index];
    /* a gate that found the counter short while a batch is open: settle, the gate decides */
    if (jv_pvm_op_is_gate(op)) return settle_frame(ji, f, op_index);
    if (op->iop == JV_I_sbrk) {
        if (settle_frame(ji, f, op_index)) return 1; /* sbrk maps pages: no batch across it */
        if (!ji->st->sbrk_enabled) {
            f->exit_kind = JV_JX_PANIC;
            f->exit_op = op_index;
            return 1;
        }
        f->regs[op->d] = jv_pvm_sbrk(ji->st, ji->pg.mem, f->regs[op->a]);
        return 0;
    }
    /* an access that wraps (JIT-2): resolve like a fault, then access modulo 2^32 */
    unsigned width = jv_pvm_op_width(op);
    bool is_write = jv_pvm_op_is_store(op);
    int64_t gas = (int64_t)((uint64_t)f->gas + f->bias); /* JIT-5 */
    ji->pg.gas = &gas;
    int rc = jv_paged_resolve(&ji->pg, addr, width, is_write);
    f->gas = (int64_t)((uint64_t)gas - f->bias);
    f->ahead = jv_paged_pending(ji->pg.mem);
    if (rc != 0) {
        f->exit_kind = rc > 0 ? JV_JX_MEM : JV_JX_OS;
        f->exit_op = op_index;
        return 1;
    }
    uint8_t *base = ji->pg.mem->base;
    if (is_write) {
        jv_store_wrap(base, addr, width,
                      jv_pvm_op_stores_imm(op) ? jv_pvm_op_imm2(op) : f->regs[op->a]);
        return 0;
    }
    uint64_t v = jv_load_wrap(base, addr, width);
    switch (op->iop) {
    case JV_I_load_i8: case JV_I_load_ind_i8: v = (uint64_t)(int64_t)(int8_t)v; break;
    case JV_I_load_i16: case JV_I_load_ind_i16: v = (uint64_t)(int64_t)(int16_t)v; break;
    case JV_I_load_i32: case JV_I_load_ind_i32: v = (uint64_t)(int64_t)(int32_t)v; break;
    default: break;
    }
    f->regs[op->a] = v;
    return 0;
}

/* ---- Instances ----------------------------------------------------------------------------------- */
javm_status jv_jit_create(const javm_program *prog, jv_mem *m, void **ctx) {
    *ctx = NULL;
    if (!jv_jit_available())
        return jv_set_error(JAVM_ERR_UNSUPPORTED,
                            "jit: needs Linux x86-64 with 4 KiB pages, POPCNT, LZCNT and TZCNT");
    if (m->window_size < ((size_t)1 << 32) + 8) /* JIT-2: a wrapping access needs the guard */
        return jv_set_error(JAVM_ERR_UNSUPPORTED, "jit: the guest window has no guard past 4 GiB");
    const jv_jit_code *k = NULL;
    javm_status s = jv_jit_code_of(prog, &k); /* compiled once per program */
    if (s != JAVM_OK) return s;
    jv_jit_inst *ji = calloc(1, sizeof *ji);
    if (!ji) return jv_set_error(JAVM_ERR_NO_MEMORY, "jit: out of memory");
    ji->pg.mem = m;
    ji->pg.slot = -1;
    ji->pg.ahead_last = UINT32_MAX;
    (void)jv_mem_ahead_enabled(); /* MEM-12: opens the pagemap here, never in a fault */
    ji->code = k;
    ji->prog = prog;
    if ((s = jv_fault_install()) != JAVM_OK) {
        free(ji);
        return s;
    }
    uintptr_t lo = (uintptr_t)m->base;
    ji->slot = jv_fault_register(lo, lo + m->window_size, jit_on_fault, ji);
    if (ji->slot < 0) {
        free(ji);
        return jv_set_error(JAVM_ERR_LIMIT, "jit: more than %d paged instances alive",
                            JV_FAULT_MAX_WINDOWS);
    }
    *ctx = ji;
    return JAVM_OK;
}

void jv_jit_destroy(void *ctx) {
    jv_jit_inst *ji = ctx;
    if (!ji) return;
    jv_fault_unregister(ji->slot);
    free(ji);
}

uint64_t jv_jit_ro_units(const void *ctx) {
    return ctx ? ((const jv_jit_inst *)ctx)->pg.stats.ro_units : 0;
}

void jv_jit_ahead_stats(const void *ctx, uint64_t *batches, uint64_t *pages) {
    const jv_jit_inst *ji = ctx;
    *batches = ji ? ji->pg.stats.ahead_batches : 0;
    *pages = ji ? ji->pg.stats.ahead_pages : 0;
}

uint64_t jv_jit_watched_pages(const void *ctx) {
    return ctx ? ((const jv_jit_inst *)ctx)->pg.stats.watched_pages : 0;
}

/* ---- Running ------------------------------------------------------------------------------------- */
uint64_t jv_jit_gas_bias(int64_t gas, uint64_t reserve, uint64_t max_stores) {
    if (gas < 0 || reserve == 0 || max_stores == 0) return 0;
    uint64_t b;
    if (__builtin_mul_overflow(reserve, max_stores, &b) || b > (uint64_t)gas)
        return (uint64_t)gas + 1;
    return b;
}

javm_status jv_jit_run(jv_pvm_state *st, const javm_program *prog, void *ctx, uint32_t start) {
    jv_jit_inst *ji = ctx;
    if (jv_paged_pending(ji->pg.mem)) { /* MEM-12/13: a settle that failed in the last run */
        jv_paged_stats b = ji->pg.stats;
        ji->pg.gas = &st->gas;
        int rc = jv_paged_settle(&ji->pg);
        st->mat_gas += ji->pg.stats.mat_gas - b.mat_gas;
        st->first_touch += ji->pg.stats.first_touch_faults - b.first_touch_faults;
        st->cow += ji->pg.stats.cow_pages - b.cow_pages;
        if (rc)
            return jv_set_error(JAVM_ERR_OS, "jit: settling write-ahead pages failed: %s",
                                strerror(ji->pg.os_errno));
    }
    ji->ahead = jv_mem_ahead_ready();
    if (ji->pg.mem->mode == JV_MEM_SOFT) /* degraded by the VMA budget this frame (MEM-7) */
        return jv_engine_run_degraded(st, prog, ji->pg.mem, start, false);
    const jv_jit_code *k = ji->code;
    jv_jit_frame f;
    memset(&f, 0, sizeof f);
    memcpy(f.regs, st->regs, sizeof f.regs);
    f.reserve = st->mat_reserve;
    f.bias = jv_jit_gas_bias(st->gas, f.reserve, k->max_stores);
    f.gas = (int64_t)((uint64_t)st->gas - f.bias);
    f.inst = ji;
    f.self = &f;
    f.base = ji->pg.mem->base;
    ji->st = st;
    ji->pg.os_errno = 0;
    ji->pg.degrade = 0;
    ji->pg.settle_failed = 0;
    ji->pg.gas = NULL; /* set around each resolve: the counter in the frame is biased */
    jv_paged_stats before = ji->pg.stats;
    ji->thread = pthread_self();
    jv_fault_thread_enter(); /* FLT-7: SIGSEGV unblocked, our stack if the thread's is small */
    bool gs_insn = gs_insn_path();
    uint64_t gs = gs_base(gs_insn);
    if (!set_gs_base(gs_insn, (uint64_t)(uintptr_t)f.base)) { /* JIT-2 */
        int e = errno;
        jv_fault_thread_leave();
        /* (refused after jit_prepare_thread found it allowed) nothing ran: the instance is
         * left to retry start, its pc as it was (what jv_pvm_enter counted for a start inside
         * a block is taken back; its gas stays charged, the retry does not charge it again) */
        st->resume = start;
        if (!jv_pvm_op_is_gate(&prog->ops[start]))
            st->instructions -= (uint64_t)jv_pvm_block_rest(prog, start) + 1;
        return jv_set_error(JAVM_ERR_OS, "jit: setting the gs base for the run failed: %s",
                            strerror(e));
    }
    __atomic_store_n(&ji->running, 1, __ATOMIC_RELEASE);
    ((jv_jit_entry_fn)(uintptr_t)(k->code + k->off_entry))(&f, k->code + k->op_off[start]);
    __atomic_store_n(&ji->running, 0, __ATOMIC_RELEASE);
    set_gs_base(gs_insn, gs);
    jv_fault_thread_leave();
    /* MEM-12: gas, states and statistics are exact again before the exit is reported; a batch
     * that could not be settled keeps its pre-charge outside the instruction count */
    bool settle_failed = settle_frame(ji, &f, UINT32_MAX) != 0;
    uint64_t outstanding =
        ((uint64_t)ji->pg.mem->ahead_count + ji->pg.mem->watch_count) * ji->pg.mem->cow_cost;
    memcpy(st->regs, f.regs, sizeof f.regs);
    f.gas = (int64_t)((uint64_t)f.gas + f.bias);
    /* Gas left the counter only as block costs and #3 charges; a block's instruction count
     * is its cost less what it recorded in uncounted. */
    uint64_t mat = ji->pg.stats.mat_gas - before.mat_gas;
    st->instructions += (uint64_t)(st->gas - f.gas) - mat - (uint64_t)f.uncounted - outstanding;
    st->gas = f.gas;
    st->mat_gas += mat;
    st->first_touch += ji->pg.stats.first_touch_faults - before.first_touch_faults;
    st->cow += ji->pg.stats.cow_pages - before.cow_pages;
    const jv_pvm_op *op = &prog->ops[f.exit_op];
    javm_status s = JAVM_OK;
    switch (f.exit_kind) {
    case JV_JX_PANIC:
    case JV_JX_HALT: /* the rest of its block was charged but not run */
        st->exit_kind = f.exit_kind == JV_JX_PANIC ? JV_EXIT_PANIC : JV_EXIT_HALT;
        st->pc = jv_pvm_op_pc(prog, f.exit_op);
        st->resume = JV_PVM_DONE;
        st->instructions -= jv_pvm_op_rest(op);
        break;
    case JV_JX_HOST:
        st->exit_kind = JV_EXIT_HOST;
        st->pc = jv_pvm_ecall_pc(op);
        st->exit_arg = jv_pvm_op_imm2(op);
        st->exit_next_pc = jv_pvm_ecall_next(op);
        st->resume = f.exit_op + 1;
        st->instructions -= jv_pvm_op_rest(op);
        break;
    case JV_JX_OOG:
        st->exit_kind = JV_EXIT_OOG;
        st->pc = jv_pvm_op_pc(prog, f.exit_op);
        st->resume = JV_PVM_FRESH;
        break;
    case JV_JX_MEM:
        jv_pvm_exit_mem(st, prog, op, ji->pg.fault);
        break;
    default: /* JV_JX_OS: a retry of the access, as in the paged engine */
        st->pc = jv_pvm_op_pc(prog, f.exit_op);
        st->resume = f.exit_op;
        if (!jv_pvm_op_is_gate(op)) /* (a gate whose settle failed: its block is not charged) */
            st->instructions -= (uint64_t)jv_pvm_op_rest(op) + 1;
        if (ji->pg.degrade) /* the VMA budget is spent: on with soft checks (MEM-7) */
            s = jv_engine_degrade_and_continue(st, prog, ji->pg.mem, false);
        else
            s = jv_set_error(JAVM_ERR_OS, "jit: %s failed: %s",
                             ji->pg.settle_failed ? "settling write-ahead pages"
                                                  : "opening guest pages",
                             strerror(ji->pg.os_errno));
        break;
    }
    if (settle_failed && s == JAVM_OK) /* the exit stands; its batch settles at the next run */
        s = jv_set_error(JAVM_ERR_OS, "jit: settling write-ahead pages failed: %s",
                         strerror(ji->pg.os_errno));
    return s;
}

/* ---- The engine operations table entry ------------------------------------------------------ */
static javm_status jit_prepare_thread(void *ctx) {
    javm_status s = jv_fault_thread_prepare();
    if (s) return s;
    /* JIT-2: where the gs base is set with arch_prctl, find out before the run starts (and
     * changes the instance) whether the process may (a seccomp filter may refuse it): set it to
     * the value it has */
    uint64_t gs = 0;
    if (!gs_insn_path() && (syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) != 0 ||
                            syscall(SYS_arch_prctl, ARCH_SET_GS, gs) != 0))
        return jv_set_error(JAVM_ERR_OS, "jit: the gs base cannot be set (arch_prctl: %s)",
                            strerror(errno));
    return jv_mem_heal(((jv_jit_inst *)ctx)->pg.mem); /* MEM-8 */
}

static javm_status jit_run(void *ctx, jv_pvm_state *st, const javm_program *prog, jv_mem *m,
                           uint32_t start, jv_engine_loop loop) {
    return jv_jit_run(st, prog, ctx, start);
}

static void jit_stats(const void *ctx, javm_stats *out) { out->ro_units = jv_jit_ro_units(ctx); }

const jv_engine_ops jv_engine_jit = {
    .name = "jit",
    .mem_mode = JV_MEM_PAGED,
    .no_trace = true,
    .available = jv_jit_available,
    .create = jv_jit_create,
    .destroy = jv_jit_destroy,
    .prepare_thread = jit_prepare_thread,
    .run = jit_run,
    .stats = jit_stats,
};
