/* The instance pool (API-4, MEM-9, MEM-10): an instance that reuses a pooled space behaves
 * byte for byte like a fresh one — exit, pc, registers, gas, statistics, and every mapped
 * page's access and bytes — on every engine, after guests that wrote data, heap, stack and
 * read the arguments, with arguments of the same, a shorter, a longer and a different page
 * count, with category-#3 gas on; a latent layout reads as nothing mapped; a space the host
 * changed is not pooled; program free releases its spaces; many threads share the pool. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_helpers.h"
#include "api/api.h"
#include "fault/fault.h"
#include "javm.h"
#include "pvm/asm.h"

#define ZP 4096u

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* ro / rw data bytes, heap pages, stack bytes; data bytes are non-zero patterns. */
static javm_program *load(const char *src, uint32_t ro, uint32_t rw, uint32_t heap, uint32_t stack) {
    uint8_t *code = NULL;
    size_t code_len = 0;
    if (jv_asm_assemble(src, strlen(src), &code, &code_len) != JAVM_OK) fail_msg("%s", javm_last_error());
    size_t n = 11 + (size_t)ro + rw + 4 + code_len;
    uint8_t *c = malloc(n);
    assert_non_null(c);
    put_le(c, ro, 3);
    put_le(c + 3, rw, 3);
    put_le(c + 6, heap, 2);
    put_le(c + 8, stack, 3);
    for (uint32_t i = 0; i < ro + rw; i++) c[11 + i] = (uint8_t)(i * 7 + 3) | 1;
    put_le(c + 11 + ro + rw, code_len, 4);
    memcpy(c + 15 + ro + rw, code, code_len);
    free(code);
    javm_program *p = NULL;
    if (javm_program_load_standard(c, n, &p) != JAVM_OK) fail_msg("%s", javm_last_error());
    free(c);
    return p;
}

/* Everything observable about an instance after a run. */
typedef struct outcome {
    javm_exit_info ex;
    uint64_t regs[JAVM_NUM_REGS];
    int64_t gas;
    uint32_t pc;
    javm_stats stats;
    size_t npages;
    uint32_t page[64];
    javm_access access[64];
    uint8_t bytes[64][ZP];
} outcome;

static void observe(javm_instance *vm, const javm_exit_info *ex, outcome *o) {
    memset(o, 0, sizeof *o);
    o->ex = *ex;
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) assert_int_equal(javm_reg_get(vm, i, &o->regs[i]), JAVM_OK);
    o->gas = javm_gas_get(vm);
    o->pc = javm_pc_get(vm);
    javm_stats_init(&o->stats);
    assert_int_equal(javm_stats_get(vm, &o->stats), JAVM_OK);
    uint32_t pg;
    for (uint64_t from = 0; from < (1ull << 32) && jv_api_next_mapped(vm, from, &pg); from = (uint64_t)pg + ZP) {
        assert_true(o->npages < 64);
        o->page[o->npages] = pg;
        o->access[o->npages] = javm_page_access(vm, pg);
        assert_int_equal(javm_mem_read(vm, pg, o->bytes[o->npages], ZP), JAVM_OK);
        o->npages++;
    }
}

static void assert_same(const outcome *a, const outcome *b) {
    assert_int_equal(a->ex.kind, b->ex.kind);
    assert_int_equal(a->ex.pc, b->ex.pc);
    assert_int_equal(a->ex.arg, b->ex.arg);
    assert_memory_equal(a->regs, b->regs, sizeof a->regs);
    assert_int_equal(a->gas, b->gas);
    assert_int_equal(a->pc, b->pc);
    assert_int_equal(a->stats.instructions, b->stats.instructions);
    assert_int_equal(a->stats.first_touch_faults, b->stats.first_touch_faults);
    assert_int_equal(a->stats.cow_pages, b->stats.cow_pages);
    assert_int_equal(a->stats.ro_units, b->stats.ro_units);
    assert_int_equal(a->stats.mat_gas, b->stats.mat_gas);
    assert_int_equal(a->npages, b->npages);
    for (size_t i = 0; i < a->npages; i++) {
        assert_int_equal(a->page[i], b->page[i]);
        assert_int_equal(a->access[i], b->access[i]);
        assert_memory_equal(a->bytes[i], b->bytes[i], ZP);
    }
}

/* A run on an instance of p from init_standard(args), observed, then freed. */
static void run_once(const javm_program *p, javm_engine e, int mat, const uint8_t *args,
                     size_t args_len, outcome *o) {
    javm_instance *vm = test_instance(p, e, mat);
    assert_int_equal(javm_instance_init_standard(vm, args, args_len), JAVM_OK);
    javm_gas_set(vm, 100000);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    if (ex.kind != JAVM_EXIT_HALT) fail_msg("the guest did not halt: %s at pc %u", javm_exit_str(ex.kind), ex.pc);
    observe(vm, &ex, o);
    javm_instance_free(vm);
}

/* The guest: reads the first 8 argument bytes and the arguments' last byte (r8 = length),
 * read-only data, read-modify-writes the read-write data, writes the heap's last page and the
 * stack below r1; with SBRK also grows the heap by a page and writes it. The rw base is passed
 * in r5 by the .equ. */
static const char *guest_src(char *buf, size_t n, uint64_t rw_base, uint64_t heap_last, int sbrk) {
    snprintf(buf, n,
             "  load_ind_u64 r2, r7, 0\n"
             "  add_64 r9, r7, r8\n"
             "  load_ind_u8 r3, r9, -1\n"
             "  load_u64 r4, 0x10000\n"
             "  load_imm_64 r5, 0x%llx\n"
             "  load_ind_u64 r6, r5, 8\n"
             "  add_64 r6, r6, r2\n"
             "  store_ind_u64 r6, r5, 8\n"
             "  load_imm_64 r10, 0x%llx\n"
             "  store_ind_u64 r3, r10, 16\n"
             "  store_ind_u64 r4, r1, -8\n"
             "%s"
             "  jump_ind r0, 0\n",
             (unsigned long long)rw_base, (unsigned long long)heap_last,
             sbrk ? "  load_imm r11, 4096\n  sbrk r12, r11\n  store_ind_u32 r2, r12, 4\n" : "");
    return buf;
}

static javm_program *guest(int sbrk) {
    char src[1024];
    jv_pvm_layout l = jv_pvm_std_layout(5000, 9000, 3, 8192);
    guest_src(src, sizeof src, l.rw_base, l.rw_base + l.rw_size - ZP, sbrk);
    return load(src, 5000, 9000, 3, 8192);
}

static const javm_engine engines[] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};

/* For each engine, with #3 gas off and on: the first instance runs with args a and is freed
 * (pooled: the pool holds one entry), the second reuses it (the pool is empty again) with args
 * b; its outcome equals a fresh instance's with args b (pool off). */
static void check_reuse(const javm_program *p, const uint8_t *a, size_t alen, const uint8_t *b,
                        size_t blen, int pooled_expected) {
    static outcome fresh, reused, first;
    for (unsigned k = 0; k < sizeof engines / sizeof engines[0]; k++) {
        if (!javm_engine_available(engines[k])) continue;
        for (int mat = 0; mat < 2; mat++) {
            jv_api_pool_set_capacity(0);
            run_once(p, engines[k], mat, b, blen, &fresh);
            jv_api_pool_set_capacity(JAVM_INSTANCE_POOL_SIZE);
            run_once(p, engines[k], mat, a, alen, &first);
            assert_int_equal(jv_api_pool_count(), pooled_expected ? 1 : 0);
            run_once(p, engines[k], mat, b, blen, &reused);
            assert_same(&fresh, &reused);
        }
    }
    jv_api_pool_set_capacity(JAVM_INSTANCE_POOL_SIZE);
}

static uint8_t args_a[300], args_b[300], args_big[3 * ZP];

static void reused_equals_fresh(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    javm_program *p = guest(0);
    check_reuse(p, args_a, 16, args_b, 16, 1);        /* same length, other bytes */
    check_reuse(p, args_a, 16, args_a, 16, 1);        /* the same bytes (nothing rewritten) */
    check_reuse(p, args_a, 200, args_b, 9, 1);        /* shorter: the old tail reads zero */
    check_reuse(p, args_a, 9, args_b, 250, 1);        /* longer, same page */
    check_reuse(p, args_a, 300, args_b, 280, 1);      /* past what the pool remembers */
    check_reuse(p, args_a, 16, args_big, sizeof args_big, 1); /* another page count */
    check_reuse(p, args_big, sizeof args_big, args_b, 1, 1);
    javm_program_free(p);
    assert_int_equal(jv_api_pool_count(), 0); /* program free releases its spaces */
}

/* A guest that grows the heap with sbrk changed the layout: its space is not pooled, and the
 * next instance is fresh and still correct. */
static void sbrk_is_not_pooled(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    javm_program *p = guest(1);
    check_reuse(p, args_a, 16, args_b, 16, 0);
    javm_program_free(p);
}

/* Host changes after the layout (a write, a map) keep the space out of the pool; a reset does
 * not (it restores the guest's writes). */
static void host_changes_are_not_pooled(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    javm_program *p = guest(0);
    for (int how = 0; how < 3; how++) {
        javm_instance *vm = test_instance(p, JAVM_ENGINE_SOFT, 0);
        assert_int_equal(javm_instance_init_standard(vm, args_a, 8), JAVM_OK);
        javm_gas_set(vm, 1000);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        if (how == 0) assert_int_equal(javm_mem_write(vm, 0x10000, "x", 1), JAVM_OK);
        if (how == 1) assert_int_equal(javm_map(vm, 0x40000000, ZP, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
        if (how == 2) assert_int_equal(javm_instance_reset(vm, NULL), JAVM_OK);
        javm_instance_free(vm);
        assert_int_equal(jv_api_pool_count(), how == 2 ? 1 : 0);
    }
    javm_program_free(p);
    assert_int_equal(jv_api_pool_count(), 0);
}

/* An instance that took a pooled space starts, as the API says, with nothing mapped: until
 * init_standard it reads so, and a raw use of it (map + run) matches a fresh instance. */
static void latent_layout_is_invisible(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    javm_program *p = guest(0);
    static outcome fresh, reused;
    for (unsigned k = 0; k < sizeof engines / sizeof engines[0]; k++) {
        if (!javm_engine_available(engines[k])) continue;
        for (int pooled = 0; pooled < 2; pooled++) {
            jv_api_pool_set_capacity(pooled ? JAVM_INSTANCE_POOL_SIZE : 0);
            if (pooled) { /* leave a space of p in the pool */
                outcome o;
                run_once(p, engines[k], 0, args_a, 8, &o);
                assert_int_equal(jv_api_pool_count(), 1);
            }
            javm_instance *vm = test_instance(p, engines[k], 0);
            assert_int_equal(jv_api_pool_count(), 0);
            uint32_t pg;
            assert_false(jv_api_next_mapped(vm, 0, &pg));
            assert_int_equal(javm_page_access(vm, 0x10000), JAVM_ACCESS_NONE);
            uint8_t b;
            assert_int_equal(javm_mem_read(vm, 0x10000, &b, 1), JAVM_ERR_NOT_MAPPED);
            assert_int_equal(javm_map(vm, 0x20000, ZP, JAVM_ACCESS_RW, "\x05", 1), JAVM_OK);
            /* r5 = rw_base of the layout: unmapped now, so the guest page-faults there */
            javm_gas_set(vm, 1000);
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_run(vm, &ex), JAVM_OK);
            observe(vm, &ex, pooled ? &reused : &fresh);
            javm_instance_free(vm);
            assert_int_equal(jv_api_pool_count(), 0); /* no longer the layout: not pooled */
        }
        assert_same(&fresh, &reused);
    }
    jv_api_pool_set_capacity(JAVM_INSTANCE_POOL_SIZE);
    javm_program_free(p);
}

/* The pool is bounded and shared by threads: 4 threads x 300 instances of two programs, each
 * result checked against the fresh one. */
typedef struct worker {
    javm_program *p[2];
    outcome *want[2];
    int bad;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    outcome *o = malloc(sizeof *o);
    for (int i = 0; i < 300 && o; i++) {
        int k = i & 1;
        javm_config c;
        javm_config_init(&c);
        javm_instance *vm = NULL;
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        if (javm_instance_new(w->p[k], &c, &vm) || javm_instance_init_standard(vm, args_b, 16) ||
            (javm_gas_set(vm, 100000), javm_run(vm, &ex))) {
            w->bad = 1;
            break;
        }
        memset(o, 0, sizeof *o);
        o->ex = ex;
        for (unsigned r = 0; r < JAVM_NUM_REGS; r++) javm_reg_get(vm, r, &o->regs[r]);
        if (memcmp(o->regs, w->want[k]->regs, sizeof o->regs) || javm_gas_get(vm) != w->want[k]->gas)
            w->bad = 1;
        javm_instance_free(vm);
    }
    free(o);
    return NULL;
}

static void threads_share_the_pool(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    static outcome want[2];
    worker w = {{guest(0), guest(0)}, {&want[0], &want[1]}, 0};
    for (int k = 0; k < 2; k++) {
        jv_api_pool_set_capacity(0);
        run_once(w.p[k], JAVM_ENGINE_SOFT, 0, args_b, 16, &want[k]);
        jv_api_pool_set_capacity(JAVM_INSTANCE_POOL_SIZE);
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, work, &w), 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    assert_false(w.bad);
    assert_true(jv_api_pool_count() <= JAVM_INSTANCE_POOL_SIZE);
    javm_program_free(w.p[0]);
    javm_program_free(w.p[1]);
    assert_int_equal(jv_api_pool_count(), 0);
}

/* Bounded: freeing more instances than the pool holds keeps JAVM_INSTANCE_POOL_SIZE. */
static void pool_is_bounded(void **st) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    javm_program *p = guest(0);
    javm_instance *vm[JAVM_INSTANCE_POOL_SIZE + 4];
    for (unsigned i = 0; i < JAVM_INSTANCE_POOL_SIZE + 4; i++) {
        vm[i] = test_instance(p, JAVM_ENGINE_SOFT, 0);
        assert_int_equal(javm_instance_init_standard(vm[i], NULL, 0), JAVM_OK);
    }
    for (unsigned i = 0; i < JAVM_INSTANCE_POOL_SIZE + 4; i++) javm_instance_free(vm[i]);
    assert_int_equal(jv_api_pool_count(), JAVM_INSTANCE_POOL_SIZE);
    javm_program_free(p);
    assert_int_equal(jv_api_pool_count(), 0);
}

int main(void) {
    for (unsigned i = 0; i < sizeof args_a; i++) args_a[i] = (uint8_t)(i * 3 + 1);
    for (unsigned i = 0; i < sizeof args_b; i++) args_b[i] = (uint8_t)(i * 5 + 2);
    for (unsigned i = 0; i < sizeof args_big; i++) args_big[i] = (uint8_t)(i * 11 + 9) | 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reused_equals_fresh),
        cmocka_unit_test(sbrk_is_not_pooled),
        cmocka_unit_test(host_changes_are_not_pooled),
        cmocka_unit_test(latent_layout_is_invisible),
        cmocka_unit_test(threads_share_the_pool),
        cmocka_unit_test(pool_is_bounded),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
