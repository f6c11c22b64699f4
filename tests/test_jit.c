/* jit: the recompiler against the interpreter (JIT-1), one instruction class at a time at its
 * edge values, then random valid programs, dynamic-jump abuse and window-escape attempts
 * (JIT-2, JIT-3). Every case runs on a soft and a jit instance of the same program and must
 * give the same exit, pc, registers, gas and instruction count (memory too where it is used).
 * Registers are chosen so both host-register and frame-resident guest registers (φ1 and φ2 are
 * forced into the frame: jv_jit_set_frame_mask) and aliasing operands (d = a, d = b, a = b) are
 * covered. */
#include <asm/prctl.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "engine_diff.h"
#include "fault/fault.h"
#include "jit/jit.h"
#include "jit/jit_internal.h"
#include "pvm/asm.h"

static const uint64_t E[] = {
    0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 65, 127, 0xFF, 0x80, 0x7FFF, 0x8000, 0xFFFF,
    0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x1FFFFFFFF, 0x123456789ABCDEF0,
    0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFE,
    0xFFFFFFFF80000000, 0xFFFFFFFF7FFFFFFF, 0xDEADBEEFCAFEF00D,
};
#define NE (sizeof E / sizeof E[0])
static const int64_t IMM[] = {0, 1, -1, 2, 5, 31, 32, 33, 63, 64, 65, 127, -128, 0x7FFF,
                              -0x8000, 0x7FFFFFFF, INT32_MIN, 0x12345678, -0x12345678};
#define NI (sizeof IMM / sizeof IMM[0])

typedef struct pair {
    javm_program *p;
    javm_instance *s, *j;
} pair;

/* A soft and a jit instance of src in dialect isa (with its gas model), #3 on or off, the
 * given cost of a copy-on-write (0 = the default). */
static bool make_pair_cfg(pair *pp, const char *src, int mat, javm_isa isa, uint64_t cow_cost) {
    uint8_t *blob = NULL;
    size_t len = 0;
    memset(pp, 0, sizeof *pp);
    if (jv_asm_assemble_isa(isa, src, strlen(src), &blob, &len, NULL) != JAVM_OK)
        fail_msg("assembler: %s\n%s", javm_last_error(), src);
    javm_load_options lo;
    javm_load_options_init(&lo);
    lo.isa = isa;
    lo.gas_model = isa == JAVM_ISA_GP08 ? JAVM_GAS_GP08 : JAVM_GAS_GP07;
    assert_int_equal(javm_program_load_ex(blob, len, &lo, &pp->p), JAVM_OK);
    free(blob);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = JAVM_ENGINE_SOFT;
    cfg.mat = mat;
    cfg.cow_cost = cow_cost;
    assert_int_equal(javm_instance_new(pp->p, &cfg, &pp->s), JAVM_OK);
    cfg.engine = JAVM_ENGINE_JIT;
    javm_status st = javm_instance_new(pp->p, &cfg, &pp->j);
    if (st != JAVM_OK) fail_msg("jit instance: %s\n%s", javm_last_error(), src);
    return true;
}
static bool make_pair_isa(pair *pp, const char *src, int mat, javm_isa isa) {
    return make_pair_cfg(pp, src, mat, isa, 0);
}
static bool make_pair_mat(pair *pp, const char *src, int mat) {
    return make_pair_isa(pp, src, mat, JAVM_ISA_GP07);
}
static bool make_pair(pair *pp, const char *src) { return make_pair_mat(pp, src, 0); }
static void free_pair(pair *pp) {
    javm_instance_free(pp->s);
    javm_instance_free(pp->j);
    javm_program_free(pp->p);
}

/* Sets the same registers, pc and gas on both, runs both once, compares. */
static void run_both(pair *pp, const uint64_t regs[13], uint32_t pc, int64_t gas, const char *what) {
    javm_instance *v[2] = {pp->s, pp->j};
    javm_exit_info ex[2] = {JAVM_EXIT_INFO_INIT, JAVM_EXIT_INFO_INIT};
    for (int k = 0; k < 2; k++) {
        for (unsigned i = 0; i < 13; i++) javm_reg_set(v[k], i, regs[i]);
        javm_pc_set(v[k], pc);
        javm_gas_set(v[k], gas);
        assert_int_equal(javm_run(v[k], &ex[k]), JAVM_OK);
    }
    if (ex[0].kind != ex[1].kind || ex[0].pc != ex[1].pc || ex[0].arg != ex[1].arg)
        fail_msg("%s: exit %s pc %u arg %llu vs jit %s pc %u arg %llu", what,
                 javm_exit_str(ex[0].kind), ex[0].pc, (unsigned long long)ex[0].arg,
                 javm_exit_str(ex[1].kind), ex[1].pc, (unsigned long long)ex[1].arg);
    char why[256];
    if (jv_diff_instances(pp->s, pp->j, why, sizeof why)) fail_msg("%s: %s", what, why);
}

static void fill_regs(uint64_t r[13], uint64_t seed) {
    for (unsigned i = 0; i < 13; i++) r[i] = (seed + i) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)i << 40);
}

/* Register triples: host registers, frame-resident ones (φ1, φ2), aliasing. */
static const unsigned TRI[][3] = {{7, 8, 9}, {1, 2, 7}, {7, 7, 8}, {7, 8, 7}, {7, 8, 8},
                                  {1, 1, 2}, {2, 1, 1}, {1, 2, 2}, {0, 12, 3}};
#define NTRI (sizeof TRI / sizeof TRI[0])

static unsigned g_runs;

/* A12 (φD = f(φA, φB)): every op, every triple, every value pair. */
static void three_register_ops(void **state) {
    (void)state;
    for (unsigned iop = 0; iop < JV_PVM_NUM_OPCODES; iop++) {
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of_iop(iop);
        if (o->cls != JV_CLASS_A12) continue;
        for (unsigned t = 0; t < NTRI; t++) {
            char src[128];
            snprintf(src, sizeof src, "  %s r%u, r%u, r%u\n  trap\n", o->name, TRI[t][0],
                     TRI[t][1], TRI[t][2]);
            pair pp;
            make_pair(&pp, src);
            for (unsigned i = 0; i < NE; i++)
                for (unsigned k = 0; k < NE; k++) {
                    uint64_t r[13];
                    fill_regs(r, i * NE + k);
                    r[TRI[t][1]] = E[i];
                    r[TRI[t][2]] = E[k];
                    char what[160];
                    snprintf(what, sizeof what, "%s a=0x%llx b=0x%llx", src,
                             (unsigned long long)E[i], (unsigned long long)E[k]);
                    run_both(&pp, r, 0, 100, what);
                    g_runs++;
                }
            free_pair(&pp);
        }
    }
}

/* A9 (φA = f(φB, νX)) and A8 (φD = f(φA)): every op, register pairs, values, immediates. */
static const unsigned PAIRS[][2] = {{7, 8}, {7, 7}, {1, 2}, {2, 2}, {1, 7}, {7, 1}};
#define NPAIRS (sizeof PAIRS / sizeof PAIRS[0])

static void immediate_and_unary_ops(void **state) {
    (void)state;
    for (unsigned iop = 0; iop < JV_PVM_NUM_OPCODES; iop++) {
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of_iop(iop);
        bool a9 = o->cls == JV_CLASS_A9 && !(o->flags & (JV_OP_LOAD | JV_OP_STORE));
        bool a8 = o->cls == JV_CLASS_A8;
        bool a5 = !strcmp(o->name, "load_imm");
        if (!a9 && !a8 && !a5) continue;
        for (unsigned t = 0; t < NPAIRS; t++) {
            for (unsigned m = 0; m < (a8 ? 1 : NI); m++) {
                char src[128];
                if (a9) snprintf(src, sizeof src, "  %s r%u, r%u, %lld\n  trap\n", o->name,
                                 PAIRS[t][0], PAIRS[t][1], (long long)IMM[m]);
                else if (a8) snprintf(src, sizeof src, "  %s r%u, r%u\n  trap\n", o->name,
                                      PAIRS[t][0], PAIRS[t][1]);
                else snprintf(src, sizeof src, "  load_imm r%u, %lld\n  trap\n", PAIRS[t][0],
                              (long long)IMM[m]);
                pair pp;
                make_pair(&pp, src);
                for (unsigned i = 0; i < NE; i++) {
                    uint64_t r[13];
                    fill_regs(r, i);
                    r[PAIRS[t][1]] = E[i];
                    char what[160];
                    snprintf(what, sizeof what, "%s v=0x%llx", src, (unsigned long long)E[i]);
                    run_both(&pp, r, 0, 100, what);
                    g_runs++;
                }
                free_pair(&pp);
            }
        }
    }
    /* load_imm_64 with every edge value */
    for (unsigned i = 0; i < NE; i++) {
        char src[128];
        snprintf(src, sizeof src, "  load_imm_64 r2, 0x%llx\n  load_imm_64 r9, 0x%llx\n  trap\n",
                 (unsigned long long)E[i], (unsigned long long)~E[i]);
        pair pp;
        make_pair(&pp, src);
        uint64_t r[13];
        fill_regs(r, i);
        run_both(&pp, r, 0, 100, src);
        free_pair(&pp);
    }
}

/* Every branch condition, taken and not taken, with immediates and register pairs. */
static void branches(void **state) {
    (void)state;
    for (unsigned iop = 0; iop < JV_PVM_NUM_OPCODES; iop++) {
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of_iop(iop);
        if (o->cls != JV_CLASS_A7 && o->cls != JV_CLASS_A10) continue;
        bool imm = o->cls == JV_CLASS_A7;
        for (unsigned t = 0; t < NPAIRS; t++) {
            for (unsigned m = 0; m < (imm ? NI : 1); m++) {
                char src[192];
                if (imm)
                    snprintf(src, sizeof src, "  %s r%u, %lld, T\n  trap\nT:\n  trap\n", o->name,
                             PAIRS[t][0], (long long)IMM[m]);
                else
                    snprintf(src, sizeof src, "  %s r%u, r%u, T\n  trap\nT:\n  trap\n", o->name,
                             PAIRS[t][0], PAIRS[t][1]);
                pair pp;
                make_pair(&pp, src);
                for (unsigned i = 0; i < NE; i++)
                    for (unsigned k = 0; k < (imm ? 1 : NE); k++) {
                        uint64_t r[13];
                        fill_regs(r, i);
                        r[PAIRS[t][0]] = E[i];
                        if (!imm) r[PAIRS[t][1]] = E[k];
                        char what[240];
                        snprintf(what, sizeof what, "%s a=0x%llx", src, (unsigned long long)E[i]);
                        run_both(&pp, r, 0, 100, what);
                        g_runs++;
                    }
                free_pair(&pp);
            }
        }
    }
}

/* Dynamic jumps (PVM-E2): every address from 0 to past the table, odd ones, the halt address,
 * huge values, an entry that is not a block start, and load_imm_jump_ind with equal
 * registers (the target comes from the old value). */
static void dynamic_jumps(void **state) {
    (void)state;
    static const char *const forms[] = {
        "  jump_ind r7, 0\n",         "  jump_ind r1, 6\n",
        "  load_imm_jump_ind r7, r7, 2, 0\n", "  load_imm_jump_ind r1, r1, 4, 0\n",
        "  load_imm_jump_ind r7, r8, 6, 2\n", "  load_imm_jump_ind r2, r1, -1, 0\n",
    };
    for (unsigned f = 0; f < 2 * (sizeof forms / sizeof forms[0]); f++) {
        char src[512]; /* with a jump table, then without one (every address halts or panics) */
        unsigned nf = sizeof forms / sizeof forms[0];
        snprintf(src, sizeof src,
                 "%s%s  trap\nA:\n  load_imm r9, 1\n  trap\nB:\n"
                 "  load_imm r9, 2\n  trap\nC:\n  load_imm r9, 3\n  trap\n",
                 f < nf ? ".jumptable A, B, 1, C\n" : "", forms[f % nf]);
        pair pp;
        make_pair(&pp, src);
        uint64_t vals[64];
        unsigned n = 0;
        for (uint64_t a = 0; a <= 12; a++) vals[n++] = a;
        static const uint64_t more[] = {0xFFFF0000, 0xFFFEFFFE, 0xFFFF0002, 0xFFFFFFFF,
                                        0x100000002, 0xFFFFFFFF00000004, 0x80000000,
                                        0xFFFFFFFE, 0x1FFFF0000, 0xFFFFFFFFFFFF0000};
        for (unsigned i = 0; i < sizeof more / sizeof more[0]; i++) vals[n++] = more[i];
        for (unsigned i = 0; i < n; i++) {
            uint64_t r[13];
            fill_regs(r, i);
            r[7] = vals[i];
            r[1] = vals[i];
            r[8] = vals[i] - 2;
            char what[600];
            snprintf(what, sizeof what, "%s value 0x%llx", src, (unsigned long long)vals[i]);
            run_both(&pp, r, 0, 100, what);
            g_runs++;
        }
        free_pair(&pp);
    }
}

/* Memory at the edges: every load/store form through host and frame registers whose upper 32
 * bits are set (only the low 32 bits address: JIT-2), straddling the top of a mapped run into
 * an unmapped page, at the very top of the space and wrapping to page 0, with #3 off and on. */
static void memory_edges(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static const uint32_t addrs[] = {0x20000, 0x20FFC, 0x20FFF, 0x21FF9, 0x21FFC, 0x21FFF,
                                     0xFFFFE000, 0xFFFFFFF8, 0xFFFFFFF9, 0xFFFFFFFC,
                                     0xFFFFFFFF, 0x0, 0xFFFF, 0x10000, 0x3FFFFFF};
    static const uint64_t highs[] = {0, 0xFFFFFFFF00000000ull, 0x123456700000000ull};
    for (unsigned iop = 0; iop < JV_PVM_NUM_OPCODES; iop++) {
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of_iop(iop);
        if (!(o->flags & (JV_OP_LOAD | JV_OP_STORE))) continue;
        bool absolute = o->cls == JV_CLASS_A3 || o->cls == JV_CLASS_A5;
        for (unsigned breg = 0; breg < 2; breg++) {
            unsigned rb = breg ? 2 : 9; /* frame-resident / host */
            unsigned ra = breg ? 1 : 7;
            for (unsigned ai = 0; ai < sizeof addrs / sizeof addrs[0]; ai++) {
                /* absolute forms carry the address (one program each); indirect forms
                 * take it from rb (one program, every address and upper half) */
                if (!absolute && ai > 0) break;
                char src[160];
                int32_t ax = (int32_t)addrs[ai];
                switch (o->cls) {
                case JV_CLASS_A3: snprintf(src, sizeof src, "  %s %d, 0x1234567\n  trap\n", o->name, ax); break;
                case JV_CLASS_A5: snprintf(src, sizeof src, "  %s r%u, %d\n  trap\n", o->name, ra, ax); break;
                case JV_CLASS_A6: snprintf(src, sizeof src, "  %s r%u, -3, 0x7A\n  trap\n", o->name, rb); break;
                default: snprintf(src, sizeof src, "  %s r%u, r%u, 3\n  trap\n", o->name, ra, rb); break;
                }
                for (int mat = 0; mat < 2; mat++) {
                    for (unsigned layout = 0; layout < 3; layout++) {
                        pair pp;
                        make_pair_mat(&pp, src, mat);
                        javm_instance *v[2] = {pp.s, pp.j};
                        for (int k = 0; k < 2; k++) {
                            javm_instance *vm = v[k];
                            assert_int_equal(javm_map(vm, 0x20000, 0x2000, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
                            if (layout >= 1)
                                assert_int_equal(javm_map(vm, 0xFFFFF000, 0x1000, layout == 1 ? JAVM_ACCESS_RW : JAVM_ACCESS_RO, "\x11\x22\x33", 3), JAVM_OK);
                            if (layout == 2)
                                assert_int_equal(javm_map(vm, 0x0, 0x1000, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
                        }
                        for (unsigned bi = 0; bi < (absolute ? 1 : sizeof addrs / sizeof addrs[0]); bi++)
                            for (unsigned h = 0; h < 3; h++) {
                                uint64_t r[13];
                                fill_regs(r, bi + h);
                                r[rb] = highs[h] | (uint32_t)(addrs[bi] - 3);
                                if (o->cls == JV_CLASS_A6) r[rb] = highs[h] | (uint32_t)(addrs[bi] + 3);
                                char what[240];
                                snprintf(what, sizeof what, "%s mat %d layout %u base 0x%llx", src,
                                         mat, layout, (unsigned long long)r[rb]);
                                run_both(&pp, r, 0, 1000000, what);
                                /* run again: the pages are open now (no fault the second time) */
                                run_both(&pp, r, 0, 1000000, what);
                                g_runs++;
                            }
                        free_pair(&pp);
                    }
                }
            }
        }
    }
}

/* JIT-2's rare path: an indirect access that wraps at 2^32 has no inline check; it runs into
 * the guard beyond the window (or the top page first) and the fault callback sends it to the
 * slow path. Every width of load, store and immediate store, at every start that wraps
 * (0xFFFFFFF9..0xFFFFFFFF), through a host and a frame-resident base register, with the top
 * page unmapped, read-only or read-write and page 0 unmapped or read-write; each run twice (the
 * top page's host protection closed, then open), in both dialects, #3 off and on. */
static void map_top_and_zero(javm_instance *vm, int top, int zero) {
    javm_access top_access = top == 2 ? JAVM_ACCESS_RW : JAVM_ACCESS_RO;
    if (top) assert_int_equal(javm_map(vm, 0xFFFFF000, 0x1000, top_access, "\x11\x22\x33", 3), 0);
    if (zero) assert_int_equal(javm_map(vm, 0, 0x1000, JAVM_ACCESS_RW, "\x44\x55\x66\x77", 4), 0);
}
static void wrapping_accesses(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static const char *const forms[] = {"load_ind_u%u r%u, r%u, 0", "store_ind_u%u r%u, r%u, 0",
                                        "store_imm_ind_u%u r%u, 0, 0x7A"};
    static const int layouts[][2] = {{0, 0}, {2, 2}, {2, 0}, {1, 2}, {0, 2}};
    unsigned wrapped = 0;
    for (int isa = 0; isa < 2; isa++)
        for (unsigned f = 0; f < 3; f++)
            for (unsigned w = 1; w <= 8; w *= 2)
                for (unsigned breg = 0; breg < 2; breg++)
                    for (int mat = 0; mat < 2; mat++)
                        for (unsigned l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
                            unsigned rb = breg ? 2 : 9, ra = breg ? 1 : 7;
                            char ins[64], src[96];
                            if (f < 2) snprintf(ins, sizeof ins, forms[f], w * 8, ra, rb);
                            else snprintf(ins, sizeof ins, forms[f], w * 8, rb);
                            snprintf(src, sizeof src, "  %s\n  trap\n", ins);
                            pair pp;
                            make_pair_isa(&pp, src, mat, (javm_isa)isa);
                            map_top_and_zero(pp.s, layouts[l][0], layouts[l][1]);
                            map_top_and_zero(pp.j, layouts[l][0], layouts[l][1]);
                            for (uint32_t addr = 0xFFFFFFF9u; addr != 0; addr++) {
                                if ((uint64_t)addr + w <= (uint64_t)1 << 32) continue;
                                for (int again = 0; again < 2; again++) {
                                    uint64_t r[13];
                                    fill_regs(r, addr);
                                    r[rb] = 0xABCD000000000000ull | addr;
                                    char what[200];
                                    snprintf(what, sizeof what,
                                             "%s gp0%d mat %d layout %u addr 0x%x run %d", ins,
                                             isa ? 8 : 7, mat, l, addr, again);
                                    run_both(&pp, r, 0, 1000000, what);
                                    wrapped++;
                                }
                            }
                            free_pair(&pp);
                        }
    assert_true(wrapped > 0);
    g_runs += wrapped;
}

/* JIT-5, the biased gas counter: blocks with 0, 1, 2 and 3 stores (the bias is the program's
 * largest reserve, 3 x reserve) whose stores copy-on-write fresh pages, run from every gas
 * value between 0 and past what the whole run needs, on fresh instances: every block gate at
 * gas = cost + stores x reserve - 1 and exactly that, a CoW charge when the gas is exactly
 * enough, out of gas in a later block after CoWs charged the gas down, with #3 off and on, two
 * CoW costs, both dialects. Then the same with the gas set beyond every bias (no bias) and with
 * a large negative gas. */
/* The gp08 uncounted register (docs/JIT.md "Gas"): a gp08 loop that keeps all 13 guest
 * registers busy (so the eleventh most used one goes to the frame in place of r14), with a
 * host call in the loop (exit, resume), a first-touch store (fault callback) and a final access
 * to an unmapped page (the fault exit), from every gas value up to past the whole run's need:
 * the instruction count and the gas must agree with the interpreter at every exit. */
static void gp08_uncounted_register(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static const char src[] =
        "  load_imm r12, 3\n  fallthrough\n"
        "loop:\n  add_64 r0, r0, r1\n  xor r2, r2, r3\n  mul_64 r4, r4, r5\n  or r6, r6, r7\n"
        "  add_64 r8, r8, r9\n  sub_64 r10, r10, r11\n  ecalli 7\n"
        "  store_ind_u32 r0, r9, 0\n  add_imm_64 r9, r9, 4096\n  add_imm_64 r12, r12, -1\n"
        "  branch_ne_imm r12, 0, loop\n  load_ind_u8 r1, r9, 0x100000\n  trap\n";
    unsigned runs = 0;
    unsigned hosts = 0, faults = 0;
    for (int mat = 0; mat < 2; mat++)
        for (int64_t gas = 0; gas <= 4000; gas += 7) {
            pair pp;
            make_pair_cfg(&pp, src, mat, JAVM_ISA_GP08, 0);
            javm_instance *v[2] = {pp.s, pp.j};
            uint64_t r[13];
            fill_regs(r, 11);
            r[9] = 0x20000;
            for (int k = 0; k < 2; k++) {
                assert_int_equal(javm_map(v[k], 0x20000, 0x4000, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
                for (unsigned i = 0; i < 13; i++) javm_reg_set(v[k], i, r[i]);
                javm_gas_set(v[k], gas);
            }
            for (int step = 0;; step++) {
                javm_exit_info ex[2] = {JAVM_EXIT_INFO_INIT, JAVM_EXIT_INFO_INIT};
                for (int k = 0; k < 2; k++) assert_int_equal(javm_run(v[k], &ex[k]), JAVM_OK);
                char what[96], why[256];
                snprintf(what, sizeof what, "gp08 uncounted mat %d gas %lld step %d", mat,
                         (long long)gas, step);
                if (ex[0].kind != ex[1].kind || ex[0].pc != ex[1].pc)
                    fail_msg("%s: exit %s pc %u vs jit %s pc %u", what, javm_exit_str(ex[0].kind),
                             ex[0].pc, javm_exit_str(ex[1].kind), ex[1].pc);
                if (jv_diff_instances(pp.s, pp.j, why, sizeof why)) fail_msg("%s: %s", what, why);
                runs++;
                hosts += ex[0].kind == JAVM_EXIT_HOST_CALL;
                faults += ex[0].kind == JAVM_EXIT_PAGE_FAULT;
                if (ex[0].kind != JAVM_EXIT_HOST_CALL) break;
                for (int k = 0; k < 2; k++) /* the host writes a register */
                    javm_reg_set(v[k], 11, (uint64_t)step * 77);
            }
            free_pair(&pp);
        }
    assert_true(hosts > 0 && faults > 0); /* the sweep reaches the resumes and the fault exit */
    g_runs += runs;
}

static void gas_bias_boundaries(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static const char src[] =
        "  add_imm_64 r7, r7, 1\n  jump b1\n"
        "b1:\n  store_ind_u8 r9, r10, 0\n  jump b2\n"
        "b2:\n  store_ind_u8 r9, r10, 4096\n  store_ind_u8 r9, r10, 8192\n  jump b3\n"
        "b3:\n  store_ind_u8 r9, r10, 12288\n  store_ind_u16 r9, r10, 16384\n"
        "  store_ind_u32 r9, r10, 20480\n  add_imm_64 r7, r7, 1\n  trap\n";
    static const uint64_t cows[] = {3, 256};
    unsigned runs = 0;
    for (int isa = 0; isa < 2; isa++)
        for (int mat = 0; mat < 2; mat++)
            for (unsigned ci = 0; ci < 2; ci++) {
                uint64_t reserve = mat ? 2 * cows[ci] : 0;
                /* what the whole run needs and a margin past every gate */
                int64_t top = 40 + 6 * (int64_t)cows[ci] + 4 * (int64_t)reserve;
                for (int64_t g = -2; g <= top; g++) {
                    int64_t gas = g == -2 ? INT64_MIN + 5 : g == -1 ? INT64_MAX : g;
                    pair pp;
                    make_pair_cfg(&pp, src, mat, (javm_isa)isa, cows[ci]);
                    javm_instance *v[2] = {pp.s, pp.j};
                    for (int k = 0; k < 2; k++)
                        assert_int_equal(javm_map(v[k], 0x20000, 0x6000, JAVM_ACCESS_RW, NULL, 0),
                                         JAVM_OK);
                    uint64_t r[13];
                    fill_regs(r, 5);
                    r[9] = 0x20000;
                    r[10] = 0;
                    char what[120];
                    snprintf(what, sizeof what, "gp0%d mat %d cow %llu gas %lld", isa ? 8 : 7, mat,
                             (unsigned long long)cows[ci], (long long)gas);
                    run_both(&pp, r, 0, gas, what);
                    free_pair(&pp);
                    runs++;
                }
            }
    /* the bias itself: the program's largest reserve; gas + 1 when that is more than the gas;
     * none without stores, without #3, for negative gas */
    assert_int_equal(jv_jit_gas_bias(1000, 6, 3), 18);
    assert_int_equal(jv_jit_gas_bias(18, 6, 3), 18);
    assert_int_equal(jv_jit_gas_bias(17, 6, 3), 18);
    assert_int_equal(jv_jit_gas_bias(5, 6, 3), 6);
    assert_int_equal(jv_jit_gas_bias(INT64_MAX, UINT64_MAX / 2, 3), (uint64_t)INT64_MAX + 1);
    assert_int_equal(jv_jit_gas_bias(1000, 0, 3), 0);
    assert_int_equal(jv_jit_gas_bias(1000, 6, 0), 0);
    assert_int_equal(jv_jit_gas_bias(-1, 6, 3), 0);
    g_runs += runs;
}

/* Random valid programs: random code bytes and bitmask (every opcode byte, valid or not, odd
 * offsets, branches anywhere, random jump tables), run with a few mapped pages. Whatever the
 * program does, the jit must agree with the interpreter and stay inside its window. */
static uint64_t rng_s;
static uint64_t rnd(void) {
    uint64_t z = (rng_s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void random_programs(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    rng_s = 0x6a69742d72616e64ull;
    unsigned loaded = 0;
    for (unsigned n = 0; n < 400; n++) {
        uint32_t code_len = 1 + (uint32_t)(rnd() % 200);
        uint8_t code[200], bitmask[32] = {0};
        for (uint32_t i = 0; i < code_len; i++) {
            uint64_t r = rnd();
            /* mostly real opcodes, small register/immediate bytes */
            if (r % 3 == 0) {
                const jv_pvm_opinfo *o = jv_pvm_opinfo_of_iop((unsigned)(r >> 8) % JV_PVM_NUM_OPCODES);
                int b = o->bytes[JAVM_ISA_GP07]; /* unlikely has none: a trap then */
                code[i] = b < 0 ? 0 : (uint8_t)b;
            } else {
                code[i] = (uint8_t)(r >> 16);
            }
            if (rnd() % 3 == 0 || i == 0) bitmask[i / 8] |= (uint8_t)(1u << (i % 8));
        }
        uint32_t jumps[4];
        uint32_t nj = (uint32_t)(rnd() % 5);
        for (uint32_t i = 0; i < nj; i++) jumps[i] = (uint32_t)(rnd() % (code_len + 2));
        size_t blen = 0;
        uint8_t *blob = jv_pvm_blob_encode(jumps, nj, nj ? 4 : 0, code, code_len, bitmask, &blen);
        assert_non_null(blob);
        javm_program *p = NULL;
        javm_status s = javm_program_load(blob, blen, &p);
        free(blob);
        if (s != JAVM_OK) continue;
        loaded++;
        pair pp = {.p = p};
        javm_config cfg;
        javm_config_init(&cfg);
        cfg.engine = JAVM_ENGINE_SOFT;
        assert_int_equal(javm_instance_new(p, &cfg, &pp.s), JAVM_OK);
        cfg.engine = JAVM_ENGINE_JIT;
        assert_int_equal(javm_instance_new(p, &cfg, &pp.j), JAVM_OK);
        javm_instance *v[2] = {pp.s, pp.j};
        for (int k = 0; k < 2; k++) {
            assert_int_equal(javm_map(v[k], 0x10000, 0x2000, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
            assert_int_equal(javm_map(v[k], 0x20000, 0x1000, JAVM_ACCESS_RO, "abc", 3), JAVM_OK);
        }
        uint64_t r[13];
        for (unsigned i = 0; i < 13; i++) {
            uint64_t x = rnd();
            r[i] = x % 4 == 0 ? x : x % 4 == 1 ? 0x10000 + (x >> 40) % 0x2000
                                 : x % 4 == 2 ? (x >> 60) : 2 * ((x >> 32) % 6);
        }
        char what[64];
        snprintf(what, sizeof what, "random program %u", n);
        /* several runs: resume after host calls and faults, until a final exit */
        run_both(&pp, r, 0, 2000, what);
        for (int step = 0; step < 8; step++) {
            if (pp.s->st.resume == JV_PVM_DONE) break;
            javm_exit_info ex[2] = {JAVM_EXIT_INFO_INIT, JAVM_EXIT_INFO_INIT};
            for (int k = 0; k < 2; k++) {
                javm_gas_set(v[k], javm_gas_get(v[k]) + 100);
                if (v[k]->st.exit_kind == JV_EXIT_FAULT)
                    javm_map(v[k], (uint32_t)v[k]->st.exit_arg & ~0xFFFu, 0x1000, JAVM_ACCESS_RW, NULL, 0);
                assert_int_equal(javm_run(v[k], &ex[k]), JAVM_OK);
            }
            char why[256];
            if (ex[0].kind != ex[1].kind || ex[0].pc != ex[1].pc)
                fail_msg("%s step %d: %s pc %u vs %s pc %u", what, step, javm_exit_str(ex[0].kind),
                         ex[0].pc, javm_exit_str(ex[1].kind), ex[1].pc);
            if (jv_diff_instances(pp.s, pp.j, why, sizeof why)) fail_msg("%s step %d: %s", what, step, why);
        }
        free_pair(&pp);
        g_runs++;
    }
    assert_true(loaded > 100);
}

/* JIT-2: generated code addresses the window through the gs segment, whose base is the window
 * only while a run executes: the caller's gs base is back after every kind of exit (a host call,
 * a resolved first touch then a page fault, a panic), and the guest sees its own memory; with
 * rdgsbase/wrgsbase and with the arch_prctl path of kernels without FSGSBASE. */
static uint64_t test_gs_base(void) {
    uint64_t v = 0;
    assert_int_equal(syscall(SYS_arch_prctl, ARCH_GET_GS, &v), 0);
    return v;
}
static void gs_base_is_restored(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    static const uint64_t mine[] = {0, 0x7000DEADB000, 0x1000, 0, 0x7000DEADB000};
    for (unsigned i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        jv_jit_force_gs_syscall(i >= 3); /* the arch_prctl path */
        pair pp;
        make_pair(&pp, "  store_ind_u64 r7, r8, 0\n  load_ind_u64 r9, r8, 0\n  ecalli 3\n"
                       "  load_ind_u64 r10, r8, 0x1000\n  trap\n");
        javm_instance *v[2] = {pp.s, pp.j};
        for (int k = 0; k < 2; k++) {
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_map(v[k], 0x30000, 0x1000, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
            javm_reg_set(v[k], 7, 0x1122334455667788);
            javm_reg_set(v[k], 8, 0x30000);
            javm_gas_set(v[k], 1000);
            assert_int_equal(syscall(SYS_arch_prctl, ARCH_SET_GS, mine[i]), 0);
            assert_int_equal(javm_run(v[k], &ex), JAVM_OK); /* a first touch, then the host call */
            assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
            assert_int_equal(test_gs_base(), mine[i]);
            assert_int_equal(javm_run(v[k], &ex), JAVM_OK); /* the unmapped page */
            assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
            assert_int_equal(test_gs_base(), mine[i]);
            assert_int_equal(javm_map(v[k], 0x31000, 0x1000, JAVM_ACCESS_RO, "\x5A", 1), JAVM_OK);
            assert_int_equal(javm_run(v[k], &ex), JAVM_OK); /* the load again, then the trap */
            assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
            assert_int_equal(test_gs_base(), mine[i]);
        }
        char why[256];
        if (jv_diff_instances(pp.s, pp.j, why, sizeof why))
            fail_msg("gs base 0x%llx: %s", (unsigned long long)mine[i], why);
        uint64_t r9 = 0, r10 = 0;
        javm_reg_get(pp.j, 9, &r9);
        javm_reg_get(pp.j, 10, &r10);
        assert_int_equal(r9, 0x1122334455667788);
        assert_int_equal(r10, 0x5A);
        free_pair(&pp);
    }
    jv_jit_force_gs_syscall(false);
    assert_int_equal(syscall(SYS_arch_prctl, ARCH_SET_GS, 0), 0);
}

/* JIT-2: where the gs base cannot be set (arch_prctl refused, e.g. by a seccomp filter), a run
 * must not execute guest code: its accesses would address host memory at the guest address
 * itself (gs base 0). A child process refuses ARCH_SET_GS with a filter and maps a host page at
 * the guest address of the program's store: the refused run fails with JAVM_ERR_OS, leaves the
 * host page, pc, gas and instruction count as they were, and the same instance, once the gs
 * base can be set again (rdgsbase/wrgsbase), runs to the soft engine's result: from pc 0, a
 * host-call resume and a start inside a block. */
static int gs_refused_child(void) {
    enum { A = 0x10000000 };
    uint8_t *host = mmap((void *)(uintptr_t)A, 0x1000, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (host != (uint8_t *)(uintptr_t)A) return 2;
    struct sock_filter flt[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_arch_prctl, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_SET_GS, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof flt / sizeof flt[0], .filter = flt};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
        return 3;
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, 0) == 0) return 4; /* the filter works */
    pair pp;
    make_pair(&pp, "  store_ind_u64 r7, r8, 0\n  ecalli 1\n  store_ind_u64 r7, r8, 8\n"
                   "  load_ind_u64 r9, r8, 0\n  trap\n");
    javm_instance *v[2] = {pp.s, pp.j};
    for (int k = 0; k < 2; k++) {
        if (javm_map(v[k], A, 0x1000, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) return 5;
        javm_reg_set(v[k], 7, 0x1122334455667788);
        javm_reg_set(v[k], 8, A);
        javm_gas_set(v[k], 1000);
    }
    static const uint8_t zero[0x1000];
    javm_exit_info es = JAVM_EXIT_INFO_INIT, ej = JAVM_EXIT_INFO_INIT;
    uint32_t mid = 0; /* the pc after the ecalli: a start inside a block (gas charged at entry) */
    for (int step = 0; step < 3; step++) {
        if (step == 2)
            for (int k = 0; k < 2; k++)
                if (javm_pc_set(v[k], mid) != JAVM_OK) return 6;
        javm_stats before = JAVM_STATS_INIT, after = JAVM_STATS_INIT;
        javm_stats_get(pp.j, &before);
        uint32_t pc = javm_pc_get(pp.j);
        int64_t gas = javm_gas_get(pp.j);
        jv_jit_force_gs_syscall(true); /* the refused arch_prctl */
        javm_status s = javm_run(pp.j, &ej);
        jv_jit_force_gs_syscall(false);
        javm_stats_get(pp.j, &after);
        if (memcmp(host, zero, sizeof zero)) return 10 + step; /* the guest wrote the host page */
        if (s != JAVM_ERR_OS) return 20 + step;
        if (javm_pc_get(pp.j) != pc || javm_gas_get(pp.j) != gas ||
            after.instructions != before.instructions)
            return 30 + step;
        if (javm_run(pp.s, &es) != JAVM_OK || javm_run(pp.j, &ej) != JAVM_OK) return 40 + step;
        if (es.kind != ej.kind || es.pc != ej.pc) return 50 + step;
        char why[256];
        if (jv_diff_instances(pp.s, pp.j, why, sizeof why)) {
            fprintf(stderr, "gs refused, step %d: %s\n", step, why);
            return 60 + step;
        }
        if (step == 0) mid = ej.next_pc;
    }
    if (ej.kind != JAVM_EXIT_PANIC || memcmp(host, zero, sizeof zero)) return 70;
    free_pair(&pp);
    return 0;
}
static void gs_base_refused(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(gs_refused_child());
    int wst = 0;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    if (!WIFEXITED(wst)) fail_msg("child died by signal %d", WTERMSIG(wst));
    if (WEXITSTATUS(wst) == 2 || WEXITSTATUS(wst) == 3) {
        print_message("gs_base_refused: no fixed host page or no seccomp here (%d): skipped\n",
                      WEXITSTATUS(wst));
        return;
    }
    assert_int_equal(WEXITSTATUS(wst), 0);
}

/* Compiled code is shared: a second instance does not compile again (the attachment is the
 * same), and the code is never writable. */
static void code_is_shared_and_not_writable(void **state) {
    (void)state;
    pair a, b;
    make_pair(&a, "  load_imm r7, 1\n  trap\n");
    const jv_jit_code *k1 = NULL, *k2 = NULL;
    assert_int_equal(jv_jit_code_of(a.p, &k1), JAVM_OK);
    javm_instance *second = NULL;
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = JAVM_ENGINE_JIT;
    assert_int_equal(javm_instance_new(a.p, &cfg, &second), JAVM_OK);
    assert_int_equal(jv_jit_code_of(a.p, &k2), JAVM_OK);
    assert_ptr_equal(k1, k2);
    javm_instance_free(second);
    /* /proc/self/maps: no mapping of ours is writable and executable */
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char perms[8] = {0};
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
        if (perms[1] == 'w' && perms[2] == 'x') fail_msg("W+X mapping: %s", line);
    }
    fclose(f);
    make_pair(&b, "  trap\n");
    free_pair(&a);
    free_pair(&b);
}

/* Threads: four threads make the first jit instances of one program at the same time (the
 * lazy compile races; one result is kept), each runs a loop that first-touches its own pages
 * (faults on every thread at once) and calls the host; every result equals the interpreter's. */
#define NTHREADS 4
typedef struct thread_arg {
    javm_program *p;
    uint64_t r7, gas, insns;
    int ok;
} thread_arg;
static const char *const g_thread_src =
    "  load_imm r2, 0x100000\n  load_imm r3, 64\n  fallthrough\n"
    "l:\n  load_ind_u64 r4, r2, 0\n  add_64 r7, r7, r4\n  store_ind_u64 r3, r2, 8\n"
    "  add_imm_64 r2, r2, 4096\n  add_imm_64 r3, r3, -1\n  ecalli 1\n  branch_ne_imm r3, 0, l\n"
    "  load_imm r0, -65536\n  jump_ind r0, 0\n";
static void *thread_main(void *arg) {
    thread_arg *a = arg;
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = JAVM_ENGINE_JIT;
    javm_instance *vm = NULL;
    if (javm_instance_new(a->p, &cfg, &vm) != JAVM_OK ||
        javm_map(vm, 0x100000, 64 * 4096, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK)
        return NULL;
    javm_gas_set(vm, 1000000);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    for (;;) {
        if (javm_run(vm, &ex) != JAVM_OK) break;
        if (ex.kind != JAVM_EXIT_HOST_CALL) break;
        uint64_t v = 0;
        javm_reg_get(vm, 7, &v);
        javm_reg_set(vm, 7, v * 3 + 1);
    }
    javm_stats st = JAVM_STATS_INIT;
    javm_stats_get(vm, &st);
    javm_reg_get(vm, 7, &a->r7);
    a->gas = (uint64_t)javm_gas_get(vm);
    a->insns = st.instructions;
    a->ok = ex.kind == JAVM_EXIT_HALT && st.first_touch_faults == 64;
    javm_instance_free(vm);
    return NULL;
}
static void threads_share_code(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    for (int round = 0; round < 5; round++) {
        pair ref;
        make_pair(&ref, g_thread_src); /* the soft instance is the reference */
        javm_program *p = NULL;
        uint8_t *blob = NULL;
        size_t len = 0;
        assert_int_equal(jv_asm_assemble(g_thread_src, strlen(g_thread_src), &blob, &len), JAVM_OK);
        assert_int_equal(javm_program_load(blob, len, &p), JAVM_OK); /* not compiled yet */
        free(blob);
        thread_arg a[NTHREADS];
        pthread_t t[NTHREADS];
        for (int i = 0; i < NTHREADS; i++) {
            a[i] = (thread_arg){.p = p};
            assert_int_equal(pthread_create(&t[i], NULL, thread_main, &a[i]), 0);
        }
        for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
        thread_arg s = {.p = ref.p};
        /* the same on the soft engine, on this thread */
        javm_instance *vm = ref.s;
        javm_map(vm, 0x100000, 64 * 4096, JAVM_ACCESS_RW, NULL, 0);
        javm_gas_set(vm, 1000000);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        while (javm_run(vm, &ex) == JAVM_OK && ex.kind == JAVM_EXIT_HOST_CALL) {
            uint64_t v = 0;
            javm_reg_get(vm, 7, &v);
            javm_reg_set(vm, 7, v * 3 + 1);
        }
        javm_reg_get(vm, 7, &s.r7);
        s.gas = (uint64_t)javm_gas_get(vm);
        for (int i = 0; i < NTHREADS; i++) {
            assert_true(a[i].ok);
            assert_int_equal(a[i].r7, s.r7);
            assert_int_equal(a[i].gas, s.gas);
        }
        javm_program_free(p);
        free_pair(&ref);
    }
}

/* javm_load_options.compile_jit: the code is attached at load; without it, at the first jit
 * instance. */
static void compile_at_load(void **state) {
    (void)state;
    const char *src = "  load_imm r7, 1\n  trap\n";
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(jv_asm_assemble(src, strlen(src), &blob, &len), JAVM_OK);
    javm_load_options lo;
    javm_load_options_init(&lo);
    javm_program *p = NULL;
    assert_int_equal(javm_program_load_ex(blob, len, &lo, &p), JAVM_OK);
    assert_null(p->jit);
    javm_program_free(p);
    lo.compile_jit = 1;
    assert_int_equal(javm_program_load_ex(blob, len, &lo, &p), JAVM_OK);
    assert_non_null(p->jit);
    const jv_jit_code *k = NULL;
    assert_int_equal(jv_jit_code_of(p, &k), JAVM_OK);
    assert_ptr_equal(k, (const jv_jit_code *)p->jit);
    javm_program_free(p);
    free(blob);
}

static void summary(void **state) {
    (void)state;
    print_message("%u differential runs\n", g_runs);
}

int main(void) {
    if (!javm_engine_available(JAVM_ENGINE_JIT)) {
        printf("jit engine not available on this host: 0 passed, 0 failed\n");
        return 0;
    }
    jv_jit_set_frame_mask((1u << 1) | (1u << 2));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_register_ops),
        cmocka_unit_test(immediate_and_unary_ops),
        cmocka_unit_test(branches),
        cmocka_unit_test(dynamic_jumps),
        cmocka_unit_test(memory_edges),
        cmocka_unit_test(wrapping_accesses),
        cmocka_unit_test(gas_bias_boundaries),
        cmocka_unit_test(gp08_uncounted_register),
        cmocka_unit_test(random_programs),
        cmocka_unit_test(gs_base_is_restored),
        cmocka_unit_test(gs_base_refused),
        cmocka_unit_test(code_is_shared_and_not_writable),
        cmocka_unit_test(threads_share_code),
        cmocka_unit_test(compile_at_load),
        cmocka_unit_test(summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
