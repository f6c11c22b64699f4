/* mem: armed pages (MEM-11) — the first touch of a fresh zero page through userfaultfd charges
 * and records exactly what the mprotect path does. Each case runs with arming on (where the
 * kernel allows it) and forced off, and compares gas, states, dirty bits and bytes. */
#include <errno.h>
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

#define PAGE 4096u

typedef struct fx {
    jv_mem m;
    jv_paged p;
    int64_t gas;
} fx;

static bool g_have_uffd;

static void fx_open(fx *f, bool uffd) {
    memset(f, 0, sizeof *f);
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    jv_uffd_force_off(!uffd);
    assert_int_equal(jv_mem_init(&f->m, JV_MEM_PAGED, JV_COW_COST, false), JAVM_OK);
    jv_uffd_force_off(false);
    assert_int_equal(f->m.uffd_live, uffd && g_have_uffd);
    assert_int_equal(jv_paged_init(&f->p, &f->m), JAVM_OK);
    f->gas = 1000000;
    assert_int_equal(jv_paged_enter(&f->p, &f->gas), JAVM_OK);
}

static void fx_close(fx *f) {
    jv_paged_leave(&f->p);
    jv_paged_fini(&f->p);
    jv_mem_fini(&f->m);
}

static uint64_t ld(fx *f, uint32_t a, unsigned w) {
    uint64_t v = 0xDEADBEEF;
    jv_mem_result r = jv_paged_access(&f->p, a, w, false, &v);
    assert_int_equal(r.kind, JV_MEM_OK);
    return v;
}
static void st(fx *f, uint32_t a, unsigned w, uint64_t v) {
    jv_mem_result r = jv_paged_access(&f->p, a, w, true, &v);
    assert_int_equal(r.kind, JV_MEM_OK);
}
static bool armed(fx *f, uint32_t a) { return jv_bit_get(f->m.armed, a >> 12) && f->m.uffd_live; }

/* One scenario, run on a fresh space; the observable record it leaves. */
typedef struct record {
    int64_t gas;
    uint8_t pages[8];
    bool dirty[8];
    uint8_t bytes[8][16];
    uint64_t cow, first;
} record;

static void take(fx *f, uint32_t base, record *r) {
    r->gas = f->gas;
    for (unsigned i = 0; i < 8; i++) {
        r->pages[i] = f->m.pages[(base >> 12) + i];
        r->dirty[i] = jv_bit_get(f->m.dirty, (base >> 12) + i);
        assert_int_equal(jv_mem_host_read(&f->m, base + i * PAGE + PAGE - 8, r->bytes[i], 16),
                         i < 6 ? JAVM_OK : JAVM_ERR_NOT_MAPPED);
    }
    r->cow = f->p.stats.cow_pages;
    r->first = f->p.stats.first_touch_faults;
}

typedef void (*scenario)(fx *f, bool uffd);
#define BASE 0x100000u

/* Runs s with arming on and off; both records must agree. */
static void both_ways(scenario s) {
    record r[2];
    memset(r, 0, sizeof r);
    for (int k = 0; k < 2; k++) {
        fx f;
        fx_open(&f, k == 0);
        assert_int_equal(jv_mem_map(&f.m, BASE, 7 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
        if (k == 0 && g_have_uffd) assert_int_equal(jv_mem_armed_pages(&f.m), 7);
        s(&f, k == 0 && g_have_uffd);
        take(&f, BASE, &r[k]);
        fx_close(&f);
    }
    assert_int_equal(r[0].gas, r[1].gas);
    assert_memory_equal(r[0].pages, r[1].pages, sizeof r[0].pages);
    assert_memory_equal(r[0].dirty, r[1].dirty, sizeof r[0].dirty);
    assert_memory_equal(r[0].bytes, r[1].bytes, sizeof r[0].bytes);
    assert_int_equal(r[0].cow, r[1].cow);
    assert_int_equal(r[0].first, r[1].first);
}

static void s_first_write(fx *f, bool u) {
    st(f, BASE + 8, 8, 0x1122334455667788ull);
    assert_int_equal(f->gas, 1000000 - JV_COW_COST);
    if (u) assert_false(armed(f, BASE));
    if (u) assert_true(armed(f, BASE + PAGE)); /* its neighbour is untouched */
    st(f, BASE + 16, 8, 1); /* no second charge */
    assert_int_equal(f->gas, 1000000 - JV_COW_COST);
    assert_int_equal(ld(f, BASE + 8, 8), 0x1122334455667788ull);
}

static void s_read_then_write(fx *f, bool u) {
    assert_int_equal(ld(f, BASE + 2 * PAGE, 8), 0);
    assert_int_equal(f->gas, 1000000);
    assert_int_equal(jv_pg_state(f->m.pages[(BASE >> 12) + 2]), JV_STATE_PRESENT_RO);
    if (u) assert_false(armed(f, BASE + 2 * PAGE));
    uint64_t faults = f->p.stats.host_faults;
    st(f, BASE + 2 * PAGE + 4, 4, 0xAABBCCDD); /* the write still traps: one COW */
    assert_int_equal(f->p.stats.host_faults, faults + 1);
    assert_int_equal(f->gas, 1000000 - JV_COW_COST);
}

static void s_straddle(fx *f, bool u) {
    /* page 3 is opened by a read first (not armed then), page 4 is armed */
    (void)ld(f, BASE + 3 * PAGE, 1);
    if (u) assert_true(armed(f, BASE + 4 * PAGE));
    st(f, BASE + 4 * PAGE - 4, 8, 0x0102030405060708ull);
    assert_int_equal(f->gas, 1000000 - 2 * JV_COW_COST);
    assert_int_equal(ld(f, BASE + 4 * PAGE - 4, 8), 0x0102030405060708ull);
}

static void s_host_write_then_guest(fx *f, bool u) {
    assert_int_equal(jv_mem_host_write(&f->m, BASE + 5 * PAGE + 100, "hello", 5), JAVM_OK);
    if (u) assert_false(armed(f, BASE + 5 * PAGE)); /* a host write disarms */
    uint8_t b[5];
    assert_int_equal(jv_mem_host_read(&f->m, BASE + 6 * PAGE, b, 5), JAVM_OK); /* reads zero */
    assert_memory_equal(b, "\0\0\0\0\0", 5);
    if (u) assert_true(armed(f, BASE + 6 * PAGE)); /* a host read does not */
    st(f, BASE + 5 * PAGE, 1, 7); /* still charged, once */
    st(f, BASE + 5 * PAGE + 1, 1, 8);
    assert_int_equal(f->gas, 1000000 - JV_COW_COST);
    assert_int_equal(ld(f, BASE + 5 * PAGE + 100, 4), 0x6c6c6568u);
}

static void s_new_frame(fx *f, bool u) {
    st(f, BASE, 1, 1);
    st(f, BASE + PAGE, 1, 2);
    assert_int_equal(jv_mem_new_frame(&f->m), JAVM_OK);
    assert_false(f->m.uffd_live); /* MEM-11: arming ends with the frame */
    assert_int_equal(jv_mem_armed_pages(&f->m), 0);
    st(f, BASE, 1, 3); /* charged again */
    st(f, BASE + 6 * PAGE, 1, 4); /* a page that was armed: charged (classic now) */
    assert_int_equal(f->gas, 1000000 - 4 * JV_COW_COST);
    assert_int_equal(ld(f, BASE + PAGE, 1), 2);
    (void)u;
}

static void s_remap(fx *f, bool u) {
    st(f, BASE, 1, 9);
    assert_int_equal(jv_mem_unmap(&f->m, BASE + PAGE, 2 * PAGE), JAVM_OK);
    assert_int_equal(jv_mem_map(&f->m, BASE + PAGE, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    if (u) assert_true(armed(f, BASE + PAGE) && armed(f, BASE + 2 * PAGE)); /* re-armed */
    st(f, BASE + PAGE + 8, 8, 5);
    assert_int_equal(f->gas, 1000000 - 2 * JV_COW_COST);
    /* a remap of a mapped page keeps its bytes; an armed one reads zero after it */
    assert_int_equal(jv_mem_map(&f->m, BASE, 3 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    assert_int_equal(ld(f, BASE, 1), 9);
    assert_int_equal(ld(f, BASE + PAGE + 8, 8), 5);
    assert_int_equal(ld(f, BASE + 2 * PAGE, 8), 0);
    /* read-only over armed pages: readable zeros, a write panics */
    assert_int_equal(jv_mem_protect(&f->m, BASE + 3 * PAGE, PAGE, JAVM_ACCESS_RO), JAVM_OK);
    assert_int_equal(ld(f, BASE + 3 * PAGE, 8), 0);
    uint64_t v = 1;
    assert_int_equal(jv_paged_access(&f->p, BASE + 3 * PAGE, 1, true, &v).kind, JV_MEM_PANIC);
}

static void first_write(void **st_) { (void)st_, both_ways(s_first_write); }
static void read_then_write(void **st_) { (void)st_, both_ways(s_read_then_write); }
static void straddle_armed_and_not(void **st_) { (void)st_, both_ways(s_straddle); }
static void host_write_then_guest_write(void **st_) { (void)st_, both_ways(s_host_write_then_guest); }
static void new_frame_charges_again(void **st_) { (void)st_, both_ways(s_new_frame); }
static void unmap_remap_rearms(void **st_) { (void)st_, both_ways(s_remap); }

/* A dirty reset (an instance pool's reuse) arms the pages the guest resolved again, unless the
 * host wrote one of them (then the space goes classic); a full reset makes it live again. */
static void resets(void **st_) {
    (void)st_;
    fx f;
    fx_open(&f, true);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(jv_mem_map(&f.m, BASE, 4 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
        int64_t g0 = f.gas;
        st(&f, BASE, 8, 0x55);
        st(&f, BASE + PAGE, 8, 0x66);
        assert_int_equal(f.gas, g0 - 2 * JV_COW_COST);
        uint64_t n = 0;
        assert_int_equal(jv_mem_reset_dirty(&f.m, &n), JAVM_OK);
        assert_int_equal(n, 2);
        /* the resolved pages are armed again: the pool's next frame is live too */
        assert_int_equal(f.m.uffd_live, g_have_uffd);
        if (g_have_uffd) assert_int_equal(jv_mem_armed_pages(&f.m), 4);
        assert_int_equal(ld(&f, BASE, 8), 0); /* the guest's write undone */
        st(&f, BASE + PAGE, 8, 0x77);
        assert_int_equal(f.gas, g0 - 3 * JV_COW_COST);
        /* a page the guest read (resolved, clean) and the host then wrote: not armed again */
        assert_int_equal(jv_mem_host_write(&f.m, BASE + 64, "h", 1), JAVM_OK);
        assert_int_equal(jv_mem_reset_dirty(&f.m, &n), JAVM_OK);
        assert_false(f.m.uffd_live);
        st(&f, BASE + PAGE, 1, 1);
        st(&f, BASE + 3 * PAGE, 1, 1);
        assert_int_equal(f.gas, g0 - 5 * JV_COW_COST);
        assert_int_equal(ld(&f, BASE + 64, 1), (uint64_t)'h'); /* a clean page keeps it */
        assert_int_equal(jv_mem_reset(&f.m), JAVM_OK);
        assert_int_equal(f.m.uffd_live, g_have_uffd);
    }
    fx_close(&f);
}

/* MEM-8 with armed pages: a fill the kernel refuses (the first page's, or the second's of a
 * straddle after the first was filled) records nothing and leaves protection and metadata in
 * agreement; the retry then charges exactly as a first try. */
static void refused_fill_records_nothing(void **st_) {
    (void)st_;
    if (!g_have_uffd) skip();
    for (long skip_n = 0; skip_n < 2; skip_n++) {
        fx f;
        fx_open(&f, true);
        assert_int_equal(jv_mem_map(&f.m, BASE, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
        jv_uffd_inject_fill_failures(skip_n, 1);
        uint64_t v = 0x1122334455667788ull;
        jv_mem_result r = jv_paged_access(&f.p, BASE + PAGE - 4, 8, true, &v);
        jv_uffd_inject_fill_failures(0, 0);
        assert_int_equal(r.kind, JV_MEM_PANIC); /* jv_paged_access's report of an OS error */
        assert_int_equal(f.p.os_errno, ENOMEM);
        assert_int_equal(f.gas, 1000000);
        for (uint32_t pn = BASE >> 12; pn < (BASE >> 12) + 2; pn++) {
            assert_int_equal(jv_pg_state(f.m.pages[pn]), JV_STATE_NOT_PRESENT);
            assert_false(jv_bit_get(f.m.dirty, pn));
            /* an unfilled page is still armed; a filled one has its plain protection */
            assert_int_equal(jv_mem_page_prot(&f.m, pn),
                             jv_bit_get(f.m.armed, pn) ? PROT_READ | PROT_WRITE : PROT_NONE);
        }
        assert_int_equal(jv_bit_get(f.m.armed, BASE >> 12), skip_n == 0);
        uint8_t b[8];
        assert_int_equal(jv_mem_host_read(&f.m, BASE + PAGE - 4, b, 8), JAVM_OK);
        assert_memory_equal(b, "\0\0\0\0\0\0\0\0", 8);
        st(&f, BASE + PAGE - 4, 8, 0x1122334455667788ull);
        assert_int_equal(f.gas, 1000000 - 2 * JV_COW_COST);
        assert_int_equal(ld(&f, BASE + PAGE - 4, 8), 0x1122334455667788ull);
        fx_close(&f);
    }
}

/* Waits for a forked child and asserts how it ended. */
static void child_exits_cleanly(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}
static void child_killed_by(pid_t pid, int sig) {
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), sig);
}

/* JAVM_UFFD=0 turns arming off (read when the descriptor is first opened: a child process). */
static void env_turns_it_off(void **st_) {
    (void)st_;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("JAVM_UFFD", "0", 1);
        /* the parent's descriptor is forgotten in the child, so the variable is read again */
        jv_mem m;
        if (jv_mem_init(&m, JV_MEM_PAGED, JV_COW_COST, false) != JAVM_OK) _exit(2);
        int rc = m.uffd_live ? 3 : 0;
        jv_mem_fini(&m);
        _exit(rc);
    }
    child_exits_cleanly(pid);
}

/* fork: the child's memory is not registered; a space created before the fork goes classic in
 * the child before its next run, so the child's first write is still charged. */
static void fork_child_still_charges(void **st_) {
    (void)st_;
    fx f;
    fx_open(&f, true);
    assert_int_equal(jv_mem_map(&f.m, BASE, 2 * PAGE, JAVM_ACCESS_RW, NULL, 0), JAVM_OK);
    jv_paged_leave(&f.p);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (jv_mem_heal(&f.m) != JAVM_OK) _exit(2); /* what every run and host access calls */
        if (f.m.uffd_live || jv_mem_armed_pages(&f.m)) _exit(3);
        if (jv_paged_enter(&f.p, &f.gas) != JAVM_OK) _exit(4);
        uint64_t v = 1;
        if (jv_paged_access(&f.p, BASE, 1, true, &v).kind != JV_MEM_OK) _exit(5);
        _exit(f.gas == 1000000 - JV_COW_COST ? 0 : 6);
    }
    child_exits_cleanly(pid);
    assert_int_equal(jv_paged_enter(&f.p, &f.gas), JAVM_OK);
    st(&f, BASE, 1, 1); /* the parent's space is still armed and charges as before */
    assert_int_equal(f.gas, 1000000 - JV_COW_COST);
    fx_close(&f);
}

/* A SIGBUS outside every window (the application's own) still reaches the action installed
 * before javm, or kills with the default action. */
static void sigbus_outside_window_dies(void **st_) {
    (void)st_;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        fx f;
        fx_open(&f, true); /* installs javm's handler */
        struct sigaction sa;
        sigaction(SIGBUS, NULL, &sa);
        if (!(sa.sa_flags & SA_SIGINFO)) _exit(7);
        raise(SIGBUS); /* a sent one: re-raised with the default action */
        _exit(8);
    }
    child_killed_by(pid, SIGBUS);
}

/* A hardware SIGBUS outside every window (a read past the end of a file mapping) dies with the
 * default action, as it would without javm. */
static void hardware_sigbus_outside_window_dies(void **st_) {
    (void)st_;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        fx f;
        fx_open(&f, true);
        int fd = memfd_create("empty", MFD_CLOEXEC);
        if (fd < 0) _exit(10);
        volatile uint8_t *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) _exit(11);
        (void)*p; /* past the (empty) file: SIGBUS, BUS_ADRERR */
        _exit(12);
    }
    child_killed_by(pid, SIGBUS);
}

static int g_app_bus;
static void app_bus(int sig) { (void)sig, g_app_bus++; }
static void sigbus_outside_window_chains(void **st_) {
    (void)st_;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGBUS, app_bus);
        /* javm's handler (installed on first use in this process image) chains to it */
        assert_int_equal(jv_fault_reinstall(), JAVM_OK);
        raise(SIGBUS);
        _exit(g_app_bus == 1 ? 0 : 9);
    }
    child_exits_cleanly(pid);
}

int main(void) {
    if (!jv_engine_paged_available()) {
        printf("paged engine unavailable: nothing to test\n");
        return 0;
    }
    g_have_uffd = jv_uffd_fd() >= 0;
    printf("userfaultfd %s\n", g_have_uffd ? "available: armed pages tested" : "unavailable");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_write),
        cmocka_unit_test(read_then_write),
        cmocka_unit_test(straddle_armed_and_not),
        cmocka_unit_test(host_write_then_guest_write),
        cmocka_unit_test(new_frame_charges_again),
        cmocka_unit_test(unmap_remap_rearms),
        cmocka_unit_test(resets),
        cmocka_unit_test(refused_fill_records_nothing),
        cmocka_unit_test(env_turns_it_off),
        cmocka_unit_test(fork_child_still_charges),
        cmocka_unit_test(sigbus_outside_window_dies),
        cmocka_unit_test(sigbus_outside_window_chains),
        cmocka_unit_test(hardware_sigbus_outside_window_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
