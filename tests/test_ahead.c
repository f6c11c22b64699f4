/* jit: write-ahead batches (MEM-12) — a guest streaming through fresh armed pages gets the pages
 * ahead of it opened as plain memory, pre-charged and settled later from /proc/self/pagemap.
 * Every case runs the same program on soft, paged and jit (batches on) and compares status, pc,
 * registers, gas, statistics, every mapped byte and page state (engine_diff.h) and
 * javm_page_access; streams of writes, reads then writes, reads only, streams that stop
 * mid-batch, host calls and PVM faults in the middle of batches, out of gas at every gas value
 * around them, #3 off and on with two CoW costs, reuse after a reset, and the guest window's VMA
 * count and VMA accounting against the same run with batches off (no boundary left behind).
 * Read-watched pages (MEM-13): scattered reads then writes, the same comparisons, out of gas,
 * a failed settle, a fork while written pages are watched. Where the kernel has no
 * userfaultfd or no pagemap the cases still compare the engines (no batch opens). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_helpers.h"
#include "engine_diff.h"
#include "fault/fault.h"
#include "jit/jit.h"

#define BUF 0x100000u
#define PAGE 4096u
#define NPAGES 40u

static bool g_batches; /* the kernel and the environment allow batches here */

/* ---- Programs: r1 cursor, r2 end, r3 stride, r4 value, r5 host-call mask --------------------- */
static const char *const SRC_WRITE =
    "  fallthrough\n"
    "loop:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  trap\n";
static const char *const SRC_READ_WRITE =
    "  fallthrough\n"
    "loop:\n"
    "  load_ind_u8 r6, r1, 0\n"
    "  add_64 r6, r6, r4\n"
    "  store_ind_u8 r6, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  trap\n";
static const char *const SRC_READ =
    "  fallthrough\n"
    "loop:\n"
    "  load_ind_u8 r6, r1, 0\n"
    "  add_64 r7, r7, r6\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  trap\n";
/* a host call whenever the cursor's bits under r5 are all zero */
static const char *const SRC_HOST =
    "  fallthrough\n"
    "loop:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  and r8, r1, r5\n"
    "  branch_ne_imm r8, 0, skip\n"
    "  ecalli 7\n"
    "  fallthrough\n"
    "skip:\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  trap\n";
/* a read pass, then a write pass over the same pages (r10 keeps the start) */
static const char *const SRC_PASSES =
    "  move_reg r10, r1\n"
    "  fallthrough\n"
    "read:\n"
    "  load_ind_u8 r6, r1, 0\n"
    "  add_64 r7, r7, r6\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, read\n"
    "  move_reg r1, r10\n"
    "  fallthrough\n"
    "write:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, write\n"
    "  trap\n";
/* 16-bit stores (from a page's last byte they straddle into the next page) */
static const char *const SRC_WRITE16 =
    "  fallthrough\n"
    "loop:\n"
    "  store_ind_u16 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  trap\n";
/* a write stream over [r1, r2), then one 16-bit store from the last byte of the page at r2 */
static const char *const SRC_WRITE_THEN16 =
    "  fallthrough\n"
    "loop:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  store_ind_u16 r4, r2, 4095\n"
    "  trap\n";
/* two interleaved write streams (r1 and r9 advance together) */
static const char *const SRC_TWO =
    "  fallthrough\n"
    "loop:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  store_ind_u8 r4, r9, 0\n"
    "  add_64 r1, r1, r3\n"
    "  add_64 r9, r9, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  trap\n";

/* MEM-13: a read of every page in a scattered order (page (7 i) mod r12 from BUF, so no two
 * reads in a row are neighbours and no batch opens), then a write stream over [r1, r2) by r3
 * (the pages it misses stay read-only); r12 = the pages mapped (set_start) */
#define SCATTER_READS \
    "  load_imm r10, 0x100000\n" \
    "  load_imm r11, 0\n" \
    "  fallthrough\n" \
    "read:\n" \
    "  mul_imm_64 r8, r11, 7\n" \
    "  rem_u_64 r8, r8, r12\n" \
    "  shlo_l_imm_64 r8, r8, 12\n" \
    "  add_64 r8, r8, r10\n" \
    "  load_ind_u8 r6, r8, 0\n" \
    "  add_64 r7, r7, r6\n" \
    "  add_imm_64 r11, r11, 1\n" \
    "  branch_lt_u r11, r12, read\n" \
    "  fallthrough\n"
static const char *const SRC_SCATTER =
    SCATTER_READS
    "write:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, write\n"
    "  trap\n";
/* the same with 16-bit stores (from a page's last byte they straddle into the next page) */
static const char *const SRC_SCATTER16 =
    SCATTER_READS
    "write:\n"
    "  store_ind_u16 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, write\n"
    "  trap\n";
/* the same with a host call whenever the cursor's bits under r5 are all zero */
static const char *const SRC_SCATTER_HOST =
    SCATTER_READS
    "write:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  and r9, r1, r5\n"
    "  branch_ne_imm r9, 0, skip\n"
    "  ecalli 7\n"
    "  fallthrough\n"
    "skip:\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, write\n"
    "  trap\n";

typedef struct scenario {
    const char *name;
    const char *src;
    uint32_t start, end, stride; /* cursor range [start, end), step */
    uint32_t mapped;             /* pages mapped read-write from BUF */
    bool ro_after;               /* one read-only page right after them */
    int mat;
    uint64_t cow;
    javm_isa isa; /* dialect, with its gas model */
} scenario;

static javm_program *load(const scenario *s) {
    uint8_t *blob = NULL;
    size_t len = 0;
    if (jv_asm_assemble_isa(s->isa, s->src, strlen(s->src), &blob, &len, NULL) != JAVM_OK)
        fail_msg("assembler: %s", javm_last_error());
    javm_load_options lo;
    javm_load_options_init(&lo);
    lo.isa = s->isa;
    lo.gas_model = s->isa == JAVM_ISA_GP08 ? JAVM_GAS_GP08 : JAVM_GAS_GP07;
    javm_program *p = NULL;
    assert_int_equal(javm_program_load_ex(blob, len, &lo, &p), JAVM_OK);
    free(blob);
    return p;
}

/* ---- One run on every engine ------------------------------------------------------------------ */
#define NENG 3
static const javm_engine g_eng[NENG] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};

typedef struct result {
    uint64_t batches, pages; /* the jit's */
    uint64_t watched;        /* the jit's MEM-13 pages */
    int window_vmas;         /* the jit instance's, after the run */
    int64_t vma_guest;       /* its VMA accounting (MEM-7), after the run */
    int64_t gas_left;
} result;

/* VMAs of /proc/self/maps that start inside [lo, hi). */
static int count_vmas(uintptr_t lo, uintptr_t hi) {
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long a = 0;
        if (sscanf(line, "%llx-", &a) == 1 && a >= lo && a < hi) n++;
    }
    fclose(f);
    return n;
}

static javm_instance *make(const javm_program *p, javm_engine e, const scenario *s) {
    /* cmocka puts its own SIGSEGV/SIGBUS actions back around each test */
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    cfg.mat = s->mat;
    cfg.cow_cost = s->cow;
    javm_instance *vm = NULL;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK)
        fail_msg("%s: instance on %s: %s", s->name, javm_engine_name(e), javm_last_error());
    assert_int_equal(javm_map(vm, BUF, (uint64_t)s->mapped * PAGE, JAVM_ACCESS_RW, NULL, 0),
                     JAVM_OK);
    if (s->ro_after)
        assert_int_equal(javm_map(vm, BUF + s->mapped * PAGE, PAGE, JAVM_ACCESS_RO, "x", 1),
                         JAVM_OK);
    return vm;
}

static void set_start(javm_instance *vm, const scenario *s, int64_t gas) {
    for (unsigned i = 0; i < 13; i++) javm_reg_set(vm, i, 0);
    javm_reg_set(vm, 1, s->start);
    javm_reg_set(vm, 2, s->end);
    javm_reg_set(vm, 3, s->stride);
    javm_reg_set(vm, 4, 0x5A);
    javm_reg_set(vm, 5, 4 * PAGE - 1); /* SRC_HOST: a host call every 4 pages */
    javm_reg_set(vm, 9, s->start + (NPAGES / 2) * PAGE);
    javm_reg_set(vm, 12, s->mapped); /* SCATTER_READS: the pages read */
    javm_pc_set(vm, 0);
    javm_gas_set(vm, gas);
}

static void compare(javm_instance *const v[NENG], const javm_exit_info ex[NENG], const char *what) {
    for (int k = 1; k < NENG; k++) {
        if (!v[k]) continue;
        if (ex[0].kind != ex[k].kind || ex[0].pc != ex[k].pc || ex[0].arg != ex[k].arg)
            fail_msg("%s: soft %s pc %u arg %" PRIu64 ", %s %s pc %u arg %" PRIu64, what,
                     javm_exit_str(ex[0].kind), ex[0].pc, ex[0].arg, javm_engine_name(g_eng[k]),
                     javm_exit_str(ex[k].kind), ex[k].pc, ex[k].arg);
        char why[256];
        if (jv_diff_instances(v[0], v[k], why, sizeof why))
            fail_msg("%s: soft vs %s: %s", what, javm_engine_name(g_eng[k]), why);
        for (uint32_t pg = 0; pg <= NPAGES + 1; pg++) {
            uint32_t a = BUF + pg * PAGE;
            if (javm_page_access(v[0], a) != javm_page_access(v[k], a))
                fail_msg("%s: page_access 0x%x differs on %s", what, a, javm_engine_name(g_eng[k]));
        }
    }
}

/* Runs s from `gas` on every engine (host calls resumed, up to 64 exits), comparing after each
 * exit. */
static result run_all(const scenario *s, int64_t gas, bool paged) {
    javm_program *p = load(s);
    javm_instance *v[NENG] = {NULL};
    javm_exit_info ex[NENG];
    for (int k = 0; k < NENG; k++) {
        if (g_eng[k] == JAVM_ENGINE_PAGED && !paged) continue;
        v[k] = make(p, g_eng[k], s);
        set_start(v[k], s, gas);
    }
    result res = {0};
    char what[160];
    for (int step = 0; step < 64; step++) {
        for (int k = 0; k < NENG; k++) {
            if (!v[k]) continue;
            ex[k] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
            javm_status st = javm_run(v[k], &ex[k]);
            if (st != JAVM_OK)
                fail_msg("%s gas %" PRId64 ": %s: %s", s->name, gas, javm_engine_name(g_eng[k]),
                         javm_last_error());
        }
        snprintf(what, sizeof what, "%s (mat %d cow %" PRIu64 ") gas %" PRId64 " exit %d",
                 s->name, s->mat, s->cow, gas, step);
        /* (before the comparison: host reads re-protect the pages they read) */
        res.window_vmas = count_vmas((uintptr_t)v[2]->mem.base,
                                     (uintptr_t)v[2]->mem.base + v[2]->mem.window_size);
        res.vma_guest = v[2]->mem.vma_guest;
        compare(v, ex, what);
        if (ex[0].kind != JAVM_EXIT_HOST_CALL) break;
    }
    jv_jit_ahead_stats(v[2]->engine, &res.batches, &res.pages);
    res.watched = jv_jit_watched_pages(v[2]->engine);
    res.gas_left = javm_gas_get(v[0]);
    for (int k = 0; k < NENG; k++) javm_instance_free(v[k]);
    javm_program_free(p);
    return res;
}

/* The jit alone with batches off: the window's VMA count after the run (and *acct, its VMA
 * accounting). */
static int vmas_without_batches(const scenario *s, int64_t gas, int64_t *acct) {
    jv_mem_ahead_force_off(true);
    javm_program *p = load(s);
    javm_instance *vm = make(p, JAVM_ENGINE_JIT, s);
    set_start(vm, s, gas);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    for (int step = 0; step < 64; step++) {
        assert_int_equal(javm_run(vm, &ex), JAVM_OK);
        if (ex.kind != JAVM_EXIT_HOST_CALL) break;
    }
    uint64_t b = 0, pg = 0;
    jv_jit_ahead_stats(vm->engine, &b, &pg);
    assert_int_equal(b, 0);
    assert_int_equal(jv_jit_watched_pages(vm->engine), 0);
    int n = count_vmas((uintptr_t)vm->mem.base, (uintptr_t)vm->mem.base + vm->mem.window_size);
    *acct = vm->mem.vma_guest;
    javm_instance_free(vm);
    javm_program_free(p);
    jv_mem_ahead_force_off(false);
    return n;
}

/* The scenario with ample gas, #3 off and on (CoW costs 3 and 256): equal on every engine,
 * batches opened where the stream is long enough, the same VMAs as without batches. */
static result check_ample(scenario s, bool expect_batches) {
    static const struct { int mat; uint64_t cow; } modes[] = {{0, 0}, {1, 3}, {1, 256}};
    result r = {0};
    for (unsigned i = 0; i < 3; i++) {
        s.mat = modes[i].mat;
        s.cow = modes[i].cow;
        r = run_all(&s, 100000000, true);
        if (g_batches && expect_batches && r.batches == 0)
            fail_msg("%s (mat %d cow %" PRIu64 "): no batch opened", s.name, s.mat, s.cow);
        int64_t acct = 0;
        int off = vmas_without_batches(&s, 100000000, &acct);
        if (r.window_vmas != off)
            fail_msg("%s (mat %d cow %" PRIu64 "): %d VMAs in the window, %d without batches",
                     s.name, s.mat, s.cow, r.window_vmas, off);
        if (r.vma_guest != acct) /* MEM-7: the settles returned every reservation */
            fail_msg("%s (mat %d cow %" PRIu64 "): VMA accounting %" PRId64 ", %" PRId64
                     " without batches", s.name, s.mat, s.cow, r.vma_guest, acct);
    }
    return r;
}

#define END(pages) (BUF + (pages) * PAGE)
/* A stream over [start, end) by stride on NPAGES read-write pages (ro: a read-only page after
 * them). */
static scenario sc(const char *name, const char *src, uint32_t start, uint32_t end,
                   uint32_t stride, bool ro, int mat, uint64_t cow) {
    return (scenario){.name = name, .src = src, .start = start, .end = end, .stride = stride,
                      .mapped = NPAGES, .ro_after = ro, .mat = mat, .cow = cow};
}

static void test_write_streams(void **state) {
    (void)state;
    check_ample(sc("write, stride 4096", SRC_WRITE, BUF, END(NPAGES), 4096, false, 0, 0), true);
    check_ample(sc("write, stride 1000", SRC_WRITE, BUF + 5, END(NPAGES), 1000, false, 0, 0),
                true);
    /* 8-byte-crossing is impossible with u8; a stride that lands on every other page */
    check_ample(sc("write, stride 8192", SRC_WRITE, BUF, END(NPAGES), 8192, false, 0, 0), false);
    /* stops in the middle of the first batch, and in the middle of a grown one */
    check_ample(sc("write, stop at 5", SRC_WRITE, BUF, END(5), 4096, false, 0, 0), true);
    check_ample(sc("write, stop at 23", SRC_WRITE, BUF + 7, END(23) + 9, 2048, false, 0, 0),
                true);
    /* the last batch is cut short by the end of the mapping: the stream then faults there */
    check_ample(sc("write into unmapped", SRC_WRITE, BUF, END(NPAGES + 3), 4096, false, 0, 0),
                true);
    /* and into a read-only page (a store there panics) */
    check_ample(sc("write into read-only", SRC_WRITE, BUF, END(NPAGES + 3), 4096, true, 0, 0),
                true);
    check_ample(sc("two streams", SRC_TWO, BUF, END(NPAGES / 2), 4096, false, 0, 0), false);
    /* straddling stores: the last one runs from the last batch page into a read-only page (it
     * faults and writes nothing, but the processor may take the write fault on the batch page
     * first: the kernel allocates it, and the settle would count it as written), or into an
     * unmapped one */
    check_ample(sc("write16 into read-only", SRC_WRITE16, BUF + PAGE - 1, END(NPAGES + 1), 4096,
                   true, 0, 0),
                true);
    check_ample(sc("write16 into unmapped", SRC_WRITE16, BUF + PAGE - 1, END(NPAGES + 1), 4096,
                   false, 0, 0),
                true);
    check_ample(sc("write, then a straddle into read-only", SRC_WRITE_THEN16, BUF,
                   END(NPAGES - 1), 4096, true, 0, 0),
                true);
    check_ample(sc("write, then a straddle into unmapped", SRC_WRITE_THEN16, BUF,
                   END(NPAGES - 1), 4096, false, 0, 0),
                true);
}

static void test_read_streams(void **state) {
    (void)state;
    check_ample(sc("read then write", SRC_READ_WRITE, BUF, END(NPAGES), 4096, false, 0, 0),
                true);
    check_ample(sc("read then write, stride 512", SRC_READ_WRITE, BUF + 3, END(NPAGES), 512, false, 0, 0),
                true);
    check_ample(sc("read only", SRC_READ, BUF, END(NPAGES), 4096, false, 0, 0), true);
    check_ample(sc("read only, stop at 13", SRC_READ, BUF, END(13), 1024, false, 0, 0), true);
    check_ample(sc("read pass, write pass", SRC_PASSES, BUF, END(NPAGES), 2048, false, 0, 0),
                true);
    check_ample(sc("read into unmapped", SRC_READ, BUF, END(NPAGES + 2), 4096, false, 0, 0),
                true);
}

/* MEM-13: scattered reads leave their pages writable and watched; the writes that follow are
 * charged at the settle (every page written, every other one, none, 16-bit stores straddling
 * into the next page, host calls in between, a write stream into unmapped and read-only
 * pages), equal on every engine, with the VMAs of the run without batches. */
static void expect_watched(const char *name, result r, uint64_t at_least) {
    if (g_batches && r.watched < at_least)
        fail_msg("%s: %" PRIu64 " pages watched, expected at least %" PRIu64, name, r.watched,
                 at_least);
}
static void test_watched_reads(void **state) {
    (void)state;
    scenario s = sc("scatter, write all", SRC_SCATTER, BUF, END(NPAGES), 4096, false, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, write every other", SRC_SCATTER, BUF + 9, END(NPAGES), 8192, false, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, write none", SRC_SCATTER, BUF, BUF, 4096, false, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, write a few bytes", SRC_SCATTER, BUF + 3 * PAGE, BUF + 3 * PAGE + 40, 8,
           false, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, straddling writes", SRC_SCATTER16, BUF + PAGE - 1, END(NPAGES), 4096, false,
           0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, writes into unmapped", SRC_SCATTER, BUF, END(NPAGES + 2), 2048, false, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, writes into read-only", SRC_SCATTER16, BUF + 1, END(NPAGES + 1) - 1, 4096,
           true, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, host calls", SRC_SCATTER_HOST, BUF, END(NPAGES), 1024, false, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    /* more pages than the list holds: a full list is settled, then watching goes on */
    s = sc("scatter, 1100 pages", SRC_SCATTER, BUF, END(1100), 4096, false, 0, 0);
    s.mapped = 1100;
    expect_watched(s.name, check_ample(s, false), 1098);
    /* a store straddling from an unmapped page into a read (so far unwritten) page, and from a
     * read page into a read-only one: the store faults and writes nothing, but the processor
     * may take the write fault on the read page first (were that page watched, the kernel
     * would have copied its zero page, and the settle would count it as written): pages next
     * to a page that is not read-write are not watched */
    s = sc("scatter, a straddle from below the mapping", SRC_SCATTER16, BUF - 1, BUF, 4096,
           false, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
    s = sc("scatter, a straddle into read-only", SRC_SCATTER16, END(NPAGES) - 1, END(NPAGES), 4096,
           true, 0, 0);
    expect_watched(s.name, check_ample(s, false), NPAGES - 2);
}

/* MEM-13: a page is watched only with ample gas (the counter keeps twice the pre-charge above
 * the bias afterwards, as for a batch's open): with little gas the reads protect as before. */
static void test_watch_needs_ample_gas(void **state) {
    (void)state;
    scenario s = sc("scatter, little gas", SRC_SCATTER, BUF, END(NPAGES), 4096, false, 1, 256);
    result r = run_all(&s, 600, false); /* (below bias + 2 x 256 at every read) */
    assert_int_equal(r.watched, 0);
    r = run_all(&s, 100000000, false);
    if (g_batches) assert_true(r.watched > 0);
}

/* MEM-13 and MEM-8: a page that is watched and then written (a silent kernel copy of the zero
 * page) and then touched by an access that straddles into (or in from) an armed neighbour: the
 * resolve of that access set the watched page's protection from its page byte (still "read":
 * PROT_READ), and the settle, finding the page written, gave it the write touch without
 * opening it again, so metadata (written, open) and host protection (read-only) disagreed and
 * a host write to the page killed the process. After every exit the host protection of each
 * page equals what the metadata implies, a host write to every page works, and the engines
 * agree. */
static const char *const SRC_WATCH_STRADDLE[] = {
    /* read (watched), write, a 16-bit read from the last byte into the next (armed) page */
    "  load_ind_u8 r6, r1, 0\n  store_ind_u8 r4, r1, 8\n  load_ind_u16 r7, r1, 4095\n  trap\n",
    /* the same with a 16-bit read from the page before (armed) into the watched one */
    "  load_ind_u8 r6, r1, 0\n  store_ind_u8 r4, r1, 8\n  load_ind_u16 r7, r1, -1\n  trap\n",
    /* the same with a host call between the write and the straddle */
    ("  load_ind_u8 r6, r1, 0\n  store_ind_u8 r4, r1, 8\n  ecalli 1\n"
     "  load_ind_u16 r7, r1, 4095\n  trap\n"),
    /* a 16-bit store from the last byte into the next (armed) page */
    "  load_ind_u8 r6, r1, 0\n  store_ind_u8 r4, r1, 8\n  store_ind_u16 r4, r1, 4095\n  trap\n",
};
/* The host protection of guest page pn from /proc/self/maps (-1: not found). */
static int host_prot_of(const javm_instance *vm, uint32_t pn) {
    uintptr_t a = (uintptr_t)vm->mem.base + ((uintptr_t)pn << 12);
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[512], perms[8];
    int prot = -1;
    while (prot < 0 && fgets(line, sizeof line, f)) {
        unsigned long long lo = 0, hi = 0;
        if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi)
            prot = (perms[0] == 'r' ? 1 : 0) | (perms[1] == 'w' ? 2 : 0);
    }
    fclose(f);
    return prot;
}
static void test_watched_page_straddled(void **state) {
    (void)state;
    static const struct { int mat; uint64_t cow; } modes[] = {{0, 0}, {1, 3}, {1, 256}};
    uint64_t watched = 0;
    for (unsigned pi = 0; pi < sizeof SRC_WATCH_STRADDLE / sizeof *SRC_WATCH_STRADDLE; pi++) {
        for (unsigned mi = 0; mi < 3; mi++) {
            scenario s = sc("watched page straddled", SRC_WATCH_STRADDLE[pi], BUF + 5 * PAGE, 0,
                            0, false, modes[mi].mat, modes[mi].cow);
            javm_program *p = load(&s);
            javm_instance *v[NENG];
            javm_exit_info ex[NENG];
            for (int k = 0; k < NENG; k++) {
                v[k] = make(p, g_eng[k], &s);
                set_start(v[k], &s, 100000000);
            }
            char what[96];
            for (int step = 0; step < 4; step++) {
                for (int k = 0; k < NENG; k++) {
                    ex[k] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
                    assert_int_equal(javm_run(v[k], &ex[k]), JAVM_OK);
                }
                snprintf(what, sizeof what, "program %u (mat %d cow %" PRIu64 ") exit %d", pi,
                         s.mat, s.cow, step);
                for (int k = 1; k < NENG; k++)
                    for (uint32_t pn = (BUF >> 12); pn < (BUF >> 12) + NPAGES; pn++)
                        if (host_prot_of(v[k], pn) != jv_mem_page_prot(&v[k]->mem, pn))
                            fail_msg("%s: %s: page 0x%x: host protection %d, metadata %d", what,
                                     javm_engine_name(g_eng[k]), pn << 12,
                                     host_prot_of(v[k], pn), jv_mem_page_prot(&v[k]->mem, pn));
                compare(v, ex, what);
                if (ex[0].kind != JAVM_EXIT_HOST_CALL) break;
            }
            for (int k = 0; k < NENG; k++) /* (killed the process before) */
                for (uint32_t pg = 4; pg < 7; pg++)
                    assert_int_equal(javm_mem_write(v[k], BUF + pg * PAGE + 16, "hunt", 4),
                                     JAVM_OK);
            compare(v, ex, what);
            watched += jv_jit_watched_pages(v[2]->engine);
            for (int k = 0; k < NENG; k++) javm_instance_free(v[k]);
            javm_program_free(p);
        }
    }
    if (g_batches && watched == 0) fail_msg("no page was watched");
}

static void test_host_calls(void **state) {
    (void)state;
    check_ample(sc("host call every 4 pages", SRC_HOST, BUF, END(NPAGES), 4096, false, 0, 0),
                true);
    check_ample(sc("host call, stride 1024", SRC_HOST, BUF, END(NPAGES), 1024, false, 0, 0),
                true);
}

/* Out of gas at every gas value from 0 past the whole run's need: before, inside and after
 * batches (the gate then settles before it decides). */
static void sweep(scenario s, int64_t step) {
    result full = run_all(&s, INT64_MAX / 4, false);
    int64_t need = INT64_MAX / 4 - full.gas_left;
    uint64_t batches = 0;
    for (int64_t g = 0; g <= need + 2; g += step) {
        result r = run_all(&s, g, false);
        batches += r.batches + r.watched;
    }
    for (int64_t g = need - 3; g <= need + 3; g++) run_all(&s, g, false);
    if (g_batches && s.mat && batches == 0)
        fail_msg("%s: the sweep opened no batch and watched no page", s.name);
}

static void test_out_of_gas(void **state) {
    (void)state;
    /* CoW cost 3: batches open with little gas, so the gas runs out inside them */
    sweep(sc("oog write, cow 3", SRC_WRITE, BUF, END(14), 128, false, 1, 3), 1);
    sweep(sc("oog read-write, cow 3", SRC_READ_WRITE, BUF, END(12), 256, false, 1, 3),
          1);
    sweep(sc("oog passes, cow 3", SRC_PASSES, BUF, END(12), 512, false, 1, 3), 1);
    sweep(sc("oog host, cow 3", SRC_HOST, BUF, END(14), 512, false, 1, 3), 1);
    /* CoW cost 256: long blocks of work per page so a batch's pre-charge is outrun */
    sweep(sc("oog write, cow 256", SRC_WRITE, BUF, END(14), 16, false, 1, 256), 3);
    sweep(sc("oog write, #3 off", SRC_WRITE, BUF, END(14), 64, false, 0, 0), 1);
    /* the gp08 dialect and gas model (block costs that are not instruction counts) */
    scenario g8 = sc("oog host gp08, cow 3", SRC_HOST, BUF, END(14), 512, false, 1, 3);
    g8.isa = JAVM_ISA_GP08;
    sweep(g8, 1);
    g8 = sc("oog passes gp08, cow 256", SRC_PASSES, BUF, END(12), 64, false, 1, 256);
    g8.isa = JAVM_ISA_GP08;
    sweep(g8, 7);
    /* MEM-13: watched pages (their pre-charge) through the gates and the exits */
    scenario w = sc("oog scatter, cow 3", SRC_SCATTER, BUF, END(12), 512, false, 1, 3);
    w.mapped = 12;
    sweep(w, 1);
    w = sc("oog scatter host, cow 3", SRC_SCATTER_HOST, BUF, END(12), 1024, false, 1, 3);
    w.mapped = 12;
    sweep(w, 1);
    w = sc("oog scatter 16, cow 256", SRC_SCATTER16, BUF + PAGE - 1, END(10), 2048, false, 1, 256);
    w.mapped = 10;
    sweep(w, 3);
    w = sc("oog scatter, #3 off", SRC_SCATTER, BUF, END(12), 512, false, 0, 0);
    w.mapped = 12;
    sweep(w, 1);
    w = sc("oog scatter gp08, cow 3", SRC_SCATTER, BUF, END(12), 1024, false, 1, 3);
    w.mapped = 12;
    w.isa = JAVM_ISA_GP08;
    sweep(w, 1);
}

/* MEM-12: every VMA of a window is VM_NOHUGEPAGE ("nh" in /proc/self/smaps), also after an
 * unmap replaced a range and after a reset replaced the whole window, so no unregistered batch
 * can receive a (multi-size) transparent huge page. */
static int window_vmas_without_nh(const javm_instance *vm) {
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    uintptr_t lo = (uintptr_t)vm->mem.base, hi = lo + vm->mem.window_size;
    bool in = false;
    int missing = 0, seen = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        if (sscanf(line, "%llx-%llx ", &a, &b) == 2) { /* a VMA's first line */
            in = a >= lo && a < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            seen++;
            missing += !strstr(line, " nh");
        }
    }
    fclose(f);
    assert_true(seen > 0);
    return missing;
}

static void test_no_huge_pages(void **state) {
    (void)state;
    scenario s = sc("nh", SRC_WRITE, BUF, END(NPAGES), 4096, false, 1, 256);
    javm_program *p = load(&s);
    javm_instance *vm = make(p, JAVM_ENGINE_JIT, &s);
    set_start(vm, &s, 10000000);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(vm, &ex), JAVM_OK);
    assert_int_equal(window_vmas_without_nh(vm), 0);
    assert_int_equal(javm_unmap(vm, BUF + 4 * PAGE, 8 * PAGE), JAVM_OK);
    assert_int_equal(window_vmas_without_nh(vm), 0);
    assert_int_equal(jv_mem_reset(&vm->mem), JAVM_OK);
    assert_int_equal(window_vmas_without_nh(vm), 0);
    javm_instance_free(vm);
    javm_program_free(p);
}

/* A small VMA budget (MEM-7): batches open only with headroom for their boundaries, and a
 * touch refused for the budget while a batch is open degrades the space after the batch is
 * settled; every budget ends as soft does. */
static void test_vma_budget(void **state) {
    (void)state;
    const char *const srcs[] = {SRC_READ_WRITE, SRC_PASSES, SRC_HOST, SRC_SCATTER_HOST};
    for (unsigned si = 0; si < 4; si++)
        for (int64_t budget = 0; budget <= 48; budget += 3) {
            scenario s = sc("budget", srcs[si], BUF, END(NPAGES), 2048, false, 1, 256);
            javm_program *p = load(&s);
            javm_instance *v[NENG] = {make(p, JAVM_ENGINE_SOFT, &s), NULL,
                                      make(p, JAVM_ENGINE_JIT, &s)};
            v[2]->mem.vma_budget = budget;
            javm_exit_info ex[NENG];
            for (int k = 0; k < NENG; k += 2) set_start(v[k], &s, 10000000);
            for (int step = 0; step < 64; step++) {
                for (int k = 0; k < NENG; k += 2) {
                    ex[k] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
                    assert_int_equal(javm_run(v[k], &ex[k]), JAVM_OK);
                }
                char what[96];
                snprintf(what, sizeof what, "program %u, VMA budget %" PRId64 ", exit %d", si,
                         budget, step);
                compare(v, ex, what);
                if (ex[0].kind != JAVM_EXIT_HOST_CALL) break;
            }
            javm_instance_free(v[0]);
            javm_instance_free(v[2]);
            javm_program_free(p);
        }
}

/* Reuse: a reset (the pool's dirty reset, pages re-armed) and the same run again. */
static void test_reset_and_rerun(void **state) {
    (void)state;
    scenario s = sc("rerun", SRC_READ_WRITE, BUF, END(NPAGES), 2048, false, 1, 256);
    javm_program *p = load(&s);
    javm_instance *v[NENG] = {NULL};
    javm_exit_info ex[NENG];
    for (int k = 0; k < NENG; k++) v[k] = make(p, g_eng[k], &s);
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < NENG; k++) {
            if (round) assert_int_equal(javm_instance_reset(v[k], NULL), JAVM_OK);
            set_start(v[k], &s, 10000000);
            ex[k] = (javm_exit_info)JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_run(v[k], &ex[k]), JAVM_OK);
        }
        compare(v, ex, "rerun");
    }
    for (int k = 0; k < NENG; k++) javm_instance_free(v[k]);
    javm_program_free(p);
}

/* Runs s on soft and jit, the jit's pagemap read failing: the jit's run reports JAVM_ERR_OS (a
 * retry). Leaves both instances and the soft engine's exit in *sv, *jv, *es. */
static javm_program *run_failing_settle(const scenario *s, javm_instance **sv, javm_instance **jv,
                                        javm_exit_info *es) {
    javm_program *p = load(s);
    *sv = make(p, JAVM_ENGINE_SOFT, s);
    *jv = make(p, JAVM_ENGINE_JIT, s);
    set_start(*sv, s, 10000000);
    set_start(*jv, s, 10000000);
    javm_exit_info ej = JAVM_EXIT_INFO_INIT;
    *es = (javm_exit_info)JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(*sv, es), JAVM_OK);
    jv_mem_ahead_inject_read_failures(1);
    javm_status st = javm_run(*jv, &ej);
    jv_mem_ahead_inject_read_failures(0);
    assert_int_equal(st, JAVM_ERR_OS);
    assert_non_null(strstr(javm_last_error(), "write-ahead"));
    return p;
}

static void compare_and_free(javm_program *p, javm_instance *sv, javm_instance *jv,
                             javm_exit_info es, javm_exit_info ej, const char *what) {
    javm_instance *v[NENG] = {sv, NULL, jv};
    javm_exit_info ex[NENG] = {es, es, ej};
    compare(v, ex, what);
    javm_instance_free(sv);
    javm_instance_free(jv);
    javm_program_free(p);
}

/* A pagemap read that fails: nothing is lost, and the next run settles and ends exactly as
 * soft. */
static void test_settle_failure(void **state) {
    (void)state;
    if (!g_batches) skip();
    scenario s = sc("settle failure", SRC_WRITE, BUF, END(NPAGES), 4096, false, 1, 256);
    javm_instance *sv, *jv;
    javm_exit_info es, ej = JAVM_EXIT_INFO_INIT;
    javm_program *p = run_failing_settle(&s, &sv, &jv, &es);
    assert_int_equal(javm_run(jv, &ej), JAVM_OK);
    compare_and_free(p, sv, jv, es, ej, "after a failed settle");
}

/* The same with watched pages (MEM-13): the settle of the run's exit fails, the next run
 * settles them and ends as soft. */
static const char *const SRC_SCATTER_ECALLI =
    SCATTER_READS
    "  ecalli 7\n"
    "  fallthrough\n"
    "write:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, write\n"
    "  trap\n";
static void test_watch_settle_failure(void **state) {
    (void)state;
    if (!g_batches) skip();
    scenario s = sc("watch settle failure", SRC_SCATTER_ECALLI, BUF, END(NPAGES), 8192, false, 1,
                    256);
    javm_instance *sv, *jv;
    javm_exit_info es, ej = JAVM_EXIT_INFO_INIT;
    javm_program *p = run_failing_settle(&s, &sv, &jv, &es);
    assert_true(jv->mem.watch_count > 0);            /* nothing applied: still watched */
    es = (javm_exit_info)JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(sv, &es), JAVM_OK);
    assert_int_equal(javm_run(jv, &ej), JAVM_OK);
    assert_int_equal(jv->mem.watch_count, 0);
    compare_and_free(p, sv, jv, es, ej, "after a failed settle of watched pages");
}

/* A fork by another thread while a batch is open: the child would share the batch's written
 * pages, and a settle reading them as the zero page (not exclusively mapped) charged nothing
 * for them and left them read-only (12 CoWs missing here). The batch range is wiped in a child
 * instead (MADV_WIPEONFORK), so the parent's pages stay its own: the run equals soft. The child
 * waits on a pipe until the comparison is done, so it exists while the batch settles. */
static const char *const SRC_WRITE_SPIN =
    "  fallthrough\n"
    "loop:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, loop\n"
    "  fallthrough\n"
    "spin:\n"
    "  add_imm_64 r8, r8, -1\n"
    "  branch_ne_imm r8, 0, spin\n"
    "  trap\n";
typedef struct forker {
    javm_instance *vm; /* the jit instance running */
    int done;          /* set when its run returned */
    int pipe[2];
    pid_t child;
} forker;
static void *fork_when_open(void *arg) {
    forker *f = arg;
    while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&f->vm->mem.ahead_count, __ATOMIC_RELAXED) &&
           !__atomic_load_n(&f->vm->mem.watch_count, __ATOMIC_RELAXED))
        ;
    usleep(5000); /* the stream has written the last batch's pages by now; the spin goes on */
    f->child = fork();
    if (f->child == 0) { /* the child exists until the parent closes the pipe */
        char c;
        close(f->pipe[1]);
        while (read(f->pipe[0], &c, 1) < 0) {
        }
        _exit(0);
    }
    return NULL;
}
/* MEM-13: the same with watched pages: scattered reads, then the writes, then the spin (the
 * fork comes while the written pages are still watched). */
static const char *const SRC_SCATTER_SPIN =
    SCATTER_READS
    "write:\n"
    "  store_ind_u8 r4, r1, 0\n"
    "  add_64 r1, r1, r3\n"
    "  branch_lt_u r1, r2, write\n"
    "  fallthrough\n"
    "spin:\n"
    "  add_imm_64 r0, r0, -1\n"
    "  branch_ne_imm r0, 0, spin\n"
    "  trap\n";
static void fork_case(const char *src, bool watched) {
    scenario s = sc("fork", src, BUF, END(NPAGES), 4096, false, 1, 256);
    javm_program *p = load(&s);
    javm_instance *sv = make(p, JAVM_ENGINE_SOFT, &s), *jv = make(p, JAVM_ENGINE_JIT, &s);
    set_start(sv, &s, 1000000000);
    set_start(jv, &s, 1000000000);
    javm_reg_set(sv, 8, 100000000);
    javm_reg_set(jv, 8, 100000000);
    javm_reg_set(sv, 0, 100000000); /* (SRC_SCATTER_SPIN's counter: r8 is the reads') */
    javm_reg_set(jv, 0, 100000000);
    javm_exit_info es = JAVM_EXIT_INFO_INIT, ej = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_run(sv, &es), JAVM_OK);
    forker f = {.vm = jv, .child = -1};
    assert_int_equal(pipe(f.pipe), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fork_when_open, &f), 0);
    javm_status st = javm_run(jv, &ej);
    __atomic_store_n(&f.done, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    assert_true(f.child > 0);
    uint64_t batches = 0, pages = 0;
    jv_jit_ahead_stats(jv->engine, &batches, &pages);
    javm_instance *v[NENG] = {sv, NULL, jv};
    javm_exit_info ex[NENG] = {es, es, ej};
    assert_int_equal(st, JAVM_OK);
    compare(v, ex, "a fork while a batch is open");
    close(f.pipe[1]);
    close(f.pipe[0]);
    int wst = 0;
    assert_int_equal(waitpid(f.child, &wst, 0), f.child);
    assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    if (g_batches && !watched) assert_true(batches > 0);
    if (g_batches && watched) assert_true(jv_jit_watched_pages(jv->engine) >= NPAGES - 2);
    javm_instance_free(sv);
    javm_instance_free(jv);
    javm_program_free(p);
}
static void test_fork_while_a_batch_is_open(void **state) {
    (void)state;
    fork_case(SRC_WRITE_SPIN, false);
}
static void test_fork_while_pages_are_watched(void **state) {
    (void)state;
    fork_case(SRC_SCATTER_SPIN, true);
}

int main(void) {
    if (!javm_engine_available(JAVM_ENGINE_JIT)) {
        printf("jit not available here: nothing to test\n");
        return 0;
    }
    g_batches = jv_uffd_fd() >= 0 && jv_mem_ahead_enabled();
    printf("write-ahead batches %s\n", g_batches ? "available" : "unavailable (engines compared)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_streams),   cmocka_unit_test(test_read_streams),
        cmocka_unit_test(test_host_calls),      cmocka_unit_test(test_out_of_gas),
        cmocka_unit_test(test_vma_budget),      cmocka_unit_test(test_reset_and_rerun),
        cmocka_unit_test(test_settle_failure),  cmocka_unit_test(test_no_huge_pages),
        cmocka_unit_test(test_fork_while_a_batch_is_open),
        cmocka_unit_test(test_watched_reads),   cmocka_unit_test(test_watch_settle_failure),
        cmocka_unit_test(test_watch_needs_ample_gas),
        cmocka_unit_test(test_fork_while_pages_are_watched),
        cmocka_unit_test(test_watched_page_straddled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
