/* vector: the vector library's rules (src/vector/vector.h, docs/VECTORS.md) on small texts —
 * format detection and the one model (VEC-5), exact integers named by field (VEC-6), input
 * files (VEC-7), undecodable programs (VEC-2), several runs and asserts, block costs (VEC-8). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "javm.h"
#include "vector/vector.h"

/* The program: store_imm_ind_u8 r7, 1, 2; trap (block 0 costs 2 in gp07). */
#define PROG "[0, 0, 5, 70, 23, 1, 2, 0, 17]"

static javm_status parse(const char *text, jv_vector *v) {
    return jv_vector_parse(text, strlen(text), "t.json", v);
}

/* Parsing fails and the message contains want. */
static void refused(const char *text, const char *want) {
    jv_vector v;
    javm_status s = parse(text, &v);
    if (s == JAVM_OK || !strstr(javm_last_error(), want)) {
        print_error("text: %s\nstatus %s, message '%s', wanted '%s'\n", text, javm_status_str(s),
                    javm_last_error(), want);
        fail();
    }
}

static int check(const char *text, const javm_load_options *lo) {
    jv_vector v;
    assert_int_equal(parse(text, &v), JAVM_OK);
    int d = -1;
    assert_int_equal(jv_vector_check(&v, lo, NULL, NULL, NULL, &d), JAVM_OK);
    jv_vector_free(&v);
    return d;
}

static void formats_are_one_model(void **state) {
    (void)state;
    static const char *const texts[] = {
        /* v0.4 */
        "{\"program\": " PROG ", \"initial-gas\": 100, \"initial-regs\": [0,0,0,0,0,0,0,131072,0,0,0,0,0],"
        " \"initial-page-map\": [{\"address\": 131072, \"length\": 4096, \"is-writable\": true}],"
        " \"expected-status\": \"panic\", \"expected-pc\": 4, \"expected-gas\": 98,"
        " \"expected-regs\": [0,0,0,0,0,0,0,131072,0,0,0,0,0],"
        " \"expected-memory\": [{\"address\": 131073, \"contents\": [2]}]}",
        /* steps */
        "{\"program\": " PROG ", \"initial-gas\": 100, \"steps\": ["
        " {\"kind\": \"set-reg\", \"reg\": 7, \"value\": 131072},"
        " {\"kind\": \"map\", \"address\": 131072, \"length\": 4096, \"is_writable\": true},"
        " {\"kind\": \"run\"}, {\"kind\": \"assert\", \"status\": \"panic\", \"pc\": 4, \"gas\": 98,"
        " \"regs\": [0,0,0,0,0,0,0,131072,0,0,0,0,0], \"memory\": [{\"address\": 131073, \"contents\": [2]}]}],"
        " \"block-gas-costs\": {\"0\": 2}}",
        /* v0.5 */
        "{\"program\": " PROG ", \"initial-gas\": 100, \"steps\": ["
        " {\"set-reg\": {\"reg\": 7, \"value\": 131072}},"
        " {\"map\": {\"address\": 131072, \"length\": 4096, \"is-writable\": true}},"
        " {\"run\": {}}, {\"assert\": {\"status\": \"panic\", \"pc\": 4, \"gas\": 98,"
        " \"regs\": [0,0,0,0,0,0,0,131072,0,0,0,0,0], \"memory\": [{\"address\": 131073, \"contents\": [2]}]}}],"
        " \"block-gas-costs\": [{\"pc\": 0, \"cost\": 2}]}",
    };
    static const jv_vec_format formats[] = {JV_VEC_V04, JV_VEC_STEPS, JV_VEC_V05};
    for (int i = 0; i < 3; i++) {
        jv_vector v;
        assert_int_equal(parse(texts[i], &v), JAVM_OK);
        assert_int_equal(v.format, formats[i]);
        assert_int_equal(v.n_asserts, 1);
        assert_int_equal(v.n_block_costs, i ? 1 : 0);
        jv_vector_free(&v);
        assert_int_equal(check(texts[i], NULL), 0);
    }
    /* a wrong block cost and a pc where no block starts are differences (VEC-8) */
    char *bad = strdup(texts[2]);
    char *at = strstr(bad, "\"cost\": 2");
    at[8] = '3';
    assert_int_equal(check(bad, NULL), 1);
    free(bad);
    assert_int_equal(check("{\"program\": " PROG ", \"block-gas-costs\": {\"4\": 1, \"0\": 2}}", NULL), 1);
    /* an initial state only: no assert, nothing to differ */
    assert_int_equal(check("{\"program\": " PROG "}", NULL), 0);
    /* an assert before any run is a difference */
    assert_int_equal(check("{\"program\": " PROG ", \"steps\": [{\"kind\": \"assert\", \"status\": \"panic\","
                           " \"pc\": 0, \"gas\": 0, \"regs\": [0,0,0,0,0,0,0,0,0,0,0,0,0], \"memory\": []}]}",
                           NULL),
                     1);
}

static void several_runs_resume(void **state) {
    (void)state;
    /* page fault, map, the run resumes at the store without paying the block again */
    const char *t =
        "{\"program\": " PROG ", \"initial-gas\": 100, \"steps\": ["
        " {\"kind\": \"set-reg\", \"reg\": 7, \"value\": 131072}, {\"kind\": \"run\"},"
        " {\"kind\": \"assert\", \"status\": \"page-fault\", \"pc\": 0, \"gas\": 98,"
        "  \"regs\": [0,0,0,0,0,0,0,131072,0,0,0,0,0], \"memory\": [], \"page_fault_address\": 131072},"
        " {\"kind\": \"run\"},"
        " {\"kind\": \"assert\", \"status\": \"page-fault\", \"pc\": 0, \"gas\": 98,"
        "  \"regs\": [0,0,0,0,0,0,0,131072,0,0,0,0,0], \"memory\": [], \"page_fault_address\": 131072},"
        " {\"kind\": \"map\", \"address\": 131072, \"length\": 4096, \"is_writable\": true},"
        " {\"kind\": \"write\", \"address\": 131072, \"contents\": [9]}, {\"kind\": \"run\"},"
        " {\"kind\": \"assert\", \"status\": \"panic\", \"pc\": 4, \"gas\": 98,"
        "  \"regs\": [0,0,0,0,0,0,0,131072,0,0,0,0,0], \"memory\": [{\"address\": 131072, \"contents\": [9, 2]}]}]}";
    for (int e = JAVM_ENGINE_SOFT; e <= JAVM_ENGINE_JIT; e++) {
        if (!javm_engine_available((javm_engine)e)) continue;
        jv_vector v;
        assert_int_equal(parse(t, &v), JAVM_OK);
        assert_int_equal(v.n_asserts, 3);
        javm_config cfg;
        javm_config_init(&cfg);
        cfg.engine = (javm_engine)e;
        int d = -1;
        assert_int_equal(jv_vector_check(&v, NULL, &cfg, NULL, NULL, &d), JAVM_OK);
        assert_int_equal(d, 0);
        jv_vector_free(&v);
    }
}

static void undecodable_program(void **state) {
    (void)state;
    /* VEC-2: every run panics at the initial pc; the state the steps set is compared */
    const char *t =
        "{\"program\": [0, 0, 5, 1], \"initial-pc\": 7, \"initial-gas\": 5, \"steps\": ["
        " {\"kind\": \"map\", \"address\": 131072, \"length\": 4096, \"is_writable\": false},"
        " {\"kind\": \"write\", \"address\": 131072, \"contents\": [1, 0, 3]},"
        " {\"kind\": \"set-reg\", \"reg\": 12, \"value\": 18446744073709551615}, {\"kind\": \"run\"}, {\"kind\": \"run\"},"
        " {\"kind\": \"assert\", \"status\": \"panic\", \"pc\": 7, \"gas\": 5,"
        "  \"regs\": [0,0,0,0,0,0,0,0,0,0,0,0,18446744073709551615],"
        "  \"memory\": [{\"address\": 131072, \"contents\": [1]}, {\"address\": 131074, \"contents\": [3]}]}],"
        " \"block-gas-costs\": {\"0\": 1}}";
    jv_vector v;
    assert_int_equal(parse(t, &v), JAVM_OK);
    jv_vec_session s;
    assert_int_equal(jv_vec_session_start(&s, &v, NULL, NULL), JAVM_OK);
    assert_true(s.unloadable);
    assert_non_null(strstr(s.load_error, "program"));
    jv_vec_session_end(&s);
    int d = -1;
    FILE *out = tmpfile();
    assert_int_equal(jv_vector_check(&v, NULL, NULL, out, "", &d), JAVM_OK);
    assert_int_equal(d, 1); /* only the block costs: they cannot be compared */
    char line[512] = "";
    rewind(out);
    assert_non_null(fgets(line, sizeof line, out));
    assert_non_null(strstr(line, "block-gas-costs: the program does not decode"));
    fclose(out);
    jv_vector_free(&v);
    /* an unaligned map is refused as for any program */
    assert_int_equal(parse("{\"program\": [0, 0, 5, 1], \"initial-page-map\": [{\"address\": 131073,"
                           " \"length\": 4096, \"is-writable\": true}]}",
                           &v),
                     JAVM_OK);
    assert_int_not_equal(jv_vector_check(&v, NULL, NULL, NULL, NULL, &d), JAVM_OK);
    assert_non_null(strstr(javm_last_error(), "initial-page-map[0]"));
    jv_vector_free(&v);
}

static void exact_integers_named(void **state) {
    (void)state;
    refused("{\"program\": [], \"initial-regs\": [0,0,0,18446744073709551616,0,0,0,0,0,0,0,0,0]}",
            "t.json: initial-regs[3]: 18446744073709551616 is out of the 64-bit integer range");
    refused("{\"program\": [], \"initial-gas\": -9223372036854775809}",
            "initial-gas: -9223372036854775809 is out of the 64-bit integer range");
    refused("{\"program\": [], \"steps\": [{\"kind\": \"run\"}, {\"set-reg\": {\"reg\": 1, "
            "\"value\": 18446744073709551616}}]}",
            "steps[1].set-reg.value: 18446744073709551616 is out of the 64-bit integer range");
    refused("{\"name\": \"99999999999999999999999\", \"program\": [], \"steps\": [{\"kind\": \"set-reg\","
            " \"reg\": 2, \"value\": 99999999999999999999999}]}",
            "steps[0].value: 99999999999999999999999 is out of the 64-bit integer range");
    refused("{\"program\": [], \"initial-gas\": 1e30}", "initial-gas: not an integer");
    refused("{\"program\": [256]}", "program[0]: 256 exceeds 255");
    refused("{\"program\": [], \"steps\": [{\"kind\": \"set-reg\", \"reg\": 13, \"value\": 0}]}",
            "steps[0] (set-reg).reg: 13 exceeds 12");
    refused("{\"program\": [], \"block-gas-costs\": {\"01\": 2}}", "is not a pc");
    refused("{\"program\": [], \"block-gas-costs\": {\"4294967296\": 2}}", "is not a pc");
    /* the largest values are fine */
    jv_vector v;
    assert_int_equal(parse("{\"program\": [], \"initial-gas\": -9223372036854775808, \"initial-regs\":"
                           " [18446744073709551615,0,0,0,0,0,0,0,0,0,0,0,0]}",
                           &v),
                     JAVM_OK);
    assert_true(v.initial_gas == INT64_MIN);
    assert_true(v.steps[0].value == UINT64_MAX);
    jv_vector_free(&v);
}

static void structure_errors(void **state) {
    (void)state;
    refused("", "the file is empty");
    refused("{\"program\": [", "unexpected end of file");
    refused("[{\"program\": []}]", "the top level is a JSON array; a vector is one JSON object per file");
    refused("\"x\"", "the top level is not a JSON object");
    refused("{\"program\": []} {}", "trailing data");
    refused("{\"program\": [], /* c */ \"initial-pc\": 1}", "invalid JSON");
    refused("{\"initial-pc\": 0}", "program: missing");
    refused("{\"program\": [], \"expected-status\": \"panic\"}", "expected-regs: missing");
    refused("{\"program\": [], \"expected-status\": \"page-fault\", \"expected-regs\": [0,0,0,0,0,0,0,0,0,0,0,0,0],"
            " \"expected-pc\": 0, \"expected-gas\": 0, \"expected-memory\": []}",
            "expected-page-fault-address: missing for a page-fault status");
    refused("{\"program\": [], \"initial_regz\": []}", "top level: unknown field 'initial_regz'");
    refused("{\"program\": [], \"steps\": [{\"kind\": \"jump\"}]}", "unknown step kind 'jump'");
    refused("{\"program\": [], \"steps\": [{\"run\": {}, \"map\": {}}]}", "exactly one field");
    refused("{\"program\": [], \"steps\": [{\"kind\": \"map\", \"address\": 0, \"length\": 4096, \"writable\": true}]}",
            "steps[0] (map): unknown field 'writable'");
    refused("{\"program\": [], \"steps\": [{\"kind\": \"write\", \"address\": 4294967295, \"contents\": [1, 2]}]}",
            "runs past the end of the 32-bit address space");
    refused("{\"program\": [], \"steps\": [{\"assert\": {\"status\": \"exploded\"}}]}", "unknown status 'exploded'");
    /* a byte-order mark is ignored */
    jv_vector v;
    assert_int_equal(parse("\xef\xbb\xbf{\"program\": []}", &v), JAVM_OK);
    jv_vector_free(&v);
}

static void json_or_blob(void **state) {
    (void)state;
    const uint8_t obj[] = "  {\"program\": []}", arr[] = "[1]", bom[] = "\xef\xbb\xbf{";
    const uint8_t blob123[] = {'{', 1, 0}, blob91[] = {'[', 0}, raw[] = {0, 0, 1, 0, 1};
    assert_true(jv_vec_is_json(obj, sizeof obj - 1));
    assert_true(jv_vec_is_json(arr, sizeof arr - 1));
    assert_true(jv_vec_is_json(bom, sizeof bom - 1));
    assert_false(jv_vec_is_json(blob123, sizeof blob123));
    assert_false(jv_vec_is_json(blob91, sizeof blob91));
    assert_false(jv_vec_is_json(raw, sizeof raw));
    assert_false(jv_vec_is_json(raw, 0));
}

static void input_files(void **state) {
    (void)state;
    uint8_t *b;
    size_t n;
    assert_int_equal(jv_vec_read_input("/dev/zero", &b, &n), JAVM_ERR_INVALID_ARGUMENT);
    assert_null(b);
    assert_non_null(strstr(javm_last_error(), "/dev/zero: not a regular file"));
    assert_int_equal(jv_vec_read_input("/nonexistent/x.json", &b, &n), JAVM_ERR_OS);
    assert_non_null(strstr(javm_last_error(), "cannot open"));
    char dir[] = "/tmp/javm-vecXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], fifo[64];
    snprintf(path, sizeof path, "%s/big", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)JV_VEC_MAX_INPUT + 1), 0); /* sparse: no disk used */
    close(fd);
    assert_int_equal(jv_vec_read_input(path, &b, &n), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "134217729 bytes is larger than the 134217728-byte input limit"));
    assert_int_equal(truncate(path, 5), 0);
    assert_int_equal(jv_vec_read_input(path, &b, &n), JAVM_OK);
    assert_int_equal(n, 5);
    assert_int_equal(b[5], 0); /* NUL after the data */
    free(b);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* refused at once: opening it does not wait for a writer */
    assert_int_equal(jv_vec_read_input(fifo, &b, &n), JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "fifo: not a regular file"));
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_are_one_model), cmocka_unit_test(several_runs_resume),
        cmocka_unit_test(undecodable_program),   cmocka_unit_test(exact_integers_named),
        cmocka_unit_test(structure_errors),      cmocka_unit_test(json_or_blob),
        cmocka_unit_test(input_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
