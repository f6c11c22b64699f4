/* pvm execution through the public API: per-opcode edge cases of docs/ISA.md §5 (division and
 * remainder table, shifts, 32-bit sign extension, djump rules, load_imm_jump_ind with equal
 * registers, cmov_nz_imm), exits and resumes (ecalli with no re-charge, page-fault retry,
 * out-of-gas at the block gate, PVM-G2/G3), sbrk (PVM-S1), #3 gating (PVM-G4), the standard
 * container layout, and the three soft loops (computed goto, switch, traced single-step)
 * agreeing on every conformance vector. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "javm.h"
#include "regs.h"
#include "pvm/pvm.h"

/* ---- a tiny program builder ------------------------------------------------------------------ */
typedef struct bld {
    uint8_t code[512];
    uint8_t mask[64];
    uint32_t len;
    uint32_t jt[16];
    uint32_t njt;
} bld;

/* Appends one instruction (its first byte starts an instruction); returns its pc. */
static uint32_t ins(bld *b, int n, ...) {
    va_list ap;
    va_start(ap, n);
    uint32_t pc = b->len;
    b->mask[pc / 8] |= (uint8_t)(1u << (pc % 8));
    for (int i = 0; i < n; i++) b->code[b->len++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
    return pc;
}

static javm_program *build(const bld *b) {
    size_t n;
    uint8_t *blob = jv_pvm_blob_encode(b->jt, b->njt, b->njt ? 4 : 0, b->code, b->len, b->mask, &n);
    assert_non_null(blob);
    javm_program *p = NULL;
    javm_status s = javm_program_load(blob, n, &p);
    if (s) print_error("load: %s\n", javm_last_error());
    assert_int_equal(s, JAVM_OK);
    free(blob);
    return p;
}

static javm_instance *inst(const javm_program *p, int64_t gas) {
    javm_instance *vm;
    assert_int_equal(javm_instance_new(p, NULL, &vm), JAVM_OK);
    javm_gas_set(vm, gas);
    return vm;
}

/* Runs a one-instruction program op(regs...) and returns register `out`. */
static uint64_t run3(uint8_t op, uint64_t a, uint64_t b) { /* A12: r3 = op(r1, r2) */
    bld B = {0};
    ins(&B, 3, op, 0x21, 3);
    javm_program *p = build(&B);
    javm_instance *vm = inst(p, 100);
    javm_reg_set(vm, 1, a);
    javm_reg_set(vm, 2, b);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC); /* the implicit trap */
    assert_int_equal(ex.pc, 3);
    assert_int_equal(javm_gas_get(vm), 98);
    uint64_t r = test_reg(vm, 3);
    javm_instance_free(vm);
    javm_program_free(p);
    return r;
}

/* A9: r1 = op(r2, imm32) */
static uint64_t runi(uint8_t op, uint64_t b, uint32_t imm, uint64_t r1_before) {
    bld B = {0};
    ins(&B, 6, op, 0x21, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, imm >> 24);
    javm_program *p = build(&B);
    javm_instance *vm = inst(p, 100);
    javm_reg_set(vm, 1, r1_before);
    javm_reg_set(vm, 2, b);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    uint64_t r = test_reg(vm, 1);
    javm_instance_free(vm);
    javm_program_free(p);
    return r;
}

/* A8: r1 = op(r2) */
static uint64_t run2(uint8_t op, uint64_t a) {
    bld B = {0};
    ins(&B, 2, op, 0x21);
    javm_program *p = build(&B);
    javm_instance *vm = inst(p, 100);
    javm_reg_set(vm, 2, a);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    uint64_t r = test_reg(vm, 1);
    javm_instance_free(vm);
    javm_program_free(p);
    return r;
}

#define MIN32 0xffffffff80000000ull
#define MIN64 0x8000000000000000ull
#define M1 UINT64_MAX

static void division_table(void **state) {
    (void)state;
    /* divisor 0 */
    assert_true(run3(JV_OPC_div_u_32, 7, 0) == M1);
    assert_true(run3(JV_OPC_div_u_64, 7, 0) == M1);
    assert_true(run3(JV_OPC_div_s_32, 7, 0) == M1);
    assert_true(run3(JV_OPC_div_s_64, 7, 0) == M1);
    assert_true(run3(JV_OPC_rem_u_32, 0x1ffffffffull, 0) == M1); /* X4(0xffffffff) */
    assert_true(run3(JV_OPC_rem_u_32, 0x100000005ull, 0) == 5);
    assert_true(run3(JV_OPC_rem_u_64, 12345, 0) == 12345);
    assert_true(run3(JV_OPC_rem_s_32, 0x80000000ull, 0) == MIN32);
    assert_true(run3(JV_OPC_rem_s_64, MIN64, 0) == MIN64);
    /* overflow */
    assert_true(run3(JV_OPC_div_s_32, 0x80000000ull, 0xffffffffull) == MIN32);
    assert_true(run3(JV_OPC_div_s_64, MIN64, M1) == MIN64);
    assert_true(run3(JV_OPC_rem_s_32, 0x80000000ull, M1) == 0);
    assert_true(run3(JV_OPC_rem_s_64, MIN64, M1) == 0);
    /* ordinary, rounding toward zero and the sign of the dividend */
    assert_true(run3(JV_OPC_div_s_64, (uint64_t)-7, 2) == (uint64_t)-3);
    assert_true(run3(JV_OPC_rem_s_64, (uint64_t)-7, 2) == (uint64_t)-1);
    assert_true(run3(JV_OPC_rem_s_64, 7, (uint64_t)-2) == 1);
    assert_true(run3(JV_OPC_div_s_32, (uint32_t)-7, 2) == (uint64_t)-3);
    assert_true(run3(JV_OPC_rem_s_32, (uint32_t)-7, 2) == (uint64_t)-1);
    assert_true(run3(JV_OPC_div_u_32, 0xffffffffull, 1) == M1); /* X4 of the quotient */
    assert_true(run3(JV_OPC_div_u_64, M1, 2) == 0x7fffffffffffffffull);
    assert_true(run3(JV_OPC_rem_u_64, 10, 3) == 1);
}

static void thirty_two_bit_and_shifts(void **state) {
    (void)state;
    assert_true(run3(JV_OPC_add_32, 0x3333333322222222ull, 0x3333333366666666ull) ==
                0xFFFFFFFF88888888ull);
    assert_true(run3(JV_OPC_add_32, M1, 2) == 1);
    assert_true(run3(JV_OPC_sub_32, 0, 1) == M1);
    assert_true(run3(JV_OPC_mul_32, 0x10000, 0x8000) == MIN32);
    /* shift amounts are masked */
    assert_true(run3(JV_OPC_shlo_l_32, 1, 33) == 2);
    assert_true(run3(JV_OPC_shlo_l_32, 1, 31) == MIN32);
    assert_true(run3(JV_OPC_shlo_r_32, 0xffffffff80000000ull, 31) == 1);
    assert_true(run3(JV_OPC_shar_r_32, 0x80000000ull, 4) == 0xfffffffff8000000ull);
    assert_true(run3(JV_OPC_shlo_l_64, 1, 65) == 2);
    assert_true(run3(JV_OPC_shar_r_64, MIN64, 63) == M1);
    assert_true(run3(JV_OPC_shlo_r_64, MIN64, 127) == 1);
    assert_true(run3(JV_OPC_rot_l_32, 0x80000001ull, 1) == 3);
    assert_true(run3(JV_OPC_rot_r_32, 1, 1) == MIN32);
    assert_true(run3(JV_OPC_rot_l_64, MIN64, 1) == 1);
    assert_true(run3(JV_OPC_rot_r_64, 1, 65) == MIN64);
    /* immediates and the _alt forms (value = immediate, amount = register) */
    assert_true(runi(JV_OPC_shlo_l_imm_alt_32, 4, 1, 0) == 16);
    assert_true(runi(JV_OPC_shar_r_imm_alt_32, 31, 0x80000000u, 0) == M1);
    assert_true(runi(JV_OPC_shlo_r_imm_alt_64, 4, 0x80000000u, 0) == 0x0ffffffff8000000ull);
    assert_true(runi(JV_OPC_rot_r_32_imm, 1, 33, 0) == MIN32);
    assert_true(runi(JV_OPC_rot_r_64_imm_alt, 1, 2, 0) == 1);
    assert_true(runi(JV_OPC_add_imm_32, 0xffffffffull, 1, 0) == 0);
    assert_true(runi(JV_OPC_neg_add_imm_32, 1, 0, 0) == M1);
    assert_true(runi(JV_OPC_neg_add_imm_64, 1, 0, 0) == M1);
    /* unsigned compares sign-extend the immediate first */
    assert_true(runi(JV_OPC_set_lt_u_imm, 5, 0xffffffffu, 0) == 1);
    assert_true(runi(JV_OPC_set_gt_s_imm, 0, 0xffffffffu, 0) == 1);
    /* cmov immediates */
    assert_true(runi(JV_OPC_cmov_nz_imm, 1, 42, 7) == 42);
    assert_true(runi(JV_OPC_cmov_nz_imm, 0, 42, 7) == 7);
    assert_true(runi(JV_OPC_cmov_iz_imm, 0, 42, 7) == 42);
    assert_true(runi(JV_OPC_cmov_iz_imm, 1, 42, 7) == 7);
    /* bit operations */
    assert_true(run2(JV_OPC_leading_zero_bits_64, 0) == 64);
    assert_true(run2(JV_OPC_leading_zero_bits_32, 0xffffffff00000000ull) == 32);
    assert_true(run2(JV_OPC_trailing_zero_bits_32, 0) == 32);
    assert_true(run2(JV_OPC_trailing_zero_bits_64, 0) == 64);
    assert_true(run2(JV_OPC_count_set_bits_32, M1) == 32);
    assert_true(run2(JV_OPC_sign_extend_8, 0x80) == 0xffffffffffffff80ull);
    assert_true(run2(JV_OPC_sign_extend_16, 0x18000) == 0xffffffffffff8000ull);
    assert_true(run2(JV_OPC_zero_extend_16, M1) == 0xffff);
    assert_true(run2(JV_OPC_reverse_bytes, 0x0102030405060708ull) == 0x0807060504030201ull);
    /* high multiplies */
    assert_true(run3(JV_OPC_mul_upper_s_s, M1, M1) == 0);
    assert_true(run3(JV_OPC_mul_upper_u_u, M1, M1) == M1 - 1);
    assert_true(run3(JV_OPC_mul_upper_s_u, M1, 2) == M1);
    assert_true(run3(JV_OPC_max, M1, 1) == 1);
    assert_true(run3(JV_OPC_min_u, M1, 1) == 1);
}

/* ---- control flow --------------------------------------------------------------------------- */
static javm_exit_info run_prog(bld *B, int64_t gas, void (*setup)(javm_instance *),
                               javm_instance **keep, javm_program **keep_p) {
    javm_program *p = build(B);
    javm_instance *vm = inst(p, gas);
    if (setup) setup(vm);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    if (keep) {
        *keep = vm;
        *keep_p = p;
    } else {
        javm_instance_free(vm);
        javm_program_free(p);
    }
    return ex;
}

static uint64_t g_r7;
static void set_r7(javm_instance *vm) { javm_reg_set(vm, 7, g_r7); }

static void djump_rules(void **state) {
    (void)state;
    /* 0: jump_ind r7 ; 2: trap ; 3: load_imm r1 = 9 (jump table entry 0 -> 3) ; 6: fallthrough ;
     * 7: load_imm r1 = 5 (entry 1 -> 7, not a block start: after a load_imm) */
    bld B = {0};
    ins(&B, 2, JV_OPC_jump_ind, 0x07);
    ins(&B, 1, JV_OPC_trap);
    ins(&B, 3, JV_OPC_load_imm, 0x01, 9);
    ins(&B, 3, JV_OPC_load_imm, 0x01, 5);
    B.jt[0] = 3;
    B.jt[1] = 6;
    B.njt = 2;
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    g_r7 = 0xFFFF0000u;
    ex = run_prog(&B, 100, set_r7, NULL, NULL);
    assert_int_equal(ex.kind, JAVM_EXIT_HALT);
    assert_int_equal(ex.pc, 0);
    g_r7 = 0;
    ex = run_prog(&B, 100, set_r7, NULL, NULL);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 0);
    g_r7 = 3; /* odd */
    ex = run_prog(&B, 100, set_r7, NULL, NULL);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    g_r7 = 6; /* index 2: past the table */
    ex = run_prog(&B, 100, set_r7, NULL, NULL);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 0);
    g_r7 = 4; /* entry 1 = pc 6: mid-block (after load_imm) -> panic */
    ex = run_prog(&B, 100, set_r7, NULL, NULL);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 0);
    g_r7 = 2 + ((uint64_t)1 << 32); /* address taken mod 2^32 -> entry 0 = pc 3 */
    javm_instance *vm;
    javm_program *p;
    ex = run_prog(&B, 100, set_r7, &vm, &p);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC); /* runs to the implicit trap */
    assert_int_equal(ex.pc, 9);
    assert_int_equal(test_reg(vm, 1), 5);
    /* gas: block [jump_ind] 1 + block [load_imm, load_imm, trap] 3 */
    assert_int_equal(javm_gas_get(vm), 96);
    /* running again after a panic is a state error until a pc is set */
    assert_int_equal(javm_run(vm, &ex), JAVM_ERR_STATE);
    assert_int_equal(javm_pc_set(vm, 2), JAVM_OK);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 2);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void load_imm_jump_ind_same_regs(void **state) {
    (void)state;
    /* 0: load_imm_jump_ind r7, r7, x=1234, y=0 ; 4: trap ; 5: trap (entry 0) */
    bld B = {0};
    ins(&B, 5, JV_OPC_load_imm_jump_ind, 0x77, 2, 0xd2, 0x04);
    ins(&B, 1, JV_OPC_trap);
    ins(&B, 1, JV_OPC_trap);
    B.jt[0] = 6;
    B.njt = 1;
    javm_instance *vm;
    javm_program *p;
    g_r7 = 2; /* old r7 -> entry 0 = pc 6 (after the trap at 5) */
    javm_exit_info ex = run_prog(&B, 100, set_r7, &vm, &p);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 6); /* the implicit trap at |c| = 6 */
    assert_int_equal(test_reg(vm, 7), 1234);
    javm_instance_free(vm);
    javm_program_free(p);
    g_r7 = 0; /* panics, but the register write is kept */
    ex = run_prog(&B, 100, set_r7, &vm, &p);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 0);
    assert_int_equal(test_reg(vm, 7), 1234);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void branches_and_bad_targets(void **state) {
    (void)state;
    /* 0: branch_eq_imm r7, 0, +5 (to 5: a block start) ; 3: fallthrough... */
    bld B = {0};
    ins(&B, 3, JV_OPC_branch_eq_imm, 0x07, 5);
    ins(&B, 1, JV_OPC_fallthrough);
    ins(&B, 1, JV_OPC_fallthrough);
    ins(&B, 3, JV_OPC_load_imm, 0x02, 1);
    javm_instance *vm;
    javm_program *p;
    g_r7 = 0;
    javm_exit_info ex = run_prog(&B, 100, set_r7, &vm, &p);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 8);
    assert_int_equal(test_reg(vm, 2), 1);
    assert_int_equal(javm_gas_get(vm), 100 - 1 - 2); /* [branch] + [load_imm, trap] */
    javm_instance_free(vm);
    javm_program_free(p);
    g_r7 = 1; /* not taken: every fallthrough starts a block */
    ex = run_prog(&B, 100, set_r7, &vm, &p);
    assert_int_equal(ex.pc, 8);
    assert_int_equal(javm_gas_get(vm), 100 - 1 - 1 - 1 - 2);
    javm_instance_free(vm);
    javm_program_free(p);
    /* a taken branch to a non-block-start panics at the branch */
    B.code[2] = 6; /* target 6: inside load_imm */
    g_r7 = 0;
    ex = run_prog(&B, 100, set_r7, &vm, &p);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 0);
    assert_int_equal(javm_gas_get(vm), 99);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* ---- exits and resumes ---------------------------------------------------------------------- */
static void ecalli_resume_without_recharge(void **state) {
    (void)state;
    /* 0: ecalli 7 ; 2: add_imm_64 r1 = r1 + 1 ; 5: implicit trap -> block cost 3 */
    bld B = {0};
    ins(&B, 2, JV_OPC_ecalli, 7);
    ins(&B, 3, JV_OPC_add_imm_64, 0x11, 1);
    javm_program *p = build(&B);
    javm_instance *vm = inst(p, 10);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
    assert_int_equal(ex.pc, 0);
    assert_int_equal(ex.next_pc, 2);
    assert_true(ex.arg == 7);
    assert_int_equal(javm_gas_get(vm), 7);
    /* the host writes a register and charges its own gas, then resumes */
    javm_reg_set(vm, 1, 41);
    javm_gas_set(vm, javm_gas_get(vm) - 5);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 5);
    assert_int_equal(test_reg(vm, 1), 42);
    assert_int_equal(javm_gas_get(vm), 2); /* no second charge of the block */
    javm_stats st = JAVM_STATS_INIT;
    javm_stats_get(vm, &st);
    assert_true(st.instructions == 3);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void page_fault_resume(void **state) {
    (void)state;
    /* 0: load_u32 r1, [0x20000] ; 7: store_u8 [0x21fff] = r1 (straddle-free) ; 14: trap */
    bld B = {0};
    ins(&B, 6, JV_OPC_load_u32, 0x01, 0x00, 0x00, 0x02, 0x00);
    ins(&B, 6, JV_OPC_store_u16, 0x01, 0xff, 0x1f, 0x02, 0x00);
    javm_program *p = build(&B);
    javm_instance *vm = inst(p, 100);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
    assert_int_equal(ex.pc, 0);
    assert_true(ex.arg == 0x20000);
    assert_int_equal(javm_gas_get(vm), 97); /* block of 3 paid at entry */
    /* still unmapped: the same fault, no charge */
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
    assert_int_equal(javm_gas_get(vm), 97);
    uint32_t v = 0xa1b2c3d4;
    assert_int_equal(javm_map(vm, 0x20000, 4096, JAVM_ACCESS_RW, &v, 4), JAVM_OK);
    /* the store straddles 0x20fff.. no: 0x21fff..0x22000 -> lowest bad byte 0x21fff */
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
    assert_int_equal(ex.pc, 6);
    assert_true(ex.arg == 0x21000);
    assert_true(test_reg(vm, 1) == 0xa1b2c3d4);
    assert_int_equal(javm_map(vm, 0x21000, 4096, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    /* 0x22000 still unmapped: the straddling store faults there and writes nothing */
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
    assert_true(ex.arg == 0x22000);
    uint8_t b = 0xee;
    assert_int_equal(javm_mem_read(vm, 0x21fff, &b, 1), JAVM_OK);
    assert_int_equal(b, 0);
    assert_int_equal(javm_map(vm, 0x22000, 4096, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 12);
    assert_int_equal(javm_gas_get(vm), 97);
    uint8_t two[2];
    assert_int_equal(javm_mem_read(vm, 0x21fff, two, 2), JAVM_OK);
    assert_int_equal(two[0], 0xd4);
    assert_int_equal(two[1], 0xc3);
    javm_stats st = JAVM_STATS_INIT;
    javm_stats_get(vm, &st);
    assert_true(st.instructions == 3);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void low_access_and_ro_write_panic(void **state) {
    (void)state;
    bld B = {0};
    ins(&B, 3, JV_OPC_store_u8, 0x01, 0x10); /* [0x10] */
    javm_exit_info ex = run_prog(&B, 100, NULL, NULL, NULL);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 0);
    bld C = {0};
    ins(&C, 6, JV_OPC_store_u8, 0x01, 0x00, 0x00, 0x03, 0x00); /* [0x30000] read-only */
    javm_program *p = build(&C);
    javm_instance *vm = inst(p, 100);
    javm_map(vm, 0x30000, 4096, JAVM_ACCESS_RO, NULL, 0);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    javm_instance_free(vm);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.ro_write_faults = 1;
    assert_int_equal(javm_instance_new(p, &cfg, &vm), JAVM_OK);
    javm_gas_set(vm, 100);
    javm_map(vm, 0x30000, 4096, JAVM_ACCESS_RO, NULL, 0);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PAGE_FAULT);
    assert_true(ex.arg == 0x30000);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void out_of_gas_at_gate(void **state) {
    (void)state;
    /* block [load_imm, load_imm, trap] cost 3 */
    bld B = {0};
    ins(&B, 3, JV_OPC_load_imm, 0x01, 1);
    ins(&B, 3, JV_OPC_load_imm, 0x02, 2);
    javm_program *p = build(&B);
    javm_instance *vm = inst(p, 2);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
    assert_int_equal(ex.pc, 0);
    assert_int_equal(javm_gas_get(vm), 2);
    assert_int_equal(test_reg(vm, 1), 0);
    /* exactly enough: gas reaches 0, not out of gas */
    javm_gas_set(vm, 3);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(javm_gas_get(vm), 0);
    assert_int_equal(test_reg(vm, 2), 2);
    /* a fresh start in the middle of a block pays from there to the end (2) */
    javm_pc_set(vm, 3);
    javm_gas_set(vm, 1);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
    assert_int_equal(ex.pc, 3);
    javm_gas_set(vm, 5);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(javm_gas_get(vm), 3);
    /* PolkaVM's rule behind a flag: the containing block's whole cost (3) */
    vm->st.entry_whole_block = true;
    javm_pc_set(vm, 3);
    javm_gas_set(vm, 2);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
    javm_gas_set(vm, 3);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(javm_gas_get(vm), 0);
    vm->st.entry_whole_block = false;
    javm_gas_set(vm, 3);
    /* a pc that is not an instruction panics there after paying 1 */
    javm_pc_set(vm, 1);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 1);
    assert_int_equal(javm_gas_get(vm), 2);
    /* negative gas is out of gas */
    javm_pc_set(vm, 0);
    javm_gas_set(vm, -5);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
    assert_int_equal(javm_gas_get(vm), -5);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void mat_gate_and_charge(void **state) {
    (void)state;
    /* block [store_u8 [0x20000] = r1, trap] cost 2, 1 store -> reserve 2 x cow_cost */
    bld B = {0};
    ins(&B, 6, JV_OPC_store_u8, 0x01, 0x00, 0x00, 0x02, 0x00);
    javm_program *p = build(&B);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.mat = 1;
    cfg.cow_cost = 100;
    javm_instance *vm;
    assert_int_equal(javm_instance_new(p, &cfg, &vm), JAVM_OK);
    javm_map(vm, 0x20000, 4096, JAVM_ACCESS_RW, NULL, 0);
    javm_gas_set(vm, 2 + 199);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
    assert_int_equal(javm_gas_get(vm), 201);
    javm_gas_set(vm, 202);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(javm_gas_get(vm), 202 - 2 - 100);
    javm_stats st = JAVM_STATS_INIT;
    javm_stats_get(vm, &st);
    assert_true(st.mat_gas == 100);
    assert_true(st.cow_pages == 1);
    /* second write to the same page in the same frame is free */
    javm_pc_set(vm, 0);
    javm_gas_set(vm, 202);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(javm_gas_get(vm), 200);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void sbrk_rules(void **state) {
    (void)state;
    /* sbrk r2 = grow(r1) ; trap */
    bld B = {0};
    ins(&B, 2, JV_OPC_sbrk, 0x12);
    javm_program *p = build(&B);
    javm_instance *vm = inst(p, 100);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    /* no heap configured: a grow fails with 0 */
    javm_reg_set(vm, 1, 16);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(test_reg(vm, 2), 0);
    /* with a heap [0x30000, 0x40000) */
    vm->st.heap_top = 0x30800;
    vm->st.heap_limit = 0x40000;
    javm_map(vm, 0x30000, 4096, JAVM_ACCESS_RW, NULL, 0);
    javm_pc_set(vm, 0);
    javm_reg_set(vm, 1, 0); /* query */
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(test_reg(vm, 2), 0x30800);
    javm_pc_set(vm, 0);
    javm_reg_set(vm, 1, 0x1000);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(test_reg(vm, 2), 0x30800);
    assert_int_equal(vm->st.heap_top, 0x31800);
    assert_int_equal(javm_page_access(vm, 0x31000), JAVM_ACCESS_RW);
    assert_int_equal(javm_page_access(vm, 0x32000), JAVM_ACCESS_NONE);
    javm_pc_set(vm, 0);
    javm_reg_set(vm, 1, 0x10000); /* past the limit */
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(test_reg(vm, 2), 0);
    assert_int_equal(vm->st.heap_top, 0x31800);
    /* GP 0.8 mode: sbrk is not an instruction -> trap */
    vm->st.sbrk_enabled = false;
    javm_pc_set(vm, 0);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(ex.pc, 0);
    javm_instance_free(vm);
    javm_program_free(p);
}

static void standard_layout(void **state) {
    (void)state;
    /* code: jump_ind r0 (halt) */
    uint8_t blob[64];
    size_t k = 0;
    const uint8_t hdr[] = {100, 0, 0, 0x88, 0x13, 0, 2, 0, 0, 0x20, 0}; /* o=100 w=5000 z=2 s=8192 */
    uint8_t *c = malloc(11 + 100 + 5000 + 4 + 16);
    assert_non_null(c);
    memcpy(c, hdr, sizeof hdr);
    k = sizeof hdr;
    memset(c + k, 0xaa, 100);
    k += 100;
    memset(c + k, 0xbb, 5000);
    k += 5000;
    const uint8_t inner[] = {0, 0, 2, JV_OPC_jump_ind, 0x00, 0x01};
    c[k++] = sizeof inner;
    c[k++] = 0;
    c[k++] = 0;
    c[k++] = 0;
    memcpy(c + k, inner, sizeof inner);
    k += sizeof inner;
    (void)blob;
    javm_program *p;
    assert_int_equal(javm_program_load_standard(c, k, &p), JAVM_OK);
    free(c);
    javm_instance *vm = inst(p, 100);
    const uint8_t args[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_int_equal(javm_instance_init_standard(vm, args, sizeof args), JAVM_OK);
    assert_int_equal(javm_page_access(vm, 0x10000), JAVM_ACCESS_RO);
    assert_int_equal(javm_page_access(vm, 0x11000), JAVM_ACCESS_NONE);
    assert_int_equal(javm_page_access(vm, 0x30000), JAVM_ACCESS_RW);
    assert_int_equal(javm_page_access(vm, 0x33000), JAVM_ACCESS_RW);
    assert_int_equal(javm_page_access(vm, 0x34000), JAVM_ACCESS_NONE);
    assert_int_equal(javm_page_access(vm, 0xFEFDE000u), JAVM_ACCESS_RW);
    assert_int_equal(javm_page_access(vm, 0xFEFDD000u), JAVM_ACCESS_NONE);
    assert_int_equal(javm_page_access(vm, 0xFEFF0000u), JAVM_ACCESS_RO);
    assert_int_equal(javm_page_access(vm, 0xFEFF1000u), JAVM_ACCESS_NONE);
    uint8_t b[2];
    javm_mem_read(vm, 0x10063, b, 2);
    assert_int_equal(b[0], 0xaa);
    assert_int_equal(b[1], 0);
    javm_mem_read(vm, 0x31387, b, 2);
    assert_int_equal(b[0], 0xbb);
    assert_int_equal(b[1], 0);
    javm_mem_read(vm, 0xFEFF0009u, b, 2);
    assert_int_equal(b[0], 10);
    assert_int_equal(b[1], 0);
    assert_true(test_reg(vm, 0) == 0xFFFF0000u);
    assert_true(test_reg(vm, 1) == 0xFEFE0000u);
    assert_true(test_reg(vm, 7) == 0xFEFF0000u);
    assert_true(test_reg(vm, 8) == 10);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_HALT);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* ---- the three loops agree on every vector ---------------------------------------------------- */
/* The vectors are read and set up by the vector library (src/vector). */
#include "vector/vector.h"

static uint64_t trace_count;
static void count_trace(void *user, const javm_instance *vm, uint32_t pc) {
    (void)user;
    (void)vm;
    (void)pc;
    trace_count++;
}

static void loops_agree_on_vectors(void **state) {
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/gp07", JAVM_VECTOR_DIR);
    DIR *d = opendir(dir);
    if (!d) {
        print_message("vectors not found at %s\n", dir);
        skip();
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".json")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        jv_vector v;
        assert_int_equal(jv_vector_load(path, &v), JAVM_OK);
        javm_exit_info ex[3];
        uint64_t regs[3][13];
        int64_t gas[3];
        javm_stats st[3];
        for (int loop = 0; loop < 3; loop++) {
            ex[loop] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
            st[loop] = (javm_stats)JAVM_STATS_INIT;
            jv_vec_session ses;
            bool have_run;
            assert_int_equal(jv_vec_session_start(&ses, &v, NULL, NULL), JAVM_OK);
            assert_int_equal(jv_vec_session_advance(&ses, &have_run), JAVM_OK);
            assert_true(have_run);
            javm_instance *vm = ses.vm;
            trace_count = 0;
            if (loop == 2) javm_set_trace(vm, count_trace, NULL);
            assert_int_equal(jv_api_run_with(vm, loop, &ex[loop]), JAVM_OK);
            for (int i = 0; i < 13; i++) regs[loop][i] = test_reg(vm, (unsigned)i);
            gas[loop] = javm_gas_get(vm);
            javm_stats_get(vm, &st[loop]);
            if (loop == 2) {
                /* the trace saw every executed instruction; a faulting one is seen but not
                 * counted as executed */
                uint64_t expect = st[2].instructions +
                                  (ex[2].kind == JAVM_EXIT_PAGE_FAULT ? 1u : 0u);
                assert_true(trace_count == expect);
            }
            jv_vec_session_end(&ses);
        }
        for (int loop = 1; loop < 3; loop++) {
            assert_int_equal(ex[loop].kind, ex[0].kind);
            assert_int_equal(ex[loop].pc, ex[0].pc);
            assert_true(ex[loop].arg == ex[0].arg);
            assert_true(gas[loop] == gas[0]);
            assert_memory_equal(regs[loop], regs[0], sizeof regs[0]);
            assert_true(st[loop].instructions == st[0].instructions);
        }
        /* the vector's gas used equals the instructions executed except for page faults
         * (the whole block is paid) */
        if (ex[0].kind != JAVM_EXIT_PAGE_FAULT)
            assert_true((uint64_t)(v.initial_gas - gas[0]) == st[0].instructions);
        jv_vector_free(&v);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 307);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(division_table),
        cmocka_unit_test(thirty_two_bit_and_shifts),
        cmocka_unit_test(djump_rules),
        cmocka_unit_test(load_imm_jump_ind_same_regs),
        cmocka_unit_test(branches_and_bad_targets),
        cmocka_unit_test(ecalli_resume_without_recharge),
        cmocka_unit_test(page_fault_resume),
        cmocka_unit_test(low_access_and_ro_write_panic),
        cmocka_unit_test(out_of_gas_at_gate),
        cmocka_unit_test(mat_gate_and_charge),
        cmocka_unit_test(sbrk_rules),
        cmocka_unit_test(standard_layout),
        cmocka_unit_test(loops_agree_on_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
