/* The gp08 gas model (docs/GAS.md): every `block-gas-costs` entry of the 356 gp08 vectors
 * (5,112 blocks) against the model, the worked examples with their cycle charts, and run-time
 * charging (whole block at entry, no recharge on resume, out-of-gas leaves gas unchanged). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "javm.h"
#include "pvm/asm.h"
#include "pvm/pvm.h"

static javm_program *load08(const uint8_t *blob, size_t len) {
    javm_load_options o;
    javm_load_options_init(&o);
    o.isa = JAVM_ISA_GP08;
    o.gas_model = JAVM_GAS_GP08;
    javm_program *p = NULL;
    javm_status s = javm_program_load_ex(blob, len, &o, &p);
    if (s != JAVM_OK) fail_msg("load: %s", javm_last_error());
    return p;
}

static javm_program *asm08(const char *src) {
    uint8_t *blob = NULL;
    size_t len = 0;
    if (jv_asm_assemble_isa(JAVM_ISA_GP08, src, strlen(src), &blob, &len, NULL) != JAVM_OK)
        fail_msg("asm: %s", javm_last_error());
    javm_program *p = load08(blob, len);
    free(blob);
    return p;
}

static uint64_t cost_at(const javm_program *p, uint32_t pc) {
    for (uint32_t i = 0; i < javm_program_block_count(p); i++) {
        uint32_t bpc;
        uint64_t c;
        assert_int_equal(javm_program_block(p, i, &bpc, &c), JAVM_OK);
        if (bpc == pc) return c;
    }
    fail_msg("no block at pc %u", pc);
    return 0;
}

/* ---- the 356 vectors --------------------------------------------------------------------- */
static void vector_block_costs(void **state) {
    (void)state;
    const char *dir = JAVM_VECTOR_DIR "/gp08";
    DIR *d = opendir(dir);
    assert_non_null(d);
    unsigned files = 0, blocks = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_object *v = json_object_from_file(path);
        assert_non_null(v);
        json_object *prog = NULL, *costs = NULL;
        assert_true(json_object_object_get_ex(v, "program", &prog));
        assert_true(json_object_object_get_ex(v, "block-gas-costs", &costs));
        size_t len = json_object_array_length(prog);
        uint8_t *blob = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            blob[i] = (uint8_t)json_object_get_int(json_object_array_get_idx(prog, i));
        javm_program *p = load08(blob, len);
        unsigned want = 0;
        json_object_object_foreach(costs, key, val) {
            uint32_t pc = (uint32_t)strtoul(key, NULL, 10);
            uint64_t expect = (uint64_t)json_object_get_int64(val), got = UINT64_MAX;
            for (uint32_t i = 0; i < javm_program_block_count(p); i++) {
                uint32_t bpc;
                uint64_t c;
                javm_program_block(p, i, &bpc, &c);
                if (bpc == pc) got = c;
            }
            if (got != expect) {
                bad++;
                print_error("%s: block %u: cost %llu, expected %llu\n", e->d_name, pc,
                            (unsigned long long)got, (unsigned long long)expect);
            }
            want++;
        }
        if (javm_program_block_count(p) != want) {
            bad++;
            print_error("%s: %u blocks listed, the vector has %u\n", e->d_name,
                        javm_program_block_count(p), want);
        }
        blocks += want;
        files++;
        javm_program_free(p);
        free(blob);
        json_object_put(v);
    }
    closedir(d);
    assert_int_equal(files, 356);
    assert_int_equal(blocks, 5112);
    assert_int_equal(bad, 0);
}

/* Every cycle chart of the origin's TESTCASES (tests/vectors/gp08-charts.txt), cell for cell. */
static void vector_charts(void **state) {
    (void)state;
    FILE *f = fopen(JAVM_VECTOR_DIR "/gp08-charts.txt", "r");
    assert_non_null(f);
    static char line[1 << 16];
    char name[256] = "", cur[256] = "";
    javm_program *p = NULL;
    char *chart = NULL, *at = NULL;
    unsigned charts = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        unsigned pc, cost;
        if (sscanf(line, "%255s %u %u", name, &pc, &cost) == 3) { /* a new block */
            if (at && *at) bad++, print_error("%s: chart has extra rows\n", cur);
            free(chart);
            chart = at = NULL;
            if (strcmp(name, cur)) {
                javm_program_free(p);
                char path[512];
                snprintf(path, sizeof path, "%s/gp08/%s.json", JAVM_VECTOR_DIR, name);
                json_object *v = json_object_from_file(path), *prog = NULL;
                assert_non_null(v);
                assert_true(json_object_object_get_ex(v, "program", &prog));
                size_t len = json_object_array_length(prog);
                uint8_t *blob = malloc(len + 1);
                for (size_t i = 0; i < len; i++)
                    blob[i] = (uint8_t)json_object_get_int(json_object_array_get_idx(prog, i));
                p = load08(blob, len);
                free(blob);
                json_object_put(v);
                snprintf(cur, sizeof cur, "%s", name);
            }
            uint32_t r = jv_pvm_op_at(p, pc);
            assert_int_not_equal(r, JV_PVM_NONE);
            assert_int_not_equal(jv_pvm_gate_of(p, r), JV_PVM_NONE);
            uint64_t c = 0;
            chart = at = jv_pvm_gas08_chart(p, jv_pvm_gate_of(p, r), &c);
            assert_non_null(chart);
            if (c != cost) bad++, print_error("%s @%u: cost %llu, chart says %u\n", cur, pc,
                                              (unsigned long long)c, cost);
            charts++;
            continue;
        }
        /* a row: "    CELLS  text\n" in ours */
        size_t n = strlen(line);
        if (!at || strncmp(at, "    ", 4) || strncmp(at + 4, line, n) || strncmp(at + 4 + n, "  ", 2)) {
            bad++;
            if (bad < 20) print_error("%s: row '%s' differs from '%.*s'\n", cur, line, (int)strcspn(at ? at : "", "\n"), at ? at : "");
            at = NULL;
            continue;
        }
        at = strchr(at, '\n');
        at = at ? at + 1 : NULL;
    }
    if (at && *at) bad++;
    free(chart);
    javm_program_free(p);
    fclose(f);
    assert_int_equal(charts, 5112);
    assert_int_equal(bad, 0);
}

/* ---- worked examples (docs/GAS.md) ------------------------------------------------------- */
static void lone_instructions(void **state) {
    (void)state;
    /* a lone instruction costs its latency */
    javm_program *p = asm08("jump 0\n");
    assert_int_equal(cost_at(p, 0), 15);
    javm_program_free(p);
    p = asm08("trap\n");
    assert_int_equal(cost_at(p, 0), 2);
    javm_program_free(p);
    /* fallthrough continues into the implicit trap at |c|: a listed block of cost 2 */
    p = asm08("fallthrough\n");
    assert_int_equal(javm_program_block_count(p), 2);
    assert_int_equal(cost_at(p, 0), 2);
    assert_int_equal(cost_at(p, 1), 2);
    javm_program_free(p);
    /* ...but a trailing trap or jump does not */
    p = asm08("trap\n");
    assert_int_equal(javm_program_block_count(p), 1);
    javm_program_free(p);
}

static void chart_is(const javm_program *p, uint32_t gas_op, uint64_t cost, const char *want) {
    uint64_t c = 0;
    char *t = jv_pvm_gas08_chart(p, gas_op, &c);
    assert_non_null(t);
    assert_int_equal(c, cost);
    assert_string_equal(t, want);
    free(t);
}

static void worked_examples(void **state) {
    (void)state;
    /* a dependency chain (cost 3) */
    javm_program *p = asm08("add_64 r7, r8, r9\nadd_64 r8, r7, r9\ntrap\n");
    chart_is(p, 0, 3,
             "    DeER..  add_64 r7, r8, r9\n"
             "    D=eER.  add_64 r8, r7, r9\n"
             "    .DeeER  trap\n");
    javm_program_free(p);
    /* independent work (cost 2) */
    p = asm08("add_64 r7, r8, r9\nadd_64 r8, r8, r9\ntrap\n");
    chart_is(p, 0, 2,
             "    DeER.  add_64 r7, r8, r9\n"
             "    DeER.  add_64 r8, r8, r9\n"
             "    DeeER  trap\n");
    javm_program_free(p);
    /* move_reg is renamed in the front end (cost 3, 2 without the rename) */
    p = asm08("load_imm r5, 1\nmove_reg r7, r5\nadd_imm_64 r8, r7, 1\ntrap\n");
    chart_is(p, 0, 3,
             "    DeER..  load_imm r5, 1\n"
             "    D.....  move_reg r7, r5\n"
             "    D=eER.  add_imm_64 r8, r7, 1\n"
             "    .DeeER  trap\n");
    javm_program_free(p);
    /* one multiply unit (cost 6) */
    p = asm08("mul_64 r1, r2, r3\nmul_64 r4, r5, r6\ntrap\n");
    chart_is(p, 0, 6,
             "    DeeeER...  mul_64 r1, r2, r3\n"
             "    D===eeeER  mul_64 r4, r5, r6\n"
             "    .DeeE---R  trap\n");
    javm_program_free(p);
    /* unlikely: the branch into it costs 1, the cold block 40 */
    p = asm08("branch_eq_imm r7, 0, b\nunlikely\nload_imm r7, 1\ntrap\n"
              "b: unlikely\nload_imm r7, 2\ntrap\n");
    assert_int_equal(cost_at(p, 0), 1);
    assert_int_equal(cost_at(p, 3), 40);
    assert_int_equal(cost_at(p, 8), 40);
    javm_program_free(p);
    /* the same branch without a hint in either successor: 20 */
    p = asm08("branch_eq_imm r7, 0, b\nload_imm r7, 1\ntrap\nb: load_imm r7, 2\ntrap\n");
    assert_int_equal(cost_at(p, 0), 20);
    javm_program_free(p);
    /* an empty ROB with decode blocked advances a cycle and keeps decoding (4, not 1) */
    p = asm08("move_reg r1, r2\nmove_reg r3, r4\nshlo_r_imm_32 r5, r6, 3\n"
              "branch_gt_u_imm r5, 0, 0\n");
    assert_true(cost_at(p, 0) > 1);
    javm_program_free(p);
}

/* ---- run-time charging ------------------------------------------------------------------- */
static void charging(void **state) {
    (void)state;
    /* block 0 (add, trap): the model's cost, charged once; gas = cost is enough */
    javm_program *p = asm08("add_64 r7, r8, r9\nadd_64 r8, r7, r9\ntrap\n");
    javm_instance *vm;
    assert_int_equal(javm_instance_new(p, NULL, &vm), JAVM_OK);
    javm_gas_set(vm, 3);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(javm_gas_get(vm), 0);
    javm_instance_free(vm);
    /* out of gas: nothing charged, pc = the block start */
    assert_int_equal(javm_instance_new(p, NULL, &vm), JAVM_OK);
    javm_gas_set(vm, 2);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
    assert_int_equal(ex.pc, 0);
    assert_int_equal(javm_gas_get(vm), 2);
    javm_instance_free(vm);
    /* a default config runs in the program's model; naming another model is refused */
    javm_config cfg;
    javm_config_init(&cfg);
    assert_int_equal(javm_instance_new(p, &cfg, &vm), JAVM_OK);
    javm_instance_free(vm);
    cfg.gas_model = JAVM_GAS_GP08;
    assert_int_equal(javm_instance_new(p, &cfg, &vm), JAVM_OK);
    javm_instance_free(vm);
    javm_program_free(p);
    uint8_t *b7 = NULL;
    size_t l7 = 0;
    assert_int_equal(jv_asm_assemble("trap\n", 5, &b7, &l7), JAVM_OK);
    assert_int_equal(javm_program_load(b7, l7, &p), JAVM_OK);
    free(b7);
    assert_int_equal(javm_instance_new(p, &cfg, &vm), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "gas model"));
    javm_program_free(p);
    /* a host call resumes inside the paid block: charged once (ecalli costs 100 + ...) */
    p = asm08("ecalli 7\nadd_64 r1, r1, r1\ntrap\n");
    uint64_t c = cost_at(p, 0);
    assert_int_equal(javm_instance_new(p, NULL, &vm), JAVM_OK);
    javm_gas_set(vm, 1000);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
    assert_int_equal(javm_gas_get(vm), 1000 - (int64_t)c);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_PANIC);
    assert_int_equal(javm_gas_get(vm), 1000 - (int64_t)c);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* Every engine runs gp08 code (unlikely included) and charges the model's block costs. */
static void engines(void **state) {
    (void)state;
    javm_program *p = asm08("load_imm r1, 5\nfallthrough\nl: unlikely\nadd_imm_64 r1, r1, -1\n"
                            "branch_ne_imm r1, 0, l\nload_imm_64 r0, 0xFFFF0000\njump_ind r0, 0\n");
    uint64_t c0 = cost_at(p, 0), cl = cost_at(p, 4), ce = cost_at(p, 11);
    const javm_engine es[] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
    for (unsigned k = 0; k < 3; k++) {
        if (!javm_engine_available(es[k])) continue;
        javm_config cfg;
        javm_config_init(&cfg);
        cfg.engine = es[k];
        javm_instance *vm;
        assert_int_equal(javm_instance_new(p, &cfg, &vm), JAVM_OK);
        javm_gas_set(vm, 100000);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t r1 = 1;
        assert_int_equal(javm_reg_get(vm, 1, &r1), JAVM_OK);
        assert_int_equal(r1, 0);
        assert_int_equal(javm_gas_get(vm), 100000 - (int64_t)(c0 + 5 * cl + ce));
        javm_instance_free(vm);
    }
    javm_program_free(p);
}

/* ---- load options ------------------------------------------------------------------------ */
static void load_options(void **state) {
    (void)state;
    uint8_t *blob = NULL;
    size_t len = 0;
    /* `unlikely` only assembles in gp08; in gp07 byte 2 is an invalid opcode */
    assert_int_equal(jv_asm_assemble_isa(JAVM_ISA_GP07, "unlikely\n", 9, &blob, &len, NULL),
                     JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "does not exist in gp07"));
    assert_int_equal(jv_asm_assemble_isa(JAVM_ISA_GP08, "unlikely\ntrap\n", 14, &blob, &len,
                                         NULL),
                     JAVM_OK);
    javm_program *p = load08(blob, len);
    assert_int_equal(javm_program_isa(p), JAVM_ISA_GP08);
    assert_int_equal(javm_program_gas_model(p), JAVM_GAS_GP08);
    assert_int_equal(p->ops[1].iop, JV_I_unlikely);
    javm_program_free(p);
    assert_int_equal(javm_program_load(blob, len, &p), JAVM_OK);
    assert_int_equal(javm_program_isa(p), JAVM_ISA_GP07);
    /* byte 2 is not a GP 0.7 opcode: a trap, its own block (a fused op, PVM-G6) */
    assert_int_equal(p->ops[0].iop, JV_PVM_FUSED + JV_I_trap);
    javm_program_free(p);
    /* a size too small for the fields is refused; a NULL options pointer means the defaults */
    javm_load_options o;
    javm_load_options_init(&o);
    assert_int_equal(o.size, sizeof o);
    o.size = 2;
    assert_int_equal(javm_program_load_ex(blob, len, &o, &p), JAVM_ERR_INVALID_ARGUMENT);
    o.size = (uint32_t)sizeof o + 8; /* a newer header than the library */
    assert_int_equal(javm_program_load_ex(blob, len, &o, &p), JAVM_ERR_UNSUPPORTED);
    assert_int_equal(javm_program_load_ex(blob, len, NULL, &p), JAVM_OK);
    javm_program_free(p);
    javm_load_options_init(&o);
    o.isa = (javm_isa)9;
    assert_int_equal(javm_program_load_ex(blob, len, &o, &p), JAVM_ERR_INVALID_ARGUMENT);
    assert_int_equal(javm_program_block(NULL, 0, NULL, NULL), JAVM_ERR_INVALID_ARGUMENT);
    free(blob);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vector_block_costs), cmocka_unit_test(vector_charts),
        cmocka_unit_test(lone_instructions),
        cmocka_unit_test(worked_examples),    cmocka_unit_test(charging),
        cmocka_unit_test(load_options),       cmocka_unit_test(engines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
