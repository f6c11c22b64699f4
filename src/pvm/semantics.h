/* pvm — instruction semantics shared by every engine (docs/ISA.md §5). Private to pvm and
 * engine. Each helper implements one row of the spec's tables; the division helpers test the
 * divide-by-zero and MIN / -1 cases before dividing (C undefined behaviour otherwise). */
#ifndef JV_PVM_SEMANTICS_H
#define JV_PVM_SEMANTICS_H

/* The trace hook of the traced loops (JV_TRACE_HOOK): publish the live state, then call the
 * embedder's callback before the instruction at ip. Expands inside interp_body.h. */
#define JV_PVM_TRACE_STEP()                                                                    \
    do {                                                                                       \
        if (st->trace_fn) {                                                                    \
            JV_SYNC();                                                                         \
            st->pc = jv_pvm_op_pc(prog, (uint32_t)(ip - jv_ops));                              \
            st->trace_fn(st->trace_user, st->trace_vm, st->pc);                                \
        }                                                                                      \
    } while (0)

#include <stdint.h>

static inline uint64_t jv_sx32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)(uint32_t)v; }
static inline uint64_t jv_sx16(uint64_t v) { return (uint64_t)(int64_t)(int16_t)(uint16_t)v; }
static inline uint64_t jv_sx8(uint64_t v) { return (uint64_t)(int64_t)(int8_t)(uint8_t)v; }

static inline uint64_t jv_div_u32(uint64_t a, uint64_t b) {
    uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return y == 0 ? UINT64_MAX : jv_sx32(x / y);
}
static inline uint64_t jv_div_u64(uint64_t a, uint64_t b) { return b == 0 ? UINT64_MAX : a / b; }
static inline uint64_t jv_div_s32(uint64_t a, uint64_t b) {
    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)b;
    if (y == 0) return UINT64_MAX;
    if (x == INT32_MIN && y == -1) return (uint64_t)(int64_t)x;
    return (uint64_t)(int64_t)(x / y);
}
static inline uint64_t jv_div_s64(uint64_t a, uint64_t b) {
    int64_t x = (int64_t)a, y = (int64_t)b;
    if (y == 0) return UINT64_MAX;
    if (x == INT64_MIN && y == -1) return a;
    return (uint64_t)(x / y);
}
static inline uint64_t jv_rem_u32(uint64_t a, uint64_t b) {
    uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return y == 0 ? jv_sx32(x) : jv_sx32(x % y);
}
static inline uint64_t jv_rem_u64(uint64_t a, uint64_t b) { return b == 0 ? a : a % b; }
static inline uint64_t jv_rem_s32(uint64_t a, uint64_t b) {
    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)b;
    if (y == 0) return (uint64_t)(int64_t)x;
    if (x == INT32_MIN && y == -1) return 0;
    return (uint64_t)(int64_t)(x % y);
}
static inline uint64_t jv_rem_s64(uint64_t a, uint64_t b) {
    int64_t x = (int64_t)a, y = (int64_t)b;
    if (y == 0) return a;
    if (x == INT64_MIN && y == -1) return 0;
    return (uint64_t)(x % y);
}

static inline uint64_t jv_shl32(uint64_t v, uint64_t s) { return jv_sx32((uint32_t)v << (s & 31)); }
static inline uint64_t jv_shr32(uint64_t v, uint64_t s) { return jv_sx32((uint32_t)v >> (s & 31)); }
static inline uint64_t jv_sar32(uint64_t v, uint64_t s) {
    return (uint64_t)(int64_t)((int32_t)(uint32_t)v >> (s & 31));
}
static inline uint64_t jv_shl64(uint64_t v, uint64_t s) { return v << (s & 63); }
static inline uint64_t jv_shr64(uint64_t v, uint64_t s) { return v >> (s & 63); }
static inline uint64_t jv_sar64(uint64_t v, uint64_t s) { return (uint64_t)((int64_t)v >> (s & 63)); }
static inline uint64_t jv_rotr64(uint64_t v, uint64_t s) {
    s &= 63;
    return s ? (v >> s) | (v << (64 - s)) : v;
}
static inline uint64_t jv_rotl64(uint64_t v, uint64_t s) {
    s &= 63;
    return s ? (v << s) | (v >> (64 - s)) : v;
}
static inline uint64_t jv_rotr32(uint64_t v, uint64_t s) {
    uint32_t x = (uint32_t)v;
    s &= 31;
    return jv_sx32(s ? (x >> s) | (x << (32 - s)) : x);
}
static inline uint64_t jv_rotl32(uint64_t v, uint64_t s) {
    uint32_t x = (uint32_t)v;
    s &= 31;
    return jv_sx32(s ? (x << s) | (x >> (32 - s)) : x);
}

static inline uint64_t jv_mulh_ss(uint64_t a, uint64_t b) {
    return (uint64_t)(((__int128)(int64_t)a * (__int128)(int64_t)b) >> 64);
}
static inline uint64_t jv_mulh_uu(uint64_t a, uint64_t b) {
    return (uint64_t)(((unsigned __int128)a * (unsigned __int128)b) >> 64);
}
static inline uint64_t jv_mulh_su(uint64_t a, uint64_t b) {
    return (uint64_t)(((__int128)(int64_t)a * (__int128)(unsigned __int128)b) >> 64);
}

static inline uint64_t jv_clz64(uint64_t v) { return v ? (uint64_t)__builtin_clzll(v) : 64; }
static inline uint64_t jv_clz32(uint64_t v) {
    uint32_t x = (uint32_t)v;
    return x ? (uint64_t)__builtin_clz(x) : 32;
}
static inline uint64_t jv_ctz64(uint64_t v) { return v ? (uint64_t)__builtin_ctzll(v) : 64; }
static inline uint64_t jv_ctz32(uint64_t v) {
    uint32_t x = (uint32_t)v;
    return x ? (uint64_t)__builtin_ctz(x) : 32;
}

static inline uint64_t jv_smax(uint64_t a, uint64_t b) { return (int64_t)a > (int64_t)b ? a : b; }
static inline uint64_t jv_smin(uint64_t a, uint64_t b) { return (int64_t)a < (int64_t)b ? a : b; }

#endif
