/* api — memory snapshots (javm_snapshot_*, javm_map_snapshot) over the mem layer's
 * (mem.h, MEM-6), and reset for reuse. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/error.h"

struct javm_snapshot {
    jv_mem_snapshot *snap;
};

javm_status javm_snapshot_new(const void *data, size_t len, javm_snapshot **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "snapshot: output is NULL");
    *out = NULL;
    javm_snapshot *w = calloc(1, sizeof *w);
    if (!w) return jv_set_error(JAVM_ERR_NO_MEMORY, "snapshot: out of memory");
    javm_status s = jv_mem_snapshot_create(data, len, &w->snap);
    if (s != JAVM_OK) {
        free(w);
        return s;
    }
    *out = w;
    return JAVM_OK;
}

void javm_snapshot_free(javm_snapshot *snap) {
    if (!snap) return;
    jv_mem_snapshot_destroy(snap->snap);
    free(snap);
}

javm_status javm_map_snapshot(javm_instance *vm, uint32_t start, uint64_t size, javm_access access,
                              const javm_snapshot *snap, uint64_t offset) {
    if (!vm || !snap) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "map snapshot: NULL argument");
    javm_status s = jv_api_claim_empty(vm);
    return s ? s : jv_mem_map_snapshot(&vm->mem, start, size, access, snap->snap, offset);
}

javm_status javm_instance_reset(javm_instance *vm, uint64_t *pages_restored) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "reset: NULL instance");
    uint64_t n = 0;
    javm_status st = jv_api_claim_empty(vm);
    if (st == JAVM_OK) st = jv_mem_reset_dirty(&vm->mem, &n);
    if (pages_restored) *pages_restored = n;
    memset(vm->st.regs, 0, sizeof vm->st.regs);
    vm->st.gas = 0;
    vm->st.pc = 0;
    vm->st.resume = JV_PVM_FRESH;
    vm->st.exit_kind = 0;
    vm->st.exit_arg = 0;
    vm->st.exit_next_pc = 0;
    return st;
}
