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
 *   API-4  the instance pool (pool.c): javm_instance_free of an instance whose mem still holds
 *          its program's standard layout untouched by the host since init_standard (MEM-9)
 *          restores the guest's writes (jv_mem_reset_dirty) and keeps the mem; javm_instance_new
 *          of that program (same memory mode) takes it back as a *latent* layout, which reads
 *          as nothing mapped (page_access NONE, next_mapped none) until init_standard claims it
 *          (rewriting only the arguments) — or any other call that needs the mem empties it
 *          first (jv_mem_reset). Observable results are those of a fresh instance.
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

/* The arguments a standard layout was made with (API-4): their length, and their bytes when
 * at most JV_API_ARGS_KEEP (so a reuse with the same arguments writes nothing). */
#define JV_API_ARGS_KEEP 256
typedef struct jv_api_args {
    size_t len;
    bool known;
    uint8_t bytes[JV_API_ARGS_KEEP];
} jv_api_args;

struct javm_instance {
    jv_pvm_state st;
    jv_mem mem;
    const javm_program *prog;
    javm_config cfg;
    const jv_engine_ops *ops; /* the engine (API-3) */
    void *engine;             /* its context (ops->create); NULL for soft */
    /* API-4 */
    bool latent;          /* mem holds a pooled layout of prog not yet claimed by init_standard */
    bool laid_out;        /* mem holds prog's standard layout made by init_standard */
    uint64_t layout_mark; /* mem.changes right after that layout */
    jv_api_args args;     /* the arguments of the layout in mem */
};

/* The instance pool (API-4, pool.c; thread-safe). take: a pooled mem of p in memory mode
 * `mode` moves to *m (and its arguments to *args), or false. put: keeps *m (restored by the
 * caller) if there is room, else false and the caller releases it. purge: releases p's entries
 * (every entry for p = NULL). set_capacity (tests, benchmarks): at most n entries (capped at
 * JAVM_INSTANCE_POOL_SIZE; 0 turns pooling off), releasing the excess; returns the old one. */
bool jv_api_pool_take(const javm_program *p, jv_mem_mode mode, jv_mem *m, jv_api_args *args);
bool jv_api_pool_put(const javm_program *p, jv_mem *m, const jv_api_args *args);
void jv_api_pool_purge(const javm_program *p);
unsigned jv_api_pool_set_capacity(unsigned n);
unsigned jv_api_pool_count(void);
/* API-4: empties a latent layout (jv_mem_reset) before a call that needs the instance's mem as
 * the API describes it; a no-op otherwise. */
javm_status jv_api_claim_empty(javm_instance *vm);

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
