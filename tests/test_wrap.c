/* The GP rule for accesses that wrap at 2^32 (MEM-3, docs/MEMORY.md "The fault rule"): the
 * exceptional state is built from the unreduced byte indices a .. a+n-1 and the exit uses
 * min(x) mod 2^32, so the lowest inaccessible byte in access order decides. Every width, every
 * start that reaches the last byte of the space, loads and stores (register, immediate;
 * indirect and absolute forms), every page-map case of the table, every engine (soft, paged,
 * jit) and both read-only policies: exit kind, address, pc, unchanged registers and memory, equal gas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_helpers.h"
#include "engine/engine.h"
#include "javm.h"
#include "pvm/asm.h"

#define TOP 0xFFFFF000u
#define PAGE 4096u

enum form { LOAD_IND, LOAD_ABS, STORE_IND, STORE_ABS, STORE_IMM_IND, STORE_IMM_ABS, NUM_FORMS };
static const char *const form_name[] = {"load_ind", "load", "store_ind", "store", "store_imm_ind",
                                        "store_imm"};
static bool form_is_store(int f) { return f >= STORE_IND; }

/* Page maps of the top page and page 0: 0 = unmapped, 1 = read-only, 2 = read-write. */
typedef struct layout {
    int top, zero;
} layout;
static const layout layouts[] = {{0, 0}, {2, 0}, {0, 2}, {1, 0}, {1, 2}, {2, 1}, {2, 2}, {1, 1}};

static uint8_t top_byte(uint32_t a) { return (uint8_t)(0xA0 + (a & 0x3F)); }
static uint8_t zero_byte(uint32_t a) { return (uint8_t)(0x10 + (a & 0x0F)); }
static uint8_t byte_at(uint32_t a) { return a >= TOP ? top_byte(a) : zero_byte(a); }

typedef enum expect_kind { E_OK, E_PANIC, E_FAULT } expect_kind;

/* The rule, written out independently of the implementation: walk the indices in access order
 * and stop at the first inaccessible one. */
static expect_kind expected(uint32_t addr, unsigned w, bool store, layout l, bool ro_faults,
                            uint32_t *fault_addr) {
    for (uint64_t i = addr; i < (uint64_t)addr + w; i++) {
        uint32_t a = (uint32_t)i; /* i mod 2^32 */
        int perm = a >= TOP ? l.top : (a < PAGE ? l.zero : 0);
        if (perm == 2 || (perm == 1 && !store)) continue;
        if (a < 0x10000) return E_PANIC;
        if (perm == 1 && !ro_faults) return E_PANIC;
        *fault_addr = a & ~(PAGE - 1);
        return E_FAULT;
    }
    return E_OK;
}

#define STORE_VAL 0x8877665544332211ull
#define IMM_VAL 0x5Au
#define SENTINEL 0xDEADBEEFCAFEF00Dull

/* r2 = addr (sign-extended; the access uses it mod 2^32), then the access, then trap. Returns the program; *mem_pc
 * is the access's pc. */
static javm_program *access_program(int form, unsigned w, uint32_t addr, uint32_t *mem_pc) {
    char src[256], op[96];
    const char *sz = w == 1 ? "u8" : w == 2 ? "u16" : w == 4 ? "u32" : "u64";
    switch (form) {
    case LOAD_IND: snprintf(op, sizeof op, "load_ind_%s r3, r2, 0", sz); break;
    case LOAD_ABS: snprintf(op, sizeof op, "load_%s r3, %d", sz, (int32_t)addr); break;
    case STORE_IND: snprintf(op, sizeof op, "store_ind_%s r4, r2, 0", sz); break;
    case STORE_ABS: snprintf(op, sizeof op, "store_%s r4, %d", sz, (int32_t)addr); break;
    case STORE_IMM_IND: snprintf(op, sizeof op, "store_imm_ind_%s r2, 0, %u", sz, IMM_VAL); break;
    default: snprintf(op, sizeof op, "store_imm_%s %d, %u", sz, (int32_t)addr, IMM_VAL); break;
    }
    snprintf(src, sizeof src, "  load_imm r2, %d\n  %s\n  trap\n", (int32_t)addr, op);
    javm_program *p = test_assemble(src);
    char buf[64];
    size_t l0 = javm_program_disasm(p, 0, buf, sizeof buf);
    assert_true(l0 > 0);
    *mem_pc = (uint32_t)l0;
    return p;
}

static void map_layout(javm_instance *vm, layout l) {
    uint8_t page[PAGE];
    if (l.top) {
        for (uint32_t i = 0; i < PAGE; i++) page[i] = top_byte(TOP + i);
        assert_int_equal(javm_map(vm, TOP, PAGE, l.top == 1 ? JAVM_ACCESS_RO : JAVM_ACCESS_RW,
                                  page, PAGE),
                         JAVM_OK);
    }
    if (l.zero) {
        for (uint32_t i = 0; i < PAGE; i++) page[i] = zero_byte(i);
        assert_int_equal(
            javm_map(vm, 0, PAGE, l.zero == 1 ? JAVM_ACCESS_RO : JAVM_ACCESS_RW, page, PAGE),
            JAVM_OK);
    }
}

static uint64_t reg(javm_instance *vm, unsigned i) {
    uint64_t v = 0;
    assert_int_equal(javm_reg_get(vm, i, &v), JAVM_OK);
    return v;
}

typedef struct outcome {
    javm_exit_kind kind;
    uint32_t pc, arg;
    int64_t gas;
    uint64_t r3;
    uint8_t bytes[8]; /* the touched bytes after the run (0 where unmapped) */
} outcome;

static outcome run_case(javm_engine e, int form, unsigned w, uint32_t addr, layout l,
                        bool ro_faults, uint32_t *mem_pc) {
    javm_program *p = access_program(form, w, addr, mem_pc);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    cfg.ro_write_faults = ro_faults;
    javm_instance *vm = NULL;
    assert_int_equal(javm_instance_new(p, &cfg, &vm), JAVM_OK);
    map_layout(vm, l);
    assert_int_equal(javm_reg_set(vm, 3, SENTINEL), JAVM_OK);
    assert_int_equal(javm_reg_set(vm, 4, STORE_VAL), JAVM_OK);
    javm_gas_set(vm, 1000);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    outcome o = {.kind = ex.kind, .pc = ex.pc, .arg = (uint32_t)ex.arg, .gas = javm_gas_get(vm)};
    o.r3 = reg(vm, 3);
    for (unsigned i = 0; i < w; i++) {
        uint32_t a = addr + i;
        if (javm_page_access(vm, a) != JAVM_ACCESS_NONE)
            assert_int_equal(javm_mem_read(vm, a, &o.bytes[i], 1), JAVM_OK);
    }
    javm_instance_free(vm);
    javm_program_free(p);
    return o;
}

static unsigned g_cases, g_wrapping_faults, g_wrapping_panics;

static void check_case(int form, unsigned w, uint32_t addr, layout l, bool ro_faults) {
    bool store = form_is_store(form);
    uint32_t want_addr = 0;
    expect_kind want = expected(addr, w, store, l, ro_faults, &want_addr);
    bool wraps = (uint64_t)addr + w > (1ull << 32);
    outcome prev = {0};
    static const javm_engine engines[] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
    for (int e = 0; e < 3; e++) {
        javm_engine eng = engines[e];
        if (!javm_engine_available(eng)) continue;
        if (eng != JAVM_ENGINE_SOFT) assert_int_equal(jv_fault_reinstall(), JAVM_OK);
        uint32_t mem_pc = 0;
        outcome o = run_case(eng, form, w, addr, l, ro_faults, &mem_pc);
        char what[160];
        snprintf(what, sizeof what, "%s %s_u%u at 0x%x, top %d, page 0 %d, ro_faults %d",
                 javm_engine_name(eng), form_name[form], 8 * w, addr, l.top, l.zero, ro_faults);
        switch (want) {
        case E_FAULT:
            if (o.kind != JAVM_EXIT_PAGE_FAULT || o.arg != want_addr || o.pc != mem_pc)
                fail_msg("%s: kind %d arg 0x%x pc %u, want page-fault at 0x%x pc %u", what,
                         (int)o.kind, o.arg, o.pc, want_addr, mem_pc);
            break;
        case E_PANIC:
            if (o.kind != JAVM_EXIT_PANIC || o.pc != mem_pc)
                fail_msg("%s: kind %d pc %u, want panic at pc %u", what, (int)o.kind, o.pc,
                         mem_pc);
            break;
        case E_OK:
            if (o.kind != JAVM_EXIT_PANIC || o.pc == mem_pc) /* the trap after the access */
                fail_msg("%s: kind %d pc %u, want the access to succeed", what, (int)o.kind,
                         o.pc);
            break;
        }
        /* Registers and memory: changed exactly when the access succeeded. */
        uint64_t want_r3 = SENTINEL;
        if (want == E_OK && !store) {
            want_r3 = 0;
            for (unsigned i = 0; i < w; i++) want_r3 |= (uint64_t)byte_at(addr + i) << (8 * i);
        }
        if (o.r3 != want_r3) fail_msg("%s: r3 = 0x%llx, want 0x%llx", what,
                                      (unsigned long long)o.r3, (unsigned long long)want_r3);
        for (unsigned i = 0; i < w; i++) {
            uint32_t a = addr + i;
            int perm = a >= TOP ? l.top : l.zero;
            uint8_t want_b = perm ? byte_at(a) : 0;
            if (want == E_OK && store)
                want_b = form >= STORE_IMM_IND ? (uint8_t)(i == 0 ? IMM_VAL : 0)
                                               : (uint8_t)(STORE_VAL >> (8 * i));
            if (o.bytes[i] != want_b)
                fail_msg("%s: byte 0x%x = 0x%02x, want 0x%02x", what, a, o.bytes[i], want_b);
        }
        if (e >= 1 && javm_engine_available(JAVM_ENGINE_SOFT) && o.gas != prev.gas)
            fail_msg("%s: gas %lld, soft engine %lld", what, (long long)o.gas,
                     (long long)prev.gas);
        prev = o;
    }
    g_cases++;
    if (wraps && want == E_FAULT) g_wrapping_faults++;
    if (wraps && want == E_PANIC) g_wrapping_panics++;
}

/* The three cases of the table, spelled out (the sweep below covers them too). */
static void the_table(void **st) {
    uint32_t a = 0;
    /* u32 at 0xFFFFFFFD, page 0xFFFFF000 unmapped -> page-fault at 0xFFFFF000 */
    assert_int_equal(expected(0xFFFFFFFDu, 4, true, (layout){0, 0}, false, &a), E_FAULT);
    assert_int_equal(a, TOP);
    check_case(STORE_IMM_IND, 4, 0xFFFFFFFDu, (layout){0, 0}, false);
    check_case(LOAD_IND, 4, 0xFFFFFFFDu, (layout){0, 0}, false);
    /* u32 at 0xFFFFFFFD, page 0xFFFFF000 mapped as needed -> panic (m = 0) */
    assert_int_equal(expected(0xFFFFFFFDu, 4, true, (layout){2, 0}, false, &a), E_PANIC);
    check_case(STORE_IMM_IND, 4, 0xFFFFFFFDu, (layout){2, 0}, false);
    check_case(LOAD_IND, 4, 0xFFFFFFFDu, (layout){1, 0}, false);
    /* u16 store at 0xFFFFFFFF, top page read-only -> the read-only rule */
    assert_int_equal(expected(0xFFFFFFFFu, 2, true, (layout){1, 0}, false, &a), E_PANIC);
    assert_int_equal(expected(0xFFFFFFFFu, 2, true, (layout){1, 0}, true, &a), E_FAULT);
    assert_int_equal(a, TOP);
    check_case(STORE_IND, 2, 0xFFFFFFFFu, (layout){1, 0}, false);
    check_case(STORE_IND, 2, 0xFFFFFFFFu, (layout){1, 0}, true);
}

static void every_width_form_and_layout(void **st) {
    static const unsigned widths[] = {1, 2, 4, 8};
    for (unsigned wi = 0; wi < 4; wi++) {
        unsigned w = widths[wi];
        for (unsigned k = 1; k <= w; k++) { /* the access's last index is 2^32 - k + w - 1 */
            uint32_t addr = (uint32_t)(0 - k);
            for (int f = 0; f < NUM_FORMS; f++)
                for (size_t li = 0; li < sizeof layouts / sizeof layouts[0]; li++)
                    for (int ro = 0; ro < 2; ro++) check_case(f, w, addr, layouts[li], ro);
        }
    }
    /* the sweep exercises both outcomes of a wrapping access */
    assert_true(g_wrapping_faults > 0);
    assert_true(g_wrapping_panics > 0);
    print_message("%u cases (%u wrapping faults, %u wrapping panics)\n", g_cases,
                  g_wrapping_faults, g_wrapping_panics);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_table),
        cmocka_unit_test(every_width_form_and_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
