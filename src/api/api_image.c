/* api — shared initial-memory images (javm_image_*, javm_map_image) over the engine layer's
 * memfd images (engine.h, ENG-7). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "engine/engine.h"
#include "util/error.h"

struct javm_image {
    jv_image *img;
};

javm_status javm_image_new(const void *data, size_t len, javm_image **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: output is NULL");
    *out = NULL;
    javm_image *w = calloc(1, sizeof *w);
    if (!w) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory");
    javm_status s = jv_image_create(data, len, &w->img);
    if (s != JAVM_OK) {
        free(w);
        return s;
    }
    *out = w;
    return JAVM_OK;
}

void javm_image_free(javm_image *img) {
    if (!img) return;
    jv_image_destroy(img->img);
    free(img);
}

javm_status javm_map_image(javm_instance *vm, uint32_t start, uint64_t size, javm_access access,
                           const javm_image *img, uint64_t offset) {
    if (!vm || !img) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "map image: NULL argument");
    return jv_image_map(&vm->mem, start, size, access, img->img, offset);
}

javm_status javm_instance_reset(javm_instance *vm, uint64_t *pages_restored) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "reset: NULL instance");
    uint64_t n = 0;
    javm_status st = jv_mem_reset_dirty(&vm->mem, &n);
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
