/* mem — guest window, page maps and their host protection, host access, the touch and the
 * checked accessors' slow paths, reset for reuse. */
#include "mem/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifndef MADV_WIPEONFORK /* Linux 4.14; older C libraries lack the names */
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif

#include "util/error.h"

/* Host bytes reserved past 2^32 so that an access starting at the top of the window never
 * touches a foreign mapping (the widest access is 8 bytes). */
#define GUARD_BYTES (64u * 1024)

/* The per-instance side metadata: one page byte, one dirty bit and one ro-unit bit per page. */
static jv_meta_spec mem_specs[] = {
    {.name = "pvm:page", .is_global = true, .log_bits = 3, .log_region = JV_PAGE_SHIFT},
    {.name = "pvm:dirty", .is_global = true, .log_bits = 0, .log_region = JV_PAGE_SHIFT},
    {.name = "pvm:ro-unit", .is_global = false, .log_bits = 0, .log_region = JV_PAGE_SHIFT},
    {.name = "pvm:armed", .is_global = false, .log_bits = 0, .log_region = JV_PAGE_SHIFT},
    {.name = "pvm:rearm", .is_global = false, .log_bits = 0, .log_region = JV_PAGE_SHIFT},
};
const jv_meta_spec *const jv_mem_spec_page = &mem_specs[0];
const jv_meta_spec *const jv_mem_spec_dirty = &mem_specs[1];
const jv_meta_spec *const jv_mem_spec_ro_unit = &mem_specs[2];
const jv_meta_spec *const jv_mem_spec_armed = &mem_specs[3];
const jv_meta_spec *const jv_mem_spec_rearm = &mem_specs[4];
#define NUM_SPECS (sizeof mem_specs / sizeof mem_specs[0])

static pthread_once_t layout_once = PTHREAD_ONCE_INIT;
static int layout_ok;
static void layout_specs(void) {
    char err[128];
    jv_meta_layout(mem_specs, NUM_SPECS);
    layout_ok = jv_meta_check(mem_specs, NUM_SPECS, err, sizeof err) == 0;
}

/* Page-table spans (4096 page bytes each) that have ever held a mapping: reset and frame
 * changes visit only these. */
#define SPAN_PAGES 4096u

/* ---- Host protection calls and fault injection ------------------------------------------- */
static _Atomic long g_inject_skip, g_inject_fail;

void jv_mem_inject_mprotect_failures(long skip, long fail) {
    atomic_store(&g_inject_skip, skip);
    atomic_store(&g_inject_fail, fail);
}

/* Every mprotect of guest memory goes through here, so a test can make some fail with ENOMEM
 * (what the kernel reports when vm.max_map_count is exhausted). */
static int guest_mprotect(void *addr, size_t len, int prot) {
    if (JV_UNLIKELY(atomic_load_explicit(&g_inject_fail, memory_order_relaxed) > 0)) {
        if (atomic_load(&g_inject_skip) > 0) {
            atomic_fetch_sub(&g_inject_skip, 1);
        } else {
            atomic_fetch_sub(&g_inject_fail, 1);
            errno = ENOMEM;
            return -1;
        }
    }
    return mprotect(addr, len, prot);
}

/* ---- The VMA budget (MEM-7) ----------------------------------------------------------------
 * Shared by every paged space of the process: a quarter of vm.max_map_count (read once), so
 * guests together never take more than that, whatever the host does with the rest. */
static _Atomic int64_t g_vma_pool_used;
static int64_t g_vma_pool_limit;
static pthread_once_t g_vma_once = PTHREAD_ONCE_INIT;
static void vma_pool_init(void) {
    long max = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &max) != 1 || max < 1024) max = 65530;
        fclose(f);
    }
    g_vma_pool_limit = max / 4;
}

/* MEM-12: no transparent huge pages in the window: a range taken out of the userfaultfd
 * registration is plain anonymous memory, and one huge page would make 512 pages look written.
 * (Every fresh window or range gets the same flag, so VMAs still merge.) */
static void no_huge_pages(void *addr, size_t len) {
#ifdef MADV_NOHUGEPAGE
    (void)madvise(addr, len, MADV_NOHUGEPAGE);
#else
    (void)addr;
    (void)len;
#endif
}

/* MEM-11: register the whole window (one registration, so it never splits a VMA); live if the
 * descriptor is there and the kernel accepted it. */
static void uffd_setup(jv_mem *m) {
    m->uffd_reg = m->uffd_live = false;
    m->armed_resolved = 0;
    m->uffd_epoch = jv_uffd_epoch();
    if (!m->paged || jv_uffd_fd() < 0) return;
    if (jv_uffd_register(m->base, m->window_size) != 0) return;
    m->uffd_reg = m->uffd_live = true;
}

javm_status jv_mem_init(jv_mem *m, jv_mem_mode mode, uint64_t cow_cost, bool ro_write_faults) {
    memset(m, 0, sizeof *m);
    pthread_once(&layout_once, layout_specs);
    if (!layout_ok) return jv_set_error(JAVM_ERR_STATE, "mem: side-metadata layout overlaps");
    m->mode = mode;
    m->paged = mode == JV_MEM_PAGED;
    m->vma_budget = JV_MEM_VMA_BUDGET;
    pthread_once(&g_vma_once, vma_pool_init);
    m->cow_cost = cow_cost;
    m->ro_write_faults = ro_write_faults;
    m->window_size = JV_GUEST_SPACE + GUARD_BYTES;
    void *w = mmap(NULL, m->window_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (w == MAP_FAILED)
        return jv_set_error(JAVM_ERR_OS, "mem: reserving the 4 GiB guest window failed: %s",
                            strerror(errno));
    m->base = w;
    no_huge_pages(m->base, m->window_size);
    int rc = jv_meta_space_reserve(&m->meta, mem_specs, NUM_SPECS, NULL);
    if (rc == 0) rc = jv_meta_ensure_mapped_all(&m->meta, jv_mem_spec_page);
    if (rc != 0) {
        munmap(m->base, m->window_size);
        if (m->meta.base) jv_meta_space_release(&m->meta);
        m->base = NULL;
        return jv_set_error(JAVM_ERR_OS, "mem: reserving side metadata failed: %s", strerror(-rc));
    }
    m->pages = jv_meta_byte_addr(&m->meta, jv_mem_spec_page, 0);
    m->dirty = jv_meta_byte_addr(&m->meta, jv_mem_spec_dirty, 0);
    m->ro_unit = jv_meta_byte_addr(&m->meta, jv_mem_spec_ro_unit, 0);
    m->armed = jv_meta_byte_addr(&m->meta, jv_mem_spec_armed, 0);
    m->rearm = jv_meta_byte_addr(&m->meta, jv_mem_spec_rearm, 0);
    uffd_setup(m);
    return JAVM_OK;
}

static void vma_release(jv_mem *m) {
    if (m->vma_guest) atomic_fetch_sub(&g_vma_pool_used, m->vma_guest);
    m->vma_guest = 0;
}

void jv_mem_fini(jv_mem *m) {
    vma_release(m);
    if (m->base) munmap(m->base, m->window_size);
    if (m->meta.base) jv_meta_space_release(&m->meta);
    memset(m, 0, sizeof *m);
}

static inline void mark_spans(jv_mem *m, uint32_t first, uint32_t count) {
    for (uint32_t c = first / SPAN_PAGES; c <= (first + count - 1) / SPAN_PAGES; c++)
        m->used_spans[c >> 6] |= 1ull << (c & 63);
}

static inline bool span_used(const jv_mem *m, uint32_t c) {
    return (m->used_spans[c >> 6] >> (c & 63)) & 1;
}

/* MEM-11: page pn (mapped) is armed. */
static inline bool page_armed(const jv_mem *m, uint32_t pn) {
    return m->uffd_live && jv_pg_perm(m->pages[pn]) == JV_PG_PERM_RW && jv_bit_get(m->armed, pn);
}

/* MEM-11: stop arming. The window is unregistered (a child of fork has nothing registered), the
 * armed bits cleared, and the pages they covered get their plain protection at the next heal
 * (prot_stale). If the kernel refuses to unregister, the window stays registered (uffd_reg):
 * opens then zero-fill what is still unpopulated. */
static void uffd_go_classic(jv_mem *m) {
    if (m->uffd_reg && m->uffd_epoch == jv_uffd_epoch() &&
        jv_uffd_unregister(m->base, m->window_size) == 0)
        m->uffd_reg = false;
    if (m->uffd_epoch != jv_uffd_epoch()) m->uffd_reg = false;
    bool was_live = m->uffd_live;
    m->uffd_live = false;
    m->armed_resolved = 0;
    if (!was_live) return;
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        memset(m->rearm + (uint64_t)c * SPAN_PAGES / 8, 0, SPAN_PAGES / 8);
        uint8_t *bits = m->armed + (uint64_t)c * SPAN_PAGES / 8;
        for (uint32_t w = 0; w < SPAN_PAGES / 64; w++) {
            uint64_t x;
            memcpy(&x, bits + 8 * w, 8);
            if (!x) continue;
            memset(bits + 8 * w, 0, 8);
            m->prot_stale = true;
        }
    }
}

uint64_t jv_mem_armed_pages(const jv_mem *m) {
    uint64_t n = 0;
    if (!m->uffd_live) return 0;
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        for (uint32_t pn = c * SPAN_PAGES; pn < (c + 1) * SPAN_PAGES; pn++) n += page_armed(m, pn);
    }
    return n;
}

static javm_status check_range(const char *what, uint64_t start, uint64_t size) {
    if (start % JV_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_UNALIGNED, "%s: start 0x%llx is not a multiple of 4096", what,
                            (unsigned long long)start);
    if (size % JV_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_UNALIGNED, "%s: size 0x%llx is not a multiple of 4096", what,
                            (unsigned long long)size);
    if (start > JV_GUEST_SPACE || size > JV_GUEST_SPACE - start)
        return jv_set_error(JAVM_ERR_OVERFLOW, "%s: 0x%llx + 0x%llx exceeds the 4 GiB guest space",
                            what, (unsigned long long)start, (unsigned long long)size);
    return JAVM_OK;
}

/* The host protection a page needs: soft mode opens every mapped page read-write (software
 * checks guard it); paged mode mirrors the fast bits (FAST_R -> readable, FAST_W -> writable),
 * so a page faults until the touch contract has admitted the access kind. */
static int host_prot(const jv_mem *m, uint8_t b) {
    if (m->mode == JV_MEM_SOFT) return jv_pg_perm(b) ? PROT_READ | PROT_WRITE : PROT_NONE;
    if (b & JV_PG_FAST_W) return PROT_READ | PROT_WRITE;
    if (b & JV_PG_FAST_R) return PROT_READ;
    return PROT_NONE;
}

/* The page byte a map or protect declares: read-only pages are PinnedCapRo, read-write pages
 * UnpinnedCapCow (NotPresent, no fast bits). */
static uint8_t declared_page(javm_access access) {
    return access == JAVM_ACCESS_RO ? jv_pg_make(JV_PG_PERM_RO, JV_KIND_PINNED_CAP_RO)
                                    : jv_pg_make(JV_PG_PERM_RW, JV_KIND_UNPINNED_CAP_COW);
}

/* b with the fast bits its permission and state call for (MAT-5), in this memory's mode: a
 * read-only page is readable without a touch in soft mode (MAT-4); in paged mode it stays
 * closed until a touch in the current frame (the engine then opens its unit). */
static uint8_t with_mode_fast_bits(const jv_mem *m, uint8_t b) {
    if (m->mode == JV_MEM_PAGED && jv_pg_perm(b) == JV_PG_PERM_RO)
        return b & (uint8_t) ~(JV_PG_FAST_R | JV_PG_FAST_W);
    return jv_pg_with_fast_bits(b);
}

/* The host protection page pn has: an armed page is open (MEM-11), any other as host_prot. */
static int page_prot(const jv_mem *m, uint32_t pn) {
    if (m->mode == JV_MEM_PAGED && page_armed(m, pn)) return PROT_READ | PROT_WRITE;
    return host_prot(m, m->pages[pn]);
}

int jv_mem_page_prot(const jv_mem *m, uint32_t pn) { return page_prot(m, pn); }

int jv_mem_sync_protection(jv_mem *m, uint32_t first_page, uint32_t count) {
    uint32_t end = first_page + count, run = first_page;
    while (run < end) {
        int prot = page_prot(m, run);
        uint32_t p = run + 1;
        while (p < end && page_prot(m, p) == prot) p++;
        if (guest_mprotect(m->base + ((uint64_t)run << JV_PAGE_SHIFT),
                           (uint64_t)(p - run) << JV_PAGE_SHIFT, prot) != 0)
            return -errno;
        run = p;
    }
    return 0;
}

int jv_mem_open_ro_unit(jv_mem *m, uint32_t pn, bool *opened) {
    uint32_t cl_lo = pn & ~((1u << (JV_CLUSTER_SHIFT - JV_PAGE_SHIFT)) - 1);
    uint32_t cl_hi = cl_lo + (1u << (JV_CLUSTER_SHIFT - JV_PAGE_SHIFT));
    uint32_t lo = pn, hi = pn + 1;
    while (lo > cl_lo && jv_pg_perm(m->pages[lo - 1]) == JV_PG_PERM_RO) lo--;
    while (hi < cl_hi && jv_pg_perm(m->pages[hi]) == JV_PG_PERM_RO) hi++;
    /* lo is the region start clipped to the cluster: unit_base(page, region_start). */
    if (m->ro_unit && !jv_bit_get(m->ro_unit, lo)) {
        if (guest_mprotect(m->base + ((size_t)lo << JV_PAGE_SHIFT),
                           (size_t)(hi - lo) << JV_PAGE_SHIFT, PROT_READ) != 0)
            return -errno;
        /* MEM-11: in a registered window the unit's unpopulated pages read as zero pages */
        if (m->uffd_reg) {
            int rc = jv_uffd_fill_zero_range(m->base + ((size_t)lo << JV_PAGE_SHIFT),
                                             (size_t)(hi - lo) << JV_PAGE_SHIFT);
            if (rc) return rc;
        }
        jv_bit_set(m->ro_unit, lo);
        *opened = true;
        return 0;
    }
    return jv_mem_sync_protection(m, pn, 1);
}

javm_status jv_mem_map(jv_mem *m, uint64_t start, uint64_t size, javm_access access,
                       const void *init, size_t init_len) {
    javm_status s = check_range("map", start, size);
    if (s) return s;
    if (access != JAVM_ACCESS_RO && access != JAVM_ACCESS_RW)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "map: access must be read-only or read-write");
    if (size == 0) return JAVM_OK;
    uint32_t first = (uint32_t)(start >> JV_PAGE_SHIFT), count = (uint32_t)(size >> JV_PAGE_SHIFT);
    if (jv_meta_ensure_mapped(&m->meta, jv_mem_spec_dirty, start, size) ||
        jv_meta_ensure_mapped(&m->meta, jv_mem_spec_ro_unit, start, size) ||
        jv_meta_ensure_mapped(&m->meta, jv_mem_spec_armed, start, size) ||
        jv_meta_ensure_mapped(&m->meta, jv_mem_spec_rearm, start, size))
        return jv_set_error(JAVM_ERR_OS, "map: committing side metadata failed");
    bool was_stale = m->prot_stale;
    if (m->uffd_reg && m->uffd_epoch != jv_uffd_epoch()) uffd_go_classic(m); /* a fork child */
    m->changes++;
    uint8_t pb = with_mode_fast_bits(m, declared_page(access));
    /* MEM-11: pages armed by an earlier map are filled with zeros first (a remap keeps their
     * bytes, and the range gets one plain protection below). */
    for (uint32_t i = 0; i < count; i++) {
        jv_bit_clear(m->rearm, first + i);
        if (!page_armed(m, first + i)) continue;
        int rc = jv_uffd_fill_zero(m->base + ((uint64_t)(first + i) << JV_PAGE_SHIFT), false);
        if (rc)
            return jv_set_error(JAVM_ERR_OS, "map: filling an armed page failed: %s", strerror(-rc));
        jv_bit_clear(m->armed, first + i);
        m->prot_stale = true; /* open more than its (plain) protection until the mprotect below */
    }
    /* Every page of the range gets the same page byte, hence one host protection: set it
     * first, so that a failure leaves the metadata untouched. */
    if (guest_mprotect(m->base + start, size, host_prot(m, pb)) != 0)
        return jv_set_error(JAVM_ERR_OS, "map: mprotect failed: %s", strerror(errno));
    mark_spans(m, first, count);
    /* MEM-11: pages that were unmapped (never populated since) and lie past the init bytes are
     * armed, in a live paged space. */
    size_t init_n = init && init_len ? (init_len < size ? init_len : (size_t)size) : 0;
    uint32_t arm_from = first + (uint32_t)((init_n + JV_PAGE_SIZE - 1) >> JV_PAGE_SHIFT);
    bool arm = m->uffd_live && m->mode == JV_MEM_PAGED && access == JAVM_ACCESS_RW;
    bool armed_any = false;
    for (uint32_t i = 0; i < count; i++) {
        bool fresh = !jv_pg_perm(m->pages[first + i]);
        if (fresh) m->mapped_pages++;
        m->pages[first + i] = pb;
        if (arm && fresh && first + i >= arm_from) {
            jv_bit_set(m->armed, first + i);
            armed_any = true;
        }
    }
    if (init_n) {
        javm_status ws = jv_mem_host_write(m, (uint32_t)start, init, init_n);
        if (ws) { /* the pages past the init bytes keep their plain (closed) protection */
            for (uint32_t i = arm_from - first; armed_any && i < count; i++)
                jv_bit_clear(m->armed, first + i);
            return ws;
        }
    }
    if (armed_any) { /* one mprotect per run of armed pages; a refusal just leaves them plain */
        for (uint32_t i = arm_from - first; i < count;) {
            if (!jv_bit_get(m->armed, first + i)) {
                i++;
                continue;
            }
            uint32_t j = i;
            while (j < count && jv_bit_get(m->armed, first + j)) j++;
            if (guest_mprotect(m->base + ((uint64_t)(first + i) << JV_PAGE_SHIFT),
                               (uint64_t)(j - i) << JV_PAGE_SHIFT, PROT_READ | PROT_WRITE) != 0)
                for (uint32_t k = i; k < j; k++) jv_bit_clear(m->armed, first + k);
            i = j;
        }
    }
    return m->prot_stale && !was_stale ? jv_mem_heal(m) : JAVM_OK; /* what this map left */
}

javm_status jv_mem_unmap(jv_mem *m, uint64_t start, uint64_t size) {
    javm_status s = check_range("unmap", start, size);
    if (s || size == 0) return s;
    m->changes++;
    uint32_t first = (uint32_t)(start >> JV_PAGE_SHIFT), count = (uint32_t)(size >> JV_PAGE_SHIFT);
    bool was_stale = m->prot_stale;
    /* Replacing the range with fresh reserved memory drops its contents (later maps read zero). */
    if (mmap(m->base + start, size, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
        return jv_set_error(JAVM_ERR_OS, "unmap: mmap failed: %s", strerror(errno));
    no_huge_pages(m->base + start, size);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t pn = first + i;
        if (jv_pg_perm(m->pages[pn])) {
            m->mapped_pages--;
            jv_bit_clear(m->dirty, pn);
            jv_bit_clear(m->ro_unit, pn);
            jv_bit_clear(m->armed, pn);
            jv_bit_clear(m->rearm, pn);
        }
        m->pages[pn] = 0;
    }
    /* MEM-11: the fresh memory lost the registration; without it the window is not uniform */
    if (m->uffd_reg && (m->uffd_epoch != jv_uffd_epoch() ||
                        jv_uffd_register(m->base + start, (size_t)size) != 0))
        uffd_go_classic(m);
    return m->prot_stale && !was_stale ? jv_mem_heal(m) : JAVM_OK; /* what this unmap left */
}

javm_status jv_mem_protect(jv_mem *m, uint64_t start, uint64_t size, javm_access access) {
    javm_status s = check_range("protect", start, size);
    if (s) return s;
    if (access != JAVM_ACCESS_RO && access != JAVM_ACCESS_RW)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "protect: access must be read-only or read-write (use unmap to remove)");
    uint32_t first = (uint32_t)(start >> JV_PAGE_SHIFT), count = (uint32_t)(size >> JV_PAGE_SHIFT);
    for (uint32_t i = 0; i < count; i++)
        if (!jv_pg_perm(m->pages[first + i]))
            return jv_set_error(JAVM_ERR_NOT_MAPPED, "protect: page 0x%x is not mapped",
                                (first + i) << JV_PAGE_SHIFT);
    m->changes++;
    if (count == 0) return JAVM_OK;
    /* Metadata first (the protections follow from it), kept for a rollback: if the kernel
     * refuses a protection, the range gets its old page bytes and protections back, so that
     * metadata and host protection agree after the failure (MEM-8). */
    uint8_t *old = malloc(count);
    if (!old) return jv_set_error(JAVM_ERR_NO_MEMORY, "protect: out of memory");
    memcpy(old, m->pages + first, count);
    uint8_t decl = declared_page(access);
    /* MEM-11: a page made read-only is no longer armed (still unpopulated: the open that makes
     * it readable zero-fills it) */
    if (m->uffd_live)
        for (uint32_t i = 0; i < count; i++) {
            jv_bit_clear(m->rearm, first + i);
            if (access == JAVM_ACCESS_RO) jv_bit_clear(m->armed, first + i);
        }
    for (uint32_t i = 0; i < count; i++) {
        uint8_t nb = decl;
        /* a read-write page keeps its materialization state (pinned pages are untracked) */
        if (access == JAVM_ACCESS_RW) nb = jv_pg_with_state(nb, jv_pg_state(m->pages[first + i]));
        m->pages[first + i] = with_mode_fast_bits(m, nb);
    }
    int rc = jv_mem_sync_protection(m, first, count);
    if (rc) {
        memcpy(m->pages + first, old, count);
        if (jv_mem_sync_protection(m, first, count)) m->prot_stale = true;
    }
    free(old);
    if (rc) return jv_set_error(JAVM_ERR_OS, "protect: mprotect failed: %s", strerror(-rc));
    return JAVM_OK;
}

/* Host copies. In soft mode mapped pages are host-accessible; in paged mode a page may still
 * be closed, so each touched page is opened for the copy and given back its protection. */
static javm_status host_copy(jv_mem *m, uint32_t addr, void *buf, size_t n, bool to_guest,
                             const char *what) {
    if (n > JV_GUEST_SPACE)
        return jv_set_error(JAVM_ERR_OVERFLOW, "%s: length %zu exceeds the guest space", what, n);
    javm_status hs = jv_mem_heal(m);
    if (hs) return hs;
    for (uint64_t off = 0; off < n;) { /* every page must be mapped (MEM-2: wraps) */
        uint32_t a = (uint32_t)(addr + off);
        if (!jv_pg_perm(m->pages[a >> JV_PAGE_SHIFT]))
            return jv_set_error(JAVM_ERR_NOT_MAPPED, "%s: address 0x%x is not mapped", what,
                                a & ~(JV_PAGE_SIZE - 1));
        off += JV_PAGE_SIZE - (a & (JV_PAGE_SIZE - 1));
    }
    uint8_t *p = buf;
    for (uint64_t off = 0; off < n;) {
        uint32_t a = (uint32_t)(addr + off);
        uint32_t pn = a >> JV_PAGE_SHIFT;
        size_t part = JV_PAGE_SIZE - (a & (JV_PAGE_SIZE - 1));
        if (part > n - off) part = n - off;
        uint8_t *host = m->base + a;
        if (to_guest && m->uffd_live) jv_bit_clear(m->rearm, pn); /* its bytes are the host's */
        if (m->mode == JV_MEM_PAGED && page_armed(m, pn)) { /* MEM-11 */
            if (!to_guest) { /* reads zero; the page stays armed */
                memset(p + off, 0, part);
                off += part;
                continue;
            }
            int rc = jv_uffd_fill_zero(m->base + ((uint64_t)pn << JV_PAGE_SHIFT), false);
            if (rc)
                return jv_set_error(JAVM_ERR_OS, "%s: filling an armed page failed: %s", what,
                                    strerror(-rc));
            jv_bit_clear(m->armed, pn);
            m->prot_stale = true; /* open until the sync below closes it */
        }
        bool reopen = m->mode == JV_MEM_PAGED && page_prot(m, pn) != (PROT_READ | PROT_WRITE);
        /* MEM-11: a page not yet open for writing may still be unpopulated in a registered
         * window: fill it before the copy touches it (a present page is left as it is) */
        if (m->uffd_reg && reopen) {
            int rc = jv_uffd_fill_zero(m->base + ((uint64_t)pn << JV_PAGE_SHIFT), false);
            if (rc)
                return jv_set_error(JAVM_ERR_OS, "%s: filling a page failed: %s", what,
                                    strerror(-rc));
        }
        if (reopen && guest_mprotect(m->base + ((uint64_t)pn << JV_PAGE_SHIFT), JV_PAGE_SIZE,
                                     PROT_READ | PROT_WRITE) != 0)
            return jv_set_error(JAVM_ERR_OS, "%s: mprotect failed: %s", what, strerror(errno));
        if (to_guest) memcpy(host, p + off, part);
        else memcpy(p + off, host, part);
        if (reopen && jv_mem_sync_protection(m, pn, 1)) {
            m->prot_stale = true; /* left open: MEM-8, closed again by the next heal */
            return jv_set_error(JAVM_ERR_OS, "%s: mprotect failed: %s", what, strerror(errno));
        }
        if (reopen) m->prot_stale = false; /* (the heal above found them in agreement) */
        off += part;
    }
    return JAVM_OK;
}

javm_status jv_mem_host_read(const jv_mem *m, uint32_t addr, void *dst, size_t n) {
    return host_copy((jv_mem *)m, addr, dst, n, false, "read");
}

javm_status jv_mem_host_write(jv_mem *m, uint32_t addr, const void *src, size_t n) {
    m->changes++;
    return host_copy(m, addr, (void *)src, n, true, "write");
}

/* MEM-3. The bytes of an access lie in at most two pages, examined in access order: the
 * indices a .. a+n-1 are not reduced mod 2^32 before the minimum is taken, so for an access that
 * wraps, the top page holds the lowest indices and page 0 those from 2^32 on, whose lowest byte
 * reduces to address 0 (always < 2^16: a panic). */
jv_mem_result jv_mem_classify(const jv_mem *m, uint32_t addr, unsigned width, bool is_write) {
    jv_page_set set = jv_access_pages(addr, width);
    uint32_t lowest[2] = {addr, set.pages[1]}; /* lowest touched byte (mod 2^32) in each page */
    jv_mem_result r = {0};
    for (unsigned i = 0; i < set.len; i++) {
        unsigned perm = jv_pg_perm(m->pages[set.pages[i] >> JV_PAGE_SHIFT]);
        if (perm == JV_PG_PERM_RW || (perm == JV_PG_PERM_RO && !is_write)) continue;
        uint32_t bad = lowest[i];
        if (bad < JV_LOW_GUARD || (perm == JV_PG_PERM_RO && !m->ro_write_faults)) {
            r.kind = JV_MEM_PANIC;
        } else {
            r.kind = JV_MEM_FAULT;
            r.addr = bad & ~(JV_PAGE_SIZE - 1);
        }
        return r;
    }
    return r;
}

/* The touch checks accessibility itself (MAT-3) and, with the page bytes map and protect
 * write (every mapped page declared, only read-only pages pinned), faults exactly when
 * jv_mem_classify does; so the fault rule runs only to classify a touch that faulted. */
static inline void mark_frame(jv_mem *m, uint32_t pn) {
    uint32_t g = pn >> 6;
    m->frame_groups[g >> 6] |= 1ull << (g & 63);
    m->frame_words[g >> 12] |= 1ull << ((g >> 6) & 63);
}

jv_mem_result jv_mem_touch(jv_mem *m, uint32_t addr, unsigned width, bool is_write) {
    jv_touch_info ti;
    if (jv_mat_touch(m->pages, m->dirty, addr, width, is_write, m->cow_cost, &ti) == JV_TOUCH_OK) {
        mark_frame(m, addr >> JV_PAGE_SHIFT); /* MEM-10: both pages an access can touch */
        mark_frame(m, (uint32_t)(addr + width - 1) >> JV_PAGE_SHIFT);
        return (jv_mem_result){.charge = ti.charge, .first_touch = ti.first_touch, .cow = ti.cow};
    }
    jv_mem_result r = jv_mem_classify(m, addr, width, is_write); /* nothing changed (MAT-3) */
    if (r.kind == JV_MEM_OK) r.kind = JV_MEM_PANIC; /* unreachable, see above */
    return r;
}

jv_mem_result jv_mem_load_slow(jv_mem *m, uint32_t addr, unsigned width, uint64_t *val) {
    jv_mem_result r = jv_mem_touch(m, addr, width, false);
    if (r.kind == JV_MEM_OK) *val = jv_load_wrap(m->base, addr, width);
    return r;
}

jv_mem_result jv_mem_store_slow(jv_mem *m, uint32_t addr, unsigned width, uint64_t val) {
    jv_mem_result r = jv_mem_touch(m, addr, width, true);
    if (r.kind == JV_MEM_OK) jv_store_wrap(m->base, addr, width, val);
    return r;
}

bool jv_mem_next_mapped(const jv_mem *m, uint64_t from, uint32_t *page) {
    for (uint64_t pn = from >> JV_PAGE_SHIFT; pn < JV_NUM_PAGES;) {
        uint32_t c = (uint32_t)(pn / SPAN_PAGES);
        if (!span_used(m, c)) {
            pn = (uint64_t)(c + 1) * SPAN_PAGES;
            continue;
        }
        if ((pn & 7) == 0) { /* eight page bytes at a time */
            uint64_t w;
            memcpy(&w, m->pages + pn, 8);
            if (!(w & 0x0303030303030303ull)) {
                pn += 8;
                continue;
            }
        }
        if (jv_pg_perm(m->pages[pn])) {
            *page = (uint32_t)(pn << JV_PAGE_SHIFT);
            return true;
        }
        pn++;
    }
    return false;
}

javm_status jv_mem_reset(jv_mem *m) {
    /* Fresh reserved memory over the whole window drops every page's bytes; if the kernel
     * refuses, nothing is reset (MEM-1: a later map must read zero). */
    if (mmap(m->base, m->window_size, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
        return jv_set_error(JAVM_ERR_OS, "reset: mmap failed: %s", strerror(errno));
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        memset(m->pages + (uint64_t)c * SPAN_PAGES, 0, SPAN_PAGES);
        memset(m->dirty + (uint64_t)c * SPAN_PAGES / 8, 0, SPAN_PAGES / 8);
        memset(m->ro_unit + (uint64_t)c * SPAN_PAGES / 8, 0, SPAN_PAGES / 8);
        memset(m->armed + (uint64_t)c * SPAN_PAGES / 8, 0, SPAN_PAGES / 8);
    }
    memset(m->used_spans, 0, sizeof m->used_spans);
    m->ahead_count = 0; /* MEM-12: a batch is settled before the host can reset (defensive) */
    m->ahead_vma = 0;
    m->watch_count = 0; /* MEM-13: the same for watched pages */
    m->watch_vma = 0;
    m->wipe_count = 0;
    no_huge_pages(m->base, m->window_size);
    uffd_setup(m); /* MEM-11: the fresh window is registered again */
    m->mapped_pages = 0;
    m->prot_stale = false;
    vma_release(m);
    if (m->paged) m->mode = JV_MEM_PAGED; /* MEM-7: a fresh window needs no VMAs */
    memset(m->frame_groups, 0, sizeof m->frame_groups);
    memset(m->frame_words, 0, sizeof m->frame_words);
    m->changes++;
    return JAVM_OK;
}

/* The pages [first, first + n) to their fresh form (MEM-10), narrowing host protections
 * where they change, unless the caller re-syncs the whole span (full). */
static javm_status fresh_pages(jv_mem *m, uint32_t first, uint32_t n, bool full) {
    javm_status st = JAVM_OK;
    uint32_t run = UINT32_MAX; /* start of a run of pages whose protection changes */
    for (uint32_t pn = first; pn <= first + n; pn++) {
        bool change = false;
        if (pn < first + n && jv_pg_perm(m->pages[pn])) {
            uint8_t b = m->pages[pn];
            uint8_t nb = with_mode_fast_bits(m, jv_pg_with_state(b, JV_STATE_NOT_PRESENT));
            m->pages[pn] = nb;
            change = !full && host_prot(m, b) != host_prot(m, nb);
        }
        if (change && run == UINT32_MAX) run = pn;
        if (!change && run != UINT32_MAX) {
            int rc = jv_mem_sync_protection(m, run, pn - run);
            if (rc && !st)
                st = jv_set_error(JAVM_ERR_OS, "new frame: mprotect failed: %s", strerror(-rc));
            run = UINT32_MAX;
        }
    }
    return st;
}

javm_status jv_mem_new_frame(jv_mem *m) {
    javm_status st = JAVM_OK;
    /* MEM-7: the frame's first touches start over, and so does the guest's VMA count (every
     * page is closed again below, which merges what the guest split). After soft checks
     * (degraded: every mapped page was rewritten and opened) or a failure that left
     * protections unknown (MEM-8), every span is made fresh and re-synced whole. */
    /* MEM-11: the pages the guest resolved from armed close now, so arming ends here. */
    if (m->armed_resolved || (m->uffd_reg && m->uffd_epoch != jv_uffd_epoch())) uffd_go_classic(m);
    bool all = (m->paged && m->mode != JV_MEM_PAGED) || m->prot_stale;
    vma_release(m);
    if (m->paged) m->mode = JV_MEM_PAGED;
    /* MEM-10: a read-only unit opened by fault-around also opened pages whose bytes do not
     * say so: spans holding one are made fresh and re-synced whole too. */
    uint64_t full[sizeof m->used_spans / sizeof m->used_spans[0]] = {0};
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        if (all) {
            full[c >> 6] |= 1ull << (c & 63);
            continue;
        }
        uint8_t *bits = m->ro_unit + (uint64_t)c * SPAN_PAGES / 8;
        for (uint32_t w = 0; w < SPAN_PAGES / 64; w++) {
            uint64_t x;
            memcpy(&x, bits + 8 * w, 8);
            if (!x) continue;
            full[c >> 6] |= 1ull << (c & 63);
            break;
        }
    }
    /* Every other page left its fresh form only through a touch, which marked its group. */
    for (uint32_t w = 0; w < sizeof m->frame_words / sizeof m->frame_words[0]; w++) {
        for (uint64_t ws = m->frame_words[w]; ws; ws &= ws - 1) {
            uint32_t gw = w * 64 + (uint32_t)__builtin_ctzll(ws);
            for (uint64_t gs = m->frame_groups[gw]; gs; gs &= gs - 1) {
                uint32_t first = (gw * 64 + (uint32_t)__builtin_ctzll(gs)) * 64;
                uint32_t c = first / SPAN_PAGES;
                javm_status s = fresh_pages(m, first, 64, (full[c >> 6] >> (c & 63)) & 1);
                if (s && !st) st = s;
            }
            m->frame_groups[gw] = 0;
        }
        m->frame_words[w] = 0;
    }
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!((full[c >> 6] >> (c & 63)) & 1)) continue;
        uint32_t first = c * SPAN_PAGES;
        javm_status s = fresh_pages(m, first, SPAN_PAGES, true);
        if (s && !st) st = s;
        memset(m->ro_unit + (uint64_t)first / 8, 0, SPAN_PAGES / 8);
        /* A page left more open than its (now cleared) fast bits would skip its next charge:
         * report it, and keep closing the other spans. */
        int rc = jv_mem_sync_protection(m, first, SPAN_PAGES);
        if (rc && !st)
            st = jv_set_error(JAVM_ERR_OS, "new frame: mprotect failed: %s", strerror(-rc));
    }
    m->prot_stale = st != JAVM_OK;
    return st;
}

/* MEM-11: after the dirty pages were discarded, the pages the guest resolved from armed in this
 * frame (rearm bit; their bytes are zero or discarded, the host wrote none of them) are
 * discarded too and armed again: the frame's new first touches find the layout it started with,
 * and the space stays live if every resolved page came back (else new_frame goes classic). */
static void rearm(jv_mem *m) {
    uint64_t back = 0;
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        uint8_t *bits = m->rearm + (uint64_t)c * SPAN_PAGES / 8;
        uint32_t first = c * SPAN_PAGES, run = UINT32_MAX;
        for (uint32_t i = 0; i <= SPAN_PAGES; i++) {
            if (run == UINT32_MAX && (i & 63) == 0 && i < SPAN_PAGES) {
                uint64_t w;
                memcpy(&w, bits + (i >> 3), 8);
                if (!w) {
                    i += 63;
                    continue;
                }
            }
            bool r = i < SPAN_PAGES && jv_bit_get(bits, i) &&
                     jv_pg_perm(m->pages[first + i]) == JV_PG_PERM_RW;
            if (r && run == UINT32_MAX) run = i;
            if (!r && run != UINT32_MAX) {
                if (madvise(m->base + ((size_t)(first + run) << JV_PAGE_SHIFT),
                            (size_t)(i - run) << JV_PAGE_SHIFT, MADV_DONTNEED) == 0) {
                    for (uint32_t k = run; k < i; k++) jv_bit_set(m->armed, first + k);
                    back += i - run;
                }
                run = UINT32_MAX;
            }
        }
        memset(bits, 0, SPAN_PAGES / 8);
    }
    if (back == m->armed_resolved) m->armed_resolved = 0;
}

/* Only pages whose dirty bit is set are touched; spans that never held a mapping are skipped
 * without reading their (uncommitted) dirty bits. */
javm_status jv_mem_reset_dirty(jv_mem *m, uint64_t *pages_restored) {
    uint64_t restored = 0;
    javm_status st = JAVM_OK;
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        uint8_t *bits = m->dirty + c * (SPAN_PAGES / 8);
        uint32_t first = c * SPAN_PAGES;
        uint32_t run = UINT32_MAX; /* start of the current run of dirty pages */
        for (uint32_t i = 0; i <= SPAN_PAGES; i++) {
            if (run == UINT32_MAX && (i & 63) == 0 && i < SPAN_PAGES) {
                uint64_t w; /* 64 clean pages at a time */
                memcpy(&w, bits + (i >> 3), 8);
                if (!w) {
                    i += 63;
                    continue;
                }
            }
            bool d = i < SPAN_PAGES && jv_bit_get(bits, i);
            if (d && run == UINT32_MAX) run = i;
            if (!d && run != UINT32_MAX) {
                /* Drops the private copies: an image page reads its image bytes again, an
                 * anonymous page reads zero. */
                if (madvise(m->base + ((size_t)(first + run) << JV_PAGE_SHIFT),
                            (size_t)(i - run) << JV_PAGE_SHIFT, MADV_DONTNEED) != 0 && !st)
                    st = jv_set_error(JAVM_ERR_OS, "reset: madvise failed: %s", strerror(errno));
                restored += i - run;
                run = UINT32_MAX;
            }
        }
        memset(bits, 0, SPAN_PAGES / 8);
    }
    if (st == JAVM_OK && m->uffd_live && m->armed_resolved) rearm(m);
    javm_status fs = jv_mem_new_frame(m);
    if (pages_restored) *pages_restored = restored;
    return st ? st : fs;
}

/* ---- MEM-8: host protection agrees with the metadata after any failure -------------------- */
javm_status jv_mem_heal(jv_mem *m) {
    /* MEM-11: in a fork child nothing is registered: armed pages would take writes unnoticed */
    if (JV_UNLIKELY((m->uffd_reg || m->uffd_live) && m->uffd_epoch != jv_uffd_epoch()))
        uffd_go_classic(m);
    if (!m->prot_stale) return JAVM_OK;
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        int rc = jv_mem_sync_protection(m, c * SPAN_PAGES, SPAN_PAGES);
        if (rc)
            return jv_set_error(JAVM_ERR_OS,
                                "mem: restoring guest page protections failed: %s", strerror(-rc));
    }
    m->prot_stale = false;
    return JAVM_OK;
}

/* ---- MEM-7: the paged touch with its VMA accounting ---------------------------------------- */
/* The host protection page pn has now, derived from the metadata (ENG-1); pages outside the
 * space count as PROT_NONE (the guard). */
static int acct_prot(const jv_mem *m, int64_t pn) {
    if (pn < 0 || pn >= (int64_t)JV_NUM_PAGES) return PROT_NONE;
    uint8_t b = m->pages[pn];
    if (!jv_pg_perm(b)) return PROT_NONE;
    if (m->mode == JV_MEM_PAGED && jv_pg_perm(b) == JV_PG_PERM_RO) {
        uint32_t cl_lo = (uint32_t)pn & ~((1u << (JV_CLUSTER_SHIFT - JV_PAGE_SHIFT)) - 1);
        uint32_t lo = (uint32_t)pn;
        while (lo > cl_lo && jv_pg_perm(m->pages[lo - 1]) == JV_PG_PERM_RO) lo--;
        return jv_bit_get(m->ro_unit, lo) ? PROT_READ : PROT_NONE;
    }
    return page_prot(m, (uint32_t)pn);
}

/* The page-pair edges around an access's pages (a VMA boundary may sit at each). */
typedef struct edge_set {
    int64_t lo[4]; /* edge between page lo and lo + 1 */
    unsigned n;
} edge_set;

static void edges_add(edge_set *e, int64_t lo) {
    for (unsigned i = 0; i < e->n; i++)
        if (e->lo[i] == lo) return;
    e->lo[e->n++] = lo;
}

static int64_t edges_count(const jv_mem *m, const edge_set *e) {
    int64_t n = 0;
    for (unsigned i = 0; i < e->n; i++) n += acct_prot(m, e->lo[i]) != acct_prot(m, e->lo[i] + 1);
    return n;
}

static bool vma_room(const jv_mem *m, int64_t n) {
    return m->vma_guest + n <= m->vma_budget &&
           atomic_load_explicit(&g_vma_pool_used, memory_order_relaxed) + n <= g_vma_pool_limit;
}

static void vma_account(jv_mem *m, int64_t d) {
    if (!d) return;
    m->vma_guest += d;
    atomic_fetch_add(&g_vma_pool_used, d);
}

/* MEM-13: watch page pn (an armed page just filled with the zero page by a read, host
 * read-write): only for a one-page access while the engine allows it, with room in the list
 * and for two more VMA boundaries (the fork advice splits the page off its neighbours). */
static bool wipe_covered(const jv_mem *m, uint32_t pn) {
    for (uint32_t i = 0; i < m->wipe_count; i++)
        if (pn >= m->wipe_lo[i] && pn < m->wipe_hi[i]) return true;
    return false;
}

/* A page the fork advice of a watch range may cover besides the watched page itself: armed
 * (nothing there yet) and outside the open batch (whose settle puts its own advice back). */
static bool wipe_candidate(const jv_mem *m, uint32_t pn) {
    return page_armed(m, pn) && !(pn >= m->ahead_first && pn < m->ahead_first + m->ahead_count) &&
           !wipe_covered(m, pn);
}

/* Both neighbours of page pn are mapped read-write, so a store straddling into pn from either
 * side never ends in a PVM-level fault (MEM-3: its other page is writable). */
static bool rw_neighbours(const jv_mem *m, uint32_t pn) {
    return pn > 0 && pn + 1 < JV_NUM_PAGES && jv_pg_perm(m->pages[pn - 1]) == JV_PG_PERM_RW &&
           jv_pg_perm(m->pages[pn + 1]) == JV_PG_PERM_RW;
}

static bool watch_add(jv_mem *m, uint32_t pn, unsigned pages) {
    /* Only with read-write neighbours: a store straddling from an inaccessible page into a
     * watched one may take its write fault on the watched page first (the kernel copies the
     * zero page: exclusive in the pagemap) and then fault on the other page, writing nothing;
     * the settle would count that page as written. A straddle that completes writes both. */
    if (!m->watch_ok || pages != 1 || m->watch_count >= JV_MEM_WATCH_MAX || !rw_neighbours(m, pn))
        return false;
    /* a fork while the page is watched would share its written copy with the child, and the
     * settle would read it as the zero page: the child gets a fresh zero page instead. One
     * advice also covers the armed pages below it in its group of 64 (nothing is there yet;
     * what their first touches put there before the settle a fork child does not get, as for a
     * batch), so the next pages watched there need none; not those above it, where a stream's
     * batch opens; each range may split two VMA boundaries off its neighbours. */
    if (!wipe_covered(m, pn)) {
        if (m->wipe_count >= JV_MEM_WIPE_MAX || !vma_room(m, 4)) return false;
        uint32_t g = pn & ~63u, lo = pn, hi = pn + 1;
        while (lo > g && wipe_candidate(m, lo - 1)) lo--;
        uint8_t *at = m->base + ((uint64_t)lo << JV_PAGE_SHIFT);
        size_t len = (size_t)(hi - lo) << JV_PAGE_SHIFT;
        if (madvise(at, len, MADV_WIPEONFORK) != 0) {
            (void)madvise(at, len, MADV_KEEPONFORK); /* (in case a part of it was applied) */
            return false;
        }
        m->wipe_lo[m->wipe_count] = lo;
        m->wipe_hi[m->wipe_count++] = hi;
        m->watch_vma += 2;
        vma_account(m, 2);
    }
    m->watch[m->watch_count++] = pn;
    return true;
}

int jv_mem_touch_open(jv_mem *m, uint32_t addr, unsigned width, bool is_write, jv_mem_open *o) {
    memset(o, 0, sizeof *o);
    jv_page_set ps = jv_access_pages(addr, width);
    /* Each page opened adds at most two boundaries (a read-only unit too: only its edges). */
    if (!vma_room(m, 2 * (int64_t)ps.len)) return JV_MEM_OPEN_BUDGET;
    uint32_t pn[2];
    uint8_t old_b[2];
    bool old_d[2], was_armed[2];
    edge_set e = {.n = 0};
    for (unsigned i = 0; i < ps.len; i++) {
        pn[i] = ps.pages[i] >> JV_PAGE_SHIFT;
        old_b[i] = m->pages[pn[i]];
        was_armed[i] = page_armed(m, pn[i]);
        old_d[i] = jv_pg_perm(old_b[i]) && jv_bit_get(m->dirty, pn[i]);
        edges_add(&e, (int64_t)pn[i] - 1);
        edges_add(&e, (int64_t)pn[i]);
    }
    int64_t before = edges_count(m, &e);
    o->r = jv_mem_touch(m, addr, width, is_write);
    if (o->r.kind != JV_MEM_OK) return JV_MEM_OPEN_PVM;
    /* Open low -> high (ENG-3): a read-write page as its page byte now says, a read-only page
     * its whole unit. */
    for (unsigned i = 0; i < ps.len; i++) {
        bool unit_opened = false;
        uint8_t *page = m->base + ((uint64_t)pn[i] << JV_PAGE_SHIFT);
        bool w = (m->pages[pn[i]] & JV_PG_FAST_W) != 0;
        int rc;
        if (was_armed[i]) { /* MEM-11: a write is done with the fill; a read also protects */
            rc = jv_uffd_fill_zero(page, w);
            if (rc == 0) {
                jv_bit_clear(m->armed, pn[i]);
                jv_bit_set(m->rearm, pn[i]);
                m->armed_resolved++;
                /* MEM-13: a read leaves the page writable and watched, or protects it */
                if (!w && watch_add(m, pn[i], ps.len)) o->watched++;
                else if (!w) rc = jv_mem_sync_protection(m, pn[i], 1);
            }
        } else {
            rc = jv_pg_perm(m->pages[pn[i]]) == JV_PG_PERM_RO
                     ? jv_mem_open_ro_unit(m, pn[i], &unit_opened)
                     : jv_mem_sync_protection(m, pn[i], 1);
            /* MEM-11: an opened page of a registered window must not be left unpopulated */
            if (rc == 0 && m->uffd_reg) rc = jv_uffd_fill_zero(page, w);
        }
        o->ro_units += unit_opened;
        if (rc == 0) continue;
        /* MEM-8: the touch is undone (page bytes and dirty bits as before, nothing charged) and
         * the pages opened so far are closed again; an opened read-only unit may stay open
         * (its bit says so: ENG-1 allows it). */
        for (unsigned j = 0; j < ps.len; j++) {
            if (jv_pg_perm(old_b[j]) == JV_PG_PERM_RO) continue;
            m->pages[pn[j]] = old_b[j];
            if (old_d[j]) jv_bit_set(m->dirty, pn[j]);
            else jv_bit_clear(m->dirty, pn[j]);
        }
        for (unsigned j = 0; j <= i; j++) {
            bool opened = j < i || (was_armed[j] && !jv_bit_get(m->armed, pn[j]));
            if (opened && jv_pg_perm(old_b[j]) != JV_PG_PERM_RO &&
                jv_mem_sync_protection(m, pn[j], 1))
                m->prot_stale = true;
        }
        o->r = (jv_mem_result){0};
        vma_account(m, 2 * (int64_t)o->ro_units);
        return rc;
    }
    vma_account(m, edges_count(m, &e) - before + 2 * (int64_t)o->ro_units);
    return JV_MEM_OPEN_OK;
}

/* ---- MEM-12: write-ahead batches ------------------------------------------------------------ */
bool jv_mem_armed(const jv_mem *m, uint32_t pn) { return pn < JV_NUM_PAGES && page_armed(m, pn); }

/* The VMA boundaries the metadata implies on the edges around pages [first, first + n). */
static int64_t batch_edges(const jv_mem *m, uint32_t first, uint32_t n) {
    int64_t b = 0;
    for (int64_t pn = (int64_t)first - 1; pn < (int64_t)first + n; pn++)
        b += acct_prot(m, pn) != acct_prot(m, pn + 1);
    return b;
}

uint32_t jv_mem_ahead_open(jv_mem *m, uint32_t first, uint32_t count) {
    if (m->ahead_count || m->mode != JV_MEM_PAGED || !m->uffd_live || !m->uffd_reg ||
        m->prot_stale || m->uffd_epoch != jv_uffd_epoch() || !jv_mem_ahead_ready())
        return 0;
    if (count > JV_MEM_AHEAD_MAX) count = JV_MEM_AHEAD_MAX;
    if (first >= JV_NUM_PAGES) return 0;
    if (count > JV_NUM_PAGES - first) count = JV_NUM_PAGES - first;
    uint32_t n = 0;
    while (n < count && page_armed(m, first + n) &&
           jv_pg_state(m->pages[first + n]) == JV_STATE_NOT_PRESENT &&
           !wipe_covered(m, first + n)) /* (MEM-13: its settle would take a range's advice) */
        n++;
    /* The batch's outer neighbours must be read-write (MEM-13's rule for a watched page): a
     * store straddling from a batch page into an inaccessible page faults and writes nothing,
     * but the processor may take the write fault on the batch page first, and the kernel then
     * allocates it (the settle would count it as written). */
    if (first == 0 || jv_pg_perm(m->pages[first - 1]) != JV_PG_PERM_RW) return 0;
    if (n && (first + n >= JV_NUM_PAGES || jv_pg_perm(m->pages[first + n]) != JV_PG_PERM_RW)) n--;
    if (n < 2) return 0;
    /* Taking the range out of the registration splits its VMA at both ends; each page read in
     * the batch may split one more pair when it is closed to PROT_READ at the settle. */
    int64_t need = 2 * (int64_t)n + 2;
    if (!vma_room(m, need)) return 0;
    uint8_t *lo = m->base + ((uint64_t)first << JV_PAGE_SHIFT);
    size_t len = (size_t)n << JV_PAGE_SHIFT;
    /* A fork while the batch is open (by any thread of the process) would share its written
     * pages with the child, and the settle would read them as the zero page (not exclusive):
     * the child gets the range as fresh zero pages instead, so the parent's pages stay
     * exclusively mapped. Done first (the same range as the unregister: no extra boundary). */
    if (madvise(lo, len, MADV_WIPEONFORK) != 0) {
        (void)madvise(lo, len, MADV_KEEPONFORK); /* (in case a part of it was applied) */
        return 0;
    }
    if (jv_uffd_unregister(lo, len) != 0) {
        (void)madvise(lo, len, MADV_KEEPONFORK);
        return 0;
    }
    vma_account(m, need);
    m->ahead_vma = need;
    m->ahead_first = first;
    m->ahead_count = n;
    return n;
}

int jv_mem_ahead_settle(jv_mem *m, jv_mem_result *r, uint64_t *precharged) {
    *r = (jv_mem_result){0};
    *precharged = 0;
    uint32_t first = m->ahead_first, n = m->ahead_count;
    if (!n) return 0;
    uint8_t *lo = m->base + ((uint64_t)first << JV_PAGE_SHIFT);
    uint64_t ent[JV_MEM_AHEAD_MAX];
    int rc = jv_uffd_pagemap_read(lo, n, ent);
    if (rc) return rc; /* nothing known, nothing applied: the batch stays open */
    *precharged = (uint64_t)n * m->cow_cost;
    int64_t before = batch_edges(m, first, n);
    bool any_read = false;
    for (uint32_t i = 0; i < n; i++) {
        bool present = (ent[i] >> 63) & 1, swapped = (ent[i] >> 62) & 1;
        if (!present && !swapped) continue; /* untouched: still armed */
        /* present and exclusively mapped: written (a private page); present and shared: the
         * kernel's zero page (read); swapped out: a private page, so written */
        bool written = swapped || ((ent[i] >> 56) & 1);
        uint32_t pn = first + i;
        jv_mem_result t = jv_mem_touch(m, pn << JV_PAGE_SHIFT, 1, written);
        r->charge += t.charge;
        r->first_touch += t.first_touch;
        r->cow += t.cow;
        jv_bit_clear(m->armed, pn); /* as a resolve of an armed page (jv_mem_touch_open) */
        jv_bit_set(m->rearm, pn);
        m->armed_resolved++;
        any_read |= !written;
    }
    m->ahead_count = 0;
    vma_account(m, -m->ahead_vma);
    m->ahead_vma = 0;
    /* Untouched pages are armed again; read pages get the protection a read resolve gives.
     * The range is inherited by a fork child again (as its neighbours: the VMAs can merge). */
    int reg = madvise(lo, (size_t)n << JV_PAGE_SHIFT, MADV_KEEPONFORK) != 0 ? -errno : 0;
    if (reg == 0) reg = jv_uffd_register(lo, (size_t)n << JV_PAGE_SHIFT);
    if (reg == 0 && any_read) {
        for (uint32_t i = 0; i < n && rc == 0;) {
            uint32_t j = i;
            while (j < n && (ent[j] >> 63 & 1) && !((ent[j] >> 56) & 1) && !((ent[j] >> 62) & 1))
                j++;
            if (j > i) rc = jv_mem_sync_protection(m, first + i, j - i);
            i = j + (j == i);
        }
    }
    vma_account(m, batch_edges(m, first, n) - before);
    if (reg == 0 && rc == 0) return 0;
    /* MEM-8: the window is no longer registered alike everywhere, or a read page is more open
     * than its page byte: stop arming and re-sync every protection */
    uffd_go_classic(m);
    m->prot_stale = true;
    return jv_mem_heal(m) == JAVM_OK ? 0 : -EIO;
}

/* ---- MEM-13: read-watched pages -------------------------------------------------------------- */
/* The VMA boundaries the metadata implies on the edges around the sorted pages w[0..n). */
static int64_t watch_edges(const jv_mem *m, const uint32_t *w, uint32_t n) {
    int64_t b = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t pn = w[i];
        if (i == 0 || w[i - 1] != w[i] - 1) b += acct_prot(m, pn - 1) != acct_prot(m, pn);
        b += acct_prot(m, pn) != acct_prot(m, pn + 1);
    }
    return b;
}

int jv_mem_watch_settle(jv_mem *m, jv_mem_tally *r, uint64_t *precharged) {
    *r = (jv_mem_tally){0};
    *precharged = 0;
    uint32_t n = m->watch_count, *w = m->watch;
    if (!n) return 0;
    for (uint32_t gap = n / 2; gap > 0; gap /= 2) /* shell sort: async-signal-safe, n <= 1024 */
        for (uint32_t i = gap; i < n; i++) {
            uint32_t v = w[i], j = i;
            for (; j >= gap && w[j - gap] > v; j -= gap) w[j] = w[j - gap];
            w[j] = v;
        }
    /* what the kernel did, from the pagemap (64 entries per read), before anything changes */
    uint64_t written[JV_MEM_WATCH_MAX / 64] = {0}, ent[64];
    for (uint32_t i = 0; i < n;) {
        uint32_t lo = w[i], j = i;
        while (j < n && w[j] - lo < 64) j++;
        int rc = jv_uffd_pagemap_read(m->base + ((uint64_t)lo << JV_PAGE_SHIFT), w[j - 1] - lo + 1,
                                      ent);
        if (rc) return rc; /* nothing applied: the pages stay watched */
        for (; i < j; i++) {
            uint64_t e = ent[w[i] - lo];
            /* present and exclusively mapped (a private copy) or swapped out: written; the
             * zero page (present, shared) or nothing: only read */
            if (((e >> 62) & 1) || (((e >> 63) & 1) && ((e >> 56) & 1)))
                written[i / 64] |= 1ull << (i % 64);
        }
    }
    *precharged = (uint64_t)n * m->cow_cost;
    int64_t before = watch_edges(m, w, n);
    for (uint32_t i = 0; i < n; i++) {
        if (!((written[i / 64] >> (i % 64)) & 1)) continue;
        jv_mem_result t = jv_mem_touch(m, w[i] << JV_PAGE_SHIFT, 1, true); /* as its write fault */
        r->charge += t.charge;
        r->first_touch += t.first_touch;
        r->cow += t.cow;
    }
    /* every watched page gets the protection its page byte now says: a read page the one a
     * read resolve gives, a written page read-write (it normally is; not if the resolve of an
     * access straddling into it from an armed neighbour protected it from its page byte, still
     * "read", after the guest had written it: MEM-8); every fork-advice range is inherited by
     * a fork child again (as its neighbours: the VMAs can merge) */
    int rc = 0;
    for (uint32_t i = 0; i < m->wipe_count; i++)
        if (madvise(m->base + ((uint64_t)m->wipe_lo[i] << JV_PAGE_SHIFT),
                    (size_t)(m->wipe_hi[i] - m->wipe_lo[i]) << JV_PAGE_SHIFT,
                    MADV_KEEPONFORK) != 0 &&
            rc == 0)
            rc = -errno;
    m->wipe_count = 0;
    for (uint32_t i = 0; i < n && rc == 0;) {
        uint32_t j = i + 1;
        while (j < n && w[j] == w[j - 1] + 1) j++;
        rc = jv_mem_sync_protection(m, w[i], j - i);
        i = j;
    }
    vma_account(m, watch_edges(m, w, n) - before - m->watch_vma);
    m->watch_vma = 0;
    m->watch_count = 0;
    if (rc == 0) return 0;
    uffd_go_classic(m); /* MEM-8, as a batch's settle */
    m->prot_stale = true;
    return jv_mem_heal(m) == JAVM_OK ? 0 : -EIO;
}

javm_status jv_mem_degrade(jv_mem *m) {
    if (m->mode == JV_MEM_SOFT) return JAVM_OK;
    uffd_go_classic(m); /* MEM-11: host code reads and writes the pages now */
    m->mode = JV_MEM_SOFT;
    m->degrades++;
    for (uint32_t c = 0; c < JV_NUM_PAGES / SPAN_PAGES; c++) {
        if (!span_used(m, c)) continue;
        for (uint32_t pn = c * SPAN_PAGES; pn < (c + 1) * SPAN_PAGES; pn++)
            if (jv_pg_perm(m->pages[pn])) m->pages[pn] = with_mode_fast_bits(m, m->pages[pn]);
    }
    /* Mapped pages become host read-write, unmapped ones stay closed: runs of mapped pages
     * merge into one VMA each. */
    m->prot_stale = true;
    javm_status st = jv_mem_heal(m);
    if (st == JAVM_OK) vma_release(m);
    return st;
}
