/* bench_meta: side-metadata costs (docs/MEMORY.md §14).
 *   - address translation + load through the run-time base (ns/op), against a raw table index;
 *   - bzero / bset throughput over data ranges (metadata GB/s);
 *   - scan_non_zero and find_next_non_zero throughput;
 *   - reserve + release of a per-instance extent (us), and reserve + commit + write + release. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "meta/meta.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint64_t sink;

#define LCG(a) ((a) = (a) * 6364136223846793005ull + 1442695040888963407ull)

/* The mem layer's spec set: page byte (u8 per page), dirty bit, read-only-unit bit. */
static jv_meta_spec specs[3] = {
    {"page", true, 0, 3, 12},
    {"dirty", true, 0, 0, 12},
    {"ro_unit", true, 0, 0, 12},
};

static void bench_translate(jv_meta_space *s) {
    const uint64_t N = 50u * 1000 * 1000;
    for (int i = 0; i < 3; i++) {
        const jv_meta_spec *sp = &specs[i];
        uint64_t a = 1, acc = 0;
        double t0 = now();
        for (uint64_t k = 0; k < N; k++) {
            LCG(a);
            acc += jv_meta_load(s, sp, a >> 32);
        }
        double t1 = now();
        sink = acc;
        /* baseline: the same address stream into a precomputed table (no base, no spec) */
        const uint8_t *t = jv_meta_table(s, sp);
        a = 1;
        acc = 0;
        double t2 = now();
        for (uint64_t k = 0; k < N; k++) {
            LCG(a);
            uint64_t x = (a >> 32) >> 12;
            acc += sp->log_bits == 3 ? t[x] : (t[x >> 3] >> (x & 7)) & 1;
        }
        double t3 = now();
        sink = acc;
        printf("translate+load %-8s (b=%u r=%u) random: %.2f ns/op (raw table index: %.2f ns/op)\n",
               sp->name, sp->log_bits, sp->log_region, (t1 - t0) * 1e9 / (double)N,
               (t3 - t2) * 1e9 / (double)N);
    }
    /* sequential pages, store + load (the hot loop of a page walk) */
    const jv_meta_spec *sp = &specs[0];
    uint64_t acc = 0;
    double t0 = now();
    for (int rep = 0; rep < 50; rep++)
        for (uint64_t p = 0; p < (1u << 20); p++) {
            uint64_t addr = p << 12;
            jv_meta_store(s, sp, addr, (uint8_t)(jv_meta_load(s, sp, addr) + 1));
        }
    double t1 = now();
    acc = jv_meta_load(s, sp, 0);
    sink = acc;
    printf("load+store page byte, sequential pages: %.2f ns/op\n",
           (t1 - t0) * 1e9 / (50.0 * (1u << 20)));
    /* sub-byte atomic fetch_or on the dirty bit */
    uint64_t a = 1;
    const uint64_t N2 = 20u * 1000 * 1000;
    t0 = now();
    for (uint64_t k = 0; k < N2; k++) {
        LCG(a);
        jv_meta_fetch_or_atomic(s, &specs[1], a >> 32, 1, __ATOMIC_RELAXED);
    }
    t1 = now();
    printf("fetch_or_atomic dirty bit, random pages: %.2f ns/op\n", (t1 - t0) * 1e9 / (double)N2);
}

static void bench_bulk(jv_meta_space *s) {
    const jv_meta_spec *d = &specs[1]; /* 128 KiB: all 2^20 pages */
    const int R = 2000;
    double t0 = now();
    for (int i = 0; i < R; i++)
        jv_meta_bset(s, d, 0, 1ull << 32);
    double t1 = now();
    for (int i = 0; i < R; i++)
        jv_meta_bzero(s, d, 0, 1ull << 32);
    double t2 = now();
    double bytes = (double)R * (double)jv_meta_range_size(d);
    printf("bset  whole dirty table (128 KiB): %.1f GB/s of metadata, %.2f us per 4 GiB\n",
           bytes / (t1 - t0) * 1e-9, (t1 - t0) * 1e6 / R);
    printf("bzero whole dirty table (128 KiB): %.1f GB/s of metadata, %.2f us per 4 GiB\n",
           bytes / (t2 - t1) * 1e-9, (t2 - t1) * 1e6 / R);
    /* short unaligned ranges: 1..64 pages starting anywhere (edge bytes dominate) */
    uint64_t a = 7;
    const int M = 2000000;
    t0 = now();
    for (int i = 0; i < M; i++) {
        LCG(a);
        uint64_t start = (a >> 32) & ~0xFFFull, len = (((a >> 8) & 63) + 1) << 12;
        jv_meta_bzero(s, d, start, len);
    }
    t1 = now();
    printf("bzero 1..64 pages at random page offsets: %.1f ns/op\n", (t1 - t0) * 1e9 / M);
}

static uint64_t visits;
static bool count_visit(uint64_t a, uint64_t v, void *ctx) {
    (void)a, (void)v, (void)ctx;
    visits++;
    return true;
}

static void bench_scan(jv_meta_space *s) {
    const jv_meta_spec *d = &specs[1];
    static const unsigned one_in[] = {0, 1000, 100, 10, 1};
    for (size_t k = 0; k < sizeof one_in / sizeof one_in[0]; k++) {
        jv_meta_bzero(s, d, 0, 1ull << 32);
        uint64_t a = 3, set = 0;
        if (one_in[k])
            for (uint64_t p = 0; p < (1u << 20); p++) {
                LCG(a);
                if ((a >> 33) % one_in[k] == 0) {
                    jv_meta_store(s, d, p << 12, 1);
                    set++;
                }
            }
        int R = one_in[k] == 1 || one_in[k] == 10 ? 20 : 500;
        visits = 0;
        double t0 = now();
        for (int i = 0; i < R; i++)
            jv_meta_scan_non_zero(s, d, 0, 1ull << 32, count_visit, NULL);
        double t1 = now();
        double per = (t1 - t0) / R;
        printf("scan dirty bits over 4 GiB (2^20 pages, %7llu set): %8.1f us/scan, %.1f GB/s of "
               "metadata, %.2f ns/visit\n",
               (unsigned long long)set, per * 1e6, (double)jv_meta_range_size(d) / per * 1e-9,
               set ? per * 1e9 / (double)set : 0.0);
    }
    /* find_next from random pages over a sparse table (1 in 1000) */
    jv_meta_bzero(s, d, 0, 1ull << 32);
    uint64_t a = 5;
    for (uint64_t p = 0; p < (1u << 20); p++) {
        LCG(a);
        if ((a >> 33) % 1000 == 0)
            jv_meta_store(s, d, p << 12, 1);
    }
    const int F = 1000000;
    uint64_t acc = 0, f;
    double t0 = now();
    for (int i = 0; i < F; i++) {
        LCG(a);
        if (jv_meta_find_next_non_zero(s, d, a >> 32, 1ull << 32, &f))
            acc += f;
        if (jv_meta_find_prev_non_zero(s, d, a >> 32, 1ull << 32, &f))
            acc += f;
    }
    double t1 = now();
    sink = acc;
    printf("find_next + find_prev, 1 bit in 1000 set: %.1f ns per pair\n", (t1 - t0) * 1e9 / F);
}

static void bench_reserve(void) {
    const int R = 20000;
    jv_meta_space s;
    double t0 = now();
    for (int i = 0; i < R; i++) {
        if (jv_meta_space_reserve(&s, specs, 3, NULL) != 0) {
            fprintf(stderr, "reserve failed\n");
            exit(1);
        }
        jv_meta_space_release(&s);
    }
    double t1 = now();
    (void)jv_meta_space_reserve(&s, specs, 3, NULL);
    size_t reserved = s.reserved;
    jv_meta_space_release(&s);
    printf("reserve+release of a %zu KiB extent: %.2f us\n", reserved / 1024,
           (t1 - t0) * 1e6 / R);
    t0 = now();
    for (int i = 0; i < R; i++) { /* the floor: one bare mmap + munmap of the same size */
        void *p = mmap(NULL, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED)
            munmap(p, reserved);
    }
    t1 = now();
    printf("  (bare mmap+munmap of the same size on this host: %.2f us)\n", (t1 - t0) * 1e6 / R);
    t0 = now();
    for (int i = 0; i < R; i++) {
        jv_meta_space_reserve(&s, specs, 3, NULL);
        /* a typical program: RO data at 0x10000, stack near 0xFEFE0000 */
        jv_meta_ensure_mapped(&s, &specs[0], 0x10000, 0x100000);
        jv_meta_ensure_mapped(&s, &specs[0], 0xFEF00000, 0xF0000);
        jv_meta_ensure_mapped(&s, &specs[1], 0x10000, 0x100000);
        jv_meta_store(&s, &specs[0], 0x10000, 1);
        jv_meta_store(&s, &specs[0], 0xFEFE0000, 1);
        jv_meta_store(&s, &specs[1], 0x10000, 1);
        jv_meta_space_release(&s);
    }
    t1 = now();
    printf("reserve + commit 3 granules + 3 first writes + release (%zu KiB extent): %.2f us\n",
           reserved / 1024, (t1 - t0) * 1e6 / R);
    /* reuse instead: clear in place */
    jv_meta_space_reserve(&s, specs, 3, NULL);
    jv_meta_ensure_mapped(&s, &specs[0], 0x10000, 0x100000);
    jv_meta_ensure_mapped(&s, &specs[0], 0xFEF00000, 0xF0000);
    jv_meta_ensure_mapped(&s, &specs[1], 0x10000, 0x100000);
    t0 = now();
    for (int i = 0; i < R; i++) {
        jv_meta_store(&s, &specs[0], 0x10000, 1);
        jv_meta_store(&s, &specs[0], 0xFEFE0000, 1);
        jv_meta_store(&s, &specs[1], 0x10000, 1);
        jv_meta_space_clear(&s);
    }
    t1 = now();
    printf("clear in place (3 committed granules, 3 dirty pages): %.2f us\n", (t1 - t0) * 1e6 / R);
    jv_meta_space_release(&s);
}

int main(void) {
    jv_meta_layout(specs, 3);
    jv_meta_space s;
    if (jv_meta_space_reserve(&s, specs, 3, NULL) != 0) {
        fprintf(stderr, "reserve failed\n");
        return 1;
    }
    for (int i = 0; i < 3; i++)
        if (jv_meta_ensure_mapped_all(&s, &specs[i]) != 0) {
            fprintf(stderr, "commit failed\n");
            return 1;
        }
    bench_translate(&s);
    bench_bulk(&s);
    bench_scan(&s);
    jv_meta_space_release(&s);
    bench_reserve();
    return 0;
}
