/* bench_instance: instantiation cost (issue 12 §1). javm_instance_new +
 * javm_instance_init_standard + javm_instance_free of a small standard program (4 KiB of
 * read-only and 4 KiB of read-write data, 16 KiB heap, 64 KiB stack, 16 argument bytes), and of
 * the same with 1 MiB and 16 MiB of data (the cost must be flat in the data size), on every
 * available engine (by name, so a later "jit" shows up); min and median over ROUNDS rounds of
 * BATCH instantiations each (ns per instantiation). Also: a program-only instance (no standard
 * layout), the split into new / init_standard / free for the small program, new arguments
 * each time (the pool rewrites them), and the same with the instance pool turned off (every
 * instance reserves, lays out and releases its own space), for the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "javm.h"
#include "bench.h"

#define ROUNDS 21
#define BATCH 200


/* A container: ro / rw bytes of data, heap pages, a 64 KiB stack, code `trap`. */
static javm_program *container(uint32_t ro, uint32_t rw, uint32_t heap) {
    size_t n;
    uint8_t *c = bench_container(ro, rw, heap, &n);
    if (!c) {
        fprintf(stderr, "bench_instance: out of memory\n");
        exit(1);
    }
    javm_program *p = NULL;
    if (javm_program_load_standard(c, n, &p) != JAVM_OK) {
        fprintf(stderr, "bench_instance: load: %s\n", javm_last_error());
        exit(1);
    }
    free(c);
    return p;
}

typedef struct stat2 {
    double min, med;
} stat2;

/* what: 0 = new + init_standard + free, 1 = new + free, 2/3/4 = only new / init / free timed,
 * 5 = as 0 with arguments that change every time */
static stat2 measure(const javm_program *p, javm_engine e, int what) {
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    uint8_t args[16] = {1, 2, 3, 4};
    double r[ROUNDS];
    javm_instance *vms[BATCH];
    for (int k = 0; k < ROUNDS; k++) {
        double t = 0, t0 = now_ns();
        for (int i = 0; i < BATCH; i++) {
            if (what == 5) args[0] = (uint8_t)(i + k);
            if (what >= 2 && what <= 4) t0 = now_ns();
            if (javm_instance_new(p, &cfg, &vms[i]) != JAVM_OK) goto fail;
            if (what == 2) t += now_ns() - t0, t0 = now_ns();
            if (what != 1 && javm_instance_init_standard(vms[i], args, sizeof args) != JAVM_OK)
                goto fail;
            if (what == 3) t += now_ns() - t0;
            if (what == 4) t0 = now_ns();
            javm_instance_free(vms[i]);
            if (what == 4) t += now_ns() - t0;
        }
        r[k] = (what >= 2 && what <= 4 ? t : now_ns() - t0) / BATCH;
    }
    double med = median(r, ROUNDS);
    return (stat2){r[0], med};
fail:
    fprintf(stderr, "bench_instance: %s\n", javm_last_error());
    exit(1);
}

int main(void) {
    static const char *const names[] = {"soft", "paged", "jit"};
    javm_program *small = container(4096, 4096, 4), *mid = container(1 << 20, 1 << 20, 4),
                 *big = container((1 << 24) - 1, (1 << 24) - 1, 4);
    printf("instantiation, ns (min / median of %d rounds x %d): javm_instance_new +\n"
           "javm_instance_init_standard + javm_instance_free; pool = the instance pool (%d spaces)\n",
           ROUNDS, BATCH, JAVM_INSTANCE_POOL_SIZE);
    printf("%-6s %-5s %15s %15s %15s %15s %15s\n", "engine", "pool", "4 KiB data", "1 MiB data",
           "16 MiB data", "new args each", "new+free only");
    for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++) {
        javm_engine e;
        if (javm_engine_parse(names[k], &e) != JAVM_OK || !javm_engine_available(e)) continue;
        double on = 0;
        for (int pool = 1; pool >= 0; pool--) {
            jv_api_pool_set_capacity(pool ? JAVM_INSTANCE_POOL_SIZE : 0);
            stat2 a = measure(small, e, 0), b = measure(mid, e, 0), c = measure(big, e, 0),
                  v = measure(small, e, 5), d = measure(small, e, 1);
            printf("%-6s %-5s %6.0f / %6.0f %6.0f / %6.0f %6.0f / %6.0f %6.0f / %6.0f %6.0f / %6.0f\n",
                   names[k], pool ? "on" : "off", a.min, a.med, b.min, b.med, c.min, c.med, v.min,
                   v.med, d.min, d.med);
            if (pool) {
                on = a.med;
                stat2 n = measure(small, e, 2), i = measure(small, e, 3), f = measure(small, e, 4);
                printf("       split (medians): new %.0f, init_standard %.0f, free %.0f\n", n.med,
                       i.med, f.med);
            } else {
                printf("       pool on / off (4 KiB data, medians): %.3f\n", on / a.med);
            }
        }
    }
    jv_api_pool_set_capacity(JAVM_INSTANCE_POOL_SIZE);
    javm_program_free(small);
    javm_program_free(mid);
    javm_program_free(big);
    return 0;
}
