/* image — instances of Images (javm_image_instance_*, javm_image_call/resume, frame access):
 * building the memory (docs/IMAGE.md, Instances), the frame stack, the ecalli personality (CALL, REPLY, management
 * ops, host calls with their dynamic gates), HALT flush into slots, eviction (docs/IMAGE.md), kernel
 * writes. docs/IMAGE.md describes the rules and the readings chosen where the spec is open. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "image/image.h"
#include "util/error.h"

enum { SLOT_EMPTY = 0, SLOT_DATA = 1, SLOT_INST = 2 };
enum { ECALL_REPLY = 0, ECALL_COPY = 1, ECALL_MOVE = 2, ECALL_DROP = 3, ECALL_MGMT_LAST = 15,
       ECALL_CALL = 26 };

typedef struct slotval {
    uint32_t key;
    uint8_t kind;
    jv_datacap *data;          /* SLOT_DATA: owned, clean */
    javm_image_instance *inst; /* SLOT_INST: borrowed */
} slotval;

struct javm_image_instance {
    const jv_image *img;
    javm_instance *vm;
    bool root, faulted, on_stack;
    slotval *slots; /* ascending by key */
    uint32_t nslots;
    javm_image_instance *caller; /* the frame below this one while on the stack */
    javm_image_instance *inner;  /* top-level instance only: the innermost running frame */
};

static uint64_t page_up(uint64_t x) { return (x + JV_PAGE_SIZE - 1) & ~(uint64_t)(JV_PAGE_SIZE - 1); }

/* ---- Slots ---------------------------------------------------------------------------------- */
static slotval *slot_find(const javm_image_instance *in, uint32_t key) {
    uint32_t lo = 0, hi = in->nslots;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (in->slots[mid].key == key) return &in->slots[mid];
        if (in->slots[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static slotval *slot_get(javm_image_instance *in, uint32_t key) { /* creates an empty slot */
    slotval *s = slot_find(in, key);
    if (s) return s;
    slotval *n = realloc(in->slots, (size_t)(in->nslots + 1) * sizeof *n);
    if (!n) return NULL;
    in->slots = n;
    uint32_t at = 0;
    while (at < in->nslots && in->slots[at].key < key) at++;
    memmove(&in->slots[at + 1], &in->slots[at], (size_t)(in->nslots - at) * sizeof *n);
    in->nslots++;
    memset(&in->slots[at], 0, sizeof *n);
    in->slots[at].key = key;
    return &in->slots[at];
}

static void slot_clear(slotval *s) {
    if (s->kind == SLOT_DATA) jv_cap_data_destroy(s->data);
    s->kind = SLOT_EMPTY;
    s->data = NULL;
    s->inst = NULL;
}

/* The read-write mapping a slot key backs (an unpinned mapping sourced from it), or -1. */
static int mapped_by(const jv_image *img, uint32_t key) {
    for (uint32_t i = 0; i < img->nmaps; i++)
        if (img->maps[i].source_len && img->maps[i].source[0] == key &&
            !jv_image_mapping_is_pinned(img, img->maps[i].start))
            return (int)i;
    return -1;
}

/* ---- Building memory (docs/IMAGE.md, Instances) --------------------------------------------------------------- */
/* Mapping i's range from src's bytes: [start, start + N) from the Image's snapshot (shared,
 * copy-on-write) and the zero tail [start + N, start + S) as fresh pages. */
static javm_status map_mapping(javm_image_instance *in, uint32_t i) {
    const jv_image *img = in->img;
    const jv_img_mapping *m = &img->maps[i];
    jv_mem *mem = &in->vm->mem;
    javm_access acc = jv_image_mapping_kind(img, i) == JV_KIND_PINNED_CAP_RO ? JAVM_ACCESS_RO
                                                                             : JAVM_ACCESS_RW;
    const jv_datacap *src = jv_image_mapping_source(img, i, in->root);
    uint64_t n = src ? jv_cap_data_size(src) : 0;
    javm_status s = JAVM_OK;
    if (n) s = jv_mem_map_snapshot(mem, m->start, n, acc, img->snap, img->snap_off[i]);
    if (!s && n < m->size) s = jv_mem_map(mem, m->start + n, m->size - n, acc, NULL, 0);
    return s;
}

javm_status javm_image_instance_new(const javm_image *image, const javm_config *cfg,
                                    unsigned flags, javm_image_instance **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image instance: output is NULL");
    *out = NULL;
    if (!image) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image instance: Image is NULL");
    const jv_image *img = &image->img;
    if (!img->valid)
        return jv_set_error(JAVM_ERR_STATE, "image instance: the Image is not sealed");
    if (flags & ~(unsigned)JAVM_IMAGE_ROOT)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image instance: unknown flags 0x%x", flags);
    javm_config c;
    javm_config_init(&c);
    if (cfg) {
        if (cfg->size < JAVM_CONFIG_SIZE_V1 || cfg->size > sizeof c)
            return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                                "image instance: config size %u is not a known layout", cfg->size);
        memcpy(&c, cfg, cfg->size);
        c.size = sizeof c;
    }
    c.mat = 1; /* the javm profile: category-#3 gas is always on */
    javm_image_instance *in = calloc(1, sizeof *in);
    if (!in) return jv_set_error(JAVM_ERR_NO_MEMORY, "image instance: out of memory");
    in->img = img;
    in->root = (flags & JAVM_IMAGE_ROOT) != 0;
    javm_status s = javm_instance_new(img->prog, &c, &in->vm);
    if (s) {
        free(in);
        return s;
    }
    uint64_t code_size = page_up(img->prog->code_len);
    if (code_size)
        s = jv_mem_map_snapshot(&in->vm->mem, JV_IMG_CODE_BASE, code_size, JAVM_ACCESS_RO,
                                img->snap, 0);
    for (uint32_t i = 0; i < img->nmaps && !s; i++) s = map_mapping(in, i);
    /* slots: the pinned ones, and the initial ones of a root instance */
    for (uint32_t i = 0; i < img->npinned + img->ninitial && !s; i++) {
        bool pinned = i < img->npinned;
        const jv_img_slot *is = pinned ? &img->pinned[i] : &img->initial[i - img->npinned];
        slotval *sv = slot_get(in, is->key);
        if (!sv) s = jv_set_error(JAVM_ERR_NO_MEMORY, "image instance: out of memory");
        else if (pinned || in->root) {
            s = jv_cap_data_clone(is->data, &sv->data);
            if (!s) sv->kind = SLOT_DATA;
        }
    }
    if (s) {
        javm_image_instance_free(in);
        return s;
    }
    *out = in;
    return JAVM_OK;
}

void javm_image_instance_free(javm_image_instance *in) {
    if (!in) return;
    for (uint32_t i = 0; i < in->nslots; i++) slot_clear(&in->slots[i]);
    free(in->slots);
    javm_instance_free(in->vm);
    free(in);
}

static javm_status check_host_slot(javm_image_instance *in, uint32_t key, const char *what) {
    if (in->inner || in->on_stack)
        return jv_set_error(JAVM_ERR_STATE, "image instance: %s: the instance is running", what);
    if (jv_image_find_slot(in->img, true, key))
        return jv_set_error(JAVM_ERR_STATE, "image instance: %s: slot %u is pinned", what, key);
    if (mapped_by(in->img, key) >= 0)
        return jv_set_error(JAVM_ERR_STATE,
                            "image instance: %s: slot %u backs a mapping (only the guest's "
                            "management ops re-source it)", what, key);
    return JAVM_OK;
}

javm_status javm_image_instance_set_child(javm_image_instance *in, uint32_t key,
                                          javm_image_instance *child) {
    if (!in || !child)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image instance: set_child: NULL argument");
    if (child == in)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "image instance: set_child: an instance cannot hold itself");
    javm_status s = check_host_slot(in, key, "set_child");
    if (s) return s;
    slotval *sv = slot_get(in, key);
    if (!sv) return jv_set_error(JAVM_ERR_NO_MEMORY, "image instance: out of memory");
    slot_clear(sv);
    sv->kind = SLOT_INST;
    sv->inst = child;
    return JAVM_OK;
}

javm_status javm_image_instance_set_slot(javm_image_instance *in, uint32_t key,
                                         const javm_datacap *d) {
    if (!in || !d)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image instance: set_slot: NULL argument");
    if (!jv_cap_data_is_clean(d->d))
        return jv_set_error(JAVM_ERR_STATE, "image instance: set_slot: the DataCap is not clean");
    javm_status s = check_host_slot(in, key, "set_slot");
    if (s) return s;
    jv_datacap *c;
    if ((s = jv_cap_data_clone(d->d, &c))) return s;
    slotval *sv = slot_get(in, key);
    if (!sv) {
        jv_cap_data_destroy(c);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "image instance: out of memory");
    }
    slot_clear(sv);
    sv->kind = SLOT_DATA;
    sv->data = c;
    return JAVM_OK;
}

javm_status javm_image_instance_slot(const javm_image_instance *in, uint32_t key,
                                     javm_datacap **out) {
    if (!in || !out)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image instance: slot: NULL argument");
    *out = NULL;
    const slotval *sv = slot_find(in, key);
    if (!sv || sv->kind != SLOT_DATA)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image instance: slot %u holds no DataCap",
                            key);
    jv_datacap *c;
    javm_status s = jv_cap_data_clone(sv->data, &c);
    return s ? s : jv_api_datacap_wrap(c, out);
}

/* ---- Frames --------------------------------------------------------------------------------- */
/* A fresh frame of `in` at endpoint e (MEMORY §10): every page NotPresent (write permission re-armed),
 * the endpoint's registers, pc at its entry. */
static javm_status frame_start(javm_image_instance *in, const jv_img_endpoint *e) {
    javm_status s = jv_mem_new_frame(&in->vm->mem);
    if (s) return s;
    jv_pvm_state *st = &in->vm->st;
    memset(st->regs, 0, sizeof st->regs);
    memcpy(st->regs, e->regs, sizeof e->regs);
    st->pc = e->entry_pc;
    st->resume = JV_PVM_FRESH;
    st->exit_kind = 0;
    in->on_stack = true;
    return JAVM_OK;
}

/* The one place the HALT persistence rule lives (§17; docs/IMAGE.md "Flush"): each read-write
 * mapping's slot receives a canonical DataCap of the mapping's size holding its current bytes:
 * the slot's cap (or zeros) with every page this frame wrote (state PresentRw) rewritten from
 * guest memory, then flushed (hashing only those pages). Ephemeral mappings (no source) are
 * not persisted in any slot. */
static javm_status frame_flush(javm_image_instance *in) {
    const jv_image *img = in->img;
    jv_mem *mem = &in->vm->mem;
    static __thread uint8_t page[JV_PAGE_SIZE];
    for (uint32_t i = 0; i < img->nmaps; i++) {
        const jv_img_mapping *m = &img->maps[i];
        if (!m->source_len || jv_image_mapping_is_pinned(img, m->start)) continue;
        slotval *sv = slot_get(in, m->source[0]);
        if (!sv) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: flush: out of memory");
        const jv_datacap *old = sv->kind == SLOT_DATA ? sv->data : NULL;
        uint32_t first = (uint32_t)(m->start >> JV_PAGE_SHIFT), count = (uint32_t)(m->size >> JV_PAGE_SHIFT);
        bool dirty = false;
        for (uint32_t k = 0; k < count && !dirty; k++)
            dirty = jv_pg_state(mem->pages[first + k]) == JV_STATE_PRESENT_RW;
        if (!dirty && old && jv_cap_data_size(old) == m->size) continue;
        jv_datacap *w;
        javm_status s;
        if (old && jv_cap_data_size(old) == m->size) s = jv_cap_data_clone(old, &w);
        else {
            s = jv_cap_data_create_empty(m->size, &w);
            if (!s && old) s = jv_cap_data_place_shared(w, 0, old);
        }
        for (uint32_t k = 0; k < count && !s; k++) {
            if (jv_pg_state(mem->pages[first + k]) != JV_STATE_PRESENT_RW) continue;
            s = jv_mem_host_read(mem, (first + k) << JV_PAGE_SHIFT, page, JV_PAGE_SIZE);
            if (!s) s = jv_cap_data_write_page(w, (uint64_t)k << JV_PAGE_SHIFT, page, JV_PAGE_SIZE);
        }
        jv_datacap *flushed = NULL;
        if (!s) s = jv_cap_data_flush(w, NULL, &flushed);
        jv_cap_data_destroy(w);
        if (s) return s;
        slot_clear(sv);
        sv->kind = SLOT_DATA;
        sv->data = flushed;
    }
    return JAVM_OK;
}

/* ---- Eviction (docs/IMAGE.md, MGMT eviction) ---------------------------------------------------------------------- */
/* The one function behind the §18 readings (docs/IMAGE.md "Eviction"): mapping i's pages go
 * back to NotPresent (so later writes CoW and pay again), the frame's uncommitted writes to
 * the range are dropped, and the range is re-sourced from bytes (the new cap's content, n
 * bytes; zeros past it, and all zeros for an emptied slot). Other pages keep their history. */
static javm_status evict_and_resource(javm_image_instance *in, uint32_t i, const uint8_t *bytes,
                                      uint64_t n) {
    const jv_img_mapping *m = &in->img->maps[i];
    jv_mem *mem = &in->vm->mem;
    javm_status s = jv_mem_unmap(mem, m->start, m->size); /* drops the bytes too */
    if (!s) s = jv_mem_map(mem, m->start, m->size, JAVM_ACCESS_RW, bytes, (size_t)n);
    return s;
}

/* ---- The ecalli personality ----------------------------------------------------------------- */
typedef enum { STEP_CONTINUE, STEP_EXIT, STEP_ERROR } step;

/* A dynamic gate that failed: out of gas at the ecalli with everything unchanged; resuming
 * retries the whole operation (the op index of the ecalli itself). */
static step gate_fail(javm_image_instance *f, const javm_exit_info *e, javm_exit_info *ex) {
    jv_pvm_state *st = &f->vm->st;
    st->exit_kind = JV_EXIT_OOG;
    st->pc = e->pc;
    /* the retry starts at the ecalli itself (its own block, cost 0: PVM-G5), and it counts as
     * one executed instruction once it passes the gate, not at every failed attempt */
    st->resume = jv_pvm_op_at(f->img->prog, e->pc);
    if (st->instructions) st->instructions--;
    *ex = *e;
    ex->kind = JAVM_EXIT_OUT_OF_GAS;
    ex->next_pc = e->pc;
    ex->arg = 0;
    return STEP_EXIT;
}

static bool gate(javm_image_instance *f, uint64_t cost) {
    int64_t g = f->vm->st.gas;
    if (g < 0 || (uint64_t)g < cost) return false;
    f->vm->st.gas = g - (int64_t)cost;
    return true;
}

/* COPY / MOVE / DROP (docs/IMAGE.md, MGMT eviction): all checks and the whole charge before anything changes. */
static step mgmt(javm_image_instance *f, unsigned op, const javm_exit_info *e, javm_exit_info *ex,
                 javm_status *err) {
    uint64_t *R = f->vm->st.regs;
    const jv_image *img = f->img;
    uint32_t a = (uint32_t)R[7], b = (uint32_t)R[8];
    uint32_t src_key = a, dst_key = op == ECALL_DROP ? a : b;
    uint64_t cost = JV_MGMT_OP_COST;
    javm_image_result res = JAVM_IMAGE_OK;
    slotval *src = slot_find(f, src_key);
    int dst_map = mapped_by(img, dst_key), src_map = mapped_by(img, src_key);
    uint8_t *bytes = NULL;
    uint64_t n = 0;
    if (op > ECALL_DROP) res = JAVM_IMAGE_UNSUPPORTED;
    else if (jv_image_find_slot(img, true, dst_key) ||
             (op != ECALL_COPY && jv_image_find_slot(img, true, src_key)))
        res = JAVM_IMAGE_PINNED;
    else if (op != ECALL_DROP && (!src || src->kind == SLOT_EMPTY))
        res = JAVM_IMAGE_NO_SLOT;
    else if (op != ECALL_DROP && src->kind == SLOT_INST && (op == ECALL_COPY || dst_map >= 0))
        res = JAVM_IMAGE_NO_SLOT; /* instances are not copied, nor mapped */
    else if (op == ECALL_MOVE && src->kind == SLOT_INST && src->inst->on_stack)
        res = JAVM_IMAGE_BUSY;
    else if (op != ECALL_DROP && dst_map >= 0 && src_key != dst_key) {
        n = jv_cap_data_size(src->data);
        if (n > img->maps[dst_map].size) res = JAVM_IMAGE_TOO_LARGE;
        else {
            uint64_t add = jv_image_page_in_cost(n); /* the new cap's declared units */
            cost = cost + add < cost ? UINT64_MAX : cost + add;
            bytes = malloc((size_t)n);
            if (!bytes) {
                *err = jv_set_error(JAVM_ERR_NO_MEMORY, "image: management op: out of memory");
                return STEP_ERROR;
            }
            if (jv_cap_data_copy_into(src->data, 0, bytes, (size_t)n, NULL) != JAVM_OK) {
                free(bytes);
                bytes = NULL;
                res = JAVM_IMAGE_NO_SLOT; /* a Missing page: never re-sourced as zeros */
            }
        }
    }
    if (!gate(f, res == JAVM_IMAGE_OK ? cost : JV_MGMT_OP_COST)) {
        free(bytes);
        return gate_fail(f, e, ex);
    }
    javm_status s = JAVM_OK;
    if (res == JAVM_IMAGE_OK && !(op != ECALL_DROP && src_key == dst_key)) {
        slotval *dst = slot_get(f, dst_key);
        src = slot_find(f, src_key); /* slot_get may have moved the array */
        if (!dst) s = jv_set_error(JAVM_ERR_NO_MEMORY, "image: management op: out of memory");
        else if (op == ECALL_DROP) {
            slot_clear(dst);
            if (dst_map >= 0) s = evict_and_resource(f, (uint32_t)dst_map, NULL, 0);
        } else {
            slotval v = {.key = dst_key, .kind = src->kind, .inst = src->inst};
            if (src->kind == SLOT_DATA) s = jv_cap_data_clone(src->data, &v.data);
            if (!s) {
                slot_clear(dst);
                *dst = v;
                if (op == ECALL_MOVE) slot_clear(src);
                if (dst_map >= 0) s = evict_and_resource(f, (uint32_t)dst_map, bytes, n);
                if (!s && op == ECALL_MOVE && src_map >= 0)
                    s = evict_and_resource(f, (uint32_t)src_map, NULL, 0);
            }
        }
    }
    free(bytes);
    if (s) {
        *err = s;
        return STEP_ERROR;
    }
    R[7] = res;
    return STEP_CONTINUE;
}

/* CALL (docs/IMAGE.md, call_frame_cost and Frames): peek at the callee, gate MGMT_OP_COST + call_frame_cost, then push. */
static step call(javm_image_instance *top, javm_image_instance *f, const javm_exit_info *e,
                 javm_exit_info *ex, javm_status *err) {
    uint64_t *R = f->vm->st.regs;
    const slotval *sv = slot_find(f, (uint32_t)R[7]);
    javm_image_instance *callee = sv && sv->kind == SLOT_INST ? sv->inst : NULL;
    const jv_img_endpoint *ep = callee ? jv_image_find_endpoint(callee->img, (uint32_t)R[8]) : NULL;
    javm_image_result res = !callee             ? JAVM_IMAGE_NO_SLOT
                            : callee->faulted   ? JAVM_IMAGE_FAULTED
                            : callee->on_stack  ? JAVM_IMAGE_BUSY
                            : !ep               ? JAVM_IMAGE_NO_ENDPOINT
                                                : JAVM_IMAGE_OK;
    uint64_t cost = JV_MGMT_OP_COST;
    if (res == JAVM_IMAGE_OK) {
        uint64_t cfc = jv_image_cost(callee->img).call_frame_cost;
        cost = cfc > INT64_MAX - JV_MGMT_OP_COST ? (uint64_t)INT64_MAX : cost + cfc;
    }
    if (!gate(f, cost)) return gate_fail(f, e, ex);
    if (res != JAVM_IMAGE_OK) {
        R[7] = 0;
        R[8] = res;
        return STEP_CONTINUE;
    }
    javm_status s = frame_start(callee, ep);
    if (s) {
        *err = s;
        return STEP_ERROR;
    }
    for (unsigned i = 0; i < ep->arg_registers; i++) callee->vm->st.regs[7 + i] = R[9 + i];
    callee->vm->st.gas = f->vm->st.gas; /* one budget */
    f->vm->st.gas = 0;
    callee->caller = f;
    top->inner = callee;
    return STEP_CONTINUE;
}

/* The innermost frame ended with result res (HALT/REPLY: OK, flushed). Pops it; returns true
 * when it was the top-level frame. */
static bool frame_pop(javm_image_instance *top, javm_image_instance *f, javm_image_result res) {
    f->on_stack = false;
    javm_image_instance *c = f->caller;
    f->caller = NULL;
    if (!c) {
        top->inner = NULL;
        return true;
    }
    c->vm->st.regs[7] = res == JAVM_IMAGE_OK ? f->vm->st.regs[7] : 0;
    c->vm->st.regs[8] = res;
    c->vm->st.gas = f->vm->st.gas;
    f->vm->st.gas = 0;
    top->inner = c;
    return false;
}

/* Runs the call stack of top until an exit the host must see. */
static javm_status drive(javm_image_instance *top, javm_exit_info *ex) {
    for (;;) {
        javm_image_instance *f = top->inner;
        javm_exit_info e = JAVM_EXIT_INFO_INIT;
        javm_status s = javm_run(f->vm, &e);
        if (s) return s;
        step r = STEP_CONTINUE;
        javm_image_result res = JAVM_IMAGE_OK;
        bool ended = false;
        switch (e.kind) {
        case JAVM_EXIT_HOST_CALL:
            if (e.arg == ECALL_REPLY) {
                ended = true;
            } else if (e.arg <= ECALL_MGMT_LAST) {
                r = mgmt(f, (unsigned)e.arg, &e, ex, &s);
            } else if (e.arg == ECALL_CALL) {
                r = call(top, f, &e, ex, &s);
            } else if (!gate(f, JV_HOST_CALL_FLOOR)) {
                r = gate_fail(f, &e, ex);
            } else {
                *ex = e;
                r = STEP_EXIT;
            }
            break;
        case JAVM_EXIT_HALT: ended = true; break;
        case JAVM_EXIT_PANIC:
        case JAVM_EXIT_PAGE_FAULT:
            f->faulted = true; /* terminal for the instance (docs/IMAGE.md) */
            res = e.kind == JAVM_EXIT_PANIC ? JAVM_IMAGE_CALLEE_PANIC : JAVM_IMAGE_CALLEE_FAULT;
            if (frame_pop(top, f, res)) {
                *ex = e;
                return JAVM_OK;
            }
            continue;
        default: /* out of gas (resumable at the innermost frame) and anything else */
            *ex = e;
            return JAVM_OK;
        }
        if (r == STEP_ERROR) return s;
        if (r == STEP_EXIT) return JAVM_OK;
        if (!ended) continue;
        if ((s = frame_flush(f))) return s;
        if (frame_pop(top, f, JAVM_IMAGE_OK)) {
            *ex = e;
            ex->kind = JAVM_EXIT_HALT;
            ex->arg = 0;
            return JAVM_OK;
        }
    }
}

static javm_status exit_out(javm_exit_info *exit, const javm_exit_info *ex) {
    if (exit->size < JAVM_EXIT_INFO_SIZE_V1)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: exit info size %u is too small",
                            exit->size);
    size_t n = exit->size < sizeof *ex ? exit->size : sizeof *ex;
    memcpy((uint8_t *)exit + sizeof exit->size, (const uint8_t *)ex + sizeof ex->size,
           n - sizeof ex->size);
    return JAVM_OK;
}

javm_status javm_image_call(javm_image_instance *in, uint32_t endpoint, int64_t gas,
                            javm_exit_info *exit) {
    if (!in || !exit) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image call: NULL argument");
    if (in->inner || in->on_stack)
        return jv_set_error(JAVM_ERR_STATE, "image call: the instance is already running");
    if (in->faulted)
        return jv_set_error(JAVM_ERR_STATE, "image call: the instance faulted in an earlier frame");
    const jv_img_endpoint *ep = jv_image_find_endpoint(in->img, endpoint);
    if (!ep)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image call: the Image has no endpoint %u",
                            endpoint);
    javm_status s = frame_start(in, ep);
    if (s) return s;
    in->vm->st.gas = gas;
    in->inner = in;
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    if ((s = drive(in, &ex))) return s;
    return exit_out(exit, &ex);
}

javm_status javm_image_resume(javm_image_instance *in, javm_exit_info *exit) {
    if (!in || !exit) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image resume: NULL argument");
    if (!in->inner)
        return jv_set_error(JAVM_ERR_STATE, "image resume: no invocation is in progress");
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    javm_status s = drive(in, &ex);
    return s ? s : exit_out(exit, &ex);
}

/* ---- Frame access ----------------------------------------------------------------------------- */
static javm_image_instance *cur(const javm_image_instance *in) {
    return in->inner ? in->inner : (javm_image_instance *)in;
}

int64_t javm_image_gas_get(const javm_image_instance *in) { return in ? cur(in)->vm->st.gas : 0; }

void javm_image_gas_set(javm_image_instance *in, int64_t gas) {
    if (in) cur(in)->vm->st.gas = gas;
}

javm_status javm_image_reg_get(const javm_image_instance *in, unsigned i, uint64_t *out) {
    if (!in) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image reg_get: NULL instance");
    return javm_reg_get(cur(in)->vm, i, out);
}

javm_status javm_image_reg_set(javm_image_instance *in, unsigned i, uint64_t v) {
    if (!in) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image reg_set: NULL instance");
    return javm_reg_set(cur(in)->vm, i, v);
}

javm_status javm_image_mem_read(const javm_image_instance *in, uint32_t addr, void *dst,
                                size_t n) {
    if (!in) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image mem_read: NULL instance");
    return javm_mem_read(cur(in)->vm, addr, dst, n);
}

/* Kernel-authored writes (docs/IMAGE.md, MGMT eviction): charge COW_COST per page not yet PresentRw, before any change. */
javm_status javm_image_mem_write(javm_image_instance *in, uint32_t addr, const void *src,
                                 size_t n) {
    if (!in || (!src && n))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image mem_write: NULL argument");
    if (!in->inner)
        return jv_set_error(JAVM_ERR_STATE, "image mem_write: no frame is running");
    javm_image_instance *f = in->inner;
    jv_mem *mem = &f->vm->mem;
    if (n == 0) return JAVM_OK;
    if (n > JV_GUEST_SPACE - addr)
        return jv_set_error(JAVM_ERR_OVERFLOW, "image mem_write: range runs past 4 GiB");
    uint32_t first = addr >> JV_PAGE_SHIFT, last = (uint32_t)((addr + (uint64_t)n - 1) >> JV_PAGE_SHIFT);
    uint64_t pages = 0;
    for (uint32_t pn = first; pn <= last; pn++) {
        uint8_t b = mem->pages[pn];
        if (jv_pg_perm(b) == JV_PG_PERM_NONE)
            return jv_set_error(JAVM_ERR_NOT_MAPPED, "image mem_write: page 0x%x is not mapped",
                                pn << JV_PAGE_SHIFT);
        if (jv_pg_perm(b) != JV_PG_PERM_RW)
            return jv_set_error(JAVM_ERR_STATE,
                                "image mem_write: page 0x%x is read-only (code or pinned)",
                                pn << JV_PAGE_SHIFT);
        pages += jv_pg_state(b) != JV_STATE_PRESENT_RW;
    }
    uint64_t charge = pages * mem->cow_cost;
    if (!gate(f, charge))
        return jv_set_error(JAVM_ERR_LIMIT,
                            "image mem_write: out of gas (%llu needed for %llu pages)",
                            (unsigned long long)charge, (unsigned long long)pages);
    f->vm->st.mat_gas += charge;
    f->vm->st.cow += pages;
    for (uint32_t pn = first; pn <= last; pn++) {
        if (jv_pg_state(mem->pages[pn]) == JV_STATE_PRESENT_RW) continue;
        jv_mem_result r = jv_mem_touch(mem, pn << JV_PAGE_SHIFT, 1, true); /* state only */
        if (r.kind != JV_MEM_OK || jv_mem_sync_protection(mem, pn, 1))
            return jv_set_error(JAVM_ERR_OS, "image mem_write: opening page 0x%x failed",
                                pn << JV_PAGE_SHIFT);
    }
    return jv_mem_host_write(mem, addr, src, n);
}

javm_status javm_image_stats(const javm_image_instance *in, javm_stats *out) {
    if (!in) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image stats: NULL instance");
    return javm_stats_get(in->vm, out);
}

javm_instance *jv_image_instance_vm(const javm_image_instance *in) { return in->vm; }
