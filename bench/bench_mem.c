/* mem benchmarks: checked guest accesses through the soft path, and map_region cost vs size.
 * Ratios are measured in one run; absolute numbers vary on this noisy machine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "mem/mem.h"


static uint64_t sink;

/* Hot 8-byte accesses, mixed 3 loads : 1 store, over 64 pages (all already touched), through
 * jv_mem_load/jv_mem_store exactly as the interpreter uses them. */
static double checked_access_ns(jv_mem *m, uint32_t base, long n) {
    uint32_t x = 12345;
    uint64_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t a = base + ((x >> 8) & (64 * JV_PAGE_SIZE - 8) & ~7u);
        uint64_t v;
        if ((i & 3) == 3) {
            if (jv_mem_store(m, a, 8, acc).kind) abort();
        } else {
            if (jv_mem_load(m, a, 8, &v).kind) abort();
            acc += v;
        }
    }
    double t = now_ns() - t0;
    sink += acc;
    return t / n;
}

/* The same address stream on a plain host buffer: the cost of the loop and the access itself. */
static double native_access_ns(uint8_t *buf, long n) {
    uint32_t x = 12345;
    uint64_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t a = (x >> 8) & (64 * JV_PAGE_SIZE - 8) & ~7u;
        if ((i & 3) == 3) jv_store_le(buf + a, 8, acc);
        else acc += jv_load_le(buf + a, 8);
    }
    double t = now_ns() - t0;
    sink += acc;
    return t / n;
}

int main(void) {
    jv_mem m;
    if (jv_mem_init(&m, JV_MEM_SOFT, JV_COW_COST, false) != JAVM_OK) {
        fprintf(stderr, "bench_mem: %s\n", javm_last_error());
        return 1;
    }
    const uint32_t base = 0x100000;
    jv_mem_map(&m, base, 64 * JV_PAGE_SIZE, JAVM_ACCESS_RW, NULL, 0);
    for (uint32_t p = 0; p < 64; p++) jv_mem_store(&m, base + p * JV_PAGE_SIZE, 8, 0); /* warm */
    uint8_t *buf = calloc(64, JV_PAGE_SIZE);
    const long n = 50 * 1000 * 1000;
    checked_access_ns(&m, base, n / 10);
    native_access_ns(buf, n / 10);
    double soft = checked_access_ns(&m, base, n), native = native_access_ns(buf, n);
    printf("checked hot 8-byte access (3 loads : 1 store), soft path: %.2f ns/access\n", soft);
    printf("same address stream on a plain host buffer:              %.2f ns/access\n", native);
    printf("software check overhead:                                 %.2f ns/access (%.2fx)\n",
           soft - native, soft / native);

    /* map_region must cost in proportion to pages touched, not to the region size */
    printf("\nmap_region (read-write, no init) and first touch of 16 pages:\n");
    const uint64_t sizes[] = {1ull << 20, 16ull << 20, 256ull << 20};
    for (int i = 0; i < 3; i++) {
        if (jv_mem_reset(&m) != JAVM_OK) return 1;
        double t0 = now_ns();
        jv_mem_map(&m, 0x10000000, sizes[i], JAVM_ACCESS_RW, NULL, 0);
        double t1 = now_ns();
        for (uint32_t p = 0; p < 16; p++) jv_mem_store(&m, 0x10000000 + p * 97 * JV_PAGE_SIZE % sizes[i], 8, p);
        double t2 = now_ns();
        printf("  %4llu MiB: map %8.1f us   touch 16 pages %6.1f us\n",
               (unsigned long long)(sizes[i] >> 20), (t1 - t0) / 1e3, (t2 - t1) / 1e3);
    }
    free(buf);
    jv_mem_fini(&m);
    return sink == 42; /* keep the loops alive */
}
