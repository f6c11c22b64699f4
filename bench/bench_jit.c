/* The recompiler's own costs, in one run (ratios; the workloads against soft and native C are
 * bench/bench_workloads.c):
 *   1. compile speed: microseconds per KiB of PVM code, and the time to compile a ~2 MiB
 *      program of ~35k basic blocks (generated: ALU ops, loads/stores, branches);
 *   2. instantiation: javm_instance_new + free of a jit instance against a soft and a paged one
 *      (the program is compiled once, by the first jit instance, before timing);
 *   3. first touch: a guest store (and load) to each of 16384 fresh pages through the jit,
 *      per page, against the raw kernel SIGSEGV + mprotect round trip of the same access. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"
#include "javm.h"
#include "jit/jit.h"
#include "mem/mem.h"
#include "pvm/asm.h"
#include "pvm/pvm.h"

#define PAGES 16384
#define REPS 5


/* ---- 1. compile speed ---------------------------------------------------------------------- */
static uint64_t g_rng = 0x6a69742d62656e63ull;
static unsigned rnd(unsigned n) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((g_rng >> 33) % n);
}

/* A program of `blocks` blocks of ~16 instructions each. */
static char *gen_program(unsigned blocks, size_t *len) {
    size_t cap = (size_t)blocks * 600 + 4096, n = 0;
    char *s = malloc(cap);
    static const char *const alu[] = {"add_64", "sub_64", "xor", "and", "or", "mul_64",
                                      "add_32", "shlo_l_64", "max_u", "set_lt_u"};
    for (unsigned b = 0; b < blocks; b++) {
        n += (size_t)snprintf(s + n, cap - n, "L%u:\n", b);
        unsigned k = 12 + rnd(8);
        for (unsigned i = 0; i < k; i++) {
            unsigned r = rnd(10);
            if (r < 6)
                n += (size_t)snprintf(s + n, cap - n, "  %s r%u, r%u, r%u\n", alu[rnd(10)],
                                      rnd(13), rnd(13), rnd(13));
            else if (r < 8)
                n += (size_t)snprintf(s + n, cap - n, "  add_imm_64 r%u, r%u, %u\n", rnd(13),
                                      rnd(13), rnd(100000));
            else if (r < 9)
                n += (size_t)snprintf(s + n, cap - n, "  load_ind_u64 r%u, r%u, %u\n", rnd(13),
                                      rnd(13), rnd(4096));
            else
                n += (size_t)snprintf(s + n, cap - n, "  store_ind_u32 r%u, r%u, %u\n", rnd(13),
                                      rnd(13), rnd(4096));
        }
        n += (size_t)snprintf(s + n, cap - n, "  branch_ne_imm r%u, %u, L%u\n", rnd(13), rnd(50),
                              rnd(blocks));
    }
    n += (size_t)snprintf(s + n, cap - n, "  trap\n");
    *len = n;
    return s;
}

static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Best of REPS compiles: wall-clock ms, and the compiling thread's CPU ms in *cpu_ms (the
 * machine is shared: wall time includes waiting for a core). */
static double compile_ms(const javm_program *p, size_t *code_bytes, double *cpu_ms) {
    double r[REPS], rc[REPS];
    for (int k = 0; k < REPS; k++) {
        jv_jit_code *c = NULL;
        double t0 = now_ns(), c0 = cpu_ns();
        if (jv_jit_compile(p, &c) != JAVM_OK) {
            fprintf(stderr, "bench_jit: %s\n", javm_last_error());
            exit(1);
        }
        r[k] = (now_ns() - t0) / 1e6;
        rc[k] = (cpu_ns() - c0) / 1e6;
        *code_bytes = jv_jit_code_size(c);
        jv_jit_code_free(c);
    }
    median(r, REPS);
    median(rc, REPS);
    *cpu_ms = rc[0];
    return r[0]; /* the best: compile time is deterministic work, the rest is machine noise */
}

/* ---- 3. raw first-touch round trip: bench_raw_round_trip (bench.h) --------------------- */

/* ns per page of a guest loop touching PAGES pages (store or load), minus the same loop over
 * pages already open (the loop itself). */
static double guest_touch(javm_engine e, int write) {
    char src[512];
    int n = snprintf(src, sizeof src,
                     "  load_imm r2, 0x100000\n  load_imm r3, %u\n  fallthrough\n"
                     "l:\n  %s r4, r2, 8\n  add_imm_64 r2, r2, 4096\n  add_imm_64 r3, r3, -1\n"
                     "  branch_ne_imm r3, 0, l\n  load_imm r0, -65536\n  jump_ind r0, 0\n",
                     PAGES, write ? "store_ind_u8" : "load_ind_u8");
    javm_program *p = bench_assemble(src, (size_t)n);
    double cold[REPS], warm[REPS];
    for (int k = 0; k < REPS; k++) {
        javm_config cfg;
        javm_config_init(&cfg);
        cfg.engine = e;
        javm_instance *vm = NULL;
        if (javm_instance_new(p, &cfg, &vm) != JAVM_OK ||
            javm_map(vm, 0x100000, (uint64_t)PAGES * 4096, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) {
            fprintf(stderr, "bench_jit: %s\n", javm_last_error());
            exit(1);
        }
        for (int pass = 0; pass < 2; pass++) {
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            javm_gas_set(vm, INT64_MAX);
            javm_pc_set(vm, 0);
            double t0 = now_ns();
            if (javm_run(vm, &ex) != JAVM_OK || ex.kind != JAVM_EXIT_HALT) {
                fprintf(stderr, "bench_jit: touch loop did not halt\n");
                exit(1);
            }
            double t = (now_ns() - t0) / PAGES;
            if (pass == 0) cold[k] = t;
            else warm[k] = t;
        }
        javm_instance_free(vm);
    }
    javm_program_free(p);
    return median(cold, REPS) - median(warm, REPS);
}

/* ---- 2. instantiation ------------------------------------------------------------------------ */
static double instantiate_us(const javm_program *p, javm_engine e) {
    double r[50];
    for (int k = 0; k < 50; k++) {
        javm_config cfg;
        javm_config_init(&cfg);
        cfg.engine = e;
        javm_instance *vm = NULL;
        double t0 = now_ns();
        if (javm_instance_new(p, &cfg, &vm) != JAVM_OK) {
            fprintf(stderr, "bench_jit: %s\n", javm_last_error());
            exit(1);
        }
        javm_instance_free(vm);
        r[k] = (now_ns() - t0) / 1e3;
    }
    return median(r, 50);
}

int main(void) {
    if (!javm_engine_available(JAVM_ENGINE_JIT)) {
        printf("bench_jit: the jit engine is not available here\n");
        return 0;
    }
    double raw_w = bench_raw_round_trip(1, PAGES, REPS), raw_r = bench_raw_round_trip(0, PAGES, REPS);

    printf("bench_jit: the recompiler's compile, instantiation and first-touch costs, one run\n");
    /* 1. */
    size_t len = 0;
    char *src = gen_program(35000, &len);
    javm_program *big = bench_assemble(src, len);
    free(src);
    size_t code = 0;
    double big_cpu = 0, small_cpu = 0;
    double big_ms = compile_ms(big, &code, &big_cpu);
    uint32_t big_len = javm_program_code_size(big);
    printf("compile: %u bytes of PVM code, %u ops, 35000 blocks: %.1f ms wall, %.1f ms CPU "
           "(%.2f us CPU per KiB), %.1f MiB of machine code (%.1f bytes per PVM byte)\n",
           big_len, big->nops, big_ms, big_cpu, big_cpu * 1e3 / (big_len / 1024.0),
           code / 1048576.0, (double)code / big_len);
    g_rng = 7;
    src = gen_program(500, &len);
    javm_program *small = bench_assemble(src, len);
    free(src);
    double small_ms = compile_ms(small, &code, &small_cpu);
    printf("compile: %u bytes of PVM code, 500 blocks: %.3f ms wall, %.3f ms CPU (%.2f us CPU "
           "per KiB)\n",
           javm_program_code_size(small), small_ms, small_cpu,
           small_cpu * 1e3 / (javm_program_code_size(small) / 1024.0));

    /* 2. */
    javm_instance *first = NULL;
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = JAVM_ENGINE_JIT;
    if (javm_instance_new(big, &cfg, &first) != JAVM_OK) return 1; /* compiles once */
    double i_soft = instantiate_us(big, JAVM_ENGINE_SOFT);
    double i_paged = instantiate_us(big, JAVM_ENGINE_PAGED);
    double i_jit = instantiate_us(big, JAVM_ENGINE_JIT);
    javm_instance_free(first);
    printf("instantiation (instance_new + free, program compiled already), us: soft %.1f  "
           "paged %.1f  jit %.1f  (jit/soft %.2f)\n",
           i_soft, i_paged, i_jit, i_jit / i_soft);
    javm_program_free(big);
    javm_program_free(small);

    /* 3. */
    double jw = guest_touch(JAVM_ENGINE_JIT, 1), jr = guest_touch(JAVM_ENGINE_JIT, 0);
    double pw = guest_touch(JAVM_ENGINE_PAGED, 1), pr = guest_touch(JAVM_ENGINE_PAGED, 0);
    printf("first touch per page, ns: raw SIGSEGV+mprotect write %.0f read %.0f\n", raw_w, raw_r);
    printf("  jit   first write %.0f (%.2fx raw)  first read %.0f (%.2fx raw)\n", jw, jw / raw_w,
           jr, jr / raw_r);
    printf("  paged first write %.0f (%.2fx raw)  first read %.0f (%.2fx raw)\n", pw, pw / raw_w,
           pr, pr / raw_r);
    if (jv_uffd_fd() >= 0 && jv_mem_ahead_enabled()) { /* MEM-12: the jit's batches off */
        jv_mem_ahead_force_off(true);
        double aw = guest_touch(JAVM_ENGINE_JIT, 1), ar = guest_touch(JAVM_ENGINE_JIT, 0);
        jv_mem_ahead_force_off(false);
        printf("  write-ahead batches off: jit write %.0f read %.0f; on/off write %.2f read %.2f\n",
               aw, ar, jw / aw, jr / ar);
    }
    if (jv_uffd_fd() >= 0) { /* the same with armed pages off: the mprotect path (MEM-11) */
        jv_uffd_force_off(true);
        double ow = guest_touch(JAVM_ENGINE_JIT, 1), or_ = guest_touch(JAVM_ENGINE_JIT, 0);
        double qw = guest_touch(JAVM_ENGINE_PAGED, 1), qr = guest_touch(JAVM_ENGINE_PAGED, 0);
        jv_uffd_force_off(false);
        printf("  armed pages off: jit write %.0f read %.0f, paged write %.0f read %.0f;"
               " armed/off write jit %.2f paged %.2f, read jit %.2f paged %.2f\n",
               ow, or_, qw, qr, jw / ow, pw / qw, jr / or_, pr / qr);
    } else {
        printf("  (userfaultfd unavailable: armed pages off, the mprotect path above)\n");
    }
    return 0;
}
