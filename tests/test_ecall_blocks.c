/* Ecall blocks (PVM-G5, javm_load_options.ecall_blocks; docs/GAS.md "Ecall blocks"): the op
 * stream around an ecalli, block costs in both gas models, ϖ unchanged, and the soft, paged and
 * jit engines agreeing (exits, pc, gas, registers, memory, instruction counts) on programs
 * loaded with the option, run with every small gas budget and topped up one unit at a time at
 * each out-of-gas so that every block gate, including the one after each ecalli, is hit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "engine_diff.h"
#include "fault/fault.h"
#include "pvm/asm.h"

#define MEM 0x20000u

/* A loop (3 rounds) with three host calls per round and stores on both sides of them. */
static const char *const LOOP_SRC = "load_imm r7, 3\n"
                                    "fallthrough\n"
                                    "top: add_64 r8, r8, r7\n"
                                    "store_u64 r8, 0x20000\n"
                                    "ecalli 1\n"
                                    "add_64 r9, r9, r8\n"
                                    "store_u64 r9, 0x20008\n"
                                    "load_u64 r10, 0x20000\n"
                                    "ecalli 2\n"
                                    "ecalli 3\n"
                                    "add_imm_64 r7, r7, -1\n"
                                    "branch_ne_imm r7, 0, top\n"
                                    "jump_ind r0, 0\n";

static uint8_t *assemble(const char *src, size_t *len) {
    uint8_t *blob;
    if (jv_asm_assemble(src, strlen(src), &blob, len) != JAVM_OK)
        fail_msg("assembly failed: %s\n%s", javm_last_error(), src);
    return blob;
}

static javm_program *load(const char *src, javm_gas_model gm, int ecall_blocks) {
    size_t len;
    uint8_t *blob = assemble(src, &len);
    javm_load_options lo;
    javm_load_options_init(&lo);
    lo.gas_model = gm;
    lo.ecall_blocks = ecall_blocks;
    javm_program *p;
    if (javm_program_load_ex(blob, len, &lo, &p) != JAVM_OK)
        fail_msg("load: %s", javm_last_error());
    free(blob);
    return p;
}

static javm_engine g_engines[3];
static unsigned g_nengines;

static int setup(void **state) {
    const char *names[] = {"soft", "paged", "jit"};
    for (unsigned i = 0; i < 3; i++) {
        javm_engine e;
        if (javm_engine_parse(names[i], &e) == JAVM_OK && javm_engine_available(e))
            g_engines[g_nengines++] = e;
    }
    return 0;
}

static javm_instance *instance(javm_program *p, javm_engine e, int64_t gas) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaces it for every test */
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    javm_instance *vm;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK) fail_msg("instance: %s", javm_last_error());
    assert_int_equal(javm_map(vm, MEM, 4096, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    javm_reg_set(vm, 0, 0xFFFF0000u);
    javm_pc_set(vm, 0);
    javm_gas_set(vm, gas);
    return vm;
}

/* The index of the first op with dispatch id iop at or after op i. */
static uint32_t find(const javm_program *p, uint32_t i, unsigned iop) {
    while (i < p->nops && jv_pvm_op_base(&p->ops[i]) != iop) i++; /* (fused ops too) */
    assert_true(i < p->nops);
    return i;
}

/* PVM-G5: GAS(0, 0, rest 1) before every ecalli, a GAS op after it, and ϖ, the listed blocks,
 * branch and jump-table resolution by pc exactly as in plain mode. */
static void op_stream(void **state) {
    for (int gm = 0; gm < 2; gm++) {
        javm_gas_model model = gm ? JAVM_GAS_GP08 : JAVM_GAS_GP07;
        javm_program *plain = load(LOOP_SRC, model, 0), *eb = load(LOOP_SRC, model, 1);
        assert_false(plain->ecall_blocks);
        assert_true(eb->ecall_blocks);
        /* a GAS op before and after each ecalli; ecalli 2 and 3 share the one between them */
        assert_int_equal(eb->nops, plain->nops + 5);
        unsigned ecalls = 0;
        for (uint32_t i = 0; i < eb->nops; i++) {
            const jv_pvm_op *o = &eb->ops[i];
            if (o->iop != JV_I_ecalli) continue;
            ecalls++;
            assert_int_equal(eb->ops[i - 1].iop, JV_I_GAS);
            assert_int_equal(jv_pvm_gas_cost(&eb->ops[i - 1]), 0);
            assert_int_equal(jv_pvm_gas_stores(&eb->ops[i - 1]), 0);
            assert_int_equal(jv_pvm_gas_count(&eb->ops[i - 1]), 1);
            assert_int_equal(jv_pvm_op_pc(eb, i - 1), jv_pvm_op_pc(eb, i));
            assert_int_equal(jv_pvm_ecall_pc(o), jv_pvm_op_pc(eb, i));
            assert_int_equal(jv_pvm_op_rest(o), 0);
            assert_int_equal(eb->ops[i + 1].iop, JV_I_GAS);
            assert_int_equal(jv_pvm_op_pc(eb, i + 1), jv_pvm_ecall_next(o));
            assert_false(jv_pvm_is_block_start(eb, jv_pvm_ecall_next(o))); /* ϖ unchanged */
            assert_false(jv_pvm_is_block_start(eb, jv_pvm_ecall_pc(o)));
        }
        assert_int_equal(ecalls, 3);
        size_t bits = ((size_t)plain->code_len + 7) / 8;
        assert_memory_equal(eb->block_starts, plain->block_starts, bits);
        assert_int_equal(javm_program_block_count(eb), javm_program_block_count(plain));
        for (uint32_t i = 0; i < plain->nops; i++) {
            const jv_pvm_op *o = &plain->ops[i];
            if (!(jv_pvm_iop_flags[o->iop] & JV_OP_BRANCH) || jv_pvm_op_target(o) == JV_PVM_NONE)
                continue;
            const jv_pvm_op *q = &eb->ops[jv_pvm_op_at(eb, jv_pvm_op_pc(plain, i))];
            assert_int_equal(jv_pvm_op_pc(eb, jv_pvm_op_target(q)),
                             jv_pvm_op_pc(plain, jv_pvm_op_target(o)));
        }
        /* the first loop block: add_64, store_u64 (cost 2 in gp07, one store) */
        uint32_t g = find(eb, 0, JV_I_add_64) - 1;
        assert_int_equal(eb->ops[g].iop, JV_I_GAS);
        assert_int_equal(jv_pvm_gas_count(&eb->ops[g]), 2);
        assert_int_equal(jv_pvm_gas_stores(&eb->ops[g]), 1);
        if (!gm) assert_int_equal(jv_pvm_gas_cost(&eb->ops[g]), 2);
        else {
            assert_int_equal(jv_pvm_gas_cost(&eb->ops[g]), jv_pvm_gas08_cost(eb, g + 1));
            /* the plain block also holds the ecalli and the rest up to the branch */
            uint32_t pg = jv_pvm_op_at(plain, jv_pvm_op_pc(eb, g + 1)) - 1;
            assert_int_equal(plain->ops[pg].iop, JV_I_GAS);
            assert_true(jv_pvm_gas_cost(&eb->ops[g]) >= 1 &&
                        jv_pvm_gas_cost(&eb->ops[g]) < jv_pvm_gas_cost(&plain->ops[pg]));
        }
        /* the block after ecalli 1: add_64, store_u64, load_u64 (ends before ecalli 2) */
        uint32_t a = find(eb, 0, JV_I_ecalli) + 1;
        assert_int_equal(jv_pvm_gas_count(&eb->ops[a]), 3);
        assert_int_equal(jv_pvm_gas_stores(&eb->ops[a]), 1);
        if (!gm) assert_int_equal(jv_pvm_gas_cost(&eb->ops[a]), 3);
        /* the block after ecalli 3 ends at the branch, and costs what the same instructions
         * (the same branch target) cost as a plain block, here after a fallthrough */
        uint32_t e3 = find(eb, find(eb, a, JV_I_ecalli) + 1, JV_I_ecalli);
        assert_int_equal(jv_pvm_gas_count(&eb->ops[e3 + 1]), 2);
        javm_program *ref = load("load_imm r7, 3\nfallthrough\ntop: add_64 r8, r8, r7\n"
                                 "fallthrough\nadd_imm_64 r7, r7, -1\n"
                                 "branch_ne_imm r7, 0, top\njump_ind r0, 0\n",
                                 model, 0);
        uint32_t rg = find(ref, 0, JV_I_add_imm_64) - 1;
        assert_int_equal(ref->ops[rg].iop, JV_I_GAS);
        assert_int_equal(jv_pvm_gas_cost(&eb->ops[e3 + 1]), jv_pvm_gas_cost(&ref->ops[rg]));
        javm_program_free(ref);
        javm_program_free(plain);
        javm_program_free(eb);
    }
}

/* The pc after an ecalli is not a branch target in either mode: branching there panics at the
 * branch. */
static void after_ecall_is_not_a_target(void **state) {
    const char *src = "load_imm r7, 1\necalli 4\nafter: add_64 r8, r8, r7\n"
                      "branch_ne_imm r7, 0, after\ntrap\n";
    for (int mode = 0; mode < 2; mode++) {
        javm_program *p = load(src, JAVM_GAS_GP07, mode);
        for (unsigned e = 0; e < g_nengines; e++) {
            javm_instance *vm = instance(p, g_engines[e], 1000);
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_run(vm, &ex), JAVM_OK);
            assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
            assert_int_equal(ex.arg, 4);
            assert_int_equal(javm_run(vm, &ex), JAVM_OK);
            assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
            assert_int_equal(ex.pc, jv_pvm_op_pc(p, find(p, 0, JV_I_branch_ne_imm)));
            /* plain: one block of 4 up to the branch; ecall blocks: 1, then 0, then the block
             * after the ecalli (add_64 and the branch: 2) */
            assert_int_equal(javm_gas_get(vm), mode ? 1000 - 1 - 2 : 1000 - 4);
            javm_instance_free(vm);
        }
        javm_program_free(p);
    }
}

/* One trajectory: run from gas g; each host call resumes; each out-of-gas adds 1 and resumes.
 * Every exit is compared across the engines. *spent = the gas the run used in all. Returns the
 * number of out-of-gas exits. */
static unsigned trajectory(javm_program *p, int64_t g, uint64_t *host_calls, int64_t *spent) {
    javm_instance *vm[3];
    for (unsigned e = 0; e < g_nengines; e++) vm[e] = instance(p, g_engines[e], g);
    unsigned oog = 0;
    *host_calls = 0;
    int64_t topups = 0;
    for (unsigned step = 0;; step++) {
        assert_true(step < 10000);
        javm_exit_info ex[3];
        for (unsigned e = 0; e < g_nengines; e++) {
            ex[e] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_run(vm[e], &ex[e]), JAVM_OK);
        }
        for (unsigned e = 1; e < g_nengines; e++) {
            if (ex[e].kind != ex[0].kind || ex[e].pc != ex[0].pc || ex[e].arg != ex[0].arg)
                fail_msg("gas %lld step %u: %s %s pc %u vs %s pc %u", (long long)g, step,
                         javm_engine_name(g_engines[e]), javm_exit_str(ex[e].kind), ex[e].pc,
                         javm_exit_str(ex[0].kind), ex[0].pc);
            char why[256];
            if (jv_diff_instances(vm[0], vm[e], why, sizeof why))
                fail_msg("gas %lld step %u: soft vs %s: %s", (long long)g, step,
                         javm_engine_name(g_engines[e]), why);
        }
        if (ex[0].kind == JAVM_EXIT_HOST_CALL) {
            (*host_calls)++;
            continue;
        }
        if (ex[0].kind == JAVM_EXIT_OUT_OF_GAS) {
            oog++;
            topups++;
            int64_t left = javm_gas_get(vm[0]);
            for (unsigned e = 0; e < g_nengines; e++) javm_gas_set(vm[e], left + 1);
            continue;
        }
        assert_int_equal(ex[0].kind, JAVM_EXIT_HALT);
        break;
    }
    uint64_t r8 = 0, r9 = 0, r10 = 0, m[2];
    javm_reg_get(vm[0], 8, &r8);
    javm_reg_get(vm[0], 9, &r9);
    javm_reg_get(vm[0], 10, &r10);
    assert_int_equal(r8, 3 + 2 + 1);
    assert_int_equal(r9, 3 + 5 + 6);
    assert_int_equal(r10, r8);
    assert_int_equal(javm_mem_read(vm[0], MEM, m, sizeof m), JAVM_OK);
    assert_int_equal(m[0], r8);
    assert_int_equal(m[1], r9);
    javm_stats s = JAVM_STATS_INIT;
    assert_int_equal(javm_stats_get(vm[0], &s), JAVM_OK);
    assert_int_equal(s.instructions, 2 + 3 * 10 + 1); /* whatever the gates did */
    *spent = g + topups - javm_gas_get(vm[0]);
    for (unsigned e = 0; e < g_nengines; e++) javm_instance_free(vm[e]);
    return oog;
}

/* Soft, paged and jit on the loop program, both gas models, from every budget up to a full
 * run. In gp07 a full run costs the plain cost less one per ecalli executed (9). */
static void engines_agree(void **state) {
    for (int gm = 0; gm < 2; gm++) {
        javm_gas_model model = gm ? JAVM_GAS_GP08 : JAVM_GAS_GP07;
        javm_program *plain = load(LOOP_SRC, model, 0), *eb = load(LOOP_SRC, model, 1);
        /* full cost of each mode: the gas a single run with plenty uses */
        int64_t used[2];
        for (int mode = 0; mode < 2; mode++) {
            javm_instance *vm = instance(mode ? eb : plain, JAVM_ENGINE_SOFT, 100000);
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            do assert_int_equal(javm_run(vm, &ex), JAVM_OK);
            while (ex.kind == JAVM_EXIT_HOST_CALL);
            assert_int_equal(ex.kind, JAVM_EXIT_HALT);
            used[mode] = 100000 - javm_gas_get(vm);
            javm_instance_free(vm);
        }
        if (!gm) {
            assert_int_equal(used[0], 2 + 3 * 10 + 1);
            assert_int_equal(used[1], used[0] - 9);
        }
        for (int64_t g = 0; g <= used[1] + 1; g++) {
            uint64_t hc;
            int64_t spent;
            unsigned oog = trajectory(eb, g, &hc, &spent);
            assert_int_equal(hc, 9);
            /* a gate that fails charges nothing: stopping anywhere costs exactly a full run */
            assert_int_equal(spent, used[1]);
            if (g == 0) assert_true(oog > 9); /* at least every gate after an ecalli */
        }
        javm_program_free(plain);
        javm_program_free(eb);
    }
}

/* A host-call resume enters the block after the ecalli through its gate: with too little gas
 * the resume stops there (pc = the instruction after the ecalli, gas unchanged), and a top-up
 * continues without repeating the ecalli. */
static void resume_gate(void **state) {
    javm_program *p = load("ecalli 5\nstore_u64 r7, 0x20000\nadd_imm_64 r7, r7, 1\n"
                           "jump_ind r0, 0\n",
                           JAVM_GAS_GP07, 1);
    uint32_t after = jv_pvm_op_pc(p, find(p, 0, JV_I_store_u64));
    for (unsigned e = 0; e < g_nengines; e++) {
        javm_instance *vm = instance(p, g_engines[e], 2);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
        assert_int_equal(javm_gas_get(vm), 2); /* the ecalli's block costs 0 */
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
        assert_int_equal(ex.pc, after);
        assert_int_equal(javm_gas_get(vm), 2);
        javm_gas_set(vm, 3);
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_gas_get(vm), 0);
        javm_stats s = JAVM_STATS_INIT;
        assert_int_equal(javm_stats_get(vm, &s), JAVM_OK);
        assert_int_equal(s.instructions, 4);
        uint64_t r7;
        javm_reg_get(vm, 7, &r7);
        assert_int_equal(r7, 1);
        javm_instance_free(vm);
    }
    javm_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(op_stream),
        cmocka_unit_test(after_ecall_is_not_a_target),
        cmocka_unit_test(resume_gate),
        cmocka_unit_test(engines_agree),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
