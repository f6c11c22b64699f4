/* bench_image: the Image layer's costs (docs/IMAGE.md, docs/BENCHMARKS.md "Images"):
 *   1. instantiation from an Image as its data grows (64 KiB .. 64 MiB of non-zero initial
 *      content): javm_image_instance_new + free, per engine — flat, the pages are mapped from the
 *      Image's snapshot, not copied (sealing the Image, once, is the O(size) step);
 *   2. a frame that writes K pages of a 1 MiB and of a 64 MiB mapping and halts: the flush at
 *      HALT costs O(dirty pages), whatever the mapping size;
 *   3. a CALL+HALT round trip of a small callee (guest ecalli 26 in a loop), per engine, with a
 *      callee that writes nothing and one that writes one page (CoW, flush, one page hash).
 * Medians of repeated runs; compare ratios within one run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "image/image.h"
#include "pvm/asm.h"

#define HALT_ADDR 0xFFFF0000u
#define DATA JAVM_IMAGE_DATA_BASE

static uint8_t *asm_blob(const char *src, size_t *len) {
    uint8_t *b;
    if (jv_asm_assemble(src, strlen(src), &b, len) != JAVM_OK) {
        fprintf(stderr, "bench_image: asm: %s\n", javm_last_error());
        exit(1);
    }
    return b;
}

static void must(javm_status s, const char *what) {
    if (s != JAVM_OK) {
        fprintf(stderr, "bench_image: %s: %s\n", what, javm_last_error());
        exit(1);
    }
}

/* An Image: src, one initial-slot mapping of map_size bytes at DATA holding data_len bytes of
 * non-zero content (0 = no mapping), endpoint 0 at pc 0 with φ0 = halt. */
static javm_image *make_image(const char *src, uint64_t map_size, size_t data_len) {
    size_t len;
    uint8_t *blob = asm_blob(src, &len);
    javm_image *img;
    must(javm_image_new(blob, len, NULL, &img), "image");
    free(blob);
    if (map_size) {
        uint8_t *data = malloc(data_len ? data_len : 1);
        for (size_t i = 0; i < data_len; i++) data[i] = (uint8_t)(i * 131 + 7) | 1;
        javm_datacap *d;
        must(javm_datacap_new(data, data_len, map_size, &d), "datacap");
        free(data);
        must(javm_image_add_slot(img, 0, 1, d), "slot");
        javm_datacap_free(d);
        uint32_t k = 1;
        must(javm_image_add_mapping(img, DATA, map_size, &k, 1), "mapping");
    }
    uint64_t regs[JAVM_NUM_REGS] = {HALT_ADDR};
    must(javm_image_add_endpoint(img, 0, 0, 0, regs), "endpoint");
    must(javm_image_seal(img), "seal");
    return img;
}

static javm_image_instance *make_inst(const javm_image *img, javm_engine e) {
    javm_config c;
    javm_config_init(&c);
    c.engine = e;
    javm_image_instance *in;
    must(javm_image_instance_new(img, &c, JAVM_IMAGE_ROOT, &in), "instance");
    return in;
}

enum { REPS = 15 };

static void instantiation(const javm_engine *eng, unsigned ne) {
    static const uint64_t sizes[] = {64 << 10, 1 << 20, 16 << 20, 64 << 20};
    printf("instantiation from an Image (new + free, median of %d), by initial data size:\n", REPS);
    printf("  %-10s %12s", "data", "seal (once)");
    for (unsigned e = 0; e < ne; e++) printf(" %10s", javm_engine_name(eng[e]));
    printf("\n");
    double first[4] = {0}, last[4] = {0};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        double t0 = now_ns();
        javm_image *img = make_image("jump_ind r0, 0", sizes[s], (size_t)sizes[s]);
        double seal = now_ns() - t0;
        printf("  %6llu KiB %9.0f us", (unsigned long long)(sizes[s] >> 10), seal / 1e3);
        for (unsigned e = 0; e < ne; e++) {
            double v[REPS];
            for (int r = 0; r < REPS; r++) {
                double a = now_ns();
                javm_image_instance *in = make_inst(img, eng[e]);
                javm_image_instance_free(in);
                v[r] = now_ns() - a;
            }
            double m = median(v, REPS);
            if (s == 0) first[e] = m;
            last[e] = m;
            printf(" %7.1f us", m / 1e3);
        }
        printf("\n");
        javm_image_free(img);
    }
    printf("  64 MiB / 64 KiB:");
    for (unsigned e = 0; e < ne; e++) printf(" %s %.2fx", javm_engine_name(eng[e]), last[e] / first[e]);
    printf("   (1024x the data)\n\n");
}

/* A frame writing K pages (one byte each, 4 KiB apart) then halting. */
static void flush_cost(javm_engine e) {
    static const unsigned ks[] = {1, 16, 128};
    static const uint64_t maps[] = {1 << 20, 64 << 20};
    printf("a frame writing K pages then halting (call incl. CoW + flush, median of %d, %s):\n",
           REPS, javm_engine_name(e));
    printf("  %-8s %14s %14s\n", "K", "1 MiB mapping", "64 MiB mapping");
    for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
        char src[512];
        snprintf(src, sizeof src,
                 "load_imm_64 r2, 0x10000000\nload_imm r3, %u\nfallthrough\n"
                 "loop:\nstore_imm_ind_u8 r2, 0, 1\nadd_imm_64 r2, r2, 4096\n"
                 "add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, loop\njump_ind r0, 0\n",
                 ks[k]);
        printf("  %-8u", ks[k]);
        for (size_t m = 0; m < 2; m++) {
            javm_image *img = make_image(src, maps[m], 4096);
            javm_image_instance *in = make_inst(img, e);
            double v[REPS];
            for (int r = 0; r < REPS; r++) {
                javm_exit_info ex = JAVM_EXIT_INFO_INIT;
                double a = now_ns();
                must(javm_image_call(in, 0, 100000000, &ex), "call");
                v[r] = now_ns() - a;
                if (ex.kind != JAVM_EXIT_HALT) {
                    fprintf(stderr, "bench_image: flush frame did not halt\n");
                    exit(1);
                }
            }
            printf(" %11.1f us", median(v, REPS) / 1e3);
            javm_image_instance_free(in);
            javm_image_free(img);
        }
        printf("\n");
    }
    printf("\n");
}

/* N guest CALLs of a callee that halts at once (or writes one page first). */
static void call_round_trip(const javm_engine *eng, unsigned ne) {
    enum { N = 20000 };
    char caller_src[512];
    snprintf(caller_src, sizeof caller_src,
             "load_imm r10, %d\nfallthrough\nloop:\nload_imm r7, 3\nload_imm r8, 0\necalli 26\n"
             "add_imm_64 r10, r10, -1\nbranch_ne_imm r10, 0, loop\njump_ind r0, 0\n", N);
    const char *callees[2] = {"jump_ind r0, 0", "store_imm_u8 0x10000000, 1\njump_ind r0, 0"};
    const char *what[2] = {"halts at once", "writes one page"};
    printf("CALL + HALT round trip (guest ecalli 26 in a loop of %d, median of 5 loops):\n", N);
    for (int c = 0; c < 2; c++) {
        javm_image *callee = make_image(callees[c], c ? 4096 : 0, c ? 16 : 0);
        javm_image *caller = make_image(caller_src, 0, 0);
        printf("  callee %-16s", what[c]);
        for (unsigned e = 0; e < ne; e++) {
            javm_image_instance *ci = make_inst(callee, eng[e]), *in = make_inst(caller, eng[e]);
            must(javm_image_instance_set_child(in, 3, ci), "child");
            double v[5];
            for (int r = 0; r < 5; r++) {
                javm_exit_info ex = JAVM_EXIT_INFO_INIT;
                double a = now_ns();
                must(javm_image_call(in, 0, INT64_MAX / 2, &ex), "call");
                v[r] = (now_ns() - a) / N;
                if (ex.kind != JAVM_EXIT_HALT) {
                    fprintf(stderr, "bench_image: caller did not halt (%s)\n", javm_exit_str(ex.kind));
                    exit(1);
                }
            }
            printf("  %s %.2f us", javm_engine_name(eng[e]), median(v, 5) / 1e3);
            javm_image_instance_free(in);
            javm_image_instance_free(ci);
        }
        printf("\n");
        javm_image_free(caller);
        javm_image_free(callee);
    }
    /* the accounting part alone: call_frame_cost of a small Image */
    javm_image *img = make_image("jump_ind r0, 0", 0, 0);
    double a = now_ns();
    volatile uint64_t sink = 0;
    for (int i = 0; i < 1000000; i++) sink += javm_image_call_frame_cost(img);
    (void)sink;
    printf("  call_frame_cost computation: %.1f ns\n", (now_ns() - a) / 1e6);
    javm_image_free(img);
}

int main(void) {
    javm_engine eng[3];
    unsigned ne = 0;
    const char *names[] = {"soft", "paged", "jit"};
    for (int i = 0; i < 3; i++) {
        javm_engine e;
        if (javm_engine_parse(names[i], &e) == JAVM_OK && javm_engine_available(e)) eng[ne++] = e;
    }
    instantiation(eng, ne);
    flush_cost(eng[0]);
    call_round_trip(eng, ne);
    return 0;
}
