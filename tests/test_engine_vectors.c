/* engine: the 307 conformance vectors through the public API on the soft and the paged engine
 * (expected values checked), and with #3 accounting on (both engines run, compared with each
 * other completely: registers, gas, pc, memory, page states, statistics). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "engine/engine.h"
#include "engine_diff.h"
#include "regs.h"

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return v;
}

/* Builds and runs the vector on an instance of the given configuration. */
static javm_instance *run_vector(json_object *v, const javm_config *cfg, javm_program **prog,
                                 javm_exit_info *ex) {
    json_object *code = get(v, "program");
    size_t n = json_object_array_length(code);
    uint8_t *blob = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        blob[i] = (uint8_t)json_object_get_int(json_object_array_get_idx(code, i));
    javm_status s = javm_program_load(blob, n, prog);
    free(blob);
    if (s != JAVM_OK) return NULL;
    javm_instance *vm = NULL;
    if (javm_instance_new(*prog, cfg, &vm) != JAVM_OK) return NULL;
    json_object *regs = get(v, "initial-regs");
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++)
        javm_reg_set(vm, i, json_object_get_uint64(json_object_array_get_idx(regs, i)));
    json_object *pm = get(v, "initial-page-map");
    for (size_t i = 0; i < json_object_array_length(pm); i++) {
        json_object *e = json_object_array_get_idx(pm, i);
        javm_map(vm, (uint32_t)json_object_get_uint64(get(e, "address")),
                 json_object_get_uint64(get(e, "length")),
                 json_object_get_boolean(get(e, "is-writable")) ? JAVM_ACCESS_RW : JAVM_ACCESS_RO,
                 NULL, 0);
    }
    json_object *mem = get(v, "initial-memory");
    for (size_t i = 0; i < json_object_array_length(mem); i++) {
        json_object *e = json_object_array_get_idx(mem, i);
        json_object *c = get(e, "contents");
        size_t cn = json_object_array_length(c);
        uint8_t *buf = malloc(cn ? cn : 1);
        for (size_t k = 0; k < cn; k++)
            buf[k] = (uint8_t)json_object_get_int(json_object_array_get_idx(c, k));
        javm_mem_write(vm, (uint32_t)json_object_get_uint64(get(e, "address")), buf, cn);
        free(buf);
    }
    javm_gas_set(vm, (int64_t)json_object_get_uint64(get(v, "initial-gas")));
    javm_pc_set(vm, (uint32_t)json_object_get_uint64(get(v, "initial-pc")));
    if (javm_run(vm, ex) != JAVM_OK) {
        javm_instance_free(vm);
        return NULL;
    }
    return vm;
}

static int vector_check(json_object *v, javm_instance *vm, const javm_exit_info *ex,
                          char *why, size_t n) {
    const char *st = json_object_get_string(get(v, "expected-status"));
    if (strcmp(st, javm_exit_str(ex->kind))) {
        snprintf(why, n, "status %s, expected %s", javm_exit_str(ex->kind), st);
        return 1;
    }
    if (ex->pc != (uint32_t)json_object_get_uint64(get(v, "expected-pc"))) {
        snprintf(why, n, "pc %u", ex->pc);
        return 1;
    }
    if (javm_gas_get(vm) != (int64_t)json_object_get_uint64(get(v, "expected-gas"))) {
        snprintf(why, n, "gas %lld", (long long)javm_gas_get(vm));
        return 1;
    }
    json_object *regs = get(v, "expected-regs");
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++)
        if (test_reg(vm, i) != json_object_get_uint64(json_object_array_get_idx(regs, i))) {
            snprintf(why, n, "r%u", i);
            return 1;
        }
    json_object *fa = get(v, "expected-page-fault-address");
    if (fa && ex->kind == JAVM_EXIT_PAGE_FAULT && ex->arg != json_object_get_uint64(fa)) {
        snprintf(why, n, "fault address 0x%llx", (unsigned long long)ex->arg);
        return 1;
    }
    json_object *mem = get(v, "expected-memory");
    for (size_t i = 0; i < json_object_array_length(mem); i++) {
        json_object *e = json_object_array_get_idx(mem, i);
        json_object *c = get(e, "contents");
        uint32_t a = (uint32_t)json_object_get_uint64(get(e, "address"));
        for (size_t k = 0; k < json_object_array_length(c); k++) {
            uint8_t b = 0;
            if (javm_mem_read(vm, a + (uint32_t)k, &b, 1) != JAVM_OK ||
                b != (uint8_t)json_object_get_int(json_object_array_get_idx(c, k))) {
                snprintf(why, n, "memory at 0x%x", a + (uint32_t)k);
                return 1;
            }
        }
    }
    return 0;
}

static void all_vectors_both_engines(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/gp07", JAVM_VECTOR_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d); /* the vectors are part of the repository */
    struct dirent *de;
    int count = 0, failures = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        json_object *v = json_object_from_file(path);
        assert_non_null(v);
        count++;
        javm_instance *vm[4];
        javm_program *prog[4];
        javm_exit_info ex[4];
        for (int k = 0; k < 4; k++) {
            ex[k] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
            javm_config cfg;
            javm_config_init(&cfg);
            cfg.engine = (k & 1) ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT;
            cfg.mat = k >= 2;
            vm[k] = run_vector(v, &cfg, &prog[k], &ex[k]);
            if (!vm[k]) {
                print_error("%s: engine %d did not run: %s\n", de->d_name, k, javm_last_error());
                failures++;
            }
        }
        char why[256];
        for (int k = 0; k < 2; k++)
            if (vm[k] && vector_check(v, vm[k], &ex[k], why, sizeof why)) {
                print_error("%s (%s): %s\n", de->d_name, k ? "paged" : "soft", why);
                failures++;
            }
        for (int k = 0; k < 4; k += 2) {
            if (!vm[k] || !vm[k + 1]) continue;
            if (ex[k].kind != ex[k + 1].kind || ex[k].pc != ex[k + 1].pc ||
                ex[k].arg != ex[k + 1].arg) {
                print_error("%s (mat %d): exits differ\n", de->d_name, k >= 2);
                failures++;
            } else if (jv_diff_instances(vm[k], vm[k + 1], why, sizeof why)) {
                print_error("%s (mat %d): soft vs paged: %s\n", de->d_name, k >= 2, why);
                failures++;
            }
        }
        for (int k = 0; k < 4; k++) {
            if (vm[k]) javm_instance_free(vm[k]);
            if (vm[k]) javm_program_free(prog[k]);
        }
        json_object_put(v);
    }
    closedir(d);
    assert_int_equal(count, 307);
    assert_int_equal(failures, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_vectors_both_engines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
