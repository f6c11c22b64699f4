/* Standard-container (SPI) instantiation cost vs data size: javm_instance_new +
 * javm_instance_init_standard for a container with 1 MiB and 16 MiB of read-only data and of
 * read-write data, on both engines, plus the one-off javm_program_load_standard. The container
 * encodes |o| and |w| in 3 bytes, so 16 MiB - 1 is the largest data section; the "+heap" row
 * adds the largest heap (z = 65535 pages, 256 MiB - 4 KiB, zero) to 16 MiB - 1 of read-write
 * data: a 272 MiB writable region. The target
 * is flat: the read-only and read-write data are laid out once per program as shared images,
 * so an instance maps them (one mmap each) instead of copying them; what is left grows only
 * with the per-page metadata writes (one page byte per 4 KiB page).
 * Prints one line per (engine, section, size): the median over REPS instances. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "javm.h"
#include "bench.h"

#define REPS 7

static void run(javm_engine e, int rw, uint32_t bytes, uint32_t heap, const char *label) {
    size_t len;
    uint8_t *c = bench_container(rw ? 0 : bytes, rw ? bytes : 0, heap, &len);
    if (!c) {
        fprintf(stderr, "bench_spi: out of memory\n");
        exit(1);
    }
    javm_program *p = NULL;
    double t0 = now_ns();
    if (javm_program_load_standard(c, len, &p) != JAVM_OK) {
        fprintf(stderr, "bench_spi: load: %s\n", javm_last_error());
        exit(1);
    }
    double load = now_ns() - t0;
    free(c);
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    double r[REPS];
    uint8_t args[16] = {1, 2, 3};
    for (int k = 0; k < REPS; k++) {
        javm_instance *vm = NULL;
        t0 = now_ns();
        if (javm_instance_new(p, &cfg, &vm) != JAVM_OK ||
            javm_instance_init_standard(vm, args, sizeof args) != JAVM_OK) {
            fprintf(stderr, "bench_spi: init: %s\n", javm_last_error());
            exit(1);
        }
        r[k] = now_ns() - t0;
        /* One read from the middle keeps the measurement honest (the data is really there). */
        uint8_t b = 0;
        uint32_t base = rw ? 0x20000u : 0x10000u;
        uint32_t mid = base + bytes / 2;
        if (javm_mem_read(vm, mid, &b, 1) != JAVM_OK ||
            b != (uint8_t)((uint64_t)(bytes / 2) * 131 + 7)) {
            fprintf(stderr, "bench_spi: wrong byte at 0x%x\n", mid);
            exit(1);
        }
        javm_instance_free(vm);
    }
    printf("spi %-5s %-2s %-19s load %10.0f us   instance_new+init_standard %10.1f us\n",
           javm_engine_name(e), rw ? "rw" : "ro", label, load / 1e3, median(r, REPS) / 1e3);
    javm_program_free(p);
}

int main(void) {
    static const struct {
        int rw;
        uint32_t bytes, heap;
        const char *label;
    } rows[] = {{0, 1u << 20, 16, "1MiB"},      {0, (1u << 24) - 1, 16, "16MiB-1"},
                {1, 1u << 20, 16, "1MiB"},      {1, (1u << 24) - 1, 16, "16MiB-1"},
                {1, (1u << 24) - 1, 65535, "16MiB-1+heap256MiB"}};
    printf("bench_spi: standard-container instantiation vs data size (median of %d)\n", REPS);
    for (int e = 0; e < 2; e++) {
        if (!javm_engine_available((javm_engine)e)) continue;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
            run((javm_engine)e, rows[i].rw, rows[i].bytes, rows[i].heap, rows[i].label);
    }
    return 0;
}
