/* engine — the soft engine's operations table: the pvm layer's checked loops on a JV_MEM_SOFT
 * space; no context, no thread preparation, no statistics of its own. */
#include "engine/engine.h"

static bool soft_available(void) { return true; }

static javm_status soft_create(const javm_program *prog, jv_mem *m, void **ctx) {
    *ctx = NULL;
    return JAVM_OK;
}

static void soft_destroy(void *ctx) {}

static javm_status soft_prepare_thread(void *ctx) { return JAVM_OK; }

static javm_status soft_run(void *ctx, jv_pvm_state *st, const javm_program *prog, jv_mem *m,
                            uint32_t start, jv_engine_loop loop) {
    switch (loop) {
    case JV_ENGINE_LOOP_TRACE: jv_pvm_exec_soft_trace(st, prog, m, start); break;
    case JV_ENGINE_LOOP_SWITCH: jv_pvm_exec_soft_switch(st, prog, m, start); break;
    case JV_ENGINE_LOOP_DEFAULT: jv_pvm_exec_soft(st, prog, m, start); break;
    }
    return JAVM_OK;
}

const jv_engine_ops jv_engine_soft = {
    .name = "soft",
    .mem_mode = JV_MEM_SOFT,
    .available = soft_available,
    .create = soft_create,
    .destroy = soft_destroy,
    .prepare_thread = soft_prepare_thread,
    .run = soft_run,
    .stats = NULL,
};
