/* engine: the fault handler (chaining to previous handlers, ENG-2), fault resolution over plain
 * page maps (ENG-1, ENG-3, ENG-5), gas equality of single accesses with the soft engine's
 * checked accessors (ENG-6), fault-around units, and many instances on many threads.
 *
 * The chaining tests run first and fork: the handler is installed once per process, so each
 * child installs the previous handler it wants to see chained before it first uses the engine. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "instance.h"
#include "pvm/asm.h"

#define PAGE JV_PAGE_SIZE

/* ---- Chaining (ENG-2), each in a fresh child -------------------------------------------- */
static struct sigaction g_startup; /* SIGSEGV action at process start, before cmocka's */
static sigjmp_buf g_child_jb;
static volatile sig_atomic_t g_child_hits;
static volatile uintptr_t g_child_addr;
static void child_siginfo_handler(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    g_child_hits++;
    g_child_addr = (uintptr_t)si->si_addr;
    siglongjmp(g_child_jb, 1);
}
static void child_plain_handler(int sig) {
    (void)sig;
    g_child_hits++;
    siglongjmp(g_child_jb, 1);
}

/* In the child: make a paged instance (installs the engine's handler after `prev`), then
 * segfault on a PROT_NONE page outside every window. Exit 0 iff `prev` received it. */
static int child_fault_outside(int mode) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (mode == 0) {
        sa.sa_sigaction = child_siginfo_handler;
        sa.sa_flags = SA_SIGINFO;
    } else if (mode == 1) {
        sa.sa_handler = child_plain_handler;
    } else {
        sa.sa_handler = SIG_DFL;
    }
    sigaction(SIGSEGV, mode == 3 ? &g_startup : &sa, NULL); /* 3: the startup one (ASan's) */
    jv_mem m;
    jv_paged p;
    if (jv_mem_init(&m, JV_MEM_PAGED, JV_COW_COST, false) != JAVM_OK) return 10;
    if (jv_paged_init(&p, &m) != JAVM_OK) return 11;
    int64_t gas = 0;
    if (jv_paged_enter(&p, &gas) != JAVM_OK) return 12; /* running: still not ours (ENG-2) */
    volatile uint8_t *bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(g_child_jb, 1) == 0) {
        (void)bad[5];
        return 13; /* not reached */
    }
    if (g_child_hits != 1) return 14;
    if (mode == 0 && g_child_addr != (uintptr_t)bad + 5) return 15;
    /* A fault inside the window but outside the published access is not ours either. */
    if (sigsetjmp(g_child_jb, 1) == 0) {
        (void)((volatile uint8_t *)m.base)[0x20000];
        return 16;
    }
    if (g_child_hits != 2) return 17;
    jv_paged_leave(&p);
    jv_paged_fini(&p);
    jv_mem_fini(&m);
    return 0;
}

/* An application handler installed AFTER javm that forwards to javm_handle_fault first. */
static volatile sig_atomic_t g_app_foreign;
static void app_handler(int sig, siginfo_t *si, void *uc) {
    if (javm_handle_fault(sig, si, uc)) return; /* a guest first touch, resolved */
    g_app_foreign++;
    siglongjmp(g_child_jb, 1);
}

static int child_app_handler_after_javm(void) {
    const char *src = "  load_imm r2, 0x20000\n  load_imm r3, 8\n  fallthrough\n"
                      "l: store_ind_u8 r3, r2, 8\n  add_imm_64 r2, r2, 4096\n"
                      "  add_imm_64 r3, r3, -1\n  branch_ne_imm r3, 0, l\n"
                      "  load_u8 r4, 0x40000\n  trap\n";
    uint8_t *blob = NULL;
    size_t len = 0;
    javm_program *p = NULL;
    if (jv_asm_assemble(src, strlen(src), &blob, &len) != JAVM_OK) return 20;
    if (javm_program_load(blob, len, &p) != JAVM_OK) return 21;
    free(blob);
    javm_instance *vm = try_instance(p, JAVM_ENGINE_PAGED, 1);
    if (!vm) return 22; /* javm's handler now in */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = app_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL); /* replaces javm's */
    if (javm_map(vm, 0x20000, 8 * PAGE, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) return 23;
    javm_gas_set(vm, 100000);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    if (javm_run(vm, &ex) != JAVM_OK) return 24;
    if (ex.kind != JAVM_EXIT_PAGE_FAULT || ex.arg != 0x40000) return 25;
    javm_stats s = JAVM_STATS_INIT;
    javm_stats_get(vm, &s);
    if (s.cow_pages != 8 || g_app_foreign != 0) return 26;
    volatile uint8_t *bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(g_child_jb, 1) == 0) {
        (void)bad[1];
        return 27;
    }
    if (g_app_foreign != 1) return 28;
    javm_instance_free(vm);
    javm_program_free(p);
    return 0;
}

static int run_child(int mode) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(mode == 4 ? child_app_handler_after_javm() : child_fault_outside(mode));
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static void chain_to_siginfo_handler(void **st) {
    (void)st;
    int status = run_child(0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void chain_to_plain_handler(void **st) {
    (void)st;
    int status = run_child(1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Whatever was installed at startup (AddressSanitizer's handler under SAN=1, else the default)
 * still sees a genuine host segfault: the child must not survive it. */
static void chain_to_startup_handler(void **st) {
    (void)st;
    int status = run_child(3);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) >= 10);
}

/* The embedding contract: an application handler installed after javm calls
 * javm_handle_fault first; guest faults still resolve and exit exactly, foreign ones reach it. */
static void app_handler_forwards_to_javm(void **st) {
    (void)st;
    int status = run_child(4);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void chain_to_default_action_kills(void **st) {
    (void)st;
    int status = run_child(2);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* ---- Resolution on plain page maps ------------------------------------------------------- */
typedef struct fx {
    jv_mem m;
    jv_paged p;
    int64_t gas;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    if (jv_fault_reinstall() != JAVM_OK) return -1; /* cmocka installs its own around tests */
    if (jv_mem_init(&f->m, JV_MEM_PAGED, JV_COW_COST, false) != JAVM_OK) return -1;
    if (jv_paged_init(&f->p, &f->m) != JAVM_OK) return -1;
    f->gas = 1000000;
    if (jv_paged_enter(&f->p, &f->gas) != JAVM_OK) return -1;
    *state = f;
    return 0;
}
static int teardown(void **state) {
    fx *f = *state;
    jv_paged_leave(&f->p);
    jv_paged_fini(&f->p);
    jv_mem_fini(&f->m);
    free(f);
    return 0;
}

static bool ubit(const uint8_t *bits, uint32_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
static jv_page_state state_of(fx *f, uint32_t a) { return jv_pg_state(f->m.pages[a >> 12]); }

static uint64_t ld(fx *f, uint32_t a, unsigned w, jv_mem_result *r) {
    uint64_t v = 0xDEADBEEF;
    *r = jv_paged_access(&f->p, a, w, false, &v);
    return v;
}
static jv_mem_result st_(fx *f, uint32_t a, unsigned w, uint64_t v) {
    return jv_paged_access(&f->p, a, w, true, &v);
}

static void read_then_write_is_one_cow(void **st) {
    fx *f = *st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    uint8_t init[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(jv_mem_map(&f->m, 0x20000, 2 * PAGE, JAVM_ACCESS_RW, init, 8), JAVM_OK);
    jv_mem_result r;
    assert_int_equal(ld(f, 0x20000, 8, &r), 0x0807060504030201ull);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(f->gas, 1000000);
    assert_int_equal(state_of(f, 0x20000), JV_STATE_PRESENT_RO);
    uint64_t faults = f->p.stats.host_faults;
    (void)ld(f, 0x20008, 4, &r); /* page open for reading now: no fault */
    assert_int_equal(f->p.stats.host_faults, faults);
    r = st_(f, 0x20010, 2, 0xABCD);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(f->gas, 1000000 - JV_COW_COST);
    assert_int_equal(state_of(f, 0x20000), JV_STATE_PRESENT_RW);
    r = st_(f, 0x20020, 8, 1);
    assert_int_equal(f->gas, 1000000 - JV_COW_COST); /* second write: free, no fault */
    assert_int_equal(f->p.stats.host_faults, faults + 1);
    assert_int_equal(f->p.stats.cow_pages, 1);
    assert_int_equal(f->p.stats.first_touch_faults, 1);
    assert_int_equal(f->p.stats.mat_gas, JV_COW_COST);
    assert_int_equal(ld(f, 0x20010, 2, &r), 0xABCD);
}

static void straddle_write_is_two_cows(void **st) {
    fx *f = *st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    assert_int_equal(jv_mem_map(&f->m, 0x30000, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    jv_mem_result r = st_(f, 0x30FFC, 8, 0x1122334455667788ull);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(f->gas, 1000000 - 2 * JV_COW_COST);
    assert_int_equal(state_of(f, 0x30000), JV_STATE_PRESENT_RW);
    assert_int_equal(state_of(f, 0x31000), JV_STATE_PRESENT_RW);
    assert_int_equal(ld(f, 0x30FFC, 8, &r), 0x1122334455667788ull);
    /* a straddling read of fresh pages charges nothing and marks both present */
    assert_int_equal(jv_mem_map(&f->m, 0x40000, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(ld(f, 0x40FFE, 4, &r), 0);
    assert_int_equal(f->gas, 1000000 - 2 * JV_COW_COST);
    assert_int_equal(state_of(f, 0x40000), JV_STATE_PRESENT_RO);
    assert_int_equal(state_of(f, 0x41000), JV_STATE_PRESENT_RO);
}

static void straddle_out_of_region_faults_charging_nothing(void **st) {
    fx *f = *st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    assert_int_equal(jv_mem_map(&f->m, 0x50000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    jv_mem_result r = st_(f, 0x50FFE, 4, 0xFFFFFFFF);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0x51000); /* the page base of the lowest inaccessible byte */
    assert_int_equal(f->gas, 1000000);
    assert_int_equal(state_of(f, 0x50000), JV_STATE_NOT_PRESENT);
    uint8_t b[4];
    assert_int_equal(jv_mem_host_read(&f->m, 0x50FFC, b, 4), JAVM_OK);
    assert_int_equal(b[2] | b[3], 0); /* nothing written */
    /* The page itself stays usable afterwards. */
    r = st_(f, 0x50FF0, 8, 7);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(f->gas, 1000000 - JV_COW_COST);
}

static void pinned_write_panics_charging_nothing(void **st) {
    fx *f = *st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    uint8_t init[4] = {9, 9, 9, 9};
    assert_int_equal(jv_mem_map(&f->m, 0x60000, PAGE, JAVM_ACCESS_RO, init, 4), JAVM_OK);
    jv_mem_result r;
    assert_int_equal(ld(f, 0x60000, 4, &r), 0x09090909);
    r = st_(f, 0x60000, 1, 0);
    assert_int_equal(r.kind, JV_MEM_PANIC);
    assert_int_equal(f->gas, 1000000);
    assert_int_equal(ld(f, 0x60000, 1, &r), 9);
    /* below 64 KiB: panic; unmapped above: fault at the page base */
    r = st_(f, 0x8000, 8, 0);
    assert_int_equal(r.kind, JV_MEM_PANIC);
    (void)ld(f, 0x70123, 2, &r);
    assert_int_equal(r.kind, JV_MEM_FAULT);
    assert_int_equal(r.addr, 0x70000);
}

static void ro_units_follow_runs_and_clusters(void **st) {
    fx *f = *st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    /* two read-only caps in one 2 MiB cluster (separated by a gap) are two units; a cap that
     * spans a cluster boundary is two units */
    assert_int_equal(jv_mem_map(&f->m, 0x1000000, 4 * PAGE, JAVM_ACCESS_RO, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_map(&f->m, 0x1008000, 4 * PAGE, JAVM_ACCESS_RO, NULL, 0), JAVM_OK);
    assert_int_equal(jv_mem_map(&f->m, 0x11FE000, 4 * PAGE, JAVM_ACCESS_RO, NULL, 0), JAVM_OK);
    jv_mem_result r;
    uint64_t u0 = f->p.stats.ro_units, h0 = f->p.stats.host_faults;
    (void)ld(f, 0x1002000, 8, &r);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(f->p.stats.ro_units, u0 + 1);
    for (uint32_t a = 0x1000000; a < 0x1004000; a += PAGE) (void)ld(f, a, 1, &r);
    assert_int_equal(f->p.stats.host_faults, h0 + 1); /* the whole unit opened at once */
    (void)ld(f, 0x1009000, 8, &r);
    assert_int_equal(f->p.stats.ro_units, u0 + 2);
    (void)ld(f, 0x11FE000, 8, &r);
    (void)ld(f, 0x11FF000, 8, &r);
    assert_int_equal(f->p.stats.ro_units, u0 + 3);
    (void)ld(f, 0x1200000, 8, &r); /* second cluster of the third cap */
    assert_int_equal(f->p.stats.ro_units, u0 + 4);
    assert_true(ubit(f->m.ro_unit, 0x1000000 >> 12));
    assert_true(ubit(f->m.ro_unit, 0x1008000 >> 12));
    assert_true(ubit(f->m.ro_unit, 0x11FE000 >> 12));
    assert_true(ubit(f->m.ro_unit, 0x1200000 >> 12));
    assert_int_equal(f->gas, 1000000);
    /* a straddle from a read-only page into a writable one: the read opens both */
    assert_int_equal(jv_mem_map(&f->m, 0x1202000, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    (void)ld(f, 0x1201FFC, 8, &r);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(state_of(f, 0x1202000), JV_STATE_PRESENT_RO);
}

static void wrap_around_accesses(void **st) {
    fx *f = *st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    /* page 0 is mapped read-write, the last page read-only */
    uint8_t top[PAGE];
    memset(top, 0xA5, sizeof top);
    assert_int_equal(jv_mem_map(&f->m, 0xFFFFF000u, PAGE, JAVM_ACCESS_RO, top, PAGE), JAVM_OK);
    jv_mem_result r;
    (void)ld(f, 0xFFFFFFFCu, 8, &r);
    assert_int_equal(r.kind, JV_MEM_PANIC); /* lowest bad byte is 0x0 < 64 KiB */
    assert_int_equal(jv_mem_map(&f->m, 0, PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(ld(f, 0xFFFFFFFCu, 8, &r), 0x00000000A5A5A5A5ull);
    assert_int_equal(r.kind, JV_MEM_OK);
    assert_int_equal(ld(f, 0xFFFFFFF9u, 4, &r), 0xA5A5A5A5u); /* slow path, no wrap */
    r = st_(f, 0xFFFFFFFEu, 4, 0x11223344);
    assert_int_equal(r.kind, JV_MEM_PANIC); /* write to the read-only top page */
    assert_int_equal(f->gas, 1000000);
}

/* ---- Many instances on many threads -------------------------------------------------------- */
typedef struct thr_arg {
    int id;
    int ok;
} thr_arg;

static void *thread_main(void *a_) {
    thr_arg *a = a_;
    jv_mem m;
    jv_paged p;
    int64_t gas = 1 << 30;
    a->ok = 0;
    if (jv_mem_init(&m, JV_MEM_PAGED, JV_COW_COST, false) != JAVM_OK) return NULL;
    if (jv_paged_init(&p, &m) != JAVM_OK) return NULL;
    if (jv_mem_map(&m, 0x100000, 64 * PAGE, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) return NULL;
    if (jv_paged_enter(&p, &gas) != JAVM_OK) return NULL;
    int ok = 1;
    for (int round = 0; round < 4; round++) {
        for (uint32_t i = 0; i < 64; i++) {
            uint64_t v = (uint64_t)a->id * 1000 + i + round;
            if (jv_paged_access(&p, 0x100000 + i * PAGE + 8, 8, true, &v).kind != JV_MEM_OK) ok = 0;
        }
        for (uint32_t i = 0; i < 64; i++) {
            uint64_t v = 0;
            if (jv_paged_access(&p, 0x100000 + i * PAGE + 8, 8, false, &v).kind != JV_MEM_OK ||
                v != (uint64_t)a->id * 1000 + i + round)
                ok = 0;
        }
        uint64_t v = 0;
        if (jv_paged_access(&p, 0x200000, 8, false, &v).kind != JV_MEM_FAULT) ok = 0;
        if (round == 1) { /* a new frame re-arms every page */
            jv_paged_leave(&p);
            jv_mem_new_frame(&m);
            if (jv_paged_enter(&p, &gas) != JAVM_OK) ok = 0;
        }
    }
    /* frame 1: rounds 0-1, frame 2: rounds 2-3 -> 128 CoWs */
    if (gas != (1 << 30) - 128 * (int64_t)JV_COW_COST) ok = 0;
    if (p.stats.cow_pages != 128) ok = 0;
    jv_paged_leave(&p);
    jv_paged_fini(&p);
    jv_mem_fini(&m);
    a->ok = ok;
    return NULL;
}

static void many_instances_many_threads(void **st) {
    (void)st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    enum { N = 8 };
    pthread_t t[N];
    thr_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &a[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 1);
    }
}

/* Programs on paged instances on many threads at once, through the public API: every thread
 * gets its own faults, charges and exits (also a PVM-level fault exit taken in the handler). */
static javm_program *g_thr_prog;
static void *api_thread_main(void *a_) {
    thr_arg *a = a_;
    a->ok = 0;
    javm_instance *vm = try_instance(g_thr_prog, JAVM_ENGINE_PAGED, 1);
    if (!vm) return NULL;
    if (javm_map(vm, 0x20000, 32 * PAGE, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) return NULL;
    int ok = 1;
    for (int round = 0; round < 20; round++) {
        javm_reg_set(vm, 1, (uint64_t)a->id);
        javm_gas_set(vm, 1000000);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        if (javm_run(vm, &ex) != JAVM_OK || ex.kind != JAVM_EXIT_PAGE_FAULT ||
            ex.arg != 0x40000)
            ok = 0;
        uint8_t b = 0;
        if (javm_mem_read(vm, 0x20000 + 31 * PAGE + 8, &b, 1) != JAVM_OK || b != a->id) ok = 0;
        javm_stats s = JAVM_STATS_INIT;
        javm_stats_get(vm, &s);
        if (s.cow_pages != 32u * (unsigned)(round + 1)) ok = 0;
        if (javm_instance_reset(vm, NULL) != JAVM_OK) ok = 0;
    }
    javm_instance_free(vm);
    a->ok = ok;
    return NULL;
}

static void api_programs_on_many_threads(void **st) {
    (void)st;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    const char *src = "  load_imm r2, 0x20000\n  load_imm r3, 32\n  fallthrough\n"
                      "l: store_ind_u8 r1, r2, 8\n  add_imm_64 r2, r2, 4096\n"
                      "  add_imm_64 r3, r3, -1\n  branch_ne_imm r3, 0, l\n"
                      "  load_u8 r4, 0x40000\n  trap\n";
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(jv_asm_assemble(src, strlen(src), &blob, &len), JAVM_OK);
    assert_int_equal(javm_program_load(blob, len, &g_thr_prog), JAVM_OK);
    free(blob);
    enum { N = 8 };
    pthread_t t[N];
    thr_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i].id = i + 1;
        assert_int_equal(pthread_create(&t[i], NULL, api_thread_main, &a[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 1);
    }
    javm_program_free(g_thr_prog);
}

static void registry_reuses_slots(void **st) {
    (void)st;
    /* Create and free more instances than the registry has slots, keeping a few alive. */
    jv_mem keep[3];
    jv_paged kp[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(jv_mem_init(&keep[i], JV_MEM_PAGED, 0, false), JAVM_OK);
        assert_int_equal(jv_paged_init(&kp[i], &keep[i]), JAVM_OK);
    }
    for (int i = 0; i < JV_FAULT_MAX_WINDOWS + 10; i++) {
        jv_mem m;
        jv_paged p;
        assert_int_equal(jv_mem_init(&m, JV_MEM_PAGED, 0, false), JAVM_OK);
        assert_int_equal(jv_paged_init(&p, &m), JAVM_OK);
        jv_paged_fini(&p);
        jv_mem_fini(&m);
    }
    for (int i = 0; i < 3; i++) {
        jv_paged_fini(&kp[i]);
        jv_mem_fini(&keep[i]);
    }
}

int main(void) {
    sigaction(SIGSEGV, NULL, &g_startup);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_to_siginfo_handler),
        cmocka_unit_test(chain_to_plain_handler),
        cmocka_unit_test(chain_to_default_action_kills),
        cmocka_unit_test(chain_to_startup_handler),
        cmocka_unit_test(app_handler_forwards_to_javm),
        cmocka_unit_test_setup_teardown(read_then_write_is_one_cow, setup, teardown),
        cmocka_unit_test_setup_teardown(straddle_write_is_two_cows, setup, teardown),
        cmocka_unit_test_setup_teardown(straddle_out_of_region_faults_charging_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pinned_write_panics_charging_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(ro_units_follow_runs_and_clusters, setup, teardown),
        cmocka_unit_test_setup_teardown(wrap_around_accesses, setup, teardown),
        cmocka_unit_test(many_instances_many_threads),
        cmocka_unit_test(api_programs_on_many_threads),
        cmocka_unit_test(registry_reuses_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
