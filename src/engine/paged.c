/* engine — per-instance paged context: fault resolution (ENG-3; the host protections of ENG-1
 * are applied by the mem layer) and the wrap-around slow path (ENG-5). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/error.h"

bool jv_engine_paged_available(void) {
#if defined(__linux__) && defined(__x86_64__)
    return sysconf(_SC_PAGESIZE) == (long)JV_PAGE_SIZE;
#else
    return false;
#endif
}

javm_status jv_paged_init(jv_paged *p, jv_mem *m) {
    memset(p, 0, sizeof *p);
    p->slot = -1;
    p->mem = m;
    if (!jv_engine_paged_available())
        return jv_set_error(JAVM_ERR_UNSUPPORTED,
                            "engine: the paged engine needs Linux x86-64 with 4 KiB pages");
    javm_status st = jv_fault_install();
    if (st != JAVM_OK) return st;
    uintptr_t lo = (uintptr_t)m->base;
    p->slot = jv_fault_register(p, lo, lo + m->window_size);
    if (p->slot < 0)
        return jv_set_error(JAVM_ERR_NO_MEMORY, "engine: more than %d paged instances alive",
                            JV_FAULT_MAX_WINDOWS);
    return JAVM_OK;
}

void jv_paged_fini(jv_paged *p) {
    jv_fault_unregister(p->slot);
    p->slot = -1;
}

javm_status jv_engine_paged_create(jv_mem *m, void **ctx) {
    *ctx = NULL;
    jv_paged *p = malloc(sizeof *p);
    if (!p) return jv_set_error(JAVM_ERR_NO_MEMORY, "engine: out of memory");
    javm_status s = jv_paged_init(p, m);
    if (s != JAVM_OK) {
        jv_paged_fini(p);
        free(p);
        return s;
    }
    *ctx = p;
    return JAVM_OK;
}

void jv_engine_paged_destroy(void *ctx) {
    if (!ctx) return;
    jv_paged_fini(ctx);
    free(ctx);
}

uint64_t jv_engine_paged_ro_units(const void *ctx) {
    return ctx ? ((const jv_paged *)ctx)->stats.ro_units : 0;
}

javm_status jv_paged_enter(jv_paged *p, int64_t *gas) {
    javm_status st = jv_fault_thread_prepare();
    if (st != JAVM_OK) return st;
    p->gas = gas;
    p->acc = 0;
    p->os_errno = 0;
    p->thread = pthread_self();
    __atomic_store_n(&p->running, 1, __ATOMIC_RELEASE);
    return JAVM_OK;
}

void jv_paged_leave(jv_paged *p) {
    __atomic_store_n(&p->running, 0, __ATOMIC_RELEASE);
    p->acc = 0;
}

/* ---- Fault resolution (ENG-1, ENG-3) ---------------------------------------------------- */
int jv_paged_resolve(jv_paged *p, uint32_t addr, unsigned width, bool is_write) {
    jv_mem *m = p->mem;
    jv_mem_result r = jv_mem_touch(m, addr, width, is_write);
    if (r.kind != JV_MEM_OK) {
        p->fault = r;
        return 1;
    }
    if (r.charge) {
        *p->gas -= (int64_t)r.charge; /* the block reserve guarantees this fits (§11.1) */
        p->stats.mat_gas += r.charge;
    }
    p->stats.first_touch_faults += r.first_touch;
    p->stats.cow_pages += r.cow;
    /* A read-write page's protection now follows from its fast bits (ENG-1), which the mem
     * layer applies; a read-only page opens its whole unit. */
    jv_page_set ps = jv_access_pages(addr, width);
    for (unsigned i = 0; i < ps.len; i++) {
        uint32_t pi = ps.pages[i] >> JV_PAGE_SHIFT;
        bool unit_opened = false;
        int rc = jv_pg_perm(m->pages[pi]) == JV_PG_PERM_RO
                     ? jv_mem_open_ro_unit(m, pi, &unit_opened)
                     : jv_mem_sync_protection(m, pi, 1);
        if (unit_opened) p->stats.ro_units++;
        if (rc != 0) {
            p->os_errno = -rc;
            return -1;
        }
    }
    return 0;
}

/* ---- Wrap-around candidates (ENG-5) -------------------------------------------------------- */
jv_mem_result jv_paged_load_slow(jv_paged *p, uint32_t addr, unsigned width, uint64_t *val) {
    int rc = jv_paged_resolve(p, addr, width, false);
    if (rc > 0) return p->fault;
    if (rc < 0) siglongjmp(p->exit_jb, 1);
    *val = jv_load_wrap(p->mem->base, addr, width);
    return (jv_mem_result){0};
}

jv_mem_result jv_paged_store_slow(jv_paged *p, uint32_t addr, unsigned width, uint64_t val) {
    int rc = jv_paged_resolve(p, addr, width, true);
    if (rc > 0) return p->fault;
    if (rc < 0) siglongjmp(p->exit_jb, 1);
    jv_store_wrap(p->mem->base, addr, width, val);
    return (jv_mem_result){0};
}

/* ---- One access as the paged loop performs it (tests, benchmarks) ---------------------------- */
jv_mem_result jv_paged_access(jv_paged *p, uint32_t addr, unsigned width, bool is_write,
                              uint64_t *val) {
    if (addr > JV_PAGED_WRAP_LIMIT)
        return is_write ? jv_paged_store_slow(p, addr, width, *val)
                        : jv_paged_load_slow(p, addr, width, val);
    if (sigsetjmp(p->exit_jb, 0)) {
        p->acc = 0;
        if (p->os_errno) return (jv_mem_result){.kind = JV_MEM_PANIC};
        return p->fault;
    }
    uint8_t *h = p->mem->base + addr;
    p->acc = jv_acc_pack(addr, width, is_write);
    __asm__ volatile("" ::: "memory");
    if (is_write) jv_store_le(h, width, *val);
    else *val = jv_load_le(h, width);
    __asm__ volatile("" ::: "memory");
    p->acc = 0;
    return (jv_mem_result){0};
}
