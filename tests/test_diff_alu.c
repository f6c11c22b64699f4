/* engine: the differential fuzzer for the arithmetic and control-flow corners. Where
 * tests/diff_gen.h stresses memory, this generator draws every register-only instruction of
 * opcodes.def (classes A8, A9 without loads/stores, A12) with operands from a set of corner
 * values (0, ±1, INT64_MIN/MAX, INT32_MIN/MAX and their zero-extended forms, shift counts
 * around 31/32/63/64, huge immediates), the same register as source and destination, branches
 * of every condition (both directions) to block starts and into blocks, cmov, djumps through
 * the jump table (valid, misaligned, out of range, entries inside a block, the halt address)
 * and load_imm_jump_ind with equal registers. Each case runs on soft vs paged vs jit with #3
 * off and on through dg_check, so exits, gas and registers must agree exactly (a third of the
 * cases start at a random pc: mid-block, mid-instruction, past the end), in GP 0.7 and again
 * as GP 0.8 code under the gp08 gas model (with `unlikely`). JAVM_DIFF_ALU_RUNS (default 1500
 * per dialect) sets the count, JAVM_DIFF_ALU_BASE the first seed; JAVM_DIFF_ALU_SEED=<n>
 * replays one case and prints its program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff_gen.h"
#include "engine/engine.h"

/* Register-only instructions by class, from opcodes.def (no loads or stores; sbrk only in gp07,
 * where it exists). */
static bool g_gp08; /* the cases are GP 0.8 code with the gp08 gas model */

typedef struct op_row {
    const char *name, *cls;
    int width;
} op_row;
static const op_row rows[] = {
#define X(n, o7, o8, cls, fl, w, ...) {#n, #cls, w},
#include "pvm/opcodes.def"
#undef X
};
#define NROWS (sizeof rows / sizeof rows[0])

static const char *pick_op(dg_rng *r, const char *cls) {
    for (;;) {
        const op_row *o = &rows[dg_below(r, NROWS)];
        if (!strcmp(o->cls, cls) && o->width == 0 && (!g_gp08 || strcmp(o->name, "sbrk")) &&
            strcmp(o->name, "load_imm_jump"))
            return o->name;
    }
}

static const uint64_t corners[] = {
    0, 1, 2, 0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0x7FFFFFFFFFFFFFFFull,
    0xFFFFFFFF80000000ull, 0x80000000ull, 0x7FFFFFFFull, 0xFFFFFFFFull, 0x100000000ull,
    31, 32, 33, 63, 64, 65, 127, 128, 0xFFFFFFFFFFFFFFC0ull, 0xFFFFFFFFFFFFFFE0ull,
    0x00000000FFFFFFE1ull, 0xFFFFFFFF00000000ull, 0x0000000100000001ull, 0x123456789ABCDEF0ull,
};
#define NCORNERS (sizeof corners / sizeof corners[0])

static uint64_t corner(dg_rng *r) {
    return dg_below(r, 4) ? corners[dg_below(r, NCORNERS)] : dg_next(r);
}
static int32_t imm(dg_rng *r) {
    static const int32_t v[] = {0, 1, -1, 31, 32, 33, 63, 64, 65, INT32_MIN, INT32_MAX, -32, -64,
                                0x7FFF, -0x8000, 0xFF, 0x80};
    return dg_below(r, 4) ? v[dg_below(r, sizeof v / sizeof v[0])] : (int32_t)dg_next(r);
}

/* One block: `n` register instructions then a terminator that goes to a later block (or
 * djumps / halts), so every program terminates. */

static void gen_alu(uint64_t seed, dg_case *c) {
    dg_rng r = {seed};
    memset(c, 0, sizeof *c);
    c->seed = seed;
    c->access[0] = JAVM_ACCESS_NONE;
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) c->regs[i] = corner(&r);
    c->gas = dg_below(&r, 5) == 0 ? (int64_t)dg_below(&r, 60) : 100000;
    if (dg_below(&r, 3) == 0) c->start = 1 + dg_below(&r, 1u << 16); /* any pc, mid-block too */
    unsigned blocks = 2 + dg_below(&r, 6);
    dg_emit(c, ".jumptable");
    /* entries: block starts, or (one in six) m<b>, a label inside block b: such djumps panic */
    for (unsigned b = 0; b < blocks; b++)
        dg_emit(c, "%s %c%u", b ? "," : "", dg_below(&r, 6) ? 'b' : 'm', b);
    dg_emit(c, "\n");
    for (unsigned b = 0; b < blocks; b++) {
        dg_emit(c, "b%u:\n  add_imm_64 r%u, r%u, 1\nm%u:\n", b, dg_below(&r, 13),
                dg_below(&r, 13), b);
        unsigned n = dg_below(&r, 12);
        for (unsigned i = 0; i < n; i++) {
            unsigned d = dg_below(&r, 13), a = dg_below(&r, 13), s = dg_below(&r, 13);
            if (dg_below(&r, 4) == 0) a = d;
            if (dg_below(&r, 6) == 0) s = a;
            switch (dg_below(&r, 8)) {
            case 0: dg_emit(c, "  %s r%u, r%u\n", pick_op(&r, "A8"), d, a); break;
            case 1: case 2:
                dg_emit(c, "  %s r%u, r%u, %d\n", pick_op(&r, "A9"), d, a, imm(&r));
                break;
            case 3:
                dg_emit(c, "  load_imm_64 r%u, 0x%llx\n", d, (unsigned long long)corner(&r));
                break;
            case 4: dg_emit(c, "  load_imm r%u, %d\n", d, imm(&r)); break;
            default:
                dg_emit(c, "  %s r%u, r%u, r%u\n", pick_op(&r, "A12"), d, a, s);
                break;
            }
        }
        /* forward targets only: b+1..blocks-1, or the end */
        unsigned later = b + 1 + dg_below(&r, blocks - b);
        char tgt[16];
        if (later >= blocks) snprintf(tgt, sizeof tgt, "end");
        else snprintf(tgt, sizeof tgt, "%c%u", dg_below(&r, 8) ? 'b' : 'm', later);
        unsigned ra = dg_below(&r, 13), rb = dg_below(&r, 13);
        switch (dg_below(&r, 8)) {
        case 0: dg_emit(c, "  %s r%u, %d, %s\n", pick_op(&r, "A7"), ra, imm(&r), tgt); break;
        case 1: dg_emit(c, "  %s r%u, r%u, %s\n", pick_op(&r, "A10"), ra, rb, tgt); break;
        case 2: /* djump to a later block's entry, sometimes an invalid address */
            if (dg_below(&r, 5)) {
                uint32_t to = later >= blocks ? 0xFFFF0000u : 2 * (later + 1);
                if (dg_below(&r, 8) == 0) to += 1; /* misaligned: panic */
                dg_emit(c, "  load_imm r%u, %d\n  jump_ind r%u, 0\n", ra, (int32_t)to, ra);
            } else {
                dg_emit(c, "  jump_ind r%u, %d\n", ra, imm(&r)); /* mostly a panic */
            }
            break;
        case 3: { /* load_imm_jump_ind with possibly equal registers: the jump uses old φB */
            uint32_t to = later >= blocks ? 0xFFFF0000u : 2 * (later + 1);
            if (dg_below(&r, 2)) rb = ra;
            dg_emit(c, "  load_imm r%u, %d\n  load_imm_jump_ind r%u, r%u, %d, 0\n", rb,
                    (int32_t)to, ra, rb, imm(&r));
            break;
        }
        case 4: dg_emit(c, "  jump %s\n", tgt); break;
        case 5: dg_emit(c, "  ecalli %u\n  fallthrough\n", dg_below(&r, 2) ? 0 : 1); break;
        case 6:
            if (g_gp08 && dg_below(&r, 2)) {
                dg_emit(c, "  unlikely\n  fallthrough\n");
                break;
            }
            dg_emit(c, "  fallthrough\n");
            break;
        default: dg_emit(c, "  fallthrough\n"); break;
        }
    }
    dg_emit(c, "end:\n  load_imm r0, -65536\n  jump_ind r0, 0\n");
}

static dg_case g_case;

/* Runs the cases in one dialect: gp07, or gp08 code with the gp08 gas model. */
static void run_cases(bool gp08) {
    static javm_load_options o;
    javm_load_options_init(&o);
    if (gp08) o.isa = JAVM_ISA_GP08, o.gas_model = JAVM_GAS_GP08;
    dg_opts = &o;
    g_gp08 = gp08;
    char why[512];
    const char *seed_env = getenv("JAVM_DIFF_ALU_SEED");
    if (seed_env) {
        gen_alu(strtoull(seed_env, NULL, 0), &g_case);
        print_message("%s:\n%s", gp08 ? "gp08" : "gp07", g_case.src);
        if (dg_check(&g_case, why, sizeof why))
            fail_msg("%s seed %s: %s", gp08 ? "gp08" : "gp07", seed_env, why);
        return;
    }
    const char *runs_env = getenv("JAVM_DIFF_ALU_RUNS");
    long runs = runs_env ? strtol(runs_env, NULL, 10) : 1500;
    const char *base_env = getenv("JAVM_DIFF_ALU_BASE");
    uint64_t base = base_env ? strtoull(base_env, NULL, 0) : 0x616c752d64696666ull;
    memset(&dg_cov, 0, sizeof dg_cov);
    for (long i = 0; i < runs; i++) {
        gen_alu(base + (uint64_t)i, &g_case);
        if (dg_check(&g_case, why, sizeof why))
            fail_msg("%s seed %llu: %s\n%s", gp08 ? "gp08" : "gp07",
                     (unsigned long long)(base + (uint64_t)i), why, g_case.src);
    }
    print_message("%s: %ld cases, %llu engine runs, %llu instructions, exits halt %llu panic "
                  "%llu oog %llu host %llu\n",
                  gp08 ? "gp08" : "gp07", runs, (unsigned long long)dg_cov.cases,
                  (unsigned long long)dg_cov.insns, (unsigned long long)dg_cov.exits[0],
                  (unsigned long long)dg_cov.exits[1], (unsigned long long)dg_cov.exits[2],
                  (unsigned long long)dg_cov.exits[4]);
}

static void alu_cases_gp07(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    run_cases(false);
}
static void alu_cases_gp08(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    run_cases(true);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(alu_cases_gp07), cmocka_unit_test(alu_cases_gp08)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
