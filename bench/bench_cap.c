/* bench_cap: page-store costs (docs/PAGESTORE.md §11, §12).
 *   - page root (hash_tree_root of a 4 KiB page, 127 Merkle nodes) for random content, per
 *     SHA-256 backend, and for a zero page / a half-zero page (zero-subtree short cut);
 *   - flat SHA-256 of 4 KiB through OpenSSL (MB/s), for scale;
 *   - flush cost per dirty page, and its independence of the cap size (O(dirty));
 *   - DataCap clone + destroy (clean and with a 16-page overlay), and the root of a 256-page cap.
 * 256 distinct pages (a 1 MiB working set); minimum and median of 15 runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cap/cap.h"

#define NPAGES 256
#define RUNS 15


typedef struct stat2 {
    double min, med;
} stat2;

static stat2 summarize(double *v, int n) {
    double med = median(v, n);
    stat2 s = {v[0], med};
    return s;
}

static uint8_t *pages; /* NPAGES random pages */
static volatile uint8_t sink;

static stat2 bench_page_root(const uint8_t *base, size_t stride) {
    double t[RUNS];
    jv_hash32 h;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < NPAGES; i++) {
            jv_cap_page_hash(base + stride * (size_t)i, 4096, &h);
            sink ^= h.b[0];
        }
        t[r] = (now_ns() - t0) / NPAGES;
    }
    return summarize(t, RUNS);
}

static stat2 bench_flat(void) {
    double t[RUNS];
    jv_hash32 h;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < NPAGES; i++) {
            jv_cap_sha256(pages + 4096 * (size_t)i, 4096, &h);
            sink ^= h.b[0];
        }
        t[r] = (now_ns() - t0) / NPAGES;
    }
    return summarize(t, RUNS);
}

/* ns per dirty page of flush(), for a cap of `total` pages with `dirty` random dirty pages. */
static stat2 bench_flush(uint64_t total, int dirty) {
    jv_datacap *base;
    if (jv_cap_data_create_empty(total * 4096, &base)) abort();
    for (uint64_t i = 0; i < total; i++)
        if (jv_cap_data_put_page(base, i * 4096, pages + 4096 * (i % NPAGES), 4096)) abort();
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        jv_datacap *d, *f;
        if (jv_cap_data_clone(base, &d)) abort();
        for (int k = 0; k < dirty; k++) {
            uint64_t idx = ((uint64_t)k * 7919 + (uint64_t)r) % total;
            if (jv_cap_data_write_page(d, idx * 4096, pages + 4096 * ((size_t)(k + r + 1) % NPAGES), 4096)) abort();
        }
        double t0 = now_ns();
        if (jv_cap_data_flush(d, NULL, &f)) abort();
        t[r] = (now_ns() - t0) / dirty;
        jv_cap_data_destroy(f);
        jv_cap_data_destroy(d);
    }
    jv_cap_data_destroy(base);
    return summarize(t, RUNS);
}

static stat2 bench_clone(int dirty) {
    jv_datacap *base;
    if (jv_cap_data_create_sized(pages, NPAGES * 4096, 0, &base)) abort();
    for (int k = 0; k < dirty; k++)
        if (jv_cap_data_write_page(base, (uint64_t)k * 4096, pages, 4096)) abort();
    double t[RUNS];
    enum { N = 100000 };
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < N; i++) {
            jv_datacap *c;
            if (jv_cap_data_clone(base, &c)) abort();
            jv_cap_data_destroy(c);
        }
        t[r] = (now_ns() - t0) / N;
    }
    jv_cap_data_destroy(base);
    return summarize(t, RUNS);
}

static stat2 bench_cap_root(void) {
    jv_datacap *d;
    if (jv_cap_data_create_sized(pages, NPAGES * 4096, 0, &d)) abort();
    double t[RUNS];
    jv_hash32 h;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < 100; i++) {
            if (jv_cap_data_root(d, &h)) abort();
            sink ^= h.b[0];
        }
        t[r] = (now_ns() - t0) / 100;
    }
    jv_cap_data_destroy(d);
    return summarize(t, RUNS);
}

int main(void) {
    pages = aligned_alloc(4096, (size_t)NPAGES * 4096);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < (size_t)NPAGES * 4096; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pages[i] = (uint8_t)x;
    }
    uint8_t *zero = aligned_alloc(4096, 4096), *half = aligned_alloc(4096, (size_t)NPAGES * 4096);
    memset(zero, 0, 4096);
    memcpy(half, pages, (size_t)NPAGES * 4096);
    for (int i = 0; i < NPAGES; i++) memset(half + 4096 * (size_t)i + 2048, 0, 2048);

    printf("SHA-256 Merkle-node backend at start-up: %s\n", jv_cap_sha256_backend_name());
    printf("%-44s %10s %10s\n", "measure", "min", "median");
    static const struct { jv_sha_backend b; const char *name; } be[] = {
        {JV_SHA_AVX512, "avx-512 x16"}, {JV_SHA_SHANI, "sha-ni x2"}, {JV_SHA_OPENSSL, "openssl blocks"}};
    for (int k = 0; k < 3; k++) {
        if (jv_cap_sha256_set_backend(be[k].b) != JAVM_OK) {
            printf("page root, random (%s): unavailable\n", be[k].name);
            continue;
        }
        char label[80];
        snprintf(label, sizeof label, "page root, random content (%s), ns", be[k].name);
        stat2 s = bench_page_root(pages, 4096);
        printf("%-44s %10.0f %10.0f\n", label, s.min, s.med);
    }
    jv_cap_sha256_set_backend(JV_SHA_AUTO);
    stat2 s = bench_page_root(zero, 0);
    printf("%-44s %10.0f %10.0f\n", "page root, zero page, ns", s.min, s.med);
    s = bench_page_root(half, 4096);
    printf("%-44s %10.0f %10.0f\n", "page root, upper half zero, ns", s.min, s.med);
    s = bench_flat();
    printf("%-44s %10.0f %10.0f   (%.0f MB/s)\n", "flat SHA-256 of 4 KiB (OpenSSL), ns", s.min, s.med,
           4096.0 / s.min * 1e3);
    s = bench_flush(1024, 1);
    printf("%-44s %10.0f %10.0f\n", "flush, 1 dirty of 1024 pages, ns/dirty", s.min, s.med);
    s = bench_flush(1024, 64);
    printf("%-44s %10.0f %10.0f\n", "flush, 64 dirty of 1024 pages, ns/dirty", s.min, s.med);
    s = bench_flush(16384, 64);
    printf("%-44s %10.0f %10.0f\n", "flush, 64 dirty of 16384 pages, ns/dirty", s.min, s.med);
    s = bench_clone(0);
    printf("%-44s %10.1f %10.1f\n", "clone + destroy, clean 256-page cap, ns", s.min, s.med);
    s = bench_clone(16);
    printf("%-44s %10.1f %10.1f\n", "clone + destroy, 16-page overlay, ns", s.min, s.med);
    s = bench_cap_root();
    printf("%-44s %10.0f %10.0f\n", "DataCap root, 256 loaded pages, ns", s.min, s.med);
    free(pages);
    free(zero);
    free(half);
    return 0;
}
