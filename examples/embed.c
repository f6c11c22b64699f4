/* embed.c — embedding javm: load a program, give it memory, run it, serve its host call, read
 * the result. The same example is explained step by step in docs/API.md.
 *
 * Build against an installed libjavm (`make install`):
 *     cc embed.c -o embed $(pkg-config --cflags --libs javm)
 * or against the build tree:
 *     cc -Iinclude examples/embed.c build/libjavm.a $(pkg-config --libs libcrypto) \
 *        -lpthread -lm -o embed
 * Expected output:
 *     host call 1: the guest stored 5050 at 0x20000
 *     exit: halt at pc 21 after 306 instructions, 306 gas used
 *     sum of 1..100 = 5050
 */
#include <inttypes.h>
#include <stdio.h>

#include "javm.h"

/* The guest: r8 = r7 + (r7 - 1) + ... + 1; store r8 at 0x20000; ecalli 1; return to r0.
 * Assembled with `javm asm` from:
 *             load_imm r8, 0
 *             fallthrough
 *     loop:   add_64 r8, r8, r7
 *             add_imm_64 r7, r7, -1
 *             branch_ne_imm r7, 0, loop
 *             load_imm r9, 0x20000
 *             store_ind_u64 r8, r9, 0
 *             ecalli 1
 *             jump_ind r0, 0                    ; r0 = 0xFFFF0000: halt
 */
static const uint8_t program[] = {
    0x00, 0x00, 0x17, 0x33, 0x08, 0x01, 0xc8, 0x78, 0x08, 0x95, 0x77, 0xff, 0x52, 0x07, 0xfa,
    0x33, 0x09, 0x00, 0x00, 0x02, 0x7b, 0x98, 0x0a, 0x01, 0x32, 0x00, 0x4d, 0x12, 0x2a,
};

#define CHECK(call)                                                                       \
    do {                                                                                  \
        javm_status s_ = (call);                                                          \
        if (s_ != JAVM_OK) {                                                              \
            fprintf(stderr, "%s: %s (%s)\n", #call, javm_status_str(s_), javm_last_error()); \
            return 1;                                                                     \
        }                                                                                 \
    } while (0)

int main(void) {
    javm_program *prog;
    CHECK(javm_program_load(program, sizeof program, &prog));

    javm_config cfg;
    javm_config_init(&cfg); /* soft engine, gp07 gas */
    javm_instance *vm;
    CHECK(javm_instance_new(prog, &cfg, &vm));

    CHECK(javm_map(vm, 0x20000, 4096, JAVM_ACCESS_RW, NULL, 0)); /* one zeroed page */
    CHECK(javm_reg_set(vm, 7, 100));                             /* the argument */
    CHECK(javm_reg_set(vm, 0, 0xFFFF0000));                      /* return address: halt */
    javm_gas_set(vm, 10000);

    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    for (;;) {
        CHECK(javm_run(vm, &ex));
        if (ex.kind != JAVM_EXIT_HOST_CALL) break;
        uint64_t stored;
        CHECK(javm_mem_read(vm, 0x20000, &stored, sizeof stored)); /* little-endian host */
        printf("host call %" PRIu64 ": the guest stored %" PRIu64 " at 0x20000\n", ex.arg, stored);
        /* the next javm_run resumes at ex.next_pc */
    }
    javm_stats st = JAVM_STATS_INIT;
    CHECK(javm_stats_get(vm, &st));
    printf("exit: %s at pc %u after %" PRIu64 " instructions, %" PRId64 " gas used\n",
           javm_exit_str(ex.kind), ex.pc, st.instructions, 10000 - javm_gas_get(vm));
    uint64_t sum;
    CHECK(javm_reg_get(vm, 8, &sum));
    printf("sum of 1..100 = %" PRIu64 "\n", sum);

    javm_instance_free(vm);
    javm_program_free(prog);
    return ex.kind == JAVM_EXIT_HALT ? 0 : 1;
}
