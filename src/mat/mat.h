/* mat — the memory-materialization state machine (category-#3 gas), shared by every engine.
 *
 * Both engines drive this one state machine so they charge bit-identical #3 gas: the soft
 * engine calls jv_mat_touch from its checked-access slow path, the paged engine calls it from
 * its page-fault handler. The rules key only on the per-page state and the static page kind,
 * never on the instruction (docs/MEMORY.md §1-§7).
 *
 * Glossary
 *   PVM page   4096 bytes of guest address space (independent of the host page size).
 *   kind       static source of a page: PinnedCapRo (read-only forever), UnpinnedCapCow (first
 *              write copies-on-write), EphemeralZero (no source: zeros; first write CoWs).
 *   state      dynamic first-touch state of a page in the current frame:
 *              NotPresent -> PresentRo (a read) -> PresentRw (a write, charged COW_COST once).
 *   unit       a read-only region ∩ a 2 MiB cluster, named by unit_base(); gas-free, it only
 *              tells the paged engine what to fault around.
 *
 * The page byte (side-metadata spec JV_META_PAGE, one byte per PVM page; 0 = default)
 *
 *   bit  0-1  perm   0 none, 1 read-only, 2 read-write            (JV_PG_PERM_*)
 *   bit  2-3  kind   0 undeclared, 1 + the kind's one-byte tag      (JV_PG_KIND_*)
 *   bit  4-5  state  the PageState tag (0/1/2; 3 decodes as NotPresent)
 *   bit  6    FAST_R a checked load may proceed without calling jv_mat_touch
 *   bit  7    FAST_W a checked store may proceed without calling jv_mat_touch
 *
 * Rules (cited by tests as MAT-n)
 *   MAT-1  charge_for: a read never costs; the first write to a non-pinned page costs COW_COST
 *          once per frame; a write to PinnedCapRo is a hard fault that charges nothing.
 *   MAT-2  access_pages: an access touches its base page and the next one (wrapping at 2^32)
 *          iff it straddles; pages are visited low -> high (base first).
 *   MAT-3  touch is all-or-nothing: accessibility of every page is checked before any state
 *          changes or any gas is charged.
 *   MAT-4  pinned (read-only) pages are neither charged nor state-tracked; FAST_R is set.
 *   MAT-5  FAST_R is set exactly when a load needs no touch (state PresentRo/PresentRw, or a
 *          pinned page); FAST_W exactly when state is PresentRw.
 */
#ifndef JV_MAT_H
#define JV_MAT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/util.h" /* page bitmaps (dirty, ro-unit) are 1 bit per page: jv_bit_get/set/clear */


/* ---- Constants (docs/MEMORY.md §1) ---------------------------- */
#define JV_PAGE_SHIFT 12
#define JV_PAGE_SIZE 4096u
#define JV_CLUSTER_SHIFT 21 /* 2 MiB read-only materialization cluster */
#define JV_COW_COST 256u /* #3 gas of one copy-on-write (the default of javm_config.cow_cost) */
/* What the Image layer charges at a CALL and at ecall-class operations (src/image). */
#define JV_PAGE_IN_COST 64u          /* per declared 2 MiB read-only unit, at the CALL */
#define JV_COMPILE_COST_PER_PAGE 512u /* per 4 KiB of callee code, at every CALL */
#define JV_CALL_FRAME_COST 1024u     /* fixed per-CALL frame setup */
#define JV_HOST_CALL_FLOOR 100u      /* dynamic gate of a host call */
#define JV_MGMT_OP_COST 100u         /* dynamic gate of a management op or a CALL */

typedef enum jv_page_kind {
    JV_KIND_PINNED_CAP_RO = 0,
    JV_KIND_UNPINNED_CAP_COW = 1,
    JV_KIND_EPHEMERAL_ZERO = 2,
} jv_page_kind;

typedef enum jv_page_state {
    JV_STATE_NOT_PRESENT = 0,
    JV_STATE_PRESENT_RO = 1,
    JV_STATE_PRESENT_RW = 2,
} jv_page_state;

/* One-byte tags, as the reference's per-page side arrays keep them. */
static inline uint8_t jv_kind_tag(jv_page_kind k) { return (uint8_t)k; }
static inline bool jv_kind_from_tag(uint8_t v, jv_page_kind *out) {
    if (v > 2) return false; /* undeclared */
    *out = (jv_page_kind)v;
    return true;
}
static inline uint8_t jv_state_tag(jv_page_state s) { return (uint8_t)s; }
static inline jv_page_state jv_state_from_tag(uint8_t v) {
    return (v == 1 || v == 2) ? (jv_page_state)v : JV_STATE_NOT_PRESENT;
}

/* ---- The page byte ------------------------------------------------------------------------- */
enum {
    JV_PG_PERM_MASK = 0x03,
    JV_PG_PERM_NONE = 0,
    JV_PG_PERM_RO = 1,
    JV_PG_PERM_RW = 2,
    JV_PG_KIND_SHIFT = 2,
    JV_PG_KIND_MASK = 0x0C,
    JV_PG_STATE_SHIFT = 4,
    JV_PG_STATE_MASK = 0x30,
    JV_PG_FAST_R = 0x40,
    JV_PG_FAST_W = 0x80,
};

static inline unsigned jv_pg_perm(uint8_t b) { return b & JV_PG_PERM_MASK; }
static inline jv_page_state jv_pg_state(uint8_t b) {
    return jv_state_from_tag((uint8_t)((b & JV_PG_STATE_MASK) >> JV_PG_STATE_SHIFT));
}
/* false if the page is undeclared */
static inline bool jv_pg_kind(uint8_t b, jv_page_kind *out) {
    unsigned k = (b & JV_PG_KIND_MASK) >> JV_PG_KIND_SHIFT;
    if (k == 0) return false;
    *out = (jv_page_kind)(k - 1);
    return true;
}
/* A freshly declared page: permission and kind set, NotPresent, no fast bits. */
static inline uint8_t jv_pg_make(unsigned perm, jv_page_kind kind) {
    return (uint8_t)(perm | ((unsigned)(kind + 1) << JV_PG_KIND_SHIFT));
}
/* b with its state field replaced by st (fast bits untouched). */
static inline uint8_t jv_pg_with_state(uint8_t b, jv_page_state st) {
    return (uint8_t)((b & ~JV_PG_STATE_MASK) | ((unsigned)st << JV_PG_STATE_SHIFT));
}
/* MAT-5: b with the fast bits that follow from its permission and state (MAT-4: a pinned
 * read-only page is untracked and always FAST_R). */
static inline uint8_t jv_pg_with_fast_bits(uint8_t b) {
    b &= (uint8_t) ~(JV_PG_FAST_R | JV_PG_FAST_W);
    if (jv_pg_perm(b) == JV_PG_PERM_RO) return b | JV_PG_FAST_R;
    switch (jv_pg_state(b)) {
    case JV_STATE_PRESENT_RO: return b | JV_PG_FAST_R;
    case JV_STATE_PRESENT_RW: return b | JV_PG_FAST_R | JV_PG_FAST_W;
    default: return b;
    }
}

/* ---- Pure rules ---------------------------------------------------------------------------- */
static inline uint32_t jv_cluster_of(uint32_t addr) { return addr >> JV_CLUSTER_SHIFT; }
static inline uint32_t jv_unit_base(uint32_t addr, uint32_t cap_start) {
    uint32_t lo = jv_cluster_of(addr) << JV_CLUSTER_SHIFT;
    return lo > cap_start ? lo : cap_start;
}

typedef struct jv_page_set {
    uint32_t pages[2]; /* page base addresses, low -> high in access order */
    uint8_t len;       /* 1 or 2 */
} jv_page_set;

/* MAT-2. width in 1..8. */
static inline jv_page_set jv_access_pages(uint32_t addr, uint32_t width) {
    jv_page_set s;
    uint32_t base = addr & ~(JV_PAGE_SIZE - 1);
    s.pages[0] = base;
    if ((addr & (JV_PAGE_SIZE - 1)) + width > JV_PAGE_SIZE) {
        s.pages[1] = base + JV_PAGE_SIZE; /* wraps at 2^32 */
        s.len = 2;
    } else {
        s.pages[1] = 0;
        s.len = 1;
    }
    return s;
}

/* MAT-1. Returns false for a hard fault (write to PinnedCapRo): nothing charged. */
static inline bool jv_charge_for(jv_page_state st, jv_page_kind kind, bool is_write,
                                 uint64_t cow_cost, uint64_t *charge, jv_page_state *next) {
    if (is_write && kind == JV_KIND_PINNED_CAP_RO) return false;
    if (!is_write) {
        *charge = 0;
        *next = st == JV_STATE_PRESENT_RW ? JV_STATE_PRESENT_RW : JV_STATE_PRESENT_RO;
    } else if (st == JV_STATE_PRESENT_RW) {
        *charge = 0;
        *next = JV_STATE_PRESENT_RW;
    } else {
        *charge = cow_cost;
        *next = JV_STATE_PRESENT_RW;
    }
    return true;
}

/* call_frame_cost (IMG-4, docs/IMAGE.md), saturating; clamps to 2^63 - 1. */
uint64_t jv_mat_call_frame_cost(uint64_t code_len, uint64_t ro_units);

/* ---- The touch contract -------------------------------------------------------------------- */
typedef enum jv_touch_result {
    JV_TOUCH_OK = 0,    /* the access may proceed; *charge holds the #3 gas to debit */
    JV_TOUCH_FAULT = 1, /* a page of the access is inaccessible: nothing charged or changed */
} jv_touch_result;

/* Per-touch record of what changed, for engines that must act on it (the paged engine maps
 * pages; statistics). first_touch counts pages leaving NotPresent; cow counts pages that
 * became PresentRw. */
typedef struct jv_touch_info {
    uint64_t charge;
    uint8_t first_touch;
    uint8_t cow;
    jv_page_state before[2];
    jv_page_state after[2];
} jv_touch_info;

/* MAT-3: the all-or-nothing touch over the page-byte table `pages` (indexed by PVM page
 * number) and `dirty` (1 bit per PVM page, LSB-first: the side-metadata layout of a b=0, r=12
 * spec; may be NULL). Dispatches on the base page; every page of the access must be
 * readable (and writable for a write) or the touch faults, changing nothing. Otherwise advances
 * the states low -> high, sets the fast bits (MAT-5) and, on a write, the dirty bit of each
 * written page, and reports the total charge (cow_cost per newly CoW'd page). */
jv_touch_result jv_mat_touch(uint8_t *pages, uint8_t *dirty, uint32_t addr,
                             uint32_t width, bool is_write, uint64_t cow_cost,
                             jv_touch_info *info);

#endif /* JV_MAT_H */
