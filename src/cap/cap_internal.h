/* cap — private declarations shared by the .c files of the cap layer (not its interface). */
#ifndef JV_CAP_INTERNAL_H
#define JV_CAP_INTERNAL_H

#include "cap/cap.h"

/* The shared backing of a DataCap (spec §5 PageSlab). Immutable while refs > 1 (CAP-2). */
struct jv_cap_backing {
    atomic_uint refs;
    uint64_t size;      /* bytes, a positive page multiple */
    uint32_t len, cap;  /* slots stored / allocated; len <= size / 4096 */
    jv_cap_slot *slots; /* dense by page index; trailing Empty trimmed in canonical form */
};

/* Merkle root of nbytes of data taken as zero-padded 32-byte chunks, padded virtually with zero
 * chunks to 2^depth leaves (requires ceil(nbytes / 32) <= 2^depth). */
javm_status jv_cap_merkle_bytes(const uint8_t *data, size_t nbytes, unsigned depth,
                                jv_hash32 *out);
unsigned jv_cap_ceil_log2(uint64_t n);

#endif
