/* mem — the guest address space of one instance (docs/MEMORY.md; docs/ISA.md §5, memory accesses).
 *
 * What it owns
 *   - a 4 GiB guest window of host virtual memory (plus a guard), reserved PROT_NONE +
 *     MAP_NORESERVE: untouched guest memory costs nothing;
 *   - the instance's side metadata (meta): the page byte of every PVM page (permission, kind,
 *     materialization state, fast-path bits; layout in mat/mat.h), dirty bits and read-only
 *     unit bits;
 *   - map / unmap / protect, host read/write (no permission checks; the host may preload
 *     read-only pages), the checked typed accessors the soft engine executes with, the touch
 *     both engines share, and reset for reuse (everything, or only the dirty pages);
 *   - memory snapshots (snapshot.c): bytes laid out once in a sealed memfd and mapped
 *     copy-on-write into any number of spaces (MEM-6).
 *
 * Rules (cited by tests as MEM-n)
 *   MEM-1  map: start and size page-aligned (else JAVM_ERR_UNALIGNED naming which), start+size
 *          <= 2^32 (else JAVM_ERR_OVERFLOW); permissions set per page; init copied and
 *          truncated to size; newly mapped pages read zero; remapping a mapped page changes its
 *          permission and kind and resets its materialization state, keeping its bytes.
 *   MEM-2  addresses are taken mod 2^32; an access that runs past 0xFFFFFFFF wraps to 0.
 *   MEM-3  the fault rule (one function, jv_mem_classify, used by every engine): let x be the
 *          byte indices a .. a+n-1 of the access, NOT reduced mod 2^32, whose byte (i mod 2^32)
 *          is not readable (load) / writable (store). x empty -> ok. Let m = min(x) mod 2^32
 *          (the lowest inaccessible byte in access order). m < 2^16 -> panic. Otherwise, if m
 *          lies in a read-only page and the access is a store, panic (the vectors' policy;
 *          ro_write_faults=1 gives a fault instead); else page fault at the page base of m.
 *          So an access wrapping at 2^32 with the top page inaccessible faults at 0xFFFFF000;
 *          with the top page accessible and page 0 not, m = 0 -> panic.
 *   MEM-4  a faulting access changes nothing: no byte written, no state, no charge.
 *   MEM-5  checked fast path (soft engine): one page-byte load, one test, the access.
 *          Anything else (first touch, straddle, wrap, fault) goes to the _slow partner.
 *   MEM-7  the VMA budget (paged mode): per-page protection splits the host's VMAs, of which a
 *          process has vm.max_map_count (65,530 by default). The touch that opens pages
 *          (jv_mem_touch_open) counts the VMA boundaries its opens add or merge (from the
 *          metadata of the neighbouring pages) against a per-space budget (JV_MEM_VMA_BUDGET)
 *          and a process-wide pool (a quarter of vm.max_map_count). An access that could
 *          exceed either is refused (JV_MEM_OPEN_BUDGET) before anything changes; the engine
 *          then degrades the space (jv_mem_degrade: soft mode, mapped pages host read-write,
 *          which merges the guest's VMAs away) and continues with software-checked accesses:
 *          the same touch, the same states and gas. A new frame (reset) returns the space to
 *          paged mode.
 *   MEM-8  after any failure host protection and metadata agree: protect rolls back its page
 *          bytes when the kernel refuses a protection; the paged touch undoes itself when an
 *          open fails; where even the restoring call fails, prot_stale is set and jv_mem_heal
 *          (called by host access and before paged runs) re-syncs every mapped page first,
 *          failing with JAVM_ERR_OS rather than touching a page whose protection is unknown.
 *   MEM-6  a memory snapshot is laid out once (page-rounded, zero tail, sealed); mapping it is
 *          one mmap(MAP_PRIVATE | MAP_FIXED) whatever its size, with MEM-1's metadata (fresh
 *          NotPresent pages); the kernel copies a page on its first write, so a write stays
 *          private to its space; reset_dirty gives a written snapshot page its snapshot bytes
 *          back.
 *   MEM-9  m->changes counts every call that can change the layout or bytes from the host side
 *          (map, map_snapshot, unmap, protect, host write, full reset; not the guest's own
 *          touches and stores): equal counts mean the mappings and host-written bytes are as
 *          they were (the instance pool relies on it, docs/API.md).
 *   MEM-10 a page byte leaves its fresh form (NotPresent, the mode's fast bits) only through
 *          jv_mem_touch, which marks the page's group of 64 in frame_groups, or jv_mem_degrade
 *          (MEM-7); map, protect and unmap write fresh forms. So a new frame (reset) rewrites
 *          only marked groups and the spans holding a read-only unit opened by fault-around,
 *          unless the space was degraded or its protections are stale (MEM-8): then all.
 *   MEM-11 armed pages (paged mode, where userfaultfd is available; docs/MEMORY.md §12): a paged
 *          space registers its whole window with the process's userfaultfd (missing-page mode,
 *          SIGBUS delivery). A page is armed (pvm:armed bit) when it is read-write, NotPresent,
 *          never populated since it was last unmapped, and host READ|WRITE: any access raises
 *          SIGBUS. Only jv_mem_map arms, and only pages that were unmapped before, beyond the
 *          init bytes, in a live space. The paged touch resolves an armed page after the touch
 *          (same charge, same states): a write fills it with a writable zero page (UFFDIO_COPY:
 *          no protection change, no VMA change); a read fills it with the read-only zero page
 *          and protects it PROT_READ (a later write takes the SIGSEGV path). Host reads of an
 *          armed page read zero without touching it; a host write disarms the page (zero-fill,
 *          then its plain protection). Every other page of a registered space that an open
 *          makes accessible is zero-filled if it is still unpopulated (EEXIST: it was not).
 *          A dirty reset (jv_mem_reset_dirty) arms again every page the guest resolved in the
 *          frame (pvm:rearm bit), discarding it (its bytes are zero, or the guest's, which the
 *          reset drops anyway), unless the host wrote it since. A space stops arming (goes
 *          classic: unregistered, no armed bit, plain protections) at a new frame after the
 *          guest resolved a page that did not come back so (the pages it touched must close
 *          again, which would split the armed VMA: the budget of MEM-7 counts the guest's
 *          boundaries per frame only), on degrade (MEM-7), when a registration or fill fails,
 *          and in a fork child (registrations are not inherited); jv_mem_reset makes it live
 *          again. JAVM_UFFD=0 in the environment (read when the descriptor is first
 *          opened) or jv_uffd_force_off turn arming off for spaces created after it.
 *   MEM-12 write-ahead batches (docs/MEMORY.md §12): a run of armed pages may be taken out of
 *          the registration while guest code runs (jv_mem_ahead_open: armed pages only, at most
 *          JV_MEM_AHEAD_MAX, read-write pages just outside, VMA headroom reserved); settling it (jv_mem_ahead_settle) applies to
 *          each page the kernel populated exactly the touch the fault path would have applied
 *          (pagemap: zero page = read, exclusive or swapped = written), registers the range
 *          again, closes read pages to PROT_READ and accounts the VMAs. The engine pre-charges
 *          pages x cow_cost at the open and settles before gas, states or statistics can be
 *          observed; so a batch never outlives a run.
 *   MEM-13 read-watched pages (docs/MEMORY.md §12): a read that resolves an armed page may leave
 *          it host read-write over the zero page (MADV_WIPEONFORK while watched) instead of
 *          PROT_READ, so its first write is a plain kernel copy-on-write; settling
 *          (jv_mem_watch_settle) gives each page the pagemap shows written exactly the write
 *          touch its fault would have given it and protects the others PROT_READ. Pre-charged
 *          and settled by the engine as a batch (the jit only, with m->watch_ok).
 */
#ifndef JV_MEM_H
#define JV_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "javm.h"
#include "mat/mat.h"
#include "meta/meta.h"
#include "util/util.h"

#define JV_GUEST_SPACE (1ull << 32)
#define JV_NUM_PAGES (1u << 20)
#define JV_LOW_GUARD 0x10000u /* accesses whose lowest bad byte is below this panic */

/* Side-metadata specs of a guest space (in layout order; offsets assigned by jv_meta_layout). */
extern const jv_meta_spec *const jv_mem_spec_page;    /* 8 bits per page: the page byte   */
extern const jv_meta_spec *const jv_mem_spec_dirty;   /* 1 bit per page: written since reset */
extern const jv_meta_spec *const jv_mem_spec_ro_unit; /* 1 bit per page: unit base mapped  */
extern const jv_meta_spec *const jv_mem_spec_armed;   /* 1 bit per page: armed (MEM-11)   */
extern const jv_meta_spec *const jv_mem_spec_rearm;   /* 1 bit per page: re-armable        */

typedef enum jv_mem_mode {
    JV_MEM_SOFT = 0,  /* mapped pages are host-accessible; accesses checked in software */
    JV_MEM_PAGED = 1, /* pages start inaccessible; the paged engine opens them on faults */
} jv_mem_mode;

#define JV_MEM_WATCH_MAX 1024u /* MEM-13: read-watched pages of a space at a time */
#define JV_MEM_WIPE_MAX 256u   /* MEM-13: fork-advice ranges of the watched pages */

typedef struct jv_mem {
    uint8_t *base;  /* host address of guest address 0 (hot) */
    uint8_t *pages; /* page-byte table, indexed by PVM page number; always readable (hot) */
    uint8_t *dirty; /* dirty bits, LSB-first, indexed by PVM page number */
    uint8_t *ro_unit;
    uint8_t *armed;       /* MEM-11 bits, indexed by PVM page number */
    uint8_t *rearm;       /* MEM-11: resolved from armed in this frame, bytes not the host's */
    uint64_t cow_cost;    /* #3 cost charged per CoW; 0 when #3 accounting is off */
    jv_mem_mode mode;
    bool ro_write_faults; /* MEM-3 policy */
    size_t window_size;   /* bytes reserved at base */
    jv_meta_space meta;
    uint64_t mapped_pages; /* pages with perm != none */
    bool paged;            /* created JV_MEM_PAGED (mode may be SOFT while degraded, MEM-7) */
    bool prot_stale;       /* MEM-8: a failure may have left host protection != metadata */
    int64_t vma_guest;     /* MEM-7: boundaries the guest's first touches added this frame */
    int64_t vma_budget;    /* MEM-7: limit of vma_guest (JV_MEM_VMA_BUDGET; tests lower it) */
    uint64_t degrades;     /* MEM-7: times the space went to soft checks (statistics) */
    uint64_t used_spans[4]; /* page-table spans (4096 pages each) that ever held a mapping */
    uint64_t changes; /* MEM-9: count of map/unmap/protect/host writes/full resets */
    /* MEM-11: the window is registered with the process's userfaultfd (uffd_reg), map arms
     * (uffd_live), the process epoch of the registration (a fork child has another), and the
     * armed pages the guest resolved in this frame. */
    bool uffd_reg, uffd_live;
    unsigned uffd_epoch;
    uint64_t armed_resolved;
    /* MEM-12: the open write-ahead batch, pages [ahead_first, ahead_first + ahead_count) taken
     * out of the registration (count 0: none), and the VMA boundaries reserved for it. */
    uint32_t ahead_first, ahead_count;
    int64_t ahead_vma;
    /* MEM-13: read-watched pages (armed pages whose first touch was a read, left writable over
     * the zero page), watch_count of them in watch[], the VMA boundaries reserved for them;
     * watch_ok lets the next touch_open watch a read (set by the engine around a resolve). */
    uint32_t watch[JV_MEM_WATCH_MAX];
    uint32_t watch_count;
    int64_t watch_vma;
    bool watch_ok;
    /* MEM-13: the page ranges [lo, hi) under MADV_WIPEONFORK for watched pages (a watched page
     * and the armed pages below it in its group of 64, so that the next pages watched there
     * need no advice of their own) */
    uint32_t wipe_lo[JV_MEM_WIPE_MAX], wipe_hi[JV_MEM_WIPE_MAX];
    uint32_t wipe_count;
    /* Groups of 64 pages touched (jv_mem_touch) since the last frame, and which words of
     * that bitmap are non-zero: jv_mem_new_frame visits only those pages (MEM-10). */
    uint64_t frame_groups[JV_NUM_PAGES / 64 / 64];
    uint64_t frame_words[JV_NUM_PAGES / 64 / 64 / 64];
} jv_mem;

typedef enum jv_mem_result_kind {
    JV_MEM_OK = 0,
    JV_MEM_PANIC = 1,
    JV_MEM_FAULT = 2, /* page fault at .addr */
} jv_mem_result_kind;

typedef struct jv_mem_result {
    uint8_t kind;   /* jv_mem_result_kind */
    uint8_t first_touch; /* pages that left NotPresent (statistics) */
    uint8_t cow;    /* pages that became PresentRw (statistics) */
    uint32_t addr;  /* fault address (JV_MEM_FAULT) */
    uint64_t charge; /* #3 gas to debit (JV_MEM_OK) */
} jv_mem_result;

/* Lifetime. cow_cost = 0 turns #3 charging off (states are still tracked, gas-free). */
javm_status jv_mem_init(jv_mem *m, jv_mem_mode mode, uint64_t cow_cost, bool ro_write_faults);
void jv_mem_fini(jv_mem *m);

/* Page maps (MEM-1). access: JAVM_ACCESS_RO -> kind PinnedCapRo, JAVM_ACCESS_RW -> kind
 * UnpinnedCapCow; JAVM_ACCESS_NONE in protect = unmap without discarding bytes is not allowed:
 * use unmap. */
javm_status jv_mem_map(jv_mem *m, uint64_t start, uint64_t size, javm_access access,
                       const void *init, size_t init_len);
javm_status jv_mem_unmap(jv_mem *m, uint64_t start, uint64_t size);
javm_status jv_mem_protect(jv_mem *m, uint64_t start, uint64_t size, javm_access access);
static inline javm_access jv_mem_page_access(const jv_mem *m, uint32_t addr) {
    return (javm_access)jv_pg_perm(m->pages[addr >> JV_PAGE_SHIFT]);
}

/* Host access (no permission checks, no state changes; fails on unmapped bytes; MEM-2). */
javm_status jv_mem_host_read(const jv_mem *m, uint32_t addr, void *dst, size_t n);
javm_status jv_mem_host_write(jv_mem *m, uint32_t addr, const void *src, size_t n);

/* MEM-3: classify an access by permissions alone. Returns kind OK / PANIC / FAULT. */
jv_mem_result jv_mem_classify(const jv_mem *m, uint32_t addr, unsigned width, bool is_write);

/* MAT-3 and MEM-3, the touch both engines use (the soft engine's slow path, the paged
 * engine's fault resolution): the all-or-nothing jv_mat_touch on the page bytes and dirty bits;
 * if it faults (nothing changed), jv_mem_classify's classification of the access. Returns kind
 * OK with the #3 charge and statistics, or the PANIC / FAULT; changes no host protection. */
jv_mem_result jv_mem_touch(jv_mem *m, uint32_t addr, unsigned width, bool is_write);

/* Set the host protection of pages [first_page, first_page+count) from their page bytes: soft
 * mode opens mapped pages read-write; paged mode mirrors the fast bits (FAST_R -> PROT_READ,
 * FAST_W -> PROT_WRITE, neither -> PROT_NONE). Returns 0 or -errno. */
int jv_mem_sync_protection(jv_mem *m, uint32_t first_page, uint32_t count);

/* MEM-7/MEM-8. The paged engines' resolve of one faulting access: the budget check, the touch,
 * then opening each page of the access low -> high (a read-write page per its page byte, a
 * read-only page its unit), with the VMA accounting. Returns JV_MEM_OPEN_OK (o->r has the charge
 * and statistics, not yet debited), JV_MEM_OPEN_PVM (o->r is the PVM-level panic / fault;
 * nothing changed), JV_MEM_OPEN_BUDGET (nothing changed: degrade and retry in soft mode), or
 * -errno when the kernel refused a protection (the touch undone: nothing charged, no state
 * changed). Async-signal-safe. */
#define JV_MEM_VMA_BUDGET 8192
enum { JV_MEM_OPEN_OK = 0, JV_MEM_OPEN_PVM = 1, JV_MEM_OPEN_BUDGET = 2 };
typedef struct jv_mem_open {
    jv_mem_result r;
    unsigned ro_units; /* read-only units opened */
    unsigned watched;  /* MEM-13: pages the read left writable, watched (the engine pre-charges
                        * cow_cost each) */
} jv_mem_open;
int jv_mem_touch_open(jv_mem *m, uint32_t addr, unsigned width, bool is_write, jv_mem_open *o);

/* MEM-7: switch a paged space to soft checks (see above). JAVM_ERR_OS if the kernel refused
 * the protections (prot_stale stays set; the next heal retries). */
javm_status jv_mem_degrade(jv_mem *m);

/* MEM-8: if a failure left protections unknown, re-sync them all. JAVM_ERR_OS if refused. */
javm_status jv_mem_heal(jv_mem *m);

/* Fault injection for tests: after `skip` more mprotect calls on guest memory (any space), the
 * next `fail` ones fail with ENOMEM, as under vm.max_map_count exhaustion. (0, 0) turns it off. */
void jv_mem_inject_mprotect_failures(long skip, long fail);

/* Paged mode (the engine's fault resolution, ENG-3): open the read-only unit of page number pn
 * for reading — the maximal run of read-only pages around pn within its 2 MiB cluster, which
 * starts at jv_unit_base — and set the unit's ro_unit bit (*opened = true). If the unit is open
 * already, only page pn is re-protected (a remap or a host write may have closed it; the touch
 * has set its FAST_R). Returns 0 or -errno; async-signal-safe. */
int jv_mem_open_ro_unit(jv_mem *m, uint32_t pn, bool *opened);

/* The host protection (PROT_* bits) the page byte of page number pn calls for: the rule
 * jv_mem_sync_protection applies. */
int jv_mem_page_prot(const jv_mem *m, uint32_t pn);

/* The first mapped page at or after `from` (a page base); false if none. For dumps. */
bool jv_mem_next_mapped(const jv_mem *m, uint64_t from, uint32_t *page);

/* Reset for reuse: unmap everything, clear all metadata that was written. JAVM_ERR_OS (and
 * nothing reset) if the kernel refuses to replace the window. */
javm_status jv_mem_reset(jv_mem *m);

/* Start a fresh frame: every page back to NotPresent, fast bits cleared (the first write will
 * charge COW_COST again); permissions and kinds unchanged. Host protections are narrowed only
 * where they change (none in soft mode; in paged mode the pages opened in the frame), so a
 * frame that opened nothing costs no system call. JAVM_ERR_OS if the host protection of some
 * page could not be narrowed to match (the metadata is reset all the same). */
javm_status jv_mem_new_frame(jv_mem *m);

/* Reset for reuse (the paged engine's ENG-8): every page written by the guest since the last
 * reset (dirty bit) gets its backing bytes back — a page mapped privately from a file (a
 * memory snapshot) its file bytes, any other page zero — in one madvise(MADV_DONTNEED) per run
 * of dirty pages; then dirty bits are cleared and a new frame starts (states NotPresent,
 * units closed, protections re-armed). Clean pages are not touched, so bytes the host wrote
 * to them stay. Stores the number of pages restored; JAVM_ERR_OS if the kernel refused a
 * discard or a re-protection (the reset still completes). */
javm_status jv_mem_reset_dirty(jv_mem *m, uint64_t *pages_restored);

/* ---- userfaultfd (MEM-11; src/mem/uffd.c) --------------------------------------------------- */
/* The process-wide descriptor, opened on first use (-1: unavailable, refused, JAVM_UFFD=0, or
 * switched off). */
int jv_uffd_fd(void);
/* Changes in a fork child (registrations are not inherited). */
unsigned jv_uffd_epoch(void);
/* Test switch: spaces created (or reset) while it is on do not arm. */
void jv_uffd_force_off(bool off);
/* Register / unregister [addr, addr + len) in missing-page mode. 0 or -errno. */
int jv_uffd_register(void *addr, size_t len);
int jv_uffd_unregister(void *addr, size_t len);
/* Fill one unpopulated registered page with zeros: writable (UFFDIO_COPY) or the read-only
 * zero page. A page present already, or not registered, is left as it is (0). Returns 0 or
 * -errno; async-signal-safe. */
int jv_uffd_fill_zero(void *page, bool writable);
/* Fault injection for tests: after `skip` more single-page fills, the next `fail` ones fail
 * with ENOMEM. (0, 0) turns it off. */
void jv_uffd_inject_fill_failures(long skip, long fail);
/* The same for every page of a range, with the read-only zero page (present pages are skipped). */
int jv_uffd_fill_zero_range(void *addr, size_t len);
/* MEM-12: the /proc/self/pagemap entries of n host pages from addr (0 or -errno; EIO for a
 * short read). Async-signal-safe. */
int jv_uffd_pagemap_read(const void *addr, uint32_t n, uint64_t *out);
/* Pages of the space that are armed now (tests). */
uint64_t jv_mem_armed_pages(const jv_mem *m);

/* ---- Write-ahead batches (MEM-12; docs/MEMORY.md §12) ---------------------------------------
 * A batch is a run of armed pages just ahead of a streaming guest, taken out of the userfaultfd
 * registration while guest code runs, so that its first touches are plain kernel faults (a read
 * maps the shared zero page, a write allocates a private page) with no signal. Settling reads
 * what the kernel did from /proc/self/pagemap (present and not exclusive: read; exclusive:
 * written), applies exactly the touch the fault path would have applied to each touched page
 * (states, dirty and rearm bits, statistics, a read page PROT_READ), registers the range again
 * (untouched pages are armed as before) and accounts the VMA boundaries. The engine pre-charges
 * count x cow_cost when it opens a batch and settles before anything can observe gas, states
 * or statistics. */
#define JV_MEM_AHEAD_MAX 64u /* pages of a batch: far below a 2 MiB huge page */
/* The batch switch: false when JAVM_AHEAD=0 (read once), jv_mem_ahead_force_off is on, or
 * /proc/self/pagemap cannot be opened. The first call opens it (not async-signal-safe: call it
 * outside guest code, e.g. when an instance is created). */
bool jv_mem_ahead_enabled(void);
/* The same, without opening anything (async-signal-safe). */
bool jv_mem_ahead_ready(void);
/* Test switch: batches open only while it is off. */
void jv_mem_ahead_force_off(bool off);
/* Page number pn is armed now (MEM-11). */
bool jv_mem_armed(const jv_mem *m, uint32_t pn);
/* Opens a batch over the armed pages from `first` (at most count, at most JV_MEM_AHEAD_MAX,
 * stopping at the first page that is not armed); returns the pages opened, 0 when no batch
 * opened (one is open already, fewer than two armed pages, no pagemap, no VMA headroom for
 * the batch's boundaries, or the kernel refused): nothing changed then. Async-signal-safe. */
uint32_t jv_mem_ahead_open(jv_mem *m, uint32_t first, uint32_t count);
/* Settles the open batch (none: 0 and nothing to add). *precharged = pages x cow_cost (what the
 * engine charged at the open), r = the touches' charge and statistics. 0 on success; -errno
 * when reading the pagemap failed (the batch stays open, nothing applied, *precharged 0) or
 * when closing a read page or registering again failed (everything applied, the space went
 * classic and its protections are re-synced or marked stale: MEM-8). Async-signal-safe. */
int jv_mem_ahead_settle(jv_mem *m, jv_mem_result *r, uint64_t *precharged);
/* Fault injection for tests: the next `fail` pagemap reads fail with EIO. */
void jv_mem_ahead_inject_read_failures(long fail);

/* ---- Read-watched pages (MEM-13; docs/MEMORY.md §12) ----------------------------------------
 * A read that resolves an armed page (MEM-11) fills it with the zero page read-only and
 * protects it PROT_READ, so that its first write traps again and is charged: two signals per
 * page that is read first and written later. With m->watch_ok set (the jit, around a resolve
 * with ample gas), jv_mem_touch_open instead leaves such a page PROT_READ|PROT_WRITE over the
 * zero page (MADV_WIPEONFORK while watched, as a batch, over a range with the armed pages
 * below it in its group of 64, so that the next pages watched there need no advice; only a
 * page whose neighbours are mapped read-write, so that no store straddling into it can fault
 * on its other page after the processor took the write fault here) and records it in watch[]
 * (o->watched): its first write is then a plain kernel copy-on-write. The read itself is charged and recorded
 * as always. Settling (jv_mem_watch_settle) reads the pagemap: a page now exclusively mapped
 * (or swapped) was written and gets exactly the write touch the fault path would have given
 * it; the others are protected PROT_READ as a read resolve protects them. Only accesses within
 * one page are watched; at most JV_MEM_WATCH_MAX pages and JV_MEM_WIPE_MAX advice ranges, each
 * range with two VMA boundaries reserved; a batch does not open over a range.
 * The engine pre-charges cow_cost per watched page and settles before anything can observe
 * gas, states or statistics (as for a batch). */
/* Settles every watched page (none: 0). *precharged = pages x cow_cost, r = the write touches'
 * charge and statistics. 0 on success; -errno when reading the pagemap failed (nothing applied,
 * the pages stay watched, *precharged 0) or when closing a read page or restoring the fork
 * advice failed (everything applied; the space went classic and its protections are re-synced
 * or marked stale: MEM-8). Async-signal-safe. */
typedef struct jv_mem_tally {
    uint64_t charge, first_touch, cow; /* summed over many touches (jv_mem_result's are bytes) */
} jv_mem_tally;
int jv_mem_watch_settle(jv_mem *m, jv_mem_tally *r, uint64_t *precharged);

/* ---- Memory snapshots (MEM-6) --------------------------------------------------------------- */
typedef struct jv_mem_snapshot jv_mem_snapshot;
/* Lays len bytes out in a sealed memfd (page-rounded, zero tail). */
javm_status jv_mem_snapshot_create(const void *data, size_t len, jv_mem_snapshot **out);
void jv_mem_snapshot_destroy(jv_mem_snapshot *snap); /* spaces that map it keep their mappings */
/* Maps [start, start + size) with the given access, its bytes taken copy-on-write from the
 * snapshot at `offset` (page-aligned); bytes past the snapshot end read zero. Replaces any
 * earlier mapping and contents of the range (metadata as jv_mem_map: fresh NotPresent pages).
 * Argument errors leave the range as it was. Works for both memory modes. */
javm_status jv_mem_map_snapshot(jv_mem *m, uint64_t start, uint64_t size, javm_access access,
                                const jv_mem_snapshot *snap, uint64_t offset);

/* ---- Checked typed accessors (soft engine) -------------------------------------------------- */
/* (jv_load_le / jv_store_le, the plain host accesses, are util's.) */
/* MEM-2: the same accesses at guest address addr of the window at base, taken modulo 2^32
 * (byte-wise only when they run past 0xFFFFFFFF). The slow paths of both engines use them. */
static inline uint64_t jv_load_wrap(const uint8_t *base, uint32_t addr, unsigned w) {
    if (addr <= UINT32_MAX - (w - 1)) return jv_load_le(base + addr, w);
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++) v |= (uint64_t)base[(uint32_t)(addr + i)] << (8 * i);
    return v;
}
static inline void jv_store_wrap(uint8_t *base, uint32_t addr, unsigned w, uint64_t v) {
    if (addr <= UINT32_MAX - (w - 1)) {
        jv_store_le(base + addr, w, v);
        return;
    }
    for (unsigned i = 0; i < w; i++) base[(uint32_t)(addr + i)] = (uint8_t)(v >> (8 * i));
}

/* Out-of-line partners: touch (MAT-3, charging #3 gas), fault rule (MEM-3), byte-wise access
 * for straddles and wrap-around (MEM-2). */
JV_NOINLINE jv_mem_result jv_mem_load_slow(jv_mem *m, uint32_t addr, unsigned width,
                                           uint64_t *val);
JV_NOINLINE jv_mem_result jv_mem_store_slow(jv_mem *m, uint32_t addr, unsigned width,
                                            uint64_t val);

/* MEM-5. width is 1, 2, 4 or 8 (a constant after inlining). The loaded value is zero-extended. */
static inline jv_mem_result jv_mem_load(jv_mem *m, uint32_t addr, unsigned width, uint64_t *val) {
    if (JV_LIKELY((m->pages[addr >> JV_PAGE_SHIFT] & JV_PG_FAST_R) &&
                  (addr & (JV_PAGE_SIZE - 1)) <= JV_PAGE_SIZE - width)) {
        *val = jv_load_le(m->base + addr, width);
        return (jv_mem_result){0};
    }
    return jv_mem_load_slow(m, addr, width, val);
}
static inline jv_mem_result jv_mem_store(jv_mem *m, uint32_t addr, unsigned width, uint64_t val) {
    if (JV_LIKELY((m->pages[addr >> JV_PAGE_SHIFT] & JV_PG_FAST_W) &&
                  (addr & (JV_PAGE_SIZE - 1)) <= JV_PAGE_SIZE - width)) {
        jv_store_le(m->base + addr, width, val);
        return (jv_mem_result){0};
    }
    return jv_mem_store_slow(m, addr, width, val);
}

#endif /* JV_MEM_H */
