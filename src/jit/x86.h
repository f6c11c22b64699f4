/* jit — a small x86-64 instruction emitter (Intel SDM vol. 2 encodings). Private to src/jit.
 *
 * One encoder (x_enc) builds every instruction from its legacy prefixes, REX, the opcode bytes,
 * ModRM/SIB and displacement; the instruction forms below are one-line tables over it. An
 * operand `xrm` is a register or a memory reference [base + index*scale + disp32].
 * Emission goes into a byte buffer (growable, or a fixed region); running out sets `oom` and
 * later writes are dropped, so callers check once at the end. */
#ifndef JV_JIT_X86_H
#define JV_JIT_X86_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* Condition codes (the low nibble of Jcc/SETcc/CMOVcc). */
enum {
    CC_O = 0, CC_NO = 1, CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_A = 7,
    CC_S = 8, CC_NS = 9, CC_L = 0xC, CC_GE = 0xD, CC_LE = 0xE, CC_G = 0xF
};

typedef struct xbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
    bool fixed; /* p is a fixed region of cap bytes: running out is an error, not a realloc */
} xbuf;

static inline bool xb_reserve(xbuf *b, size_t n) {
    if (b->oom) return false;
    if (b->len + n <= b->cap) return true;
    if (b->fixed) {
        b->oom = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) {
        b->oom = true;
        return false;
    }
    b->p = q;
    b->cap = cap;
    return true;
}
static inline void xb_u8(xbuf *b, uint8_t v) {
    if (xb_reserve(b, 1)) b->p[b->len++] = v;
}
static inline void xb_u32(xbuf *b, uint32_t v) {
    if (xb_reserve(b, 4)) {
        memcpy(b->p + b->len, &v, 4);
        b->len += 4;
    }
}
static inline void xb_u64(xbuf *b, uint64_t v) {
    if (xb_reserve(b, 8)) {
        memcpy(b->p + b->len, &v, 8);
        b->len += 8;
    }
}

typedef struct xrm {
    bool mem;
    bool guest;           /* memory in the guest window: gs segment, 32-bit address size */
    uint8_t reg;          /* register operand (mem = false) */
    int8_t base, index;   /* memory: base register or -1 (none), index register or -1 */
    uint8_t scale;        /* log2 of the index scale */
    int32_t disp;
} xrm;

static inline xrm R(unsigned r) { return (xrm){.mem = false, .reg = (uint8_t)r}; }
static inline xrm M(unsigned base, int32_t disp) {
    return (xrm){.mem = true, .base = (int8_t)base, .index = -1, .disp = disp};
}
static inline xrm MX(unsigned base, unsigned index, unsigned scale, int32_t disp) {
    return (xrm){.mem = true, .base = (int8_t)base, .index = (int8_t)index, .scale = (uint8_t)scale,
                 .disp = disp};
}
/* gs:[base32 + disp] with a 32-bit address size (prefixes 65 67): the effective address is
 * (base + disp) mod 2^32, zero-extended, plus the gs segment base. */
static inline xrm MG(unsigned base, uint32_t disp) {
    return (xrm){.mem = true, .guest = true, .base = (int8_t)base, .index = -1,
                 .disp = (int32_t)disp};
}
/* gs:[disp] with a 32-bit address size: the absolute address disp plus the gs segment base
 * (SIB form without base and index; ModRM 00/101 alone would be eip-relative). */
static inline xrm MGA(uint32_t disp) {
    return (xrm){.mem = true, .guest = true, .base = -1, .index = -1, .disp = (int32_t)disp};
}

/* Encoding flags. */
#define XW 1u    /* REX.W: 64-bit operand size */
#define X66 2u   /* operand-size prefix: 16-bit */
#define XF3 4u   /* mandatory prefix F3 (popcnt, lzcnt, tzcnt, rep) */
#define XB8 8u   /* byte registers: SPL/BPL/SIL/DIL need a REX prefix */

static inline bool fits8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* prefixes, REX, opcode (1-3 bytes, first byte in the low bits), ModRM with reg field `r`,
 * SIB and displacement for operand m. */
static inline void x_enc(xbuf *b, unsigned f, uint32_t opc, unsigned nopc, unsigned r, xrm m) {
    if (f & X66) xb_u8(b, 0x66);
    if (f & XF3) xb_u8(b, 0xF3);
    if (m.mem && m.guest) {
        xb_u8(b, 0x65); /* gs */
        xb_u8(b, 0x67); /* 32-bit address size */
    }
    unsigned rex = 0x40 | ((f & XW) ? 8 : 0) | ((r & 8) ? 4 : 0);
    if (m.mem) {
        if (m.index >= 0 && (m.index & 8)) rex |= 2;
        if (m.base >= 0 && (m.base & 8)) rex |= 1;
    } else if (m.reg & 8) {
        rex |= 1;
    }
    bool byte_reg = (f & XB8) && ((r >= 4 && r < 8) || (!m.mem && m.reg >= 4 && m.reg < 8));
    if (rex != 0x40 || byte_reg) xb_u8(b, (uint8_t)rex);
    for (unsigned i = 0; i < nopc; i++) xb_u8(b, (uint8_t)(opc >> (8 * i)));
    unsigned rr = (r & 7) << 3;
    if (!m.mem) {
        xb_u8(b, (uint8_t)(0xC0 | rr | (m.reg & 7)));
        return;
    }
    if (m.base < 0) { /* [index * scale + disp32], or [disp32] without an index */
        unsigned idx = m.index < 0 ? 4 : ((unsigned)m.index & 7);
        xb_u8(b, (uint8_t)(rr | 4));
        xb_u8(b, (uint8_t)((m.scale << 6) | (idx << 3) | 5));
        xb_u32(b, (uint32_t)m.disp);
        return;
    }
    unsigned base = (unsigned)m.base & 7;
    unsigned mod = (m.disp == 0 && base != 5) ? 0 : fits8(m.disp) ? 1 : 2;
    if (m.index < 0 && base != 4) {
        xb_u8(b, (uint8_t)((mod << 6) | rr | base));
    } else {
        unsigned idx = m.index < 0 ? 4 : ((unsigned)m.index & 7);
        xb_u8(b, (uint8_t)((mod << 6) | rr | 4));
        xb_u8(b, (uint8_t)((m.scale << 6) | (idx << 3) | base));
    }
    if (mod == 1) xb_u8(b, (uint8_t)(int8_t)m.disp);
    else if (mod == 2) xb_u32(b, (uint32_t)m.disp);
}

/* ---- Instruction forms ---------------------------------------------------------------------- */
/* The classic ALU group: op rm, reg (opcode base+1), op reg, rm (base+3), op rm, imm (0x81/0x83
 * with the group extension). */
typedef enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 } xalu;
static inline void x_alu_rm_r(xbuf *b, unsigned f, xalu op, xrm dst, unsigned src) {
    x_enc(b, f, (uint32_t)(op << 3) | 1u, 1, src, dst);
}
static inline void x_alu_r_rm(xbuf *b, unsigned f, xalu op, unsigned dst, xrm src) {
    x_enc(b, f, (uint32_t)(op << 3) | 3u, 1, dst, src);
}
static inline void x_alu_rm_i(xbuf *b, unsigned f, xalu op, xrm dst, int32_t imm) {
    if (fits8(imm)) {
        x_enc(b, f, 0x83, 1, op, dst);
        xb_u8(b, (uint8_t)(int8_t)imm);
    } else {
        x_enc(b, f, 0x81, 1, op, dst);
        xb_u32(b, (uint32_t)imm);
    }
}
static inline void x_mov_r_rm(xbuf *b, unsigned f, unsigned dst, xrm src) { x_enc(b, f, 0x8B, 1, dst, src); }
static inline void x_mov_rm_r(xbuf *b, unsigned f, xrm dst, unsigned src) { x_enc(b, f, 0x89, 1, src, dst); }
static inline void x_mov8_rm_r(xbuf *b, xrm dst, unsigned src) { x_enc(b, XB8, 0x88, 1, src, dst); }
/* mov rm, imm32 (sign-extended with XW); 16-bit with X66 takes an imm16. */
static inline void x_mov_rm_i(xbuf *b, unsigned f, xrm dst, int32_t imm) {
    x_enc(b, f, 0xC7, 1, 0, dst);
    if (f & X66) {
        xb_u8(b, (uint8_t)imm);
        xb_u8(b, (uint8_t)(imm >> 8));
    } else {
        xb_u32(b, (uint32_t)imm);
    }
}
static inline void x_mov8_rm_i(xbuf *b, xrm dst, uint8_t imm) {
    x_enc(b, 0, 0xC6, 1, 0, dst);
    xb_u8(b, imm);
}
/* A 64-bit constant into a register, in the shortest form. */
static inline void x_mov_r_imm64(xbuf *b, unsigned dst, uint64_t v) {
    if (v <= UINT32_MAX) { /* mov r32, imm32 zero-extends */
        if (dst & 8) xb_u8(b, 0x41);
        xb_u8(b, (uint8_t)(0xB8 + (dst & 7)));
        xb_u32(b, (uint32_t)v);
    } else if (fits32((int64_t)v)) {
        x_mov_rm_i(b, XW, R(dst), (int32_t)(int64_t)v);
    } else {
        xb_u8(b, (uint8_t)(0x48 | ((dst & 8) ? 1 : 0)));
        xb_u8(b, (uint8_t)(0xB8 + (dst & 7)));
        xb_u64(b, v);
    }
}
static inline void x_movzx8(xbuf *b, unsigned dst, xrm src) { x_enc(b, XB8, 0xB60F, 2, dst, src); }
static inline void x_movzx16(xbuf *b, unsigned dst, xrm src) { x_enc(b, 0, 0xB70F, 2, dst, src); }
static inline void x_movsx8(xbuf *b, unsigned dst, xrm src) { x_enc(b, XW | XB8, 0xBE0F, 2, dst, src); }
static inline void x_movsx16(xbuf *b, unsigned dst, xrm src) { x_enc(b, XW, 0xBF0F, 2, dst, src); }
static inline void x_movsxd(xbuf *b, unsigned dst, xrm src) { x_enc(b, XW, 0x63, 1, dst, src); }
static inline void x_lea(xbuf *b, unsigned f, unsigned dst, xrm src) { x_enc(b, f, 0x8D, 1, dst, src); }
/* lea dst, [rip + rel32]: the rel32 is left 0 and its position returned for a fixup (it is the
 * last field, so it counts from its own end like a jump's). */
static inline size_t x_lea_rip(xbuf *b, unsigned f, unsigned dst) {
    unsigned rex = 0x40 | ((f & XW) ? 8 : 0) | ((dst & 8) ? 4 : 0);
    if (rex != 0x40) xb_u8(b, (uint8_t)rex);
    xb_u8(b, 0x8D);
    xb_u8(b, (uint8_t)(((dst & 7) << 3) | 5));
    xb_u32(b, 0);
    return b->len - 4;
}
static inline void x_imul_r_rm(xbuf *b, unsigned f, unsigned dst, xrm src) { x_enc(b, f, 0xAF0F, 2, dst, src); }
static inline void x_imul_r_rm_i(xbuf *b, unsigned f, unsigned dst, xrm src, int32_t imm) {
    x_enc(b, f, 0x69, 1, dst, src);
    xb_u32(b, (uint32_t)imm);
}
/* The F7 group: test imm, not, neg, mul, imul, div, idiv (one operand). */
typedef enum { F7_NOT = 2, F7_NEG = 3, F7_MUL = 4, F7_IMUL = 5, F7_DIV = 6, F7_IDIV = 7 } xf7;
static inline void x_f7(xbuf *b, unsigned f, xf7 op, xrm m) { x_enc(b, f, 0xF7, 1, op, m); }
/* Shifts and rotates: by CL (D3) or by an immediate (C1). */
typedef enum { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 } xsh;
static inline void x_sh_cl(xbuf *b, unsigned f, xsh op, xrm m) { x_enc(b, f, 0xD3, 1, op, m); }
static inline void x_sh_i(xbuf *b, unsigned f, xsh op, xrm m, uint8_t n) {
    x_enc(b, f, 0xC1, 1, op, m);
    xb_u8(b, n);
}
static inline void x_test_rm_r(xbuf *b, unsigned f, xrm m, unsigned r) { x_enc(b, f, 0x85, 1, r, m); }
static inline void x_test8_rm_i(xbuf *b, xrm m, uint8_t imm) {
    x_enc(b, XB8, 0xF6, 1, 0, m);
    xb_u8(b, imm);
}
static inline void x_setcc(xbuf *b, unsigned cc, unsigned dst8) { x_enc(b, XB8, 0x900F | (cc << 8), 2, 0, R(dst8)); }
static inline void x_cmov(xbuf *b, unsigned f, unsigned cc, unsigned dst, xrm src) {
    x_enc(b, f, 0x400F | (cc << 8), 2, dst, src);
}
static inline void x_bswap64(xbuf *b, unsigned r) {
    xb_u8(b, (uint8_t)(0x48 | ((r & 8) ? 1 : 0)));
    xb_u8(b, 0x0F);
    xb_u8(b, (uint8_t)(0xC8 + (r & 7)));
}
static inline void x_popcnt(xbuf *b, unsigned f, unsigned dst, xrm src) { x_enc(b, f | XF3, 0xB80F, 2, dst, src); }
static inline void x_lzcnt(xbuf *b, unsigned f, unsigned dst, xrm src) { x_enc(b, f | XF3, 0xBD0F, 2, dst, src); }
static inline void x_tzcnt(xbuf *b, unsigned f, unsigned dst, xrm src) { x_enc(b, f | XF3, 0xBC0F, 2, dst, src); }
static inline void x_cqo(xbuf *b) { xb_u8(b, 0x48); xb_u8(b, 0x99); }
static inline void x_push(xbuf *b, unsigned r) {
    if (r & 8) xb_u8(b, 0x41);
    xb_u8(b, (uint8_t)(0x50 + (r & 7)));
}
static inline void x_pop(xbuf *b, unsigned r) {
    if (r & 8) xb_u8(b, 0x41);
    xb_u8(b, (uint8_t)(0x58 + (r & 7)));
}
static inline void x_push_rm(xbuf *b, xrm m) { x_enc(b, 0, 0xFF, 1, 6, m); }
static inline void x_ret(xbuf *b) { xb_u8(b, 0xC3); }
static inline void x_rep_movsq(xbuf *b) { xb_u8(b, 0xF3); xb_u8(b, 0x48); xb_u8(b, 0xA5); }
static inline void x_jmp_rm(xbuf *b, xrm m) { x_enc(b, 0, 0xFF, 1, 4, m); }
static inline void x_call_rm(xbuf *b, xrm m) { x_enc(b, 0, 0xFF, 1, 2, m); }
/* rel32 jumps: the displacement is left 0 and its position returned for a fixup. */
static inline size_t x_jmp32(xbuf *b) { xb_u8(b, 0xE9); xb_u32(b, 0); return b->len - 4; }
static inline size_t x_call32(xbuf *b) { xb_u8(b, 0xE8); xb_u32(b, 0); return b->len - 4; }
static inline size_t x_jcc32(xbuf *b, unsigned cc) {
    xb_u8(b, 0x0F);
    xb_u8(b, (uint8_t)(0x80 | cc));
    xb_u32(b, 0);
    return b->len - 4;
}
/* int3 up to the next multiple of `align` (a power of two): padding that is never executed. */
static inline void x_pad_int3(xbuf *b, size_t align) {
    while (b->len & (align - 1)) xb_u8(b, 0xCC);
}
/* rel8 jumps within one instruction sequence: emit, then x_patch8 at the target. */
static inline size_t x_jcc8(xbuf *b, unsigned cc) { xb_u8(b, (uint8_t)(0x70 | cc)); xb_u8(b, 0); return b->len - 1; }
static inline size_t x_jmp8(xbuf *b) { xb_u8(b, 0xEB); xb_u8(b, 0); return b->len - 1; }
static inline void x_patch8(xbuf *b, size_t site) {
    if (!b->oom) b->p[site] = (uint8_t)(int8_t)(b->len - (site + 1));
}

#endif /* JV_JIT_X86_H */
