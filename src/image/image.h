/* image — the Image layer (javm profile; docs/IMAGE.md): Images, instances built from them,
 * CALL/REPLY/HALT frames, flush of read-write mappings into their slots, MGMT eviction.
 *
 * What it owns
 *   - the Image (jv_image): a GP program blob placed at CODE_BASE, memory mappings
 *     {start, size, source slot path}, pinned slots and initial slots (key -> DataCap), and
 *     endpoints (key -> entry pc, argument registers, 13 initial registers); its validation,
 *     its SSZ encoding (schema in docs/IMAGE.md) and its content hash;
 *   - the one classification predicate (jv_image_mapping_is_pinned) and everything derived from
 *     it: page kinds, read-only units, call_frame_cost;
 *   - instances of Images (struct javm_image_instance, image_inst.c): one javm_instance each
 *     (any engine) seeded from one dense `mem` DataCap, a slot table, the frame stack of CALLs,
 *     the ecalli personality (0 REPLY, 1-15 management ops, 26 CALL, other ids host calls).
 *
 * Glossary
 *   mapping    [start, start + size) of guest memory sourced from a slot (source path of one
 *              step: a slot key) or from nothing (source path of zero steps: zeros).
 *   pinned     a mapping whose source's first step is a pinned-slot key: read-only forever.
 *   rw slot    the slot behind an unpinned mapping with a source: it receives the flushed bytes
 *              of its mapping at every HALT/REPLY of the instance.
 *   extent     round_up(max over mappings of start + size) - DATA_BASE (at least one page).
 *   frame      one activation of an instance (a CALL, or the host's top-level invocation); its
 *              gas history (page states) starts fresh and ends at HALT/REPLY.
 *
 * Rules (cited by tests as IMG-n)
 *   IMG-1  validation (jv_image_validate) is complete before an Image exists: every field is
 *          checked (docs/IMAGE.md "Validation"), errors are JAVM_ERR_BAD_IMAGE naming the field;
 *          a decoded Image is exactly as valid as a built one.
 *   IMG-2  classification goes through jv_image_mapping_is_pinned(start) only: pinned ->
 *          PinnedCapRo (mapped read-only), unpinned with a source -> UnpinnedCapCow, no source
 *          and the zero tail past an under-sized source -> EphemeralZero. EphemeralZero and
 *          UnpinnedCapCow charge identically (COW_COST at the first write per frame).
 *   IMG-3  a source larger than its mapping (N > S) is rejected; a smaller one reads zeros
 *          past N.
 *   IMG-4  call_frame_cost(image) = CALL_FRAME_COST + ceil(code_len / 4096) * COMPILE_COST +
 *          ro_units * PAGE_IN_COST with ro_units = ceil(code_len / 2 MiB) + sum over pinned
 *          mappings of ceil(size / 2 MiB); saturating.
 *   IMG-5  the content hash is the SSZ hash_tree_root of the logical Image (docs/IMAGE.md): it
 *          depends on the DataCaps' roots, never on the arena layout of the encoding.
 */
#ifndef JV_IMAGE_H
#define JV_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "javm.h"
#include "cap/cap.h"
#include "mat/mat.h"
#include "mem/mem.h"
#include "pvm/pvm.h"

/* ---- Layout and limits (docs/IMAGE.md) ------------------------------------------------------ */
#define JV_IMG_CODE_BASE 0x00400000u
#define JV_IMG_DATA_BASE 0x10000000u
#define JV_IMG_MAX_CODE_SIZE (JV_IMG_DATA_BASE - JV_IMG_CODE_BASE) /* 252 MiB */
#define JV_IMG_MAX_SOURCE_DEPTH 8
#define JV_IMG_MAX_MAPPINGS 256
#define JV_IMG_MAX_SLOTS 256
#define JV_IMG_MAX_ENDPOINTS 256
#define JV_IMG_MAX_ARG_REGS 4 /* a CALL passes the caller's φ9..φ12 to the callee's φ7..φ10 */
#define JV_IMG_MAX_BLOB (JV_IMG_MAX_CODE_SIZE + (1u << 26)) /* code + jump table + bitmask */
#define JV_IMG_VERSION 1u
#define JV_IMG_UNIT_SIZE (1ull << JV_CLUSTER_SHIFT)

typedef struct jv_img_mapping {
    uint64_t start, size;
    uint8_t source_len; /* 0 = no source (zeros), else 1..JV_IMG_MAX_SOURCE_DEPTH */
    uint32_t source[JV_IMG_MAX_SOURCE_DEPTH];
} jv_img_mapping;

typedef struct jv_img_slot {
    uint32_t key;
    jv_datacap *data; /* clean, owned */
} jv_img_slot;

typedef struct jv_img_endpoint {
    uint32_t key;
    uint32_t entry_pc;
    uint8_t arg_registers; /* 0..JV_IMG_MAX_ARG_REGS */
    uint64_t regs[JV_PVM_NUM_REGS];
} jv_img_endpoint;

/* The Image (struct javm_image of the public API). Immutable once validated; shared read-only by
 * every instance on every thread. */
typedef struct jv_image {
    uint8_t *blob; /* the GP program blob */
    size_t blob_len;
    javm_program *prog; /* loaded from blob */
    jv_img_mapping *maps; /* ascending by start, disjoint */
    uint32_t nmaps;
    jv_img_slot *pinned, *initial; /* ascending by key; the two key sets are disjoint */
    uint32_t npinned, ninitial;
    jv_img_endpoint *eps; /* ascending by key */
    uint32_t neps;
    /* derived by jv_image_validate */
    bool valid;
    uint64_t extent;       /* bytes from DATA_BASE */
    jv_datacap *mem_root;  /* mem of a root instance (pinned + initial sources) */
    jv_datacap *mem_sub;   /* mem of a non-root instance (pinned sources only) */
    jv_mem_snapshot *snap; /* code + sourced mappings laid out once for mapping (MEM-6) */
    uint64_t *snap_off;    /* per mapping: offset of its source's bytes in snap */
    jv_hash32 content_hash;
} jv_image;

struct javm_image {
    jv_image img;
};

/* An empty Image to be filled by the builder calls below, then validated. The code is decoded
 * in dialect isa with block costs in gas model gas (both recorded in the Image). */
javm_status jv_image_create(const uint8_t *blob, size_t len, javm_isa isa, javm_gas_model gas,
                            jv_image **out);
void jv_image_destroy(jv_image *img); /* NULL is a no-op */
/* Builder: each takes copies/clones of what it is given; errors name the problem. */
javm_status jv_image_add_mapping(jv_image *img, uint64_t start, uint64_t size,
                                 const uint32_t *source, unsigned source_len);
javm_status jv_image_add_slot(jv_image *img, bool pinned, uint32_t key, const jv_datacap *d);
javm_status jv_image_add_endpoint(jv_image *img, uint32_t key, uint32_t entry_pc,
                                  unsigned arg_registers, const uint64_t regs[JV_PVM_NUM_REGS]);
/* IMG-1: sorts nothing (callers add in ascending order, as the encoding requires), checks
 * everything, builds the mem DataCaps and snapshots, computes the content hash. */
javm_status jv_image_validate(jv_image *img);

/* SSZ (docs/IMAGE.md). decode validates (IMG-1); encode needs a valid Image. */
javm_status jv_image_decode(const uint8_t *bytes, size_t len, jv_image **out);
javm_status jv_image_encode(const jv_image *img, jv_ssz_buf *out);

/* ---- Classification (IMG-2) and costs (IMG-4) ---------------------------------------------- */
const jv_img_slot *jv_image_find_slot(const jv_image *img, bool pinned, uint32_t key);
const jv_img_endpoint *jv_image_find_endpoint(const jv_image *img, uint32_t key);
/* The one predicate: some mapping starting exactly at start has a source whose first step is a
 * pinned-slot key. */
bool jv_image_mapping_is_pinned(const jv_image *img, uint64_t start);
/* Kind of the pages of mapping i: PinnedCapRo, UnpinnedCapCow or EphemeralZero (no source). */
jv_page_kind jv_image_mapping_kind(const jv_image *img, uint32_t i);
/* Kind of the page at guest address addr (the zero tail of an under-sized unpinned source is
 * EphemeralZero; code pages PinnedCapRo); false if the page is not declared. root: whether
 * initial slots are honoured (a non-root instance's initial-sourced mappings have no source). */
bool jv_image_page_kind(const jv_image *img, uint32_t addr, bool root, jv_page_kind *out);
/* The source DataCap of mapping i for a root / non-root instance (NULL = none). */
const jv_datacap *jv_image_mapping_source(const jv_image *img, uint32_t i, bool root);
const char *jv_image_kind_name(jv_page_kind k);

typedef struct jv_img_cost {
    uint64_t code_len, code_pages, ro_units, code_units, pinned_units, call_frame_cost;
} jv_img_cost;
jv_img_cost jv_image_cost(const jv_image *img);

/* PAGE_IN_COST * ceil(size / 2 MiB), saturating (the units a newly mapped cap declares). */
uint64_t jv_image_page_in_cost(uint64_t size);

/* IMG-5 (image_ssz.c). */
javm_status jv_image_hash(const jv_image *img, jv_hash32 *out);

/* The javm instance an image instance runs on (tests and the tool read its memory layer). */
javm_instance *jv_image_instance_vm(const javm_image_instance *in);

#endif /* JV_IMAGE_H */
