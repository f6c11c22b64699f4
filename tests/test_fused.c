/* Fused ops (PVM-G6, docs/PROGRAM.md "Gates"): a block that is a single terminator carries its
 * own gate. The op stream has no GAS op in front of it; on every engine its gate charges,
 * runs out of gas (at the block start, nothing changed, the next run tries the same gate) and
 * counts exactly as a GAS op of its cost would, when it is entered by fallthrough, a static
 * jump, a taken branch, a jump-table entry, a fresh start at its pc, or after a host call; in
 * both gas models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "fault/fault.h"
#include "pvm/asm.h"

/* Blocks in pc order: [fallthrough] [jump a] [a: branch (taken)] [trap (skipped)]
 * [b: load_imm, ecalli, jump_ind (to t through the table)] [t: fallthrough] [trap]. Every block
 * but b is one terminator: fused. */
static const char *const SRC = ".jumptable t\n"
                               "fallthrough\n"
                               "jump a\n"
                               "a: branch_eq_imm r7, 0, b\n"
                               "trap\n"
                               "b: load_imm r8, 2\n"
                               "ecalli 9\n"
                               "jump_ind r8, 0\n"
                               "t: fallthrough\n"
                               "trap\n";
#define NBLOCKS 7
#define SKIPPED 3 /* the block the branch jumps over */

static javm_engine g_engines[3];
static unsigned g_nengines;

static int setup(void **state) {
    (void)state;
    const char *names[] = {"soft", "paged", "jit"};
    for (unsigned i = 0; i < 3; i++) {
        javm_engine e;
        if (javm_engine_parse(names[i], &e) == JAVM_OK && javm_engine_available(e))
            g_engines[g_nengines++] = e;
    }
    return 0;
}

static javm_program *load(javm_gas_model gm) {
    uint8_t *blob;
    size_t len;
    if (jv_asm_assemble(SRC, strlen(SRC), &blob, &len) != JAVM_OK)
        fail_msg("assembly failed: %s", javm_last_error());
    javm_load_options lo;
    javm_load_options_init(&lo);
    lo.gas_model = gm;
    javm_program *p;
    if (javm_program_load_ex(blob, len, &lo, &p) != JAVM_OK) fail_msg("load: %s", javm_last_error());
    free(blob);
    return p;
}

static javm_instance *instance(javm_program *p, javm_engine e, uint32_t pc, int64_t gas) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaces it for every test */
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    javm_instance *vm;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK) fail_msg("instance: %s", javm_last_error());
    javm_pc_set(vm, pc);
    javm_gas_set(vm, gas);
    return vm;
}

/* Runs to an exit other than the host call (ecalli 9, resumed at once). */
static javm_exit_info run(javm_instance *vm) {
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    for (;;) {
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        if (ex.kind != JAVM_EXIT_HOST_CALL) return ex;
        assert_int_equal(ex.arg, 9);
    }
}

static uint64_t instructions(javm_instance *vm) {
    javm_stats s = JAVM_STATS_INIT;
    assert_int_equal(javm_stats_get(vm, &s), JAVM_OK);
    return s.instructions;
}

/* The op stream: six fused ops, one GAS op (block b), listed blocks with their costs. */
static void stream(void **state) {
    (void)state;
    for (int gm = 0; gm < 2; gm++) {
        javm_program *p = load(gm ? JAVM_GAS_GP08 : JAVM_GAS_GP07);
        assert_int_equal(p->nops, 11); /* 9 instructions, the implicit trap, one GAS op */
        assert_int_equal(javm_program_block_count(p), NBLOCKS);
        unsigned fused = 0, gas = 0;
        for (uint32_t i = 0; i < p->nops; i++) {
            fused += jv_pvm_op_is_fused(&p->ops[i]);
            gas += p->ops[i].iop == JV_I_GAS;
        }
        /* the implicit trap follows the trap: a block of its own, fused, not listed */
        assert_int_equal(fused, 7);
        assert_int_equal(gas, 1);
        for (uint32_t b = 0; b < NBLOCKS; b++) {
            uint32_t pc;
            uint64_t cost;
            assert_int_equal(javm_program_block(p, b, &pc, &cost), JAVM_OK);
            uint32_t g = jv_pvm_gate_of(p, jv_pvm_op_at(p, pc));
            assert_int_not_equal(g, JV_PVM_NONE);
            assert_int_equal(jv_pvm_op_is_fused(&p->ops[g]), b != 4);
            assert_int_equal(jv_pvm_op_pc(p, g), pc);
            if (!gm) assert_true(cost == (b == 4 ? 3 : 1));
            else assert_true(cost == jv_pvm_gas08_cost(p, b == 4 ? g + 1 : g));
            if (gm && b == NBLOCKS - 1) assert_true(cost == JV_GAS08_TRAP_COST); /* a lone trap */
        }
        javm_program_free(p);
    }
}

/* Every gas value up to the whole path, on every engine: out of gas at the first block the gas
 * does not cover (its pc, the gas left unchanged, the instructions of the blocks before), then
 * a second run with more gas continues at that same gate and panics at the last trap. */
static void gates(void **state) {
    (void)state;
    for (int gm = 0; gm < 2; gm++) {
        javm_program *p = load(gm ? JAVM_GAS_GP08 : JAVM_GAS_GP07);
        uint32_t pcs[NBLOCKS], counts[NBLOCKS] = {1, 1, 1, 1, 3, 1, 1};
        uint64_t costs[NBLOCKS], total = 0, insns = 0;
        for (uint32_t b = 0; b < NBLOCKS; b++) {
            assert_int_equal(javm_program_block(p, b, &pcs[b], &costs[b]), JAVM_OK);
            if (b != SKIPPED) total += costs[b], insns += counts[b];
        }
        for (unsigned e = 0; e < g_nengines; e++) {
            for (uint64_t g = 0; g <= total + 1; g++) {
                javm_instance *vm = instance(p, g_engines[e], 0, (int64_t)g);
                javm_exit_info ex = run(vm);
                uint64_t spent = 0, ran = 0;
                uint32_t b = 0;
                for (; b < NBLOCKS; b++) {
                    if (b == SKIPPED) continue;
                    if (g - spent < costs[b]) break;
                    spent += costs[b];
                    ran += counts[b];
                }
                if (b < NBLOCKS) {
                    if (ex.kind != JAVM_EXIT_OUT_OF_GAS || ex.pc != pcs[b])
                        fail_msg("%s gas %llu: %s at %u, expected out of gas at %u",
                                 javm_engine_name(g_engines[e]), (unsigned long long)g,
                                 javm_exit_str(ex.kind), ex.pc, pcs[b]);
                    assert_int_equal(javm_gas_get(vm), (int64_t)(g - spent));
                    assert_int_equal(instructions(vm), ran);
                    javm_gas_set(vm, 1000); /* the same gate again, then to the end */
                    ex = run(vm);
                    assert_int_equal(javm_gas_get(vm), (int64_t)(1000 - (total - spent)));
                } else {
                    assert_int_equal(javm_gas_get(vm), (int64_t)(g - total));
                }
                assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
                assert_int_equal(ex.pc, pcs[NBLOCKS - 1]);
                assert_int_equal(instructions(vm), insns);
                javm_instance_free(vm);
            }
        }
        javm_program_free(p);
    }
}

/* Fresh starts: at a fused block's pc it gates as the block's start (its cost; out of gas with
 * less, nothing charged); in the middle of block b (at the ecalli) gp07 pays the rest of b. */
static void fresh_starts(void **state) {
    (void)state;
    javm_program *p = load(JAVM_GAS_GP07);
    uint32_t t_pc, trap_pc, b_pc;
    assert_int_equal(javm_program_block(p, 5, &t_pc, NULL), JAVM_OK);
    assert_int_equal(javm_program_block(p, 6, &trap_pc, NULL), JAVM_OK);
    assert_int_equal(javm_program_block(p, 4, &b_pc, NULL), JAVM_OK);
    uint32_t ecall_pc = jv_pvm_op_pc(p, jv_pvm_op_at(p, b_pc) + 1); /* after load_imm r8, 2 */
    assert_int_equal(p->ops[jv_pvm_op_at(p, ecall_pc)].iop, JV_I_ecalli);
    for (unsigned e = 0; e < g_nengines; e++) {
        javm_instance *vm = instance(p, g_engines[e], t_pc, 0);
        javm_exit_info ex = run(vm);
        assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
        assert_int_equal(ex.pc, t_pc);
        assert_int_equal(javm_gas_get(vm), 0);
        javm_gas_set(vm, 10);
        ex = run(vm);
        assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
        assert_int_equal(ex.pc, trap_pc);
        assert_int_equal(javm_gas_get(vm), 8);
        assert_int_equal(instructions(vm), 2);
        javm_instance_free(vm);
        /* mid-block at the ecalli: 2 (ecalli, jump_ind) with r8 = 2 set by hand, then t, trap */
        vm = instance(p, g_engines[e], ecall_pc, 10);
        javm_reg_set(vm, 8, 2);
        ex = run(vm);
        assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
        assert_int_equal(ex.pc, trap_pc);
        assert_int_equal(javm_gas_get(vm), 6);
        assert_int_equal(instructions(vm), 4);
        javm_instance_free(vm);
    }
    javm_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream),
        cmocka_unit_test(gates),
        cmocka_unit_test(fresh_starts),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
