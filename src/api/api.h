/* api — implements include/javm.h over the pvm and mem layers (and the engine layer for the
 * paged engine). This header is for the tool (src/cli) and the tests: the instance layout and a
 * few internal helpers that are not part of the public API.
 *
 * The instance (struct javm_instance)
 *   st     the VM state every engine loop runs on (pvm.h: regs, gas, pc, resume point, last
 *          exit, heap for sbrk, statistics, trace hook);
 *   mem    the guest address space (mem.h), JV_MEM_SOFT for the soft engine;
 *   prog   the program (shared, read-only; the caller keeps it alive while the instance lives);
 *   cfg    the configuration as given (cow_cost resolved to its default when 0).
 *
 * Rules (cited by tests as API-n)
 *   API-1  javm_run continues from the resume point of the last exit: after a host call at
 *          next_pc, after a page fault at the faulting instruction, after out-of-gas at the
 *          block start (charging it again); neither of the first two charges the block again.
 *          After halt or panic javm_run fails with JAVM_ERR_STATE until javm_pc_set.
 *   API-2  javm_pc_set makes the next run a fresh start at that pc (PVM-G3).
 *   API-3  the engine is chosen at javm_instance_new: an entry of the engine table (api.c,
 *          g_engines; jv_engine_ops in engine/engine.h). The api calls engines only through
 *          it (create, destroy, prepare_thread, run, stats, name, availability).
 */
#ifndef JV_API_H
#define JV_API_H

#include <stdbool.h>
#include <stdint.h>

#include "javm.h"
#include "cap/cap.h"
#include "engine/engine.h"
#include "mem/mem.h"
#include "pvm/pvm.h"

#define JV_API_DEFAULT_COW_COST JV_COW_COST
#define JV_API_MAX_COW_COST JAVM_MAX_COW_COST

struct javm_instance {
    jv_pvm_state st;
    jv_mem mem;
    const javm_program *prog;
    javm_config cfg;
    const jv_engine_ops *ops; /* the engine (API-3) */
    void *engine;             /* its context (ops->create); NULL for soft */
};

/* A public DataCap handle (api_datacap.c): one owned jv_datacap. */
struct javm_datacap {
    jv_datacap *d;
};
/* Wraps d (taking it; destroyed on failure) into a new handle. */
javm_status jv_api_datacap_wrap(jv_datacap *d, javm_datacap **out);

/* The first mapped page at or after `from` (a page base); false if none (for memory dumps). */
bool jv_api_next_mapped(const javm_instance *vm, uint64_t from, uint32_t *page);
/* Runs with an explicit soft-engine loop (tests comparing dispatch strategies):
 * 0 = default, 1 = switch dispatch, 2 = traced single-step loop. */
javm_status jv_api_run_with(javm_instance *vm, int loop, javm_exit_info *exit);

#endif
