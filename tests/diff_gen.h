/* The differential case generator and runner shared by tests/test_diff.c (bounded, in
 * `make test`) and fuzz/fuzz_diff.c (unbounded, `make fuzz`).
 *
 * A case is a pure function of a 64-bit seed: a random page map over a few interesting places
 * of the guest space (below 64 KiB, a run of pages, a 2 MiB cluster boundary, the top of the
 * space where accesses wrap to page 0) with read-only, writable and unmapped pages and random
 * initial bytes; random registers; a random gas budget; and a random valid program written in
 * the assembler's text syntax: bounded loops, ALU ops, loads and stores of every width
 * (immediate, indirect and store-immediate forms) at addresses near page boundaries (straddles,
 * wrap-around), host calls, ending in halt; one case in four then streams over a run of
 * fresh read-write pages (write-ahead batches and read-watched pages on the hardware-paged
 * engines); one in four is loaded with ecall blocks (javm_load_options.ecall_blocks); the
 * instances get a random #3 copy-on-write cost (the default, 1 .. 2^20) and in one case in four
 * ro_write_faults (a write to a read-only page is a page fault). Zero pages are mapped without
 * initial bytes (armed where the engine arms pages).
 *
 * Running a case: the soft engine against the paged engine and the recompiler (jit), each with
 * #3 accounting off and on. The host
 * answers every exit deterministically: a host call changes a register, writes guest bytes or
 * maps a page; a page fault maps the faulting page (read-write or read-only) and resumes;
 * out-of-gas tops the gas up once. Every exit (kind, pc, arg) is compared between the engines,
 * then the final instances are compared completely (jv_diff_instances). */
#ifndef JV_TEST_DIFF_GEN_H
#define JV_TEST_DIFF_GEN_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_diff.h"
#include "instance.h"
#include "jit/jit.h"
#include "javm.h"
#include "regs.h"
#include "pvm/asm.h"

typedef struct dg_rng {
    uint64_t s;
} dg_rng;
static inline uint64_t dg_next(dg_rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint32_t dg_below(dg_rng *r, uint32_t n) { return (uint32_t)(dg_next(r) % n); }

/* Candidate pages of the page map. */
static const uint32_t dg_pages[] = {
    0x00000000u, 0x0000F000u,                                        /* below 64 KiB */
    0x00020000u, 0x00021000u, 0x00022000u, 0x00023000u, 0x00024000u, /* a run */
    0x00025000u, 0x00026000u, 0x00027000u,
    0x003FE000u, 0x003FF000u, 0x00400000u, 0x00401000u, /* a 2 MiB cluster boundary */
    0x00405000u, 0x00406000u,                           /* a second cap in that cluster */
    0xFFFFE000u, 0xFFFFF000u,                           /* the top (wraps to page 0) */
};
#define DG_NPAGES (sizeof dg_pages / sizeof dg_pages[0])
/* The stream region (cases with c->stream): fresh read-write pages, armed on the
 * hardware-paged engines (MEM-11), which a loop streams over (MEM-12 write-ahead batches,
 * MEM-13 read-watched pages) */
#define DG_STREAM_BASE 0x00100000u
#define DG_STREAM_PAGES 48u
#define DG_MAX_SRC 65536

typedef struct dg_case {
    uint64_t seed;
    uint8_t access[DG_NPAGES]; /* javm_access per candidate page */
    uint64_t init_seed;        /* initial bytes of mapped pages */
    uint64_t regs[JAVM_NUM_REGS];
    int64_t gas;
    uint32_t start; /* 0: run from pc 0; else start at pc (start - 1) mod (code size + 3) */
    bool ecall_blocks; /* loaded with javm_load_options.ecall_blocks (every ecalli its own block) */
    unsigned stream;   /* nonzero: the stream region is mapped and the program streams over it */
    bool ro_faults;    /* javm_config.ro_write_faults: a write to a read-only page faults */
    uint64_t cow_cost; /* javm_config.cow_cost (0: the default) */
    char src[DG_MAX_SRC];
    size_t len;
} dg_case;

static inline void dg_emit(dg_case *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(c->src + c->len, sizeof c->src - c->len, fmt, ap);
    va_end(ap);
    if (k > 0 && (size_t)k < sizeof c->src - c->len) c->len += (size_t)k;
}

/* An address near an interesting place: a candidate page base plus a boundary-ish offset.
 * Mostly a page that is mapped (writable when `want` is RW), so that programs run on. */
static inline uint32_t dg_addr(dg_rng *r, const dg_case *c, unsigned want) {
    static const uint32_t offs[] = {0, 1, 2, 3, 4, 7, 8, 0x800, 0xFF8, 0xFF9, 0xFFC, 0xFFD,
                                    0xFFE, 0xFFF};
    unsigned pick = dg_below(r, DG_NPAGES);
    if (dg_below(r, 8) != 0) {
        for (unsigned k = 0; k < DG_NPAGES; k++) {
            unsigned i = (pick + k) % DG_NPAGES;
            if (c->access[i] >= want && c->access[i] != JAVM_ACCESS_NONE) {
                pick = i;
                break;
            }
        }
    }
    uint32_t base = dg_pages[pick];
    if (dg_below(r, 8) == 0) return base + dg_below(r, 4096);
    return base + offs[dg_below(r, sizeof offs / sizeof offs[0])];
}

static const char *const dg_loads[] = {"load_u8", "load_i8", "load_u16", "load_i16",
                                       "load_u32", "load_i32", "load_u64"};
static const char *const dg_stores[] = {"store_u8", "store_u16", "store_u32", "store_u64"};
static const char *const dg_alu3[] = {"add_64", "sub_64", "xor", "and", "or", "mul_64",
                                      "add_32", "shlo_l_64", "rot_r_32", "max_u"};

/* Registers r0..r9 are general; r10/r11 hold addresses; r12 is the loop counter. */
static inline void dg_insn(dg_rng *r, dg_case *c) {
    unsigned k = dg_below(r, 16);
    unsigned ra = dg_below(r, 10), rb = dg_below(r, 12);
    bool st = k == 2 || k == 3 || k == 4 || (k == 10 && dg_below(r, 2));
    int32_t a = (int32_t)dg_addr(r, c, st ? JAVM_ACCESS_RW : JAVM_ACCESS_RO);
    /* (every draw is its own statement, in reading order: the case of a seed must not depend
     * on the order in which a compiler evaluates function arguments, so that a crash found by
     * the clang-built libFuzzer target replays in a gcc-built test_diff) */
    switch (k) {
    case 0: case 1: { /* load, immediate address */
        const char *op = dg_loads[dg_below(r, 7)];
        dg_emit(c, "  %s r%u, %d\n", op, ra, a);
        break;
    }
    case 2: case 3: { /* store, immediate address */
        const char *op = dg_stores[dg_below(r, 4)];
        dg_emit(c, "  %s r%u, %d\n", op, ra, a);
        break;
    }
    case 4: { /* store immediate */
        unsigned bits = 8u << dg_below(r, 4);
        int32_t v = (int32_t)dg_next(r);
        dg_emit(c, "  store_imm_u%u %d, %d\n", bits, a, v);
        break;
    }
    case 5: case 6: { /* indirect load via an address register */
        static const char *const w[] = {"u8", "i8", "u16", "i16", "u32", "i32", "u64"};
        const char *wd = w[dg_below(r, 7)];
        unsigned base = 10 + dg_below(r, 2);
        int32_t off = (int32_t)dg_below(r, 16) - 8;
        dg_emit(c, "  load_ind_%s r%u, r%u, %d\n", wd, ra, base, off);
        break;
    }
    case 7: case 8: { /* indirect store */
        unsigned bits = 8u << dg_below(r, 4);
        unsigned base = 10 + dg_below(r, 2);
        int32_t off = (int32_t)dg_below(r, 16) - 8;
        dg_emit(c, "  store_ind_u%u r%u, r%u, %d\n", bits, ra, base, off);
        break;
    }
    case 9: { /* indirect store immediate */
        unsigned bits = 8u << dg_below(r, 4);
        unsigned base = 10 + dg_below(r, 2);
        int32_t off = (int32_t)dg_below(r, 16) - 8;
        int32_t v = (int32_t)dg_next(r);
        dg_emit(c, "  store_imm_ind_u%u r%u, %d, %d\n", bits, base, off, v);
        break;
    }
    case 10: { /* move an address register somewhere interesting */
        unsigned d = 10 + dg_below(r, 2);
        dg_emit(c, "  load_imm r%u, %d\n", d, a);
        break;
    }
    case 11: { /* step an address register by a page or a few bytes */
        unsigned d = 10 + dg_below(r, 2);
        unsigned b = 10 + dg_below(r, 2);
        int32_t step = dg_below(r, 2) ? 4096 : (int32_t)dg_below(r, 9) - 4;
        dg_emit(c, "  add_imm_64 r%u, r%u, %d\n", d, b, step);
        break;
    }
    case 12: /* host call */
        dg_emit(c, "  ecalli %u\n", dg_below(r, 4));
        break;
    default: { /* ALU */
        const char *op = dg_alu3[dg_below(r, 10)];
        unsigned rc = dg_below(r, 12);
        dg_emit(c, "  %s r%u, r%u, r%u\n", op, ra, rb, rc);
        break;
    }
    }
}

static inline void dg_generate(uint64_t seed, dg_case *c) {
    dg_rng r = {seed};
    memset(c, 0, sizeof *c);
    c->seed = seed;
    for (unsigned i = 0; i < DG_NPAGES; i++) {
        unsigned x = dg_below(&r, 8);
        c->access[i] = x < 3 ? JAVM_ACCESS_NONE : x < 5 ? JAVM_ACCESS_RO : JAVM_ACCESS_RW;
    }
    c->init_seed = dg_next(&r);
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) c->regs[i] = dg_next(&r);
    c->regs[10] = dg_addr(&r, c, JAVM_ACCESS_RW);
    c->regs[11] = dg_addr(&r, c, JAVM_ACCESS_RO);
    c->gas = dg_below(&r, 4) == 0 ? (int64_t)dg_below(&r, 3000) : 1000000;
    unsigned blocks = 1 + dg_below(&r, 4);
    for (unsigned b = 0; b < blocks; b++) {
        bool loop = dg_below(&r, 2);
        if (loop) {
            dg_emit(c, "  load_imm r12, %u\n", 1 + dg_below(&r, 4));
            dg_emit(c, "  fallthrough\nl%u:\n", b); /* a branch target must start a block */
        }
        unsigned n = 1 + dg_below(&r, 10);
        for (unsigned i = 0; i < n; i++) dg_insn(&r, c);
        if (loop) {
            dg_emit(c, "  add_imm_64 r12, r12, -1\n");
            dg_emit(c, "  branch_ne_imm r12, 0, l%u\n", b);
        }
    }
    /* drawn last, so the rest of the case is as without them */
    if (dg_below(&r, 4) == 0) { /* a stream over a run of fresh read-write pages */
        static const char *const body[] = {
            "  store_ind_u64 r%u, r10, %d\n",                            /* write-ahead batches */
            "  load_ind_u8 r%u, r10, %d\n",                              /* watched reads */
            "  load_ind_u32 r%u, r10, %d\n  store_ind_u8 r%u, r10, %d\n", /* watched, then written */
            "  store_ind_u64 r%u, r10, %d\n  load_ind_u64 r%u, r10, 4093\n", /* straddles */
        };
        static const int32_t offs[] = {0, 8, 2048, 4088, 4093, 4095};
        unsigned k = dg_below(&r, 4), ra = dg_below(&r, 10), rb = dg_below(&r, 10);
        int32_t o = offs[dg_below(&r, sizeof offs / sizeof offs[0])];
        c->stream = 1 + dg_below(&r, DG_STREAM_PAGES + 4); /* pages, past the end at times */
        uint32_t skip = dg_below(&r, 2);
        uint32_t from = DG_STREAM_BASE + skip * 4096 * dg_below(&r, 8);
        dg_emit(c, "  load_imm r10, 0x%x\n  load_imm r12, %u\n  fallthrough\ns:\n", from,
                c->stream);
        dg_emit(c, body[k], ra, o, rb, o);
        if (dg_below(&r, 4) == 0) dg_emit(c, "  ecalli %u\n", dg_below(&r, 4));
        dg_emit(c, "  add_imm_64 r10, r10, %d\n", dg_below(&r, 4) ? 4096 : 2 * 4096 + 1);
        dg_emit(c, "  add_imm_64 r12, r12, -1\n  branch_ne_imm r12, 0, s\n");
    }
    dg_emit(c, "  load_imm r0, -65536\n  jump_ind r0, 0\n");
    c->ecall_blocks = dg_below(&r, 4) == 0;
    static const uint64_t cows[] = {0, 0, 1, 3, 40, 4096, 1u << 20};
    c->cow_cost = cows[dg_below(&r, sizeof cows / sizeof cows[0])];
    c->ro_faults = dg_below(&r, 4) == 0;
}

/* A shared snapshot (16 pages of a pattern) some cases map pages from (copy-on-write). */
static javm_snapshot *dg_snapshot_ptr;
static inline void dg_snapshot_make(void) {
    static uint8_t d[16 * JV_PAGE_SIZE];
    for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)(i * 31 + (i >> 12));
    if (javm_snapshot_new(d, sizeof d, &dg_snapshot_ptr) != JAVM_OK) dg_snapshot_ptr = NULL;
}
static inline const javm_snapshot *dg_snapshot(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, dg_snapshot_make);
    return dg_snapshot_ptr;
}

/* Instance set-up: page map, initial bytes, registers, gas. */
static inline javm_instance *dg_instance(const dg_case *c, const javm_program *p,
                                         javm_engine engine, int mat) {
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = engine;
    cfg.mat = mat;
    cfg.cow_cost = c->cow_cost;
    cfg.ro_write_faults = c->ro_faults;
    javm_instance *vm = NULL;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK) return NULL;
    dg_rng r = {c->init_seed};
    static uint8_t page[JV_PAGE_SIZE];
    for (unsigned i = 0; i < DG_NPAGES; i++) {
        if (c->access[i] == JAVM_ACCESS_NONE) continue;
        unsigned fill = dg_below(&r, 4);
        if (fill == 3 && dg_snapshot()) { /* from the shared snapshot, copy-on-write */
            if (javm_map_snapshot(vm, dg_pages[i], JV_PAGE_SIZE, (javm_access)c->access[i],
                               dg_snapshot(), (uint64_t)(i % 16) * JV_PAGE_SIZE) != JAVM_OK) {
                javm_instance_free(vm);
                return NULL;
            }
            continue;
        }
        for (unsigned k = 0; k < JV_PAGE_SIZE; k++)
            page[k] = fill == 0 ? 0 : fill == 1 ? (uint8_t)dg_next(&r) : (uint8_t)(k * 7 + i);
        /* zero pages are mapped without initial bytes: fresh read-write ones are then armed on
         * the hardware-paged engines (MEM-11), so runs of them stream write-ahead batches and
         * reads are watched (MEM-12, MEM-13) */
        if (javm_map(vm, dg_pages[i], JV_PAGE_SIZE, (javm_access)c->access[i],
                     fill == 0 ? NULL : page, fill == 0 ? 0 : JV_PAGE_SIZE) != JAVM_OK) {
            javm_instance_free(vm);
            return NULL;
        }
    }
    if (c->stream && javm_map(vm, DG_STREAM_BASE, DG_STREAM_PAGES * JV_PAGE_SIZE,
                              JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) {
        javm_instance_free(vm);
        return NULL;
    }
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) javm_reg_set(vm, i, c->regs[i]);
    javm_gas_set(vm, c->gas);
    if (c->start && javm_pc_set(vm, (c->start - 1) % (javm_program_code_size(p) + 3)) != JAVM_OK) {
        javm_instance_free(vm);
        return NULL;
    }
    return vm;
}

/* Coverage counters over all cases run (printed by the bounded test). */
static struct {
    uint64_t exits[5], insns, first_touch, cow, ro_units, mat_gas, cases;
    uint64_t ahead_batches, watched_pages; /* the jit's (MEM-12, MEM-13) */
} dg_cov;

#define DG_MAX_EXITS 24
typedef struct dg_trace {
    javm_exit_info ex[DG_MAX_EXITS];
    unsigned n;
    javm_status last;
} dg_trace;

/* Runs to completion with the deterministic host. */
static inline void dg_drive(javm_instance *vm, dg_trace *t) {
    unsigned calls = 0, faults = 0, topups = 0;
    t->n = 0;
    for (;;) {
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        t->last = javm_run(vm, &ex);
        if (t->last != JAVM_OK || t->n == DG_MAX_EXITS) return;
        t->ex[t->n++] = ex;
        switch (ex.kind) {
        case JAVM_EXIT_HOST_CALL: {
            calls++;
            javm_reg_set(vm, 7, test_reg(vm, 7) + ex.arg * 3 + calls);
            if (ex.arg == 1) { /* write a few bytes where r10 points, if mapped */
                uint8_t b[3] = {(uint8_t)calls, 0x5A, 0xA5};
                (void)javm_mem_write(vm, (uint32_t)test_reg(vm, 10), b, 3);
            } else if (ex.arg == 2) { /* map the page r11 points at */
                (void)javm_map(vm, (uint32_t)test_reg(vm, 11) & ~0xFFFu, JV_PAGE_SIZE,
                               calls & 1 ? JAVM_ACCESS_RW : JAVM_ACCESS_RO, NULL, 0);
            } else if (ex.arg == 3) { /* change the memory under the guest's feet */
                uint32_t pg10 = (uint32_t)test_reg(vm, 10) & ~0xFFFu;
                uint32_t pg11 = (uint32_t)test_reg(vm, 11) & ~0xFFFu;
                switch (calls % 5) {
                case 0: jv_mem_new_frame(&((javm_instance *)vm)->mem); break; /* re-arm CoW */
                case 1: (void)javm_unmap(vm, pg11, JV_PAGE_SIZE); break;
                case 2: (void)javm_protect(vm, pg10, JV_PAGE_SIZE, JAVM_ACCESS_RO); break;
                case 3: (void)javm_protect(vm, pg10, JV_PAGE_SIZE, JAVM_ACCESS_RW); break;
                default: /* reset for reuse: keep the registers so the program goes on */
                    if (calls % 10 == 4) {
                        uint64_t regs[JAVM_NUM_REGS];
                        for (unsigned i = 0; i < JAVM_NUM_REGS; i++) regs[i] = test_reg(vm, i);
                        int64_t gas = javm_gas_get(vm);
                        (void)javm_instance_reset(vm, NULL);
                        for (unsigned i = 0; i < JAVM_NUM_REGS; i++) javm_reg_set(vm, i, regs[i]);
                        javm_gas_set(vm, gas);
                    }
                    break;
                }
            }
            break;
        }
        case JAVM_EXIT_PAGE_FAULT:
            if (++faults > 3) return;
            if (javm_map(vm, (uint32_t)ex.arg, JV_PAGE_SIZE,
                         faults & 1 ? JAVM_ACCESS_RW : JAVM_ACCESS_RO, NULL, 0) != JAVM_OK)
                return;
            break;
        case JAVM_EXIT_OUT_OF_GAS:
            if (++topups > 1) return;
            javm_gas_set(vm, javm_gas_get(vm) + 5000);
            break;
        default:
            return; /* halt, panic */
        }
    }
}

/* Runs a case on both engines, #3 off and on. Returns 0 if they agree, else 1 (why says how);
 * -1 if the case could not be built (the assembler rejected it; a generator bug). */
static const javm_load_options *dg_opts; /* the dialect and gas model of the cases; NULL: gp07 */
static inline int dg_check(const dg_case *c, char *why, size_t n) {
    uint8_t *blob = NULL;
    size_t blen = 0;
    if (jv_asm_assemble_isa(dg_opts ? dg_opts->isa : JAVM_ISA_GP07, c->src, c->len, &blob,
                            &blen, NULL) != JAVM_OK) {
        snprintf(why, n, "assembler: %s", javm_last_error());
        return -1;
    }
    javm_load_options lo;
    javm_load_options_init(&lo);
    if (dg_opts) lo = *dg_opts;
    lo.ecall_blocks = c->ecall_blocks;
    javm_program *p = NULL;
    javm_status s = javm_program_load_ex(blob, blen, &lo, &p);
    free(blob);
    if (s != JAVM_OK) {
        snprintf(why, n, "load: %s", javm_last_error());
        return -1;
    }
    int rc = 0;
    /* the soft engine is the reference; every other available engine must agree with it */
    static const javm_engine others[] = {JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
    for (int mat = 0; mat < 2 && rc == 0; mat++) {
        for (unsigned e = 0; e < sizeof others / sizeof others[0] && rc == 0; e++) {
            if (!javm_engine_available(others[e])) continue;
            const char *en = javm_engine_name(others[e]);
            javm_instance *vs = dg_instance(c, p, JAVM_ENGINE_SOFT, mat);
            javm_instance *vp = dg_instance(c, p, others[e], mat);
            if (!vs || !vp) {
                snprintf(why, n, "instance: %s", javm_last_error());
                rc = -1;
            } else {
                dg_trace ts, tp;
                dg_drive(vs, &ts);
                dg_drive(vp, &tp);
                if (ts.last != tp.last || ts.n != tp.n) {
                    snprintf(why, n, "%s mat %d: %u exits (status %d) vs %u exits (status %d)",
                             en, mat, ts.n, ts.last, tp.n, tp.last);
                    rc = 1;
                }
                for (unsigned i = 0; rc == 0 && i < ts.n; i++) {
                    const javm_exit_info *a = &ts.ex[i], *b = &tp.ex[i];
                    if (a->kind != b->kind || a->pc != b->pc || a->arg != b->arg ||
                        a->next_pc != b->next_pc) {
                        snprintf(why, n,
                                 "%s mat %d: exit %u: %s pc %u arg 0x%llx vs %s pc %u arg 0x%llx",
                                 en, mat, i, javm_exit_str(a->kind), a->pc,
                                 (unsigned long long)a->arg, javm_exit_str(b->kind), b->pc,
                                 (unsigned long long)b->arg);
                        rc = 1;
                    }
                }
                for (unsigned i = 0; i < tp.n; i++) dg_cov.exits[tp.ex[i].kind % 5]++;
                javm_stats st = JAVM_STATS_INIT;
                javm_stats_get(vp, &st);
                dg_cov.insns += st.instructions;
                dg_cov.first_touch += st.first_touch_faults;
                dg_cov.cow += st.cow_pages;
                dg_cov.ro_units += st.ro_units;
                dg_cov.mat_gas += st.mat_gas;
                dg_cov.cases++;
                if (others[e] == JAVM_ENGINE_JIT) {
                    uint64_t batches = 0, pages = 0;
                    jv_jit_ahead_stats(vp->engine, &batches, &pages);
                    dg_cov.ahead_batches += batches;
                    dg_cov.watched_pages += jv_jit_watched_pages(vp->engine);
                }
                char inner[400];
                if (rc == 0 && jv_diff_instances(vs, vp, inner, sizeof inner)) {
                    snprintf(why, n, "%s mat %d: %s", en, mat, inner);
                    rc = 1;
                }
            }
            javm_instance_free(vs);
            javm_instance_free(vp);
        }
    }
    javm_program_free(p);
    return rc;
}

#endif
