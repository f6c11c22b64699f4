/* The paged engine, measured against the kernel and the soft engine in one run (ratios):
 *   1. first-touch cost per page: raw SIGSEGV + mprotect round trip, raw userfaultfd (SIGBUS
 *      mode, same thread), and the paged engine's fault path (resolve = jv_mem_classify +
 *      jv_mat_touch + mprotect), for a first write and a first read;
 *   2. hot guest access: a PVM load loop on the soft and the paged engine vs the same loop in C;
 *   3. interpreter throughput soft vs paged on a compute loop and on load/store loops;
 *   4. instantiation time vs initial snapshot size (1, 16, 256 MiB): memfd snapshot (CoW) vs copying.
 * The bench workloads themselves (every engine vs native C) are bench/bench_workloads.c.
 * The raw round trips run first, before the engine installs its SIGSEGV handler. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "engine/engine.h"
#include "pvm/asm.h"
#include "bench.h"

#define PAGES 16384 /* 64 MiB per first-touch run */
#define REPS 5


/* ---- 1a. raw SIGSEGV + mprotect: bench_raw_round_trip (bench.h) ------------------------ */

/* ---- 1b. raw userfaultfd, SIGBUS mode on the faulting thread ------------------------------- */
static int g_uffd = -1;
static uint8_t g_zero_src[4096] __attribute__((aligned(4096)));
static void raw_sigbus(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)4095;
    struct uffdio_copy c = {.dst = a, .src = (uintptr_t)g_zero_src, .len = 4096, .mode = 0};
    ioctl(g_uffd, UFFDIO_COPY, &c);
}
static double raw_uffd_round_trip(void) {
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_SIGBUS};
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        close(fd);
        return -1;
    }
    g_uffd = fd;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = raw_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, &old);
    double r[REPS];
    int ok = 1;
    for (int k = 0; k < REPS && ok; k++) {
        volatile uint8_t *m = mmap(NULL, (size_t)PAGES * 4096, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        struct uffdio_register reg = {.range = {.start = (uintptr_t)m, .len = (size_t)PAGES * 4096},
                                      .mode = UFFDIO_REGISTER_MODE_MISSING};
        if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) ok = 0;
        double t0 = now_ns();
        for (size_t i = 0; ok && i < PAGES; i++) m[i * 4096 + 8] = 1;
        r[k] = (now_ns() - t0) / PAGES;
        munmap((void *)m, (size_t)PAGES * 4096);
    }
    sigaction(SIGBUS, &old, NULL);
    close(fd);
    return ok ? median(r, REPS) : -1;
}

/* ---- 1c. the paged engine's fault path ------------------------------------------------------ */
static double engine_first_touch(int write, int straddle_free) {
    (void)straddle_free;
    double r[REPS];
    for (int k = 0; k < REPS; k++) {
        jv_mem m;
        jv_paged p;
        int64_t gas = 1ll << 40;
        if (jv_mem_init(&m, JV_MEM_PAGED, JV_COW_COST, false) != JAVM_OK ||
            jv_paged_init(&p, &m) != JAVM_OK ||
            jv_mem_map(&m, 0x1000000, (uint64_t)PAGES * 4096, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK ||
            jv_paged_enter(&p, &gas) != JAVM_OK) {
            fprintf(stderr, "bench: engine setup failed: %s\n", javm_last_error());
            exit(1);
        }
        double t0 = now_ns();
        for (uint32_t i = 0; i < PAGES; i++) {
            uint64_t v = 1;
            jv_paged_access(&p, 0x1000000 + i * 4096 + 8, 8, write, &v);
        }
        r[k] = (now_ns() - t0) / PAGES;
        jv_paged_leave(&p);
        jv_paged_fini(&p);
        jv_mem_fini(&m);
    }
    return median(r, REPS);
}

/* ---- PVM programs ------------------------------------------------------------------------ */

/* Runs p to halt on a fresh instance with `pages` RW pages at 0x20000 (pre-touched by a first
 * run when warm = 1); returns ns per run and the instruction count. */
static double run_prog(javm_program *p, javm_engine e, uint32_t pages, int warm,
                       uint64_t *insns) {
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    javm_instance *vm = NULL;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK ||
        javm_map(vm, 0x20000, (uint64_t)pages * 4096, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) {
        fprintf(stderr, "bench: %s\n", javm_last_error());
        exit(1);
    }
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    double best = 1e30;
    for (int k = 0; k < (warm ? REPS + 1 : 1); k++) {
        javm_pc_set(vm, 0);
        javm_gas_set(vm, 1ll << 50);
        javm_stats s0 = JAVM_STATS_INIT;
        javm_stats_get(vm, &s0);
        double t0 = now_ns();
        if (javm_run(vm, &ex) != JAVM_OK || ex.kind != JAVM_EXIT_HALT) {
            fprintf(stderr, "bench: program did not halt (%s)\n", javm_exit_str(ex.kind));
            exit(1);
        }
        double t = now_ns() - t0;
        javm_stats s1 = JAVM_STATS_INIT;
        javm_stats_get(vm, &s1);
        *insns = s1.instructions - s0.instructions;
        if (warm && k == 0) continue; /* the first run opens the pages */
        if (t < best) best = t;
    }
    javm_instance_free(vm);
    return best;
}

#define HALT "  load_imm r0, -65536\n  jump_ind r0, 0\n"

int main(void) {
    printf("bench_engine: paged engine vs kernel round trips and the soft engine\n");
    printf("(nested VM: use the ratios; absolute kernel costs are inflated 3-10x, see\n"
           " docs/BENCHMARKS.md)\n\n");

    /* 1. first touch */
    double raw_w = bench_raw_round_trip(1, PAGES, REPS), raw_r = bench_raw_round_trip(0, PAGES, REPS);
    double uffd = raw_uffd_round_trip();
    double eng_w = engine_first_touch(1, 0), eng_r = engine_first_touch(0, 0);
    printf("first touch, ns per 4 KiB page (median of %d x %d pages)\n", REPS, PAGES);
    printf("  raw SIGSEGV + mprotect(RW), write        %8.0f\n", raw_w);
    printf("  raw SIGSEGV + mprotect(R), read          %8.0f\n", raw_r);
    if (uffd > 0)
        printf("  raw userfaultfd SIGBUS + UFFDIO_COPY     %8.0f\n", uffd);
    else
        printf("  raw userfaultfd SIGBUS                   unavailable\n");
    printf("  paged engine first write (resolve + CoW) %8.0f   = %.2fx raw\n", eng_w,
           eng_w / raw_w);
    printf("  paged engine first read                  %8.0f   = %.2fx raw\n", eng_r,
           eng_r / raw_r);

    /* The same through the interpreter: a store to each of PAGES pages, cold vs warm. */
    {
        char src[512];
        snprintf(src, sizeof src,
                 "  load_imm r2, 0x20000\n  load_imm r3, %u\n"
                 "  fallthrough\nl: store_ind_u8 r3, r2, 8\n  add_imm_64 r2, r2, 4096\n  add_imm_64 r3, r3, -1\n"
                 "  branch_ne_imm r3, 0, l\n" HALT,
                 PAGES);
        javm_program *p = bench_assemble(src, strlen(src));
        uint64_t n;
        double cold[REPS];
        for (int k = 0; k < REPS; k++) cold[k] = run_prog(p, JAVM_ENGINE_PAGED, PAGES, 0, &n);
        double c = median(cold, REPS);
        double warm = run_prog(p, JAVM_ENGINE_PAGED, PAGES, 1, &n);
        double soft_cold = run_prog(p, JAVM_ENGINE_SOFT, PAGES, 0, &n);
        printf("  through the interpreter, paged: cold %.0f, warm %.0f -> %.0f per page "
               "(= %.2fx raw write)\n",
               c / PAGES, warm / PAGES, (c - warm) / PAGES, (c - warm) / PAGES / raw_w);
        printf("  (soft engine, same program cold: %.0f per page: software first touch + the "
               "kernel's zero-fill fault)\n\n",
               soft_cold / PAGES);
        javm_program_free(p);
    }

    /* 2 + 3. hot access and throughput */
    {
        const unsigned outer = 400;
        char src[1024];
        snprintf(src, sizeof src,
                 "  load_imm r3, %u\n"
                 "  fallthrough\no: load_imm r2, 0x20000\n"
                 "  fallthrough\ni: load_ind_u64 r4, r2, 0\n  add_64 r5, r5, r4\n  add_imm_64 r2, r2, 8\n"
                 "  branch_lt_u_imm r2, 0x30000, i\n"
                 "  add_imm_64 r3, r3, -1\n  branch_ne_imm r3, 0, o\n" HALT,
                 outer);
        javm_program *ld = bench_assemble(src, strlen(src));
        snprintf(src, sizeof src,
                 "  load_imm r3, %u\n"
                 "  fallthrough\no: load_imm r2, 0x20000\n"
                 "  fallthrough\ni: load_ind_u64 r4, r2, 0\n  add_64 r4, r4, r3\n  store_ind_u64 r4, r2, 0\n"
                 "  add_imm_64 r2, r2, 8\n  branch_lt_u_imm r2, 0x30000, i\n"
                 "  add_imm_64 r3, r3, -1\n  branch_ne_imm r3, 0, o\n" HALT,
                 outer);
        javm_program *rmw = bench_assemble(src, strlen(src));
        snprintf(src, sizeof src,
                 "  load_imm r3, 2000000\n"
                 "  fallthrough\nl: add_64 r4, r4, r3\n  xor r5, r5, r4\n  mul_64 r6, r5, r3\n  add_imm_64 r3, r3, -1\n"
                 "  branch_ne_imm r3, 0, l\n" HALT);
        javm_program *alu = bench_assemble(src, strlen(src));
        uint64_t n_ld, n_rmw, n_alu;
        double s_ld = run_prog(ld, JAVM_ENGINE_SOFT, 16, 1, &n_ld);
        double p_ld = run_prog(ld, JAVM_ENGINE_PAGED, 16, 1, &n_ld);
        double s_rmw = run_prog(rmw, JAVM_ENGINE_SOFT, 16, 1, &n_rmw);
        double p_rmw = run_prog(rmw, JAVM_ENGINE_PAGED, 16, 1, &n_rmw);
        double s_alu = run_prog(alu, JAVM_ENGINE_SOFT, 16, 1, &n_alu);
        double p_alu = run_prog(alu, JAVM_ENGINE_PAGED, 16, 1, &n_alu);
        /* the same load loop in C over a 64 KiB buffer */
        static uint64_t buf[8192];
        for (int i = 0; i < 8192; i++) buf[i] = (uint64_t)i;
        double best = 1e30;
        for (int k = 0; k < REPS; k++) {
            double t0 = now_ns();
            uint64_t acc = 0;
            for (unsigned o = 0; o < outer; o++) {
                volatile uint64_t *b = buf;
                for (int i = 0; i < 8192; i++) acc += b[i];
            }
            if (acc == 42) printf(" "); /* keep the sum alive */
            double t = now_ns() - t0;
            if (t < best) best = t;
        }
        double accesses = outer * 8192.0;
        printf("hot guest access (64 KiB, 8-byte loads, %u passes), ns per access\n", outer);
        printf("  native C loop          %6.2f\n", best / accesses);
        printf("  soft engine            %6.2f   (%.1fx native)\n", s_ld / accesses,
               s_ld / best);
        printf("  paged engine           %6.2f   (%.1fx native, %.2fx soft)\n\n",
               p_ld / accesses, p_ld / best, p_ld / s_ld);
        printf("interpreter throughput, million instructions per second\n");
        printf("  %-22s soft %7.0f   paged %7.0f   paged/soft %.2f\n", "compute loop",
               n_alu / s_alu * 1e3, n_alu / p_alu * 1e3, s_alu / p_alu);
        printf("  %-22s soft %7.0f   paged %7.0f   paged/soft %.2f\n", "load loop",
               n_ld / s_ld * 1e3, n_ld / p_ld * 1e3, s_ld / p_ld);
        printf("  %-22s soft %7.0f   paged %7.0f   paged/soft %.2f\n\n", "load-add-store loop",
               n_rmw / s_rmw * 1e3, n_rmw / p_rmw * 1e3, s_rmw / p_rmw);
        javm_program_free(ld);
        javm_program_free(rmw);
        javm_program_free(alu);
    }

    /* 4. instantiation vs snapshot size */
    {
        javm_program *p = bench_assemble(HALT, strlen(HALT));
        printf("instantiation (instance_new + map initial data + free), microseconds\n");
        printf("  %-8s %14s %14s %14s\n", "data", "snapshot (CoW)", "copy (soft)", "copy (paged)");
        const unsigned sizes[] = {1, 16, 256};
        for (unsigned si = 0; si < 3; si++) {
            size_t len = (size_t)sizes[si] << 20;
            uint8_t *data = malloc(len);
            for (size_t i = 0; i < len; i += 4096) data[i] = (uint8_t)(i >> 12);
            javm_snapshot *snap = NULL;
            if (javm_snapshot_new(data, len, &snap) != JAVM_OK) {
                fprintf(stderr, "bench: %s\n", javm_last_error());
                return 1;
            }
            double t[3];
            for (int mode = 0; mode < 3; mode++) {
                int reps = mode == 0 ? 50 : sizes[si] >= 256 ? 3 : 10;
                double r[50];
                for (int k = 0; k < reps; k++) {
                    javm_config cfg;
                    javm_config_init(&cfg);
                    cfg.engine = mode == 2 ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT;
                    double t0 = now_ns();
                    javm_instance *vm = NULL;
                    javm_status s = javm_instance_new(p, &cfg, &vm);
                    if (s == JAVM_OK)
                        s = mode == 0 ? javm_map_snapshot(vm, 0x100000, len, JAVM_ACCESS_RW, snap, 0)
                                      : javm_map(vm, 0x100000, len, JAVM_ACCESS_RW, data, len);
                    javm_instance_free(vm);
                    r[k] = now_ns() - t0;
                    if (s != JAVM_OK) {
                        fprintf(stderr, "bench: %s\n", javm_last_error());
                        return 1;
                    }
                }
                t[mode] = median(r, reps) / 1e3;
            }
            printf("  %4u MiB %14.1f %14.1f %14.1f\n", sizes[si], t[0], t[1], t[2]);
            if (sizes[si] == 256) { /* reset for reuse after the guest dirtied 16 pages */
                char src[512];
                snprintf(src, sizeof src,
                         "  load_imm r2, 0x100000\n  load_imm r3, 16\n  fallthrough\n"
                         "l: store_ind_u8 r3, r2, 8\n  add_imm_64 r2, r2, 65536\n"
                         "  add_imm_64 r3, r3, -1\n  branch_ne_imm r3, 0, l\n" HALT);
                javm_program *w = bench_assemble(src, strlen(src));
                for (int e = 0; e < 2; e++) {
                    javm_config cfg;
                    javm_config_init(&cfg);
                    cfg.engine = e ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT;
                    javm_instance *vm = NULL;
                    if (javm_instance_new(w, &cfg, &vm) != JAVM_OK ||
                        javm_map_snapshot(vm, 0x100000, len, JAVM_ACCESS_RW, snap, 0) != JAVM_OK)
                        return 1;
                    double r[20];
                    for (int k = 0; k < 20; k++) {
                        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
                        javm_gas_set(vm, 1000000);
                        if (javm_run(vm, &ex) != JAVM_OK || ex.kind != JAVM_EXIT_HALT) return 1;
                        uint64_t n = 0;
                        double t0 = now_ns();
                        javm_instance_reset(vm, &n);
                        r[k] = now_ns() - t0;
                        if (n != 16) return 1;
                    }
                    printf("  reset of a 256 MiB-snapshot instance with 16 dirty pages (%s): %.1f us\n",
                           e ? "paged" : "soft", median(r, 20) / 1e3);
                    javm_instance_free(vm);
                }
                javm_program_free(w);
            }
            javm_snapshot_free(snap);
            free(data);
        }
        javm_program_free(p);
    }
    return 0;
}
