/* The VMA budget (docs/ENGINE.md "The VMA budget", MEM-7): guest page patterns that split the
 * host's VMAs, on the soft engine and the two hardware-paged engines (paged, jit), in one run.
 *   worst       a store to every other page of 1 GiB (131,072 isolated pages: ~262,000 VMAs
 *               with per-page protection, four times vm.max_map_count). The hardware engines
 *               degrade to soft checks after their budget and finish with the soft result.
 *   sequential  a store to every page of 512 MiB (the same number of first writes; adjacent
 *               opens merge, so the hardware engines stay on hardware paging throughout).
 * Each instance is created, mapped, run to halt and freed; median of 3, #3 accounting on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "bench.h"
#include "javm.h"
#include "pvm/asm.h"


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
    /* the hardware-paged engines with armed pages (MEM-11, where userfaultfd is available) and
     * with them off (the mprotect path) */
    static const javm_engine engines[] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT,
                                          JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
    bool have_uffd = jv_uffd_fd() >= 0;
    printf("first writes of 131,072 pages, instance run time (median of 3), one run\n");
    for (unsigned i = 0; i < 2; i++) {
        javm_program *p = bench_assemble(pats[i].src, strlen(pats[i].src));
        printf("  %s\n", pats[i].name);
        double soft_ms = 0;
        int64_t soft_gas = 0;
        for (int e = 0; e < 5; e++) {
            if (!javm_engine_available(engines[e]) || (e >= 3 && !have_uffd)) continue;
            jv_uffd_force_off(e >= 3);
            double t[3];
            uint64_t deg = 0;
            int64_t gas = 0;
            for (int r = 0; r < 3; r++) {
                t[r] = run_once(p, engines[e], pats[i].size, &deg, &gas);
                if (t[r] < 0) return 1;
            }
            jv_uffd_force_off(false);
            double ms = median(t, 3) / 1e6;
            if (e == 0) {
                soft_ms = ms;
                soft_gas = gas;
            }
            printf("    %-6s %-9s %8.1f ms  /soft %.2f  degraded: %-3s  gas as soft: %s\n",
                   javm_engine_name(engines[e]),
                   e == 0 ? "" : e < 3 ? (have_uffd ? "armed" : "mprotect") : "mprotect", ms,
                   ms / soft_ms, deg ? "yes" : "no", gas == soft_gas ? "yes" : "NO");
        }
        javm_program_free(p);
    }
    return 0;
}
