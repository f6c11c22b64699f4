/* The VMA budget (docs/ENGINE.md "The VMA budget", MEM-7): guest page patterns that split the
 * host's VMAs, on the soft and the paged engine, in one run.
 *   worst       a store to every other page of 1 GiB (131,072 isolated pages: ~262,000 VMAs
 *               with per-page protection, four times vm.max_map_count). The paged engine
 *               degrades to soft checks after its budget and finishes with the soft result.
 *   sequential  a store to every page of 512 MiB (the same number of first writes; adjacent
 *               opens merge, so the paged engine stays on hardware paging throughout).
 * Each instance is created, mapped, run to halt and freed; median of 3, #3 accounting on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "bench.h"
#include "javm.h"
#include "pvm/asm.h"

static javm_program *assemble(const char *src) {
    uint8_t *blob = NULL;
    size_t len = 0;
    javm_program *p = NULL;
    if (jv_asm_assemble(src, strlen(src), &blob, &len) != JAVM_OK ||
        javm_program_load(blob, len, &p) != JAVM_OK) {
        fprintf(stderr, "bench_vma: %s\n", javm_last_error());
        exit(1);
    }
    free(blob);
    return p;
}

/* Returns the run time in ns, or a negative value on failure; *degrades from the instance. */
static double run_once(const javm_program *p, javm_engine e, uint64_t size, uint64_t *degrades,
                       int64_t *gas_left) {
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = e;
    cfg.mat = 1;
    javm_instance *vm = NULL;
    if (javm_instance_new(p, &cfg, &vm) != JAVM_OK) return -1;
    if (javm_map(vm, 0x10000000u, size, JAVM_ACCESS_RW, NULL, 0) != JAVM_OK) return -2;
    javm_reg_set(vm, 0, 0xFFFF0000u);
    javm_gas_set(vm, 1ll << 40);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    double t0 = now_ns();
    javm_status s = javm_run(vm, &ex);
    double t = now_ns() - t0;
    *degrades = vm->mem.degrades;
    *gas_left = javm_gas_get(vm);
    javm_instance_free(vm);
    if (s != JAVM_OK || ex.kind != JAVM_EXIT_HALT) {
        fprintf(stderr, "bench_vma: run failed: %s (%s)\n", javm_status_str(s), javm_last_error());
        return -3;
    }
    return t;
}

int main(void) {
    static const struct {
        const char *name, *src;
        uint64_t size;
    } pats[] = {
        {"worst (every other page of 1 GiB)",
         "  load_imm r2, 0x10000000\n  load_imm r3, 131072\n  fallthrough\n"
         "l: store_ind_u8 r3, r2, 0\n  add_imm_64 r2, r2, 8192\n  add_imm_64 r3, r3, -1\n"
         "  branch_ne_imm r3, 0, l\n  jump_ind r0, 0\n",
         1ull << 30},
        {"sequential (every page of 512 MiB)",
         "  load_imm r2, 0x10000000\n  load_imm r3, 131072\n  fallthrough\n"
         "l: store_ind_u8 r3, r2, 0\n  add_imm_64 r2, r2, 4096\n  add_imm_64 r3, r3, -1\n"
         "  branch_ne_imm r3, 0, l\n  jump_ind r0, 0\n",
         1ull << 29},
    };
    int paged = javm_engine_available(JAVM_ENGINE_PAGED);
    printf("first writes of 131,072 pages, instance run time (median of 3), one run\n");
    for (unsigned i = 0; i < 2; i++) {
        javm_program *p = assemble(pats[i].src);
        double t[2][3];
        uint64_t deg[2] = {0, 0};
        int64_t gas[2] = {0, 0};
        for (int e = 0; e < 1 + paged; e++)
            for (int r = 0; r < 3; r++) {
                t[e][r] = run_once(p, e ? JAVM_ENGINE_PAGED : JAVM_ENGINE_SOFT, pats[i].size,
                                   &deg[e], &gas[e]);
                if (t[e][r] < 0) return 1;
            }
        double ms = median(t[0], 3) / 1e6;
        printf("  %-36s soft %8.1f ms", pats[i].name, ms);
        if (paged) {
            double mp = median(t[1], 3) / 1e6;
            printf("  paged %8.1f ms  paged/soft %.2f  paged degraded: %s  gas equal: %s", mp,
                   mp / ms, deg[1] ? "yes" : "no", gas[0] == gas[1] ? "yes" : "NO");
        }
        printf("\n");
        javm_program_free(p);
    }
    return 0;
}
