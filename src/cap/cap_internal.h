/* cap — private declarations shared by the .c files of the cap layer (not its interface). */
#ifndef JV_CAP_INTERNAL_H
#define JV_CAP_INTERNAL_H

#include "cap/cap.h"

/* The shared backing of a DataCap (docs/PAGESTORE.md §2, the PageSlab), stored as a two-level table: slot i lives
 * in group i / JV_CAP_GROUP at position i % JV_CAP_GROUP. Groups are refcounted and shared
 * between backings, so copying a backing (CAP-2) copies only the group pointers, and a change
 * copies only the group it touches: flush is O(pages / 64 + dirty pages). A NULL group is 64
 * Empty slots. Immutable while refs > 1; a group is immutable while its refs > 1. */
#define JV_CAP_GROUP_SHIFT 6
#define JV_CAP_GROUP (1u << JV_CAP_GROUP_SHIFT)
typedef struct jv_cap_group {
    atomic_uint refs;
    jv_cap_slot slots[JV_CAP_GROUP];
} jv_cap_group;

struct jv_cap_backing {
    atomic_uint refs;
    uint64_t size;          /* bytes, a positive page multiple */
    uint64_t len;           /* one past the last stored slot; slots at or past len are Empty */
    uint32_t ngroups;       /* entries of groups[] (NULL = all Empty) */
    jv_cap_group **groups;
};

/* Merkle root of nbytes of data taken as zero-padded 32-byte chunks, padded virtually with zero
 * chunks to 2^depth leaves (requires ceil(nbytes / 32) <= 2^depth). */
javm_status jv_cap_merkle_bytes(const uint8_t *data, size_t nbytes, unsigned depth,
                                jv_hash32 *out);
unsigned jv_cap_ceil_log2(uint64_t n);

#endif
