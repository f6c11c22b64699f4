/* The bench workloads side by side: every javm engine against a native C equivalent, in one run.
 *
 * This file is the one list of the workloads (bench/workloads/NAME.s and the sieve example) and
 * holds their native C equivalents: the same algorithms, producing the same result registers.
 * The natives read their iteration counts and sizes from the `.equ` lines of the same sources at
 * run time, so the compiler cannot precompute anything. Each workload runs on every engine that
 * javm_engine_parse knows by name and javm_engine_available reports (soft, paged, and jit once
 * it exists), best of REPS runs each; the program checks that every engine and the native code
 * agree on the result registers and exits non-zero if not. Times include the first touches of
 * the workload's buffer (a fresh instance, a fresh native mapping, per run). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "javm.h"
#include "mem/mem.h"
#include "pvm/asm.h"
#include "bench.h"

#define REPS 3
#define MAX_RESULTS 2

/* A native equivalent: reads its parameters from the workload's source (params), runs, and
 * stores the values of the result registers in out[] (in the order of the workload's regs[]). */
typedef int (*native_fn)(const char *src, uint64_t *out);

typedef struct workload {
    const char *name;
    const char *path;
    unsigned nregs;
    unsigned regs[MAX_RESULTS]; /* PVM result registers compared with the native results */
    native_fn native;
} workload;

/* ---- parameters from the source -------------------------------------------------------- */

/* The value of `.equ NAME, <integer literal>` in src (decimal or 0x hex, `_` separators). */
static int equ(const char *src, const char *name, uint64_t *out) {
    size_t nl = strlen(name);
    for (const char *p = src; (p = strstr(p, ".equ")) != NULL; p += 4) {
        if (p != src && p[-1] != '\n') continue;
        const char *q = p + 4;
        while (*q == ' ' || *q == '\t') q++;
        if (strncmp(q, name, nl) != 0 || (q[nl] != ',' && q[nl] != ' ')) continue;
        q += nl;
        while (*q == ' ' || *q == ',' || *q == '\t') q++;
        int base = 10;
        if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) base = 16, q += 2;
        uint64_t v = 0;
        int digits = 0;
        for (;; q++) {
            int d;
            if (*q == '_') continue;
            if (*q >= '0' && *q <= '9') d = *q - '0';
            else if (base == 16 && *q >= 'a' && *q <= 'f') d = *q - 'a' + 10;
            else if (base == 16 && *q >= 'A' && *q <= 'F') d = *q - 'A' + 10;
            else break;
            v = v * (uint64_t)base + (uint64_t)d;
            digits++;
        }
        while (*q == ' ' || *q == '\t') q++;
        if (!digits || (*q != '\n' && *q != ';' && *q != 0)) {
            fprintf(stderr, "bench: .equ %s is not an integer literal\n", name);
            return -1;
        }
        *out = v;
        return 0;
    }
    fprintf(stderr, "bench: no `.equ %s, <integer>` in the workload source\n", name);
    return -1;
}

/* Zeroed memory for a native run, fresh per run so its first touches are timed as the guest's. */
static void *fresh(size_t len) {
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("bench: mmap");
        exit(1);
    }
    return m;
}

static inline uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

/* ---- compute.s: xorshift64 step, multiply-accumulate, rotate ---------------------------- */
static int native_compute(const char *src, uint64_t *out) {
    uint64_t it;
    if (equ(src, "ITERATIONS", &it) || it == 0) return -1;
    uint64_t x = 0x9E3779B97F4A7C15u, k = 0xD6E8FEB86659FD93u, acc = 0;
    do {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = rotr64(acc + x * k, 29);
    } while (--it != 0);
    out[0] = x, out[1] = acc;
    return 0;
}

/* ---- memory.s: sequential read-modify-write plus one LCG-scattered read per word --------- */
static int native_memory(const char *src, uint64_t *out) {
    uint64_t len, passes;
    if (equ(src, "LEN", &len) || equ(src, "PASSES", &passes) || passes == 0 || len < 8 ||
        (len & (len - 1)) != 0)
        return -1;
    uint8_t *buf = fresh(len);
    uint64_t run = 1, rnd = 0;
    const uint64_t mul = 6364136223846793005u, mask = len - 8;
    do {
        for (uint64_t off = 0; off < len; off += 8) {
            uint64_t w;
            memcpy(&w, buf + off, 8);
            w += run;
            memcpy(buf + off, &w, 8);
            run = run * mul + 0x7767814F;
            memcpy(&rnd, buf + ((run >> 40) & mask), 8);
        }
        run ^= rnd;
    } while (--passes != 0);
    uint64_t sum = 0;
    for (uint64_t off = 0; off < len; off += 8) {
        uint64_t w;
        memcpy(&w, buf + off, 8);
        sum += w;
    }
    munmap(buf, len);
    out[0] = sum, out[1] = run;
    return 0;
}

/* ---- branchy.s: Collatz trajectories of 1 .. LIMIT-1 ------------------------------------- */
static int native_branchy(const char *src, uint64_t *out) {
    uint64_t limit;
    if (equ(src, "LIMIT", &limit)) return -1;
    uint64_t n = 1, steps = 0, max = 0;
    do {
        uint64_t v = n;
        if (v != 1) {
            for (;;) {
                if (v & 1) { /* 3n + 1 is never 1 */
                    v = v * 3 + 1;
                    if (v > max) max = v;
                    steps++;
                } else {
                    v >>= 1;
                    steps++;
                    if (v == 1) break;
                }
            }
        }
        n++;
    } while (n < limit);
    out[0] = steps, out[1] = max;
    return 0;
}

/* ---- calls.s: one of four functions per iteration, called through a table --------------- */
typedef struct acc2 {
    uint64_t a, b; /* r9, r10: returned in two registers */
} acc2;
typedef acc2 (*callee)(uint64_t i, uint64_t a, uint64_t b, uint64_t k);
__attribute__((noinline)) static acc2 f0(uint64_t i, uint64_t a, uint64_t b, uint64_t k) {
    (void)k;
    return (acc2){a + i, b};
}
__attribute__((noinline)) static acc2 f1(uint64_t i, uint64_t a, uint64_t b, uint64_t k) {
    (void)i;
    return (acc2){rotr64(a ^ k, 7), b};
}
__attribute__((noinline)) static acc2 f2(uint64_t i, uint64_t a, uint64_t b, uint64_t k) {
    (void)i, (void)b;
    b = a * k;
    return (acc2){a + b, b};
}
__attribute__((noinline)) static acc2 f3(uint64_t i, uint64_t a, uint64_t b, uint64_t k) {
    (void)k;
    return (acc2){a - i, b + 1};
}
static callee g_callees[4] = {f0, f1, f2, f3};

static int native_calls(const char *src, uint64_t *out) {
    uint64_t it;
    if (equ(src, "ITERATIONS", &it) || it == 0) return -1;
    /* read the table through a volatile pointer: the calls stay indirect, as in the guest */
    callee *volatile tabp = g_callees;
    callee *tab = tabp;
    const uint64_t k = 0x9E3779B97F4A7C15u;
    acc2 s = {0, 0};
    do {
        s = tab[it & 3](it, s.a, s.b, k);
    } while (--it != 0);
    out[0] = s.a, out[1] = s.b;
    return 0;
}

/* ---- examples/sieve.s: primes below N, one byte per number ------------------------------ */
static int native_sieve(const char *src, uint64_t *out) {
    uint64_t n;
    if (equ(src, "N", &n) || n < 3) return -1;
    uint8_t *buf = fresh(n);
    for (uint64_t i = 2; i * i < n; i++)
        if (buf[i] == 0)
            for (uint64_t j = i * i; j < n; j += i) buf[j] = 1;
    uint64_t count = 0;
    for (uint64_t i = 2; i < n; i++) count += buf[i] == 0;
    munmap(buf, n);
    out[0] = count;
    return 0;
}

static const workload g_workloads[] = {
    {"compute", "bench/workloads/compute.s", 2, {8, 9}, native_compute},
    {"memory", "bench/workloads/memory.s", 2, {7, 9}, native_memory},
    {"branchy", "bench/workloads/branchy.s", 2, {7, 8}, native_branchy},
    {"calls", "bench/workloads/calls.s", 2, {9, 10}, native_calls},
    {"sieve", "examples/sieve.s", 1, {7}, native_sieve},
};
#define NWORK (sizeof g_workloads / sizeof g_workloads[0])

/* Engines by name, so one that a later build adds ("jit") shows up without an edit here. */
static const char *const g_engine_names[] = {"soft", "paged", "jit"};
#define MAX_ENGINES (sizeof g_engine_names / sizeof g_engine_names[0])

/* One guest run on a fresh instance: the ns of javm_run (first touches included). */
static double guest_run(const javm_program *p, javm_engine e, uint32_t maddr, uint64_t mlen,
                        const workload *w, uint64_t *res, uint64_t *insns) {
    javm_instance *vm = bench_new_instance(p, e, maddr, mlen, w->name);
    double t = bench_run_to_halt(vm, e, w->name);
    for (unsigned i = 0; i < w->nregs; i++) (void)javm_reg_get(vm, w->regs[i], &res[i]);
    javm_stats st = JAVM_STATS_INIT;
    javm_stats_get(vm, &st);
    *insns = st.instructions;
    javm_instance_free(vm);
    return t;
}

int main(void) {
    javm_engine engines[MAX_ENGINES];
    unsigned ne = 0;
    for (unsigned i = 0; i < MAX_ENGINES; i++) {
        javm_engine e;
        if (javm_engine_parse(g_engine_names[i], &e) == JAVM_OK && javm_engine_available(e))
            engines[ne++] = e;
    }
    printf("bench_workloads: javm engines vs native C (gcc -O2 equivalents), best of %d, one run\n",
           REPS);
    printf("%-8s %12s %10s", "workload", "instructions", "native ms");
    for (unsigned e = 0; e < ne; e++) printf(" %8s ms %8s/nat", javm_engine_name(engines[e]),
                                              javm_engine_name(engines[e]));
    printf("\n");

    int bad = 0;
    double logsum[MAX_ENGINES] = {0};
    unsigned counted = 0;
    for (unsigned wi = 0; wi < NWORK; wi++) {
        const workload *w = &g_workloads[wi];
        char *src = bench_read_file(w->path);
        if (!src) return 1;
        unsigned long long maddr = 0, mlen = 0;
        const char *m = strstr(src, "bench-map:");
        if (m && sscanf(m + 10, " %llx:%llx", &maddr, &mlen) != 2) {
            fprintf(stderr, "bench: %s: malformed bench-map line\n", w->path);
            return 1;
        }
        uint8_t *blob = NULL;
        size_t blen = 0;
        javm_program *p = NULL;
        if (jv_asm_assemble(src, strlen(src), &blob, &blen) != JAVM_OK ||
            javm_program_load(blob, blen, &p) != JAVM_OK) {
            fprintf(stderr, "bench: %s: %s\n", w->path, javm_last_error());
            return 1;
        }
        free(blob);

        uint64_t want[MAX_RESULTS], got[MAX_RESULTS], insns = 0;
        double tn = 1e300, te[MAX_ENGINES], toff[MAX_ENGINES], tah[MAX_ENGINES];
        for (unsigned e = 0; e < ne; e++) te[e] = toff[e] = tah[e] = 1e300;
        /* the streaming workloads also with write-ahead batches off (MEM-12; the jit's) */
        bool cmp_ahead = (strcmp(w->name, "sieve") == 0 || strcmp(w->name, "memory") == 0) &&
                         jv_uffd_fd() >= 0 && jv_mem_ahead_enabled();
        /* the sieve's first touches also on the mprotect path (armed pages off, MEM-11) */
        bool cmp_off = strcmp(w->name, "sieve") == 0 && jv_uffd_fd() >= 0;
        for (int rep = 0; rep < REPS; rep++) {
            double t0 = now_ns();
            if (w->native(src, want) != 0) {
                fprintf(stderr, "bench: %s: bad parameters in %s\n", w->name, w->path);
                return 1;
            }
            double t = now_ns() - t0;
            if (t < tn) tn = t;
            for (unsigned e = 0; e < ne; e++) {
                t = guest_run(p, engines[e], (uint32_t)maddr, mlen, w, got, &insns);
                if (t < te[e]) te[e] = t;
                if (cmp_off && engines[e] != JAVM_ENGINE_SOFT) {
                    uint64_t off_res[MAX_RESULTS], off_insns;
                    jv_uffd_force_off(true);
                    double t2 = guest_run(p, engines[e], (uint32_t)maddr, mlen, w, off_res, &off_insns);
                    jv_uffd_force_off(false);
                    if (t2 < toff[e]) toff[e] = t2;
                    for (unsigned r = 0; r < w->nregs; r++)
                        if (off_res[r] != want[r]) bad = 1;
                }
                if (cmp_ahead && engines[e] == JAVM_ENGINE_JIT) {
                    uint64_t ah_res[MAX_RESULTS], ah_insns;
                    jv_mem_ahead_force_off(true);
                    double t2 = guest_run(p, engines[e], (uint32_t)maddr, mlen, w, ah_res, &ah_insns);
                    jv_mem_ahead_force_off(false);
                    if (t2 < tah[e]) tah[e] = t2;
                    for (unsigned r = 0; r < w->nregs; r++)
                        if (ah_res[r] != want[r]) bad = 1;
                }
                for (unsigned r = 0; r < w->nregs; r++)
                    if (got[r] != want[r]) {
                        fprintf(stderr,
                                "bench: MISMATCH %s on %s: r%u = %" PRIu64 ", native %" PRIu64
                                "\n",
                                w->name, javm_engine_name(engines[e]), w->regs[r], got[r], want[r]);
                        bad = 1;
                    }
            }
        }
        printf("%-8s %12" PRIu64 " %10.1f", w->name, insns, tn / 1e6);
        for (unsigned e = 0; e < ne; e++) {
            printf(" %11.1f %11.2fx", te[e] / 1e6, te[e] / tn);
            logsum[e] += log(te[e] / tn);
        }
        printf("\n");
        if (cmp_off) {
            printf("%-8s armed pages off (mprotect path):", w->name);
            for (unsigned e = 0; e < ne; e++)
                if (engines[e] != JAVM_ENGINE_SOFT)
                    printf("  %s %.1f ms %.2fx nat (armed/off %.2f)", javm_engine_name(engines[e]),
                           toff[e] / 1e6, toff[e] / tn, te[e] / toff[e]);
            printf("\n");
        }
        if (cmp_ahead) {
            printf("%-8s write-ahead batches off:", w->name);
            for (unsigned e = 0; e < ne; e++)
                if (engines[e] == JAVM_ENGINE_JIT)
                    printf("  %s %.2f ms %.2fx nat (batches on/off %.2f)",
                           javm_engine_name(engines[e]), tah[e] / 1e6, tah[e] / tn, te[e] / tah[e]);
            printf("\n");
        }
        counted++;
        javm_program_free(p);
        free(src);
    }
    printf("%-8s %12s %10s", "geomean", "", "");
    for (unsigned e = 0; e < ne; e++) printf(" %11s %11.2fx", "", exp(logsum[e] / counted));
    printf("\n");
    if (ne > 1) {
        printf("engine ratios (geomean of time, lower is faster):");
        for (unsigned e = 1; e < ne; e++)
            printf("  %s/%s %.2f", javm_engine_name(engines[e]), javm_engine_name(engines[0]),
                   exp((logsum[e] - logsum[0]) / counted));
        printf("\n");
    }
    printf("results: %s\n", bad ? "MISMATCH between an engine and native C" : "all engines equal native C");
    return bad;
}
