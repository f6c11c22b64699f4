/* Standard-container instances (docs/PROGRAM.md §3): javm_instance_init_standard lays out
 * exactly the spec's memory and registers on both engines, now that the read-only and
 * read-write data come from the program's shared copy-on-write images instead of copies:
 *   - the §3.7 worked example, page by page and byte by byte, on both engines;
 *   - a set of layout shapes (empty sections, page- and zone-sized sections, zero heap/stack)
 *     checked against the §3.4 formulas, with the two engines compared page by page;
 *   - guest writes and host writes stay private to their instance (other instances and later
 *     instances of the same program see the container's bytes), also from many threads;
 *   - javm_instance_reset gives the data sections (and heap and stack) their initial bytes back. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "engine/engine.h"
#include "javm.h"
#include "regs.h"
#include "pvm/asm.h"

#define ZP 4096u
#define ZZ 65536u
static uint64_t pg(uint64_t x) { return (x + ZP - 1) / ZP * ZP; }
static uint64_t zn(uint64_t x) { return (x + ZZ - 1) / ZZ * ZZ; }

static uint8_t ro_byte(uint64_t i) { return (uint8_t)(i * 7 + 1) | 1; }
static uint8_t rw_byte(uint64_t i) { return (uint8_t)(i * 13 + 5) | 2; }
static uint8_t arg_byte(uint64_t i) { return (uint8_t)(i + 1) | 4; }

typedef struct shape {
    uint32_t o, w, z, s, a;
} shape;

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The container for shape sh with the given code blob (a deblob blob). */
static uint8_t *container(const shape *sh, const uint8_t *code, size_t code_len, size_t *len) {
    size_t n = 11 + (size_t)sh->o + sh->w + 4 + code_len;
    uint8_t *c = malloc(n);
    assert_non_null(c);
    put_le(c, sh->o, 3);
    put_le(c + 3, sh->w, 3);
    put_le(c + 6, sh->z, 2);
    put_le(c + 8, sh->s, 3);
    size_t k = 11;
    for (uint32_t i = 0; i < sh->o; i++) c[k++] = ro_byte(i);
    for (uint32_t i = 0; i < sh->w; i++) c[k++] = rw_byte(i);
    put_le(c + k, code_len, 4);
    k += 4;
    memcpy(c + k, code, code_len);
    *len = n;
    return c;
}

static javm_program *load_shape(const shape *sh, const char *src) {
    uint8_t *code = NULL;
    size_t code_len = 0;
    assert_int_equal(jv_asm_assemble(src, strlen(src), &code, &code_len), JAVM_OK);
    size_t len;
    uint8_t *c = container(sh, code, code_len, &len);
    free(code);
    javm_program *p = NULL;
    assert_int_equal(javm_program_load_standard(c, len, &p), JAVM_OK);
    /* The program does not keep pointers into the container. */
    memset(c, 0xEE, len);
    free(c);
    return p;
}

static const char *halt_src = "  jump_ind r0, 0\n";

static void init(javm_instance *vm, const shape *sh);
static javm_instance *instance(const javm_program *p, javm_engine e, const shape *sh) {
    javm_config c;
    javm_config_init(&c);
    c.engine = e;
    javm_instance *vm = NULL;
    assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_OK);
    init(vm, sh);
    return vm;
}

static void init(javm_instance *vm, const shape *sh) {
    uint8_t *args = malloc(sh->a + 1);
    assert_non_null(args);
    for (uint32_t i = 0; i < sh->a; i++) args[i] = arg_byte(i);
    assert_int_equal(javm_instance_init_standard(vm, args, sh->a), JAVM_OK);
    free(args);
}

/* §3.4: the access and initial byte of guest address x for shape sh. */
static javm_access expected(const shape *sh, uint64_t x, uint8_t *byte) {
    *byte = 0;
    uint64_t rw_base = 2ull * ZZ + zn(sh->o), stack_top = 0xFEFE0000ull, args = 0xFEFF0000ull;
    if (x >= ZZ && x < ZZ + pg(sh->o)) {
        if (x - ZZ < sh->o) *byte = ro_byte(x - ZZ);
        return JAVM_ACCESS_RO;
    }
    if (x >= rw_base && x < rw_base + pg(sh->w) + (uint64_t)sh->z * ZP) {
        if (x - rw_base < sh->w) *byte = rw_byte(x - rw_base);
        return JAVM_ACCESS_RW;
    }
    if (x >= stack_top - pg(sh->s) && x < stack_top) return JAVM_ACCESS_RW;
    if (x >= args && x < args + pg(sh->a)) {
        if (x - args < sh->a) *byte = arg_byte(x - args);
        return JAVM_ACCESS_RO;
    }
    return JAVM_ACCESS_NONE;
}

static uint64_t expected_pages(const shape *sh) {
    return (pg(sh->o) + pg(sh->w) + (uint64_t)sh->z * ZP + pg(sh->s) + pg(sh->a)) / ZP;
}

/* Every mapped page of vm has the expected access and bytes, and exactly the expected pages
 * are mapped. Returns the number of mapped pages. */
static uint64_t check_memory(const javm_instance *vm, const shape *sh) {
    uint8_t buf[ZP];
    uint64_t n = 0;
    uint32_t page;
    for (uint64_t from = 0; from < (1ull << 32) && jv_api_next_mapped(vm, from, &page);
         from = (uint64_t)page + ZP) {
        n++;
        uint8_t b;
        assert_int_equal(javm_page_access(vm, page), expected(sh, page, &b));
        assert_int_equal(javm_mem_read(vm, page, buf, ZP), JAVM_OK);
        for (uint32_t i = 0; i < ZP; i++) {
            expected(sh, (uint64_t)page + i, &b);
            if (buf[i] != b) fail_msg("byte 0x%x: 0x%02x, expected 0x%02x", page + i, buf[i], b);
        }
    }
    assert_int_equal(n, expected_pages(sh));
    return n;
}

/* Registers (§3.5) and pc after javm_instance_init_standard. */
static void check_regs(const javm_instance *vm, const shape *sh) {
    for (unsigned r = 0; r < JAVM_NUM_REGS; r++) {
        uint64_t want = r == 0   ? 0xFFFF0000ull
                        : r == 1 ? 0xFEFE0000ull
                        : r == 7 ? 0xFEFF0000ull
                        : r == 8 ? sh->a
                                 : 0;
        assert_true(test_reg(vm, r) == want);
    }
    assert_int_equal(javm_pc_get(vm), 0);
}

static uint64_t check_layout(const javm_instance *vm, const shape *sh) {
    check_regs(vm, sh);
    return check_memory(vm, sh);
}

/* The two engines' instances hold the same pages, accesses, bytes, registers and heap. */
static void check_same(const javm_instance *a, const javm_instance *b) {
    uint8_t x[ZP], y[ZP];
    uint32_t pa, pb;
    uint64_t from = 0;
    for (;;) {
        bool ha = jv_api_next_mapped(a, from, &pa), hb = jv_api_next_mapped(b, from, &pb);
        assert_int_equal(ha, hb);
        if (!ha) break;
        assert_int_equal(pa, pb);
        assert_int_equal(javm_page_access(a, pa), javm_page_access(b, pb));
        assert_int_equal(javm_mem_read(a, pa, x, ZP), JAVM_OK);
        assert_int_equal(javm_mem_read(b, pb, y, ZP), JAVM_OK);
        assert_memory_equal(x, y, ZP);
        from = (uint64_t)pa + ZP;
    }
    for (unsigned r = 0; r < JAVM_NUM_REGS; r++)
        assert_true(test_reg(a, r) == test_reg(b, r));
    assert_int_equal(a->st.heap_top, b->st.heap_top);
    assert_int_equal(a->st.heap_limit, b->st.heap_limit);
}

/* §3.7: |o| = 100, |w| = 5000, z = 2, s = 8192, |a| = 10. */
static void worked_example(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    const shape sh = {100, 5000, 2, 8192, 10};
    javm_program *p = load_shape(&sh, halt_src);
    javm_instance *vm[2];
    for (int e = 0; e < 2; e++) {
        vm[e] = instance(p, (javm_engine)e, &sh);
        assert_int_equal(check_layout(vm[e], &sh), 1 + 4 + 2 + 1);
        /* The table of §3.7, region by region. */
        static const struct {
            uint32_t lo, hi;
            javm_access acc;
        } t[] = {
            {0x10000, 0x11000, JAVM_ACCESS_RO},         {0x30000, 0x34000, JAVM_ACCESS_RW},
            {0xFEFDE000u, 0xFEFE0000u, JAVM_ACCESS_RW}, {0xFEFF0000u, 0xFEFF1000u, JAVM_ACCESS_RO},
            {0x0, 0x10000, JAVM_ACCESS_NONE},           {0x11000, 0x30000, JAVM_ACCESS_NONE},
            {0x34000, 0x40000, JAVM_ACCESS_NONE},       {0xFEFDD000u, 0xFEFDE000u, JAVM_ACCESS_NONE},
            {0xFEFE0000u, 0xFEFF0000u, JAVM_ACCESS_NONE}, {0xFEFF1000u, 0xFEFF2000u, JAVM_ACCESS_NONE},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            for (uint64_t a = t[i].lo; a < t[i].hi; a += ZP)
                assert_int_equal(javm_page_access(vm[e], (uint32_t)a), t[i].acc);
        uint8_t b[2];
        assert_int_equal(javm_mem_read(vm[e], 0x10063, b, 2), JAVM_OK); /* RO data end */
        assert_int_equal(b[0], ro_byte(99));
        assert_int_equal(b[1], 0);
        assert_int_equal(javm_mem_read(vm[e], 0x31387, b, 2), JAVM_OK); /* RW data end */
        assert_int_equal(b[0], rw_byte(4999));
        assert_int_equal(b[1], 0);
        assert_int_equal(javm_mem_read(vm[e], 0xFEFF0009u, b, 2), JAVM_OK); /* args end */
        assert_int_equal(b[0], arg_byte(9));
        assert_int_equal(b[1], 0);
        assert_int_equal(vm[e]->st.heap_top, 0x34000);
        assert_int_equal(vm[e]->st.heap_limit, 0xFEFDE000u);
    }
    check_same(vm[0], vm[1]);
    for (int e = 0; e < 2; e++) {
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        javm_gas_set(vm[e], 10);
        assert_int_equal(javm_run(vm[e], &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        javm_instance_free(vm[e]);
    }
    javm_program_free(p);
}

static void layouts_match_spec_on_both_engines(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    static const shape shapes[] = {
        {0, 0, 0, 0, 0},            {1, 0, 0, 0, 0},          {0, 1, 0, 0, 0},
        {0, 0, 3, 0, 0},            {0, 0, 0, 1, 1},          {4096, 4096, 0, 4096, 4096},
        {65536, 65536, 0, 0, 0},    {65537, 1, 1, 1, 1},      {70000, 12345, 3, 10000, 5000},
        {0, 5000, 0, 70000, 4097},  {131072, 0, 16, 0, 0},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *sh = &shapes[i];
        javm_program *p = load_shape(sh, halt_src);
        javm_instance *soft = instance(p, JAVM_ENGINE_SOFT, sh);
        javm_instance *paged = instance(p, JAVM_ENGINE_PAGED, sh);
        check_layout(soft, sh);
        check_layout(paged, sh);
        check_same(soft, paged);
        javm_instance_free(soft);
        javm_instance_free(paged);
        javm_program_free(p);
    }
}

/* Reads from both data sections into registers, writes to the read-write data, the heap and
 * the stack, then halts. */
static const char *rw_src = "  load_u8 r2, 0x10063\n"
                            "  load_u32 r3, 0x31386\n"
                            "  load_u64 r4, 0x30008\n"
                            "  store_imm_u32 0x30010, 0x5eadbeef\n"
                            "  store_imm_u32 0x31384, 0x11111111\n"
                            "  store_imm_u32 0x33000, 0x22222222\n"
                            "  store_imm_ind_u32 r1, -4096, 0x33333333\n"
                            "  jump_ind r0, 0\n";

static uint32_t rd32(const javm_instance *vm, uint32_t a) {
    uint8_t b[4];
    assert_int_equal(javm_mem_read(vm, a, b, 4), JAVM_OK);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void run_halts(javm_instance *vm) {
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    javm_gas_set(vm, 100);
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(ex.kind, JAVM_EXIT_HALT);
}

static void check_written(const javm_instance *vm) {
    assert_int_equal(rd32(vm, 0x30010), 0x5eadbeef);
    assert_int_equal(rd32(vm, 0x31384), 0x11111111);
    assert_int_equal(rd32(vm, 0x33000), 0x22222222);
    assert_int_equal(rd32(vm, 0xFEFDF000u), 0x33333333);
}

static void guest_writes_are_private_and_reset_restores(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    const shape sh = {100, 5000, 2, 8192, 10};
    javm_program *p = load_shape(&sh, rw_src);
    uint64_t regs[2][JAVM_NUM_REGS];
    for (int e = 0; e < 2; e++) {
        javm_instance *vm = instance(p, (javm_engine)e, &sh);
        javm_instance *other = instance(p, (javm_engine)e, &sh);
        run_halts(vm);
        for (unsigned r = 0; r < JAVM_NUM_REGS; r++) regs[e][r] = test_reg(vm, r);
        assert_int_equal(test_reg(vm, 2), ro_byte(99));
        assert_int_equal(test_reg(vm, 3), rw_byte(4998) | (uint32_t)rw_byte(4999) << 8);
        uint64_t w = 0;
        for (unsigned i = 0; i < 8; i++) w |= (uint64_t)rw_byte(8 + i) << (8 * i);
        assert_true(test_reg(vm, 4) == w);
        check_written(vm);
        /* The other instance, and one created after the writes, see the container's bytes. */
        check_layout(other, &sh);
        javm_instance *later = instance(p, (javm_engine)e, &sh);
        check_layout(later, &sh);
        /* Host writes are private too. */
        const uint8_t junk[8] = {9, 9, 9, 9, 9, 9, 9, 9};
        assert_int_equal(javm_mem_write(other, 0x30100, junk, sizeof junk), JAVM_OK);
        assert_int_equal(javm_mem_write(other, 0x10000, junk, sizeof junk), JAVM_OK);
        check_layout(later, &sh);
        /* Reset: every written page (data, heap, stack) gets its initial bytes back. */
        uint64_t restored = 0;
        assert_int_equal(javm_instance_reset(vm, &restored), JAVM_OK);
        assert_int_equal(restored, 4);
        check_memory(vm, &sh);
        init(vm, &sh); /* registers */
        check_layout(vm, &sh);
        /* And again, after a second run from the restored state. */
        run_halts(vm);
        check_written(vm);
        assert_int_equal(javm_instance_reset(vm, NULL), JAVM_OK);
        uint8_t b[4];
        assert_int_equal(javm_mem_read(vm, 0x30010, b, 4), JAVM_OK);
        for (unsigned i = 0; i < 4; i++) assert_int_equal(b[i], rw_byte(0x10 + i));
        assert_int_equal(rd32(vm, 0x33000), 0);
        assert_int_equal(rd32(vm, 0xFEFDF000u), 0);
        javm_instance_free(later);
        javm_instance_free(other);
        javm_instance_free(vm);
    }
    assert_memory_equal(regs[0], regs[1], sizeof regs[0]);
    javm_program_free(p);
}

/* With category-#3 gas on, image-backed data pages are charged like any other page: both
 * engines agree on gas, first touches, copy-on-writes and #3 gas. */
static void mat_charges_agree(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    const shape sh = {100, 5000, 2, 8192, 10};
    javm_program *p = load_shape(&sh, rw_src);
    javm_stats st[2];
    int64_t gas[2];
    for (int e = 0; e < 2; e++) {
        st[e] = (javm_stats)JAVM_STATS_INIT;
        javm_config c;
        javm_config_init(&c);
        c.engine = (javm_engine)e;
        c.mat = 1;
        javm_instance *vm = NULL;
        assert_int_equal(javm_instance_new(p, &c, &vm), JAVM_OK);
        init(vm, &sh);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        javm_gas_set(vm, 100000);
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        check_written(vm);
        javm_stats_get(vm, &st[e]);
        gas[e] = javm_gas_get(vm);
        javm_instance_free(vm);
    }
    /* Four written pages (two data, heap, stack), each one copy-on-write. */
    assert_int_equal(st[0].cow_pages, 4);
    assert_true(st[0].mat_gas >= 4 * JV_COW_COST);
    assert_true(gas[0] == gas[1]);
    assert_int_equal(st[0].first_touch_faults, st[1].first_touch_faults);
    assert_int_equal(st[0].cow_pages, st[1].cow_pages);
    assert_int_equal(st[0].mat_gas, st[1].mat_gas);
    assert_int_equal(st[0].instructions, st[1].instructions);
    javm_program_free(p);
}

/* Instances of one program on many threads, each writing its own marks. */
typedef struct thr {
    const javm_program *p;
    int engine, id, ok;
} thr;

static void *thread_main(void *arg) {
    thr *t = arg;
    t->ok = 1;
    for (int round = 0; round < 20 && t->ok; round++) {
        javm_config c;
        javm_config_init(&c);
        c.engine = (javm_engine)t->engine;
        javm_instance *vm = NULL;
        uint8_t args[10];
        for (unsigned i = 0; i < 10; i++) args[i] = arg_byte(i);
        if (javm_instance_new(t->p, &c, &vm) != JAVM_OK ||
            javm_instance_init_standard(vm, args, sizeof args) != JAVM_OK) {
            t->ok = 0;
            break;
        }
        uint8_t mark = (uint8_t)(t->id * 31 + round), b = 0;
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        javm_gas_set(vm, 100);
        if (javm_mem_write(vm, 0x30000 + (uint32_t)t->id, &mark, 1) != JAVM_OK ||
            javm_run(vm, &ex) != JAVM_OK || ex.kind != JAVM_EXIT_HALT)
            t->ok = 0;
        /* Its own mark, and the container's bytes where the other threads write theirs. */
        for (int j = 0; j < 8 && t->ok; j++) {
            if (javm_mem_read(vm, 0x30000 + (uint32_t)j, &b, 1) != JAVM_OK) t->ok = 0;
            else if (b != (j == t->id ? mark : rw_byte((uint64_t)j))) t->ok = 0;
        }
        uint8_t w[4];
        if (javm_mem_read(vm, 0x30010, w, 4) != JAVM_OK || w[0] != 0xef || w[3] != 0x5e)
            t->ok = 0;
        javm_instance_free(vm);
    }
    return NULL;
}

static void instances_on_many_threads(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    const shape sh = {100, 5000, 2, 8192, 10};
    javm_program *p = load_shape(&sh, rw_src);
    enum { N = 8 };
    pthread_t th[N];
    thr a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (thr){p, i & 1, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &a[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].ok, 1);
    }
    /* The program's images are untouched. */
    javm_instance *vm = instance(p, JAVM_ENGINE_SOFT, &sh);
    check_layout(vm, &sh);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* Re-initialising an instance gives the data sections the container's bytes again. */
static void init_standard_twice(void **state) {
    (void)state;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    const shape sh = {100, 5000, 2, 8192, 10};
    javm_program *p = load_shape(&sh, rw_src);
    for (int e = 0; e < 2; e++) {
        javm_instance *vm = instance(p, (javm_engine)e, &sh);
        run_halts(vm);
        check_written(vm);
        uint8_t args[10];
        for (unsigned i = 0; i < 10; i++) args[i] = arg_byte(i);
        assert_int_equal(javm_instance_init_standard(vm, args, sizeof args), JAVM_OK);
        uint8_t b[4];
        assert_int_equal(javm_mem_read(vm, 0x30010, b, 4), JAVM_OK);
        for (unsigned i = 0; i < 4; i++) assert_int_equal(b[i], rw_byte(0x10 + i));
        check_regs(vm, &sh);
        javm_instance_free(vm);
    }
    javm_program_free(p);
}

int main(void) {
    if (!javm_engine_available(JAVM_ENGINE_PAGED)) {
        printf("[  PASSED  ] 0 test(s).\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worked_example),
        cmocka_unit_test(layouts_match_spec_on_both_engines),
        cmocka_unit_test(guest_writes_are_private_and_reset_restores),
        cmocka_unit_test(mat_charges_agree),
        cmocka_unit_test(instances_on_many_threads),
        cmocka_unit_test(init_standard_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
