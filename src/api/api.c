/* api — the public C API (include/javm.h) over pvm, mem and the engines. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "engine/engine.h"
#include "jit/jit.h"
#include "util/error.h"

/* ---- Small things --------------------------------------------------------------------------- */
const char *javm_exit_str(javm_exit_kind k) {
    switch (k) {
    case JAVM_EXIT_HALT: return "halt";
    case JAVM_EXIT_PANIC: return "panic";
    case JAVM_EXIT_OUT_OF_GAS: return "out-of-gas";
    case JAVM_EXIT_PAGE_FAULT: return "page-fault";
    case JAVM_EXIT_HOST_CALL: return "host-call";
    }
    return "unknown";
}

/* ---- Caller-allocated structs (the ABI rules in javm.h) ------------------------------------ */
/* The caller's input struct of `size` bytes into the library's `known`-byte layout: fields past
 * the caller's size read zero (their default). Bytes past ours are not read at all: a caller
 * that forgot to set size must get an error, not a read past its struct. */
static javm_status struct_in(const void *in, size_t known, size_t v1, void *out, const char *what) {
    uint32_t size = *(const uint32_t *)in;
    memset(out, 0, known);
    if (size < v1 || size > known)
        return jv_set_error(size < v1 ? JAVM_ERR_INVALID_ARGUMENT : JAVM_ERR_UNSUPPORTED,
                            "%s: size %u is not a layout this library knows (%zu..%zu bytes); "
                            "set it with the header's initializer%s",
                            what, size, v1, known,
                            size > known ? ", and link a library as new as the header" : "");
    memcpy(out, in, size);
    *(uint32_t *)out = (uint32_t)known;
    return JAVM_OK;
}

/* Writes the library's `known`-byte output struct into the caller's first `size` bytes, keeping
 * its size field; nothing past min(size, known) is touched. */
static javm_status struct_out(void *dst, const void *src, size_t known, size_t v1, const char *what) {
    uint32_t size = *(uint32_t *)dst;
    if (size < v1)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "%s: size %u is below the smallest layout (%zu bytes); set it with "
                            "the header's initializer",
                            what, size, v1);
    size_t n = size < known ? size : known;
    memcpy((uint8_t *)dst + sizeof size, (const uint8_t *)src + sizeof size, n - sizeof size);
    return JAVM_OK;
}

/* API-3: the engines, indexed by javm_engine. An engine is one entry here (engine.h). */
static const jv_engine_ops *const g_engines[] = {
    [JAVM_ENGINE_SOFT] = &jv_engine_soft,
    [JAVM_ENGINE_PAGED] = &jv_engine_paged,
    [JAVM_ENGINE_JIT] = &jv_engine_jit,
};
#define NUM_ENGINES (sizeof g_engines / sizeof g_engines[0])

static const jv_engine_ops *engine_ops(javm_engine e) {
    return (unsigned)e < NUM_ENGINES ? g_engines[e] : NULL;
}

javm_status javm_engine_parse(const char *name, javm_engine *out) {
    if (!name || !out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "engine: NULL argument");
    for (unsigned i = 0; i < NUM_ENGINES; i++) {
        if (g_engines[i] && !strcmp(name, g_engines[i]->name)) {
            *out = (javm_engine)i;
            return JAVM_OK;
        }
    }
    return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                        "engine: unknown engine '%s' (expected soft, paged or jit)", name);
}

const char *javm_engine_name(javm_engine e) {
    const jv_engine_ops *ops = engine_ops(e);
    return ops ? ops->name : "unknown";
}

int javm_engine_available(javm_engine e) {
    const jv_engine_ops *ops = engine_ops(e);
    return ops && ops->available();
}

/* ---- Programs ------------------------------------------------------------------------------- */
/* The caller's options (the ABI rules of javm.h), or the defaults for NULL. */
static javm_status load_options(const javm_load_options *o, javm_load_options *out) {
    if (!o) {
        javm_load_options_init(out);
        return JAVM_OK;
    }
    return struct_in(o, sizeof *out, JAVM_LOAD_OPTIONS_SIZE_V1, out, "load options");
}

/* javm_load_options.compile_jit: the program's jit code now instead of at the first jit
 * instance (a program that cannot be compiled is then not loaded). */
static javm_status compile_at_load(const javm_load_options *lo, javm_program **p) {
    if (!lo->compile_jit || !javm_engine_available(JAVM_ENGINE_JIT)) return JAVM_OK;
    const jv_jit_code *k = NULL;
    javm_status s = jv_jit_code_of(*p, &k);
    if (s) {
        javm_program_free(*p);
        *p = NULL;
    }
    return s;
}

javm_status javm_program_load_ex(const uint8_t *blob, size_t len, const javm_load_options *o,
                                 javm_program **out) {
    if (out) *out = NULL;
    javm_load_options lo;
    javm_status s = load_options(o, &lo);
    if (s) return s;
    if ((s = jv_pvm_program_create_ex(blob, len, lo.isa, lo.gas_model, lo.ecall_blocks != 0,
                                      out)))
        return s;
    return compile_at_load(&lo, out);
}

javm_status javm_program_load(const uint8_t *blob, size_t len, javm_program **out) {
    return javm_program_load_ex(blob, len, NULL, out);
}

javm_isa javm_program_isa(const javm_program *p) { return p ? p->isa : JAVM_ISA_GP07; }

javm_gas_model javm_program_gas_model(const javm_program *p) {
    return p ? p->gas_model : JAVM_GAS_GP07;
}

uint32_t javm_program_block_count(const javm_program *p) { return p ? p->nblocks : 0; }

javm_status javm_program_block(const javm_program *p, uint32_t i, uint32_t *pc,
                               uint64_t *cost) {
    if (!p) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "program: NULL program");
    if (i >= p->nblocks)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "program: block %u out of range (%u blocks)",
                            i, p->nblocks);
    jv_pvm_program_block_at(p, i, pc, cost);
    return JAVM_OK;
}

/* The read-only and read-write data are laid out once here, each as a memory snapshot owned by
 * the program (destroyed by jv_pvm_program_destroy); javm_instance_init_standard maps them, so
 * instantiating costs the same whatever their size. */
javm_status javm_program_load_standard(const uint8_t *blob, size_t len, javm_program **out) {
    return javm_program_load_standard_ex(blob, len, NULL, out);
}

javm_status javm_program_load_standard_ex(const uint8_t *blob, size_t len,
                                          const javm_load_options *o, javm_program **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "container: output is NULL");
    *out = NULL;
    javm_load_options lo;
    javm_status s = load_options(o, &lo);
    if (s) return s;
    jv_pvm_container c;
    s = jv_pvm_container_parse(blob, len, &c);
    if (s) return s;
    javm_program *p = NULL;
    if ((s = jv_pvm_program_create_container(&c, lo.isa, lo.gas_model, lo.ecall_blocks != 0,
                                             &p)))
        return s;
    if (c.ro_len && (s = jv_mem_snapshot_create(c.ro, c.ro_len, &p->std.ro_snap))) goto fail;
    if (c.rw_len && (s = jv_mem_snapshot_create(c.rw, c.rw_len, &p->std.rw_snap))) goto fail;
    *out = p;
    return compile_at_load(&lo, out);
fail:
    jv_pvm_program_destroy(p);
    return s;
}

javm_status javm_program_load_service(const uint8_t *blob, size_t len,
                                      const javm_load_options *o, javm_program **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "service blob: output is NULL");
    *out = NULL;
    const uint8_t *meta, *container;
    size_t meta_len, container_len;
    javm_status s = jv_pvm_service_split(blob, len, &meta, &meta_len, &container, &container_len);
    return s ? s : javm_program_load_standard_ex(container, container_len, o, out);
}

void javm_program_free(javm_program *p) {
    if (p) jv_api_pool_purge(p); /* its pooled spaces map its snapshots */
    jv_pvm_program_destroy(p);
}

uint32_t javm_program_code_size(const javm_program *p) { return p ? p->code_len : 0; }

/* ---- Instances ------------------------------------------------------------------------------ */
javm_status javm_instance_new(const javm_program *p, const javm_config *cfg,
                              javm_instance **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "instance: output is NULL");
    *out = NULL;
    if (!p) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "instance: program is NULL");
    javm_config c;
    if (!cfg) javm_config_init(&c);
    else {
        javm_status cs = struct_in(cfg, sizeof c, JAVM_CONFIG_SIZE_V1, &c, "instance: config");
        if (cs) return cs;
    }
    const jv_engine_ops *ops = engine_ops(c.engine);
    if (!ops)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "instance: unknown engine %d",
                            (int)c.engine);
    if (c.gas_model != JAVM_GAS_GP07 && c.gas_model != JAVM_GAS_GP08)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "instance: unknown gas model %d",
                            (int)c.gas_model);
    /* block costs are the program's (computed at load): the config may only restate them,
     * 0 (the default) standing for "the program's" */
    if (c.gas_model != JAVM_GAS_GP07 && c.gas_model != p->gas_model)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "instance: config gas model %s differs from the program's %s (the "
                            "gas model is chosen at load: javm_load_options)",
                            javm_gas_model_name(c.gas_model), javm_gas_model_name(p->gas_model));
    c.gas_model = p->gas_model;
    if (c.cow_cost == 0) c.cow_cost = JV_API_DEFAULT_COW_COST;
    if (c.cow_cost > JV_API_MAX_COW_COST)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "instance: cow_cost %llu exceeds 2^40",
                            (unsigned long long)c.cow_cost);
    if (!javm_engine_available(c.engine))
        return jv_set_error(JAVM_ERR_UNSUPPORTED,
                            "instance: the %s engine is not available in this build",
                            javm_engine_name(c.engine));
    javm_instance *vm = calloc(1, sizeof *vm);
    if (!vm) return jv_set_error(JAVM_ERR_NO_MEMORY, "instance: out of memory");
    vm->prog = p;
    vm->cfg = c;
    vm->ops = ops;
    jv_pvm_state_init(&vm->st);
    vm->st.mat_reserve = c.mat ? 2 * c.cow_cost : 0;
    javm_status s = JAVM_OK;
    if (p->standard && jv_api_pool_take(p, ops->mem_mode, &vm->mem, &vm->args)) { /* API-4 */
        vm->mem.cow_cost = c.mat ? c.cow_cost : 0;
        vm->mem.ro_write_faults = c.ro_write_faults != 0;
        vm->latent = true;
    } else {
        s = jv_mem_init(&vm->mem, ops->mem_mode, c.mat ? c.cow_cost : 0, c.ro_write_faults != 0);
    }
    if (s) {
        free(vm);
        return s;
    }
    if ((s = ops->create(p, &vm->mem, &vm->engine))) {
        jv_mem_fini(&vm->mem);
        free(vm);
        return s;
    }
    *out = vm;
    return JAVM_OK;
}

/* API-4: a mem that still holds the program's layout as init_standard made it, apart from the
 * guest's own writes, goes back to the pool with those writes undone. */
static bool pool_keep(javm_instance *vm) {
    if (!vm->latent && !(vm->laid_out && vm->mem.changes == vm->layout_mark)) return false;
    if (!vm->latent && jv_mem_reset_dirty(&vm->mem, NULL) != JAVM_OK) return false;
    return jv_api_pool_put(vm->prog, &vm->mem, &vm->args);
}

void javm_instance_free(javm_instance *vm) {
    if (!vm) return;
    vm->ops->destroy(vm->engine);
    if (!pool_keep(vm)) jv_mem_fini(&vm->mem);
    free(vm);
}

javm_status jv_api_claim_empty(javm_instance *vm) {
    if (!vm->latent) return JAVM_OK;
    javm_status s = jv_mem_reset(&vm->mem);
    if (s) return s;
    vm->latent = false;
    return JAVM_OK;
}

static uint64_t page_up(uint64_t x) { return (x + JV_ZP - 1) / JV_ZP * JV_ZP; }

/* Maps [start, start + size) as fresh pages (zero, then init): a mapping left by an earlier
 * layout of the instance must not keep its bytes, as a plain remap would. */
static javm_status map_fresh(javm_instance *vm, uint64_t start, uint64_t size, javm_access access,
                             const void *init, size_t init_len) {
    javm_status s = jv_mem_unmap(&vm->mem, start, size);
    return s ? s : jv_mem_map(&vm->mem, start, size, access, init, init_len);
}

static javm_status lay_out(javm_instance *vm, const uint8_t *args, size_t args_len);
static javm_status reuse_layout(javm_instance *vm, const uint8_t *args, size_t args_len);

javm_status javm_instance_init_standard(javm_instance *vm, const uint8_t *args, size_t args_len) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "instance: NULL instance");
    const javm_program *p = vm->prog;
    if (!p->standard)
        return jv_set_error(JAVM_ERR_STATE,
                            "instance: the program was not loaded from a standard container");
    if (args_len > JV_ZI)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "instance: %zu argument bytes exceed the limit of %u", args_len,
                            JV_ZI);
    if (!args && args_len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "instance: args NULL");
    javm_status s = vm->latent ? reuse_layout(vm, args, args_len) : lay_out(vm, args, args_len);
    vm->latent = false;
    if (s) {
        vm->laid_out = false;
        return s;
    }
    const jv_pvm_standard *sd = &p->std;
    const jv_pvm_layout l = jv_pvm_std_layout(sd->ro_len, sd->rw_len, sd->heap_pages,
                                              sd->stack_size);
    memset(vm->st.regs, 0, sizeof vm->st.regs);
    vm->st.regs[0] = JV_HALT_ADDRESS;
    vm->st.regs[1] = JV_STD_STACK_TOP;
    vm->st.regs[7] = JV_STD_ARGS_BASE;
    vm->st.regs[8] = args_len;
    vm->st.pc = 0;
    vm->st.resume = JV_PVM_FRESH;
    vm->st.heap_top = (uint32_t)(l.rw_base + l.rw_size);
    vm->st.heap_limit = (uint32_t)l.stack_base;
    vm->laid_out = true;
    vm->layout_mark = vm->mem.changes;
    vm->args.len = args_len;
    vm->args.known = args_len <= JV_API_ARGS_KEEP;
    if (vm->args.known && args_len) memcpy(vm->args.bytes, args, args_len);
    return JAVM_OK;
}

/* The memory of a standard layout, laid out afresh. */
static javm_status lay_out(javm_instance *vm, const uint8_t *args, size_t args_len) {
    const jv_pvm_standard *sd = &vm->prog->std;
    javm_status s;
    /* The data sections come from the program's snapshots: one mmap each, whatever their size
     * (the zero tail up to the page end is part of the snapshot; the heap pages after the
     * read-write snapshot are anonymous zero memory). A program loaded without snapshots (empty
     * section, or built by the pvm layer directly) maps zero pages. */
    const jv_pvm_layout l = jv_pvm_std_layout(sd->ro_len, sd->rw_len, sd->heap_pages,
                                              sd->stack_size);
    if (l.ro_size) {
        s = sd->ro_snap ? jv_mem_map_snapshot(&vm->mem, l.ro_base, l.ro_size, JAVM_ACCESS_RO,
                                              sd->ro_snap, 0)
                        : map_fresh(vm, l.ro_base, l.ro_size, JAVM_ACCESS_RO, NULL, 0);
        if (s) return s;
    }
    const uint64_t rw_base = l.rw_base, rw_size = l.rw_size;
    if (rw_size) {
        s = sd->rw_snap
                ? jv_mem_map_snapshot(&vm->mem, rw_base, rw_size, JAVM_ACCESS_RW, sd->rw_snap, 0)
                : map_fresh(vm, rw_base, rw_size, JAVM_ACCESS_RW, NULL, 0);
        if (s) return s;
    }
    /* Pages sbrk added after an earlier layout of this instance are not part of this one. */
    uint64_t heap_end = page_up(vm->st.heap_top);
    if (vm->st.heap_limit && heap_end > rw_base + rw_size) {
        s = jv_mem_unmap(&vm->mem, rw_base + rw_size, heap_end - (rw_base + rw_size));
        if (s) return s;
    }
    if (l.stack_size) {
        s = map_fresh(vm, l.stack_base, l.stack_size, JAVM_ACCESS_RW, NULL, 0);
        if (s) return s;
    }
    /* The whole argument zone starts empty: arguments of an earlier layout must not show
     * through past the new ones (zeros to the page end, nothing mapped after it). */
    s = jv_mem_unmap(&vm->mem, JV_STD_ARGS_BASE, JV_ZI);
    if (s) return s;
    uint64_t args_size = page_up(args_len);
    if (args_size)
        return jv_mem_map(&vm->mem, JV_STD_ARGS_BASE, args_size, JAVM_ACCESS_RO, args, args_len);
    return JAVM_OK;
}

/* API-4: a pooled layout of this program (the layout lay_out makes, with the guest's writes
 * undone) needs only its arguments: the same bytes are left alone, others are written over
 * the old ones (whose excess reads zero again); a different page count re-maps the zone. */
static javm_status reuse_layout(javm_instance *vm, const uint8_t *args, size_t args_len) {
    const jv_api_args *old = &vm->args;
    if (page_up(args_len) != page_up(old->len)) {
        javm_status s = jv_mem_unmap(&vm->mem, JV_STD_ARGS_BASE, JV_ZI);
        if (s || !args_len) return s;
        return jv_mem_map(&vm->mem, JV_STD_ARGS_BASE, page_up(args_len), JAVM_ACCESS_RO, args,
                          args_len);
    }
    javm_status s = JAVM_OK;
    bool same = old->known && old->len == args_len && (!args_len || !memcmp(old->bytes, args, args_len));
    if (!same && args_len) s = jv_mem_host_write(&vm->mem, JV_STD_ARGS_BASE, args, args_len);
    static const uint8_t zeros[JV_ZP];
    for (size_t off = args_len; !s && off < old->len; off += JV_ZP) {
        size_t n = old->len - off < JV_ZP ? old->len - off : JV_ZP;
        s = jv_mem_host_write(&vm->mem, (uint32_t)(JV_STD_ARGS_BASE + off), zeros, n);
    }
    return s;
}

/* ---- Memory --------------------------------------------------------------------------------- */
javm_status javm_map(javm_instance *vm, uint32_t start, uint64_t size, javm_access access,
                     const void *init, size_t init_len) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "map: NULL instance");
    if (!init && init_len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "map: init is NULL");
    javm_status s = jv_api_claim_empty(vm);
    return s ? s : jv_mem_map(&vm->mem, start, size, access, init, init_len);
}

javm_status javm_unmap(javm_instance *vm, uint32_t start, uint64_t size) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "unmap: NULL instance");
    javm_status s = jv_api_claim_empty(vm);
    return s ? s : jv_mem_unmap(&vm->mem, start, size);
}

javm_status javm_protect(javm_instance *vm, uint32_t start, uint64_t size, javm_access access) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "protect: NULL instance");
    javm_status s = jv_api_claim_empty(vm);
    return s ? s : jv_mem_protect(&vm->mem, start, size, access);
}

javm_access javm_page_access(const javm_instance *vm, uint32_t addr) {
    return vm && !vm->latent ? jv_mem_page_access(&vm->mem, addr) : JAVM_ACCESS_NONE;
}

javm_status javm_mem_read(const javm_instance *vm, uint32_t addr, void *dst, size_t n) {
    if (!vm || (!dst && n)) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "mem_read: NULL argument");
    javm_status s = jv_api_claim_empty((javm_instance *)vm); /* a latent layout is not there */
    return s ? s : jv_mem_host_read(&vm->mem, addr, dst, n);
}

javm_status javm_mem_write(javm_instance *vm, uint32_t addr, const void *src, size_t n) {
    if (!vm || (!src && n))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "mem_write: NULL argument");
    javm_status s = jv_api_claim_empty(vm);
    return s ? s : jv_mem_host_write(&vm->mem, addr, src, n);
}

bool jv_api_next_mapped(const javm_instance *vm, uint64_t from, uint32_t *page) {
    return !vm->latent && jv_mem_next_mapped(&vm->mem, from, page);
}


/* ---- Registers, gas, pc --------------------------------------------------------------------- */
javm_status javm_reg_get(const javm_instance *vm, unsigned i, uint64_t *out) {
    if (!vm || !out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "reg_get: NULL argument");
    if (i >= JAVM_NUM_REGS)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "reg_get: register %u out of range 0..12",
                            i);
    *out = vm->st.regs[i];
    return JAVM_OK;
}

javm_status javm_reg_set(javm_instance *vm, unsigned i, uint64_t v) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "reg_set: NULL instance");
    if (i >= JAVM_NUM_REGS)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "reg_set: register %u out of range 0..12",
                            i);
    vm->st.regs[i] = v;
    return JAVM_OK;
}

int64_t javm_gas_get(const javm_instance *vm) { return vm ? vm->st.gas : 0; }

void javm_gas_set(javm_instance *vm, int64_t gas) {
    if (vm) vm->st.gas = gas;
}

uint32_t javm_pc_get(const javm_instance *vm) { return vm ? vm->st.pc : 0; }

javm_status javm_pc_set(javm_instance *vm, uint32_t pc) {
    if (!vm) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "pc_set: NULL instance");
    vm->st.pc = pc;
    vm->st.resume = JV_PVM_FRESH;
    return JAVM_OK;
}

/* ---- Running -------------------------------------------------------------------------------- */
javm_status jv_api_run_with(javm_instance *vm, int loop, javm_exit_info *exit) {
    if (!vm || !exit) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "run: NULL argument");
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    javm_status s = struct_out(exit, &ex, sizeof ex, JAVM_EXIT_INFO_SIZE_V1, "run: exit info");
    if (s) return s; /* also clears a stale exit before any failure below */
    if (vm->st.resume == JV_PVM_DONE)
        return jv_set_error(JAVM_ERR_STATE,
                            "run: the instance has %s at pc %u; set a pc to run again",
                            vm->st.exit_kind == JV_EXIT_HALT ? "halted" : "panicked",
                            vm->st.pc);
    /* Everything that can fail before the loop happens before jv_pvm_enter, which consumes the
     * resume point and may charge gas: a failed run must leave the instance as it was. */
    if (vm->ops->no_trace && (loop == 2 || vm->st.trace_fn))
        return jv_set_error(JAVM_ERR_UNSUPPORTED, "run: the %s engine cannot trace",
                            vm->ops->name);
    javm_status ps = jv_api_claim_empty(vm);
    if (ps == JAVM_OK) ps = vm->ops->prepare_thread(vm->engine);
    if (ps != JAVM_OK) return ps;
    uint32_t start;
    if (jv_pvm_enter(&vm->st, vm->prog, &start)) {
        jv_engine_loop l = (loop == 2 || vm->st.trace_fn) ? JV_ENGINE_LOOP_TRACE
                           : loop == 1                    ? JV_ENGINE_LOOP_SWITCH
                                                          : JV_ENGINE_LOOP_DEFAULT;
        javm_status rs = vm->ops->run(vm->engine, &vm->st, vm->prog, &vm->mem, start, l);
        if (rs != JAVM_OK) return rs; /* e.g. the host refused to open guest pages */
    }
    ex.kind = (javm_exit_kind)vm->st.exit_kind;
    ex.pc = vm->st.pc;
    ex.next_pc = vm->st.exit_kind == JV_EXIT_HOST ? vm->st.exit_next_pc : vm->st.pc;
    ex.arg = (vm->st.exit_kind == JV_EXIT_HOST || vm->st.exit_kind == JV_EXIT_FAULT)
                 ? vm->st.exit_arg
                 : 0;
    return struct_out(exit, &ex, sizeof ex, JAVM_EXIT_INFO_SIZE_V1, "run: exit info");
}

javm_status javm_run(javm_instance *vm, javm_exit_info *exit) {
    return jv_api_run_with(vm, 0, exit);
}

javm_status javm_stats_get(const javm_instance *vm, javm_stats *out) {
    if (!vm || !out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "stats: NULL argument");
    javm_stats st = JAVM_STATS_INIT;
    st.instructions = vm->st.instructions;
    st.first_touch_faults = vm->st.first_touch;
    st.cow_pages = vm->st.cow;
    st.mat_gas = vm->st.mat_gas;
    if (vm->ops->stats) vm->ops->stats(vm->engine, &st);
    return struct_out(out, &st, sizeof st, JAVM_STATS_SIZE_V1, "stats");
}

void javm_set_trace(javm_instance *vm, javm_trace_fn fn, void *user) {
    if (!vm) return;
    vm->st.trace_fn = fn;
    vm->st.trace_user = user;
    vm->st.trace_vm = vm;
}
