/* pvm — opcode metadata, varints, the blob codec and the single-instruction decoder. */
#include <stdlib.h>
#include <string.h>

#include "pvm/pvm.h"
#include "util/error.h"

/* ---- Opcode metadata ------------------------------------------------------------------------ */
static const jv_pvm_opinfo opinfo[JV_PVM_NUM_OPCODES] = {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem) \
    {#name, sem, {b07, b08}, JV_CLASS_##cls, flags, width},
#include "pvm/opcodes.def"
#undef X
};

/* Per iop, then the same again for the fused ids (PVM-G6: JV_PVM_FUSED + id). */
const uint8_t jv_pvm_iop_flags[JV_PVM_IOP_SLOTS] = {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem)                              \
    [JV_I_##name] = flags, [JV_PVM_FUSED + JV_I_##name] = flags,
#include "pvm/opcodes.def"
#undef X
};

const uint8_t jv_pvm_iop_width[JV_PVM_IOP_SLOTS] = {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem)                              \
    [JV_I_##name] = width, [JV_PVM_FUSED + JV_I_##name] = width,
#include "pvm/opcodes.def"
#undef X
};

/* The memory-op operand shape of pvm.h (jv_pvm_op) exists for these classes only; a width is
 * given exactly for the memory rows; a static target exactly for A4, A7, A10; every row exists
 * in at least one dialect. */
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem)                                              \
    _Static_assert(!((flags) & (JV_OP_LOAD | JV_OP_STORE)) ||                                  \
                       JV_CLASS_##cls == JV_CLASS_A3 || JV_CLASS_##cls == JV_CLASS_A5 ||       \
                       JV_CLASS_##cls == JV_CLASS_A6 || JV_CLASS_##cls == JV_CLASS_A9,         \
                   #name ": memory op of a class without the memory operand shape");          \
    _Static_assert(((width) != 0) == (((flags) & (JV_OP_LOAD | JV_OP_STORE)) != 0),            \
                   #name ": width must be given exactly for loads and stores");                \
    _Static_assert((((flags) & JV_OP_BRANCH) != 0) ==                                          \
                       (JV_CLASS_##cls == JV_CLASS_A4 || JV_CLASS_##cls == JV_CLASS_A7 ||      \
                        JV_CLASS_##cls == JV_CLASS_A10),                                        \
                   #name ": JV_OP_BRANCH must mark exactly the A4, A7, A10 rows");             \
    _Static_assert(!((flags) & JV_OP_BRANCH) || ((flags) & JV_OP_TERM),                        \
                   #name ": a branch ends its block");                                         \
    _Static_assert(!((flags) & JV_OP_TERM) || JV_PVM_FUSED + JV_I_##name < 256,               \
                   #name ": a terminator's fused id must fit the iop byte");                  \
    _Static_assert((b07) >= -1 && (b07) < 256 && (b08) >= -1 && (b08) < 256 &&                \
                       ((b07) >= 0 || (b08) >= 0),                                             \
                   #name ": bytes are 0..255 or -1, in at least one dialect");
#include "pvm/opcodes.def"
#undef X

/* byte -> 1 + dispatch id, per dialect (0 = not an opcode). A row absent from a dialect (-1)
 * lands in its own slot past 255, so no initializer overrides another; a byte listed twice in
 * one dialect would be an override, which -Werror (-Woverride-init) refuses. */
#define JV_SLOT(b, name) [(b) < 0 ? 256 + JV_I_##name : (b)] = JV_I_##name + 1,
static const uint8_t opindex[JV_ISA_COUNT][256 + JV_PVM_NUM_OPCODES] = {
    {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem) JV_SLOT(b07, name)
#include "pvm/opcodes.def"
#undef X
    },
    {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem) JV_SLOT(b08, name)
#include "pvm/opcodes.def"
#undef X
    },
};
#undef JV_SLOT

static inline const uint8_t *index_of(javm_isa isa) {
    return (unsigned)isa < JV_ISA_COUNT ? opindex[isa] : NULL;
}

const jv_pvm_opinfo *jv_pvm_opinfo_of(javm_isa isa, uint8_t byte) {
    const uint8_t *ix = index_of(isa);
    return ix && ix[byte] ? &opinfo[ix[byte] - 1] : NULL;
}

const jv_pvm_opinfo *jv_pvm_opinfo_of_iop(unsigned iop) {
    return iop < JV_PVM_NUM_OPCODES ? &opinfo[iop] : NULL;
}

int jv_pvm_iop_of_byte(javm_isa isa, uint8_t byte) {
    const uint8_t *ix = index_of(isa);
    return ix ? (int)ix[byte] - 1 : -1;
}

int jv_pvm_byte_of_iop(javm_isa isa, unsigned iop) {
    if (iop >= JV_PVM_NUM_OPCODES || (unsigned)isa >= JV_ISA_COUNT) return -1;
    return opinfo[iop].bytes[isa];
}

int jv_pvm_opcode_by_name(javm_isa isa, const char *name, size_t len) {
    if ((unsigned)isa >= JV_ISA_COUNT) return -1;
    for (unsigned i = 0; i < JV_PVM_NUM_OPCODES; i++)
        if (strlen(opinfo[i].name) == len && !memcmp(opinfo[i].name, name, len))
            return opinfo[i].bytes[isa];
    return -1;
}

/* ---- Dialect and gas-model names (public: javm.h) -------------------------------------------- */
/* Both enums name their values after the GP version: index = value. */
static const char *const gp_names[2] = {"gp07", "gp08"};

static javm_status parse_gp(const char *what, const char *name, int *out) {
    if (!name || !out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: NULL argument", what);
    for (int i = 0; i < 2; i++)
        if (!strcmp(name, gp_names[i])) {
            *out = i;
            return JAVM_OK;
        }
    return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "unknown %s '%s' (expected gp07 or gp08)",
                        what, name);
}

JAVM_API const char *javm_isa_name(javm_isa isa) {
    return (unsigned)isa < 2 ? gp_names[isa] : "unknown";
}

JAVM_API javm_status javm_isa_parse(const char *name, javm_isa *out) {
    int v = 0;
    javm_status s = parse_gp("instruction set", name, out ? &v : NULL);
    if (s == JAVM_OK) *out = (javm_isa)v;
    return s;
}

JAVM_API const char *javm_gas_model_name(javm_gas_model m) {
    return (unsigned)m < 2 ? gp_names[m] : "unknown";
}

JAVM_API javm_status javm_gas_model_parse(const char *name, javm_gas_model *out) {
    int v = 0;
    javm_status s = parse_gp("gas model", name, out ? &v : NULL);
    if (s == JAVM_OK) *out = (javm_gas_model)v;
    return s;
}

/* ---- Varints -------------------------------------------------------------------------------- */
size_t jv_pvm_varint_encode(uint64_t x, uint8_t out[JV_VARINT_MAX]) {
    if (x < 128) {
        out[0] = (uint8_t)x;
        return 1;
    }
    for (unsigned l = 1; l < 8; l++) {
        if (x < (1ull << (7 * (l + 1)))) {
            out[0] = (uint8_t)(256 - (1u << (8 - l)) + (x >> (8 * l)));
            for (unsigned i = 0; i < l; i++) out[1 + i] = (uint8_t)(x >> (8 * i));
            return 1 + l;
        }
    }
    out[0] = 0xFF;
    for (unsigned i = 0; i < 8; i++) out[1 + i] = (uint8_t)(x >> (8 * i));
    return 9;
}

jv_varint_status jv_pvm_varint_decode(const uint8_t *p, size_t n, uint64_t *out, size_t *used) {
    if (n == 0) return JV_VARINT_TRUNCATED;
    uint8_t f = p[0];
    unsigned l = 0;
    while (l < 8 && (f & (0x80u >> l))) l++;
    if (n < 1 + (size_t)l) return JV_VARINT_TRUNCATED;
    uint64_t v = jv_le_get(p + 1, l);
    if (l < 8) v |= (uint64_t)(f & (0xFFu >> (l + 1))) << (8 * l);
    *out = v;
    *used = 1 + l;
    /* canonical: the value must not fit a shorter encoding */
    if (l > 0 && v < (1ull << (7 * l))) return JV_VARINT_NONCANONICAL;
    return JV_VARINT_OK;
}

/* ---- Blob codec ----------------------------------------------------------------------------- */
static javm_status read_varint(const uint8_t *blob, size_t len, size_t *off, const char *what,
                               uint64_t *v) {
    size_t used = 0;
    jv_varint_status s = jv_pvm_varint_decode(blob + *off, len - *off, v, &used);
    if (s == JV_VARINT_TRUNCATED)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM, "program: %s: truncated varint at offset %zu",
                            what, *off);
    if (s == JV_VARINT_NONCANONICAL)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: %s: non-canonical varint at offset %zu (value %llu "
                            "encoded in %zu bytes)",
                            what, *off, (unsigned long long)*v, used);
    *off += used;
    return JAVM_OK;
}

javm_status jv_pvm_blob_decode(const uint8_t *blob, size_t len, jv_pvm_blob *out) {
    if (!blob && len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "program: blob is NULL");
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "program: output is NULL");
    memset(out, 0, sizeof *out);
    if (len == 0) return jv_set_error(JAVM_ERR_BAD_PROGRAM, "program: blob is empty");
    size_t off = 0;
    uint64_t njumps, code_len;
    javm_status s = read_varint(blob, len, &off, "jump-table length", &njumps);
    if (s) return s;
    if (off >= len)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: blob ends at offset %zu, before the jump-table entry "
                            "width byte",
                            off);
    uint8_t z = blob[off++];
    if (z > 4)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: jump-table entry width %u at offset %zu exceeds 4 bytes", z,
                            off - 1);
    if (z == 0 && njumps > 0)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: jump table has %llu entries but entry width 0",
                            (unsigned long long)njumps);
    if (njumps > JV_PVM_MAX_JUMPS)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: jump table has %llu entries (limit %u)",
                            (unsigned long long)njumps, JV_PVM_MAX_JUMPS);
    s = read_varint(blob, len, &off, "code length", &code_len);
    if (s) return s;
    if (code_len > JV_PVM_MAX_CODE)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM, "program: code length %llu exceeds the limit %u",
                            (unsigned long long)code_len, JV_PVM_MAX_CODE);
    uint64_t jbytes = njumps * z;
    if (jbytes > len - off)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: jump table of %llu entries x %u bytes exceeds the %zu bytes "
                            "left at offset %zu",
                            (unsigned long long)njumps, z, len - off, off);
    out->jumps = blob + off;
    off += jbytes;
    if (code_len > len - off)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: code length %llu exceeds the %zu bytes left at offset %zu",
                            (unsigned long long)code_len, len - off, off);
    out->code = blob + off;
    off += code_len;
    uint64_t kbytes = (code_len + 7) / 8;
    if (kbytes > len - off)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: bitmask needs %llu bytes for %llu code bytes but %zu are "
                            "left at offset %zu",
                            (unsigned long long)kbytes, (unsigned long long)code_len, len - off,
                            off);
    out->bitmask = blob + off;
    off += kbytes;
    if (off != len)
        return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                            "program: %zu trailing bytes after the bitmask at offset %zu",
                            len - off, off);
    if (code_len % 8) {
        uint8_t last = out->bitmask[kbytes - 1];
        if (last >> (code_len % 8))
            return jv_set_error(JAVM_ERR_BAD_PROGRAM,
                                "program: bitmask padding bits past code length %llu are set "
                                "(last byte 0x%02x)",
                                (unsigned long long)code_len, last);
    }
    out->jump_count = (uint32_t)njumps;
    out->z = z;
    out->code_len = (uint32_t)code_len;
    return JAVM_OK;
}

uint32_t jv_pvm_blob_jump(const jv_pvm_blob *b, uint32_t i) {
    const uint8_t *e = b->jumps + (size_t)i * b->z;
    return (uint32_t)jv_le_get(e, b->z);
}

uint8_t *jv_pvm_blob_encode(const uint32_t *jump_table, uint32_t n, uint8_t z,
                            const uint8_t *code, uint32_t code_len, const uint8_t *bitmask,
                            size_t *out_len) {
    if (z > 8 || (n && !jump_table) || (code_len && (!code || !bitmask))) return NULL;
    size_t kbytes = ((size_t)code_len + 7) / 8;
    size_t total = 2 * JV_VARINT_MAX + 1 + (size_t)n * z + code_len + kbytes;
    uint8_t *b = malloc(total ? total : 1);
    if (!b) return NULL;
    size_t off = jv_pvm_varint_encode(n, b);
    b[off++] = z;
    off += jv_pvm_varint_encode(code_len, b + off);
    for (uint32_t i = 0; i < n; i++)
        for (unsigned k = 0; k < z; k++)
            b[off++] = k < 4 ? (uint8_t)(jump_table[i] >> (8 * k)) : 0;
    if (code_len) memcpy(b + off, code, code_len);
    off += code_len;
    if (kbytes) memcpy(b + off, bitmask, kbytes);
    off += kbytes;
    if (out_len) *out_len = off;
    return b;
}

/* ---- Single-instruction decoder ------------------------------------------------------------- */
static inline uint8_t zeta(const uint8_t *code, uint32_t len, uint64_t i) {
    return i < len ? code[i] : 0;
}

static inline int kbit(const uint8_t *k, uint32_t len, uint64_t i) {
    return i >= len ? 1 : jv_bit_get(k, i);
}

uint32_t jv_pvm_skip(const uint8_t *bitmask, uint32_t code_len, uint32_t pc) {
    for (uint32_t j = 0; j < 24; j++)
        if (kbit(bitmask, code_len, (uint64_t)pc + 1 + j)) return j;
    return 24;
}

static uint64_t imm_at(const uint8_t *code, uint32_t len, uint64_t at, unsigned l) {
    uint64_t v = 0;
    for (unsigned i = 0; i < l; i++) v |= (uint64_t)zeta(code, len, at + i) << (8 * i);
    if (l > 0 && l < 8 && ((v >> (8 * l - 1)) & 1)) v |= ~0ull << (8 * l);
    return v;
}

static inline uint8_t clampr(unsigned r) { return (uint8_t)(r > 12 ? 12 : r); }
static inline unsigned min4(int64_t v) { return v < 0 ? 0 : v > 4 ? 4 : (unsigned)v; }

/* The two immediates of A3, A6/A7 and A11: νX of min4(lx) bytes at `at`, then νY in the rest
 * of the `room` bytes left for both (also capped at 4). */
static void decode_xy(const uint8_t *code, uint32_t code_len, uint64_t at, unsigned lx,
                      int64_t room, jv_insn *out) {
    out->lx = (uint8_t)min4(lx);
    out->imm_x = imm_at(code, code_len, at, out->lx);
    out->ly = (uint8_t)min4(room - out->lx);
    out->imm_y = imm_at(code, code_len, at + out->lx, out->ly);
}

void jv_pvm_decode_insn(javm_isa isa, const uint8_t *code, uint32_t code_len,
                        const uint8_t *bitmask, uint32_t pc, jv_insn *out) {
    memset(out, 0, sizeof *out);
    uint64_t p = pc;
    uint8_t op = zeta(code, code_len, p);
    const jv_pvm_opinfo *info = jv_pvm_opinfo_of(isa, op);
    uint32_t l = jv_pvm_skip(bitmask, code_len, pc);
    out->opcode = op;
    out->isa = (uint8_t)isa;
    out->valid = info != NULL;
    out->iop = info ? (uint8_t)(info - opinfo) : (uint8_t)JV_I_trap;
    out->len = (uint8_t)(1 + l);
    if (!info) return;
    uint8_t b1 = zeta(code, code_len, p + 1), b2 = zeta(code, code_len, p + 2);
    int64_t L = l;
    switch ((jv_pvm_class)info->cls) {
    case JV_CLASS_A0:
    case JV_CLASS_COUNT:
        break;
    case JV_CLASS_A1:
        out->lx = (uint8_t)min4(L);
        out->imm_x = imm_at(code, code_len, p + 1, out->lx);
        break;
    case JV_CLASS_A2:
        out->ra = clampr(b1 & 15);
        out->lx = 8;
        out->imm_x = imm_at(code, code_len, p + 2, 8);
        break;
    case JV_CLASS_A3:
        decode_xy(code, code_len, p + 2, b1 & 7, L - 1, out);
        break;
    case JV_CLASS_A4:
        out->lx = (uint8_t)min4(L);
        out->imm_x = imm_at(code, code_len, p + 1, out->lx);
        out->target = (int64_t)p + (int64_t)out->imm_x;
        break;
    case JV_CLASS_A5:
        out->ra = clampr(b1 & 15);
        out->lx = (uint8_t)min4(L - 1);
        out->imm_x = imm_at(code, code_len, p + 2, out->lx);
        break;
    case JV_CLASS_A6:
    case JV_CLASS_A7:
        out->ra = clampr(b1 & 15);
        decode_xy(code, code_len, p + 2, (b1 >> 4) & 7, L - 1, out);
        if (info->cls == JV_CLASS_A7) out->target = (int64_t)p + (int64_t)out->imm_y;
        break;
    case JV_CLASS_A8:
        out->rd = clampr(b1 & 15);
        out->ra = clampr(b1 >> 4);
        break;
    case JV_CLASS_A9:
    case JV_CLASS_A10:
        out->ra = clampr(b1 & 15);
        out->rb = clampr(b1 >> 4);
        out->lx = (uint8_t)min4(L - 1);
        out->imm_x = imm_at(code, code_len, p + 2, out->lx);
        if (info->cls == JV_CLASS_A10) out->target = (int64_t)p + (int64_t)out->imm_x;
        break;
    case JV_CLASS_A11:
        out->ra = clampr(b1 & 15);
        out->rb = clampr(b1 >> 4);
        decode_xy(code, code_len, p + 3, b2 & 7, L - 2, out);
        break;
    case JV_CLASS_A12:
        out->ra = clampr(b1 & 15);
        out->rb = clampr(b1 >> 4);
        out->rd = clampr(b2);
        break;
    }
}
