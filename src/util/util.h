/* util — small helpers every layer shares, written once: compiler attributes, bit tests on
 * byte bitmaps, little-endian reads and writes. (util/error.h is the layer's other header:
 * error reporting.) Everything here is inline and depends on nothing but the C library. */
#ifndef JV_UTIL_H
#define JV_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* javm reads and writes guest memory and encodings as host words: a little-endian host only. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "javm needs a little-endian host"
#endif

/* ---- Compiler attributes ---------------------------------------------------------------- */
#define JV_LIKELY(x) __builtin_expect(!!(x), 1)
#define JV_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define JV_NOINLINE __attribute__((noinline))

/* ---- Bitmaps: bit i of a byte array, least significant bit first ------------------------ */
/* (the PVM code bitmask, the block-start map, the page bitmaps) */
static inline bool jv_bit_get(const uint8_t *bits, uint64_t i) {
    return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void jv_bit_set(uint8_t *bits, uint64_t i) {
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}
static inline void jv_bit_clear(uint8_t *bits, uint64_t i) {
    bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* ---- Little-endian ---------------------------------------------------------------------- */
/* The n (0..8) bytes at p as an unsigned little-endian integer (encodings of any width). */
static inline uint64_t jv_le_get(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
/* A w-byte (1, 2, 4 or 8) load or store at p, one host access (guest memory). */
static inline uint64_t jv_load_le(const uint8_t *p, unsigned w) {
    switch (w) {
    case 1: return p[0];
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}
static inline void jv_store_le(uint8_t *p, unsigned w, uint64_t v) {
    switch (w) {
    case 1: p[0] = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
    }
}

#endif
