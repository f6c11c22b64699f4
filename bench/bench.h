/* Shared helpers of the benchmark programs: a monotonic clock, order statistics, reading a
 * workload file, assembling a program, running one to halt, building a standard container and
 * the raw SIGSEGV + mprotect first-touch baseline. */
#ifndef JV_BENCH_H
#define JV_BENCH_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "javm.h"
#include "pvm/asm.h"

static inline double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v in place and returns its median (v[0] is then the minimum). */
static inline double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

/* The text of the file at path (malloc'd, NUL-terminated), or NULL with a message on stderr. */
static inline char *bench_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench: cannot open %s (run from the repository root)\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "bench: cannot read %s\n", path);
        fclose(f);
        free(s);
        return NULL;
    }
    fclose(f);
    s[n] = 0;
    return s;
}

/* A fresh instance of p on engine e with mlen RW bytes mapped at maddr (none if mlen is 0) and
 * unlimited gas; exits with a message naming `what` on failure. */
static inline javm_instance *bench_new_instance(const javm_program *p, javm_engine e,
                                                uint32_t maddr, uint64_t mlen, const char *what) {
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    javm_instance *vm = NULL;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK ||
        (mlen && javm_map(vm, maddr, mlen, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK)) {
        fprintf(stderr, "bench: %s on %s: %s\n", what, javm_engine_name(e), javm_last_error());
        exit(1);
    }
    javm_gas_set(vm, INT64_MAX);
    return vm;
}

/* The ns of javm_run on vm (first touches included); exits unless the guest halts. */
static inline double bench_run_to_halt(javm_instance *vm, javm_engine e, const char *what) {
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    double t0 = now_ns();
    javm_status s = javm_run(vm, &ex);
    double t = now_ns() - t0;
    if (s != JAVM_OK || ex.kind != JAVM_EXIT_HALT) {
        fprintf(stderr, "bench: %s on %s did not halt (%s)\n", what, javm_engine_name(e),
                s != JAVM_OK ? javm_last_error() : javm_exit_str(ex.kind));
        exit(1);
    }
    return t;
}

/* Assembles src (len bytes) and loads it as a program blob; exits with a message on failure. */
static inline javm_program *bench_assemble(const char *src, size_t len) {
    uint8_t *blob = NULL;
    size_t blen = 0;
    javm_program *p = NULL;
    if (jv_asm_assemble(src, len, &blob, &blen) != JAVM_OK ||
        javm_program_load(blob, blen, &p) != JAVM_OK) {
        fprintf(stderr, "bench: %s\n", javm_last_error());
        exit(1);
    }
    free(blob);
    return p;
}

static inline void bench_put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A standard container (malloc'd, *len bytes) with ro_len / rw_len bytes of (non-zero) data,
 * `heap` heap pages, a 64 KiB stack and the code `trap` (blob: |j|=0, z=0, |c|=1, code 0x00,
 * bitmask 0x01); NULL when out of memory. */
static inline uint8_t *bench_container(uint32_t ro_len, uint32_t rw_len, uint32_t heap,
                                       size_t *len) {
    static const uint8_t code[] = {0, 0, 1, 0, 1};
    size_t n = 11 + (size_t)ro_len + rw_len + 4 + sizeof code;
    uint8_t *c = malloc(n);
    if (!c) return NULL;
    bench_put_le(c, ro_len, 3);
    bench_put_le(c + 3, rw_len, 3);
    bench_put_le(c + 6, heap, 2);
    bench_put_le(c + 8, 65536, 3);
    for (size_t i = 0; i < (size_t)ro_len + rw_len; i++) c[11 + i] = (uint8_t)(i * 131 + 7);
    bench_put_le(c + 11 + ro_len + rw_len, sizeof code, 4);
    memcpy(c + 15 + ro_len + rw_len, code, sizeof code);
    *len = n;
    return c;
}

/* ---- raw first-touch baseline: SIGSEGV + mprotect, before javm installs its handler -------- */
static int bench_raw_prot;
static inline void bench_raw_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)4095;
    mprotect((void *)a, 4096, bench_raw_prot);
}

/* Median over reps (<= 16) runs of the ns per page of a first store (write) or load touching
 * `pages` PROT_NONE pages, each fault opened by a plain handler. */
static inline double bench_raw_round_trip(int write, size_t pages, int reps) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = bench_raw_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, &old);
    double r[16];
    if (reps > 16) reps = 16;
    for (int k = 0; k < reps; k++) {
        volatile uint8_t *m = mmap(NULL, pages * 4096, PROT_NONE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        bench_raw_prot = write ? PROT_READ | PROT_WRITE : PROT_READ;
        double t0 = now_ns();
        for (size_t i = 0; i < pages; i++) {
            if (write) m[i * 4096 + 8] = 1;
            else (void)m[i * 4096 + 8];
        }
        r[k] = (now_ns() - t0) / (double)pages;
        munmap((void *)m, pages * 4096);
    }
    sigaction(SIGSEGV, &old, NULL);
    return median(r, reps);
}

#endif
