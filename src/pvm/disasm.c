/* pvm/disasm.c — the disassembler: whole programs (round-trip exact, ASM-1) and single
 * instructions (javm_program_disasm, used by traces). Syntax: docs/ASSEMBLY.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvm/asm.h"
#include "pvm/pvm.h"
#include "util/error.h"

typedef struct out {
    char *p;
    size_t len, cap;
    int oom;
} out;

static void out_printf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(out *o, const char *fmt, ...) {
    if (o->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (k < 0) {
            o->oom = 1;
            return;
        }
        if ((size_t)k < o->cap - o->len) {
            o->len += (size_t)k;
            return;
        }
        size_t nc = o->cap * 2 + (size_t)k + 256;
        char *q = realloc(o->p, nc);
        if (!q) {
            o->oom = 1;
            return;
        }
        o->p = q;
        o->cap = nc;
    }
}

typedef struct labels {
    uint8_t *mark; /* code_len + 1 entries: 1 = a label is printed here */
    uint32_t code_len;
    char name[32];
} labels;

static const char *label_of(void *user, int64_t target) {
    labels *l = user;
    if (target < 0 || target > (int64_t)l->code_len || !l->mark[target]) return NULL;
    snprintf(l->name, sizeof l->name, "L%lld", (long long)target);
    return l->name;
}

/* Can target carry a label? Only positions where an item starts: instruction starts and the
 * end of the code. */
static int labelable(const jv_pvm_blob *b, int64_t t) {
    if (t < 0 || t > (int64_t)b->code_len) return 0;
    return t == (int64_t)b->code_len || jv_bit_get(b->bitmask, (uint32_t)t);
}

/* Decodes the instruction at pc and tells whether its text re-encodes to the same bytes. */
static int textual(javm_isa isa, const jv_pvm_blob *b, uint32_t pc, jv_insn *d, jv_asm_insn *in) {
    jv_pvm_decode_insn(isa, b->code, b->code_len, b->bitmask, pc, d);
    jv_asm_insn_from_decoded(d, in);
    if (!d->valid) return 0;
    uint8_t enc[JV_ASM_MAX_INSN];
    size_t k = jv_asm_insn_encode(in, pc, enc, NULL);
    return k == d->len && !memcmp(enc, b->code + pc, k);
}

static int has_target(const jv_insn *d) {
    const jv_pvm_opinfo *o = d->valid ? jv_pvm_opinfo_of_iop(d->iop) : NULL;
    return o && (o->flags & JV_OP_BRANCH);
}

static void comment_bytes(out *o, const jv_pvm_blob *b, uint32_t pc, uint32_t n, size_t col0) {
    size_t col = o->len - col0;
    out_printf(o, "%*s; %u:", col < 40 ? (int)(40 - col) : 1, "", pc);
    for (uint32_t i = 0; i < n; i++) out_printf(o, " %02x", b->code[pc + i]);
}

static char *render(javm_isa isa, const jv_pvm_blob *b, labels *lab, unsigned flags,
                    unsigned fmt) {
    out o = {malloc(4096), 0, 4096, 0};
    if (!o.p) return NULL;
    o.p[0] = 0;
    out_printf(&o, "; javm disassembly (%s): %u code bytes, %u jump-table entries of %u bytes\n",
               javm_isa_name(isa), b->code_len, b->jump_count, b->z);
    uint64_t maxv = 0;
    for (uint32_t i = 0; i < b->jump_count; i++) {
        uint64_t v = jv_pvm_blob_jump(b, i);
        if (v > maxv) maxv = v;
    }
    unsigned zmin = 0;
    if (b->jump_count) {
        zmin = 1;
        while (zmin < 8 && (maxv >> (8 * zmin))) zmin++;
    }
    if (b->z != zmin) out_printf(&o, ".jumpwidth %u\n", b->z);
    for (uint32_t i = 0; i < b->jump_count; i++) {
        uint64_t v = jv_pvm_blob_jump(b, i);
        out_printf(&o, i % 8 ? ", " : ".jumptable ");
        if (labelable(b, (int64_t)v)) out_printf(&o, "L%llu", (unsigned long long)v);
        else out_printf(&o, "%llu", (unsigned long long)v);
        if (i % 8 == 7 || i + 1 == b->jump_count) {
            if (flags & JV_ASM_DIS_COMMENTS) /* the djump address of entry k is 2(k+1) */
                out_printf(&o, "  ; djump %u..%u", 2 * (i - i % 8 + 1), 2 * (i + 1));
            out_printf(&o, "\n");
        }
    }
    if (b->jump_count || b->z != zmin) out_printf(&o, "\n");
    char text[256];
    for (uint32_t pc = 0; pc < b->code_len;) {
        if (lab->mark[pc]) out_printf(&o, "L%u:\n", pc);
        size_t col0 = o.len;
        if (!jv_bit_get(b->bitmask, pc)) { /* bytes that start no instruction */
            uint32_t n = 0;
            while (pc + n < b->code_len && !jv_bit_get(b->bitmask, pc + n) && n < 16) n++;
            out_printf(&o, "    .bytes ");
            for (uint32_t i = 0; i < n; i++) out_printf(&o, i ? ", 0x%02x" : "0x%02x", b->code[pc + i]);
            if (flags & JV_ASM_DIS_COMMENTS) {
                comment_bytes(&o, b, pc, 0, col0);
                out_printf(&o, " not instruction starts");
            }
            out_printf(&o, "\n");
            pc += n;
            continue;
        }
        jv_insn d;
        jv_asm_insn in;
        if (textual(isa, b, pc, &d, &in)) {
            jv_asm_insn_format(&in, pc, fmt, text, sizeof text, label_of, lab);
            out_printf(&o, "    %s", text);
            if (flags & JV_ASM_DIS_COMMENTS) comment_bytes(&o, b, pc, d.len, col0);
        } else {
            out_printf(&o, "    .insn ");
            for (uint32_t i = 0; i < d.len; i++) out_printf(&o, i ? ", 0x%02x" : "0x%02x", b->code[pc + i]);
            size_t col = o.len - col0;
            out_printf(&o, "%*s; %u: ", col < 40 ? (int)(40 - col) : 1, "", pc);
            if (!d.valid) {
                out_printf(&o, "invalid opcode %u (executes as trap)", d.opcode);
            } else {
                jv_asm_insn_format(&in, pc, JV_ASM_FMT_NO_WIDTHS, text, sizeof text, NULL, NULL);
                out_printf(&o, "%s (non-canonical encoding)", text);
            }
        }
        out_printf(&o, "\n");
        if ((!d.valid || (jv_pvm_iop_flags[d.iop] & JV_OP_TERM)) && pc + d.len < b->code_len) out_printf(&o, "\n"); /* block end */
        pc += d.len;
    }
    if (lab->mark[b->code_len]) out_printf(&o, "L%u:\n", b->code_len);
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p;
}

javm_status jv_asm_disassemble(const uint8_t *blob, size_t len, unsigned flags, char **text) {
    return jv_asm_disassemble_isa(JAVM_ISA_GP07, blob, len, flags, text);
}

javm_status jv_asm_disassemble_isa(javm_isa isa, const uint8_t *blob, size_t len,
                                   unsigned flags, char **text) {
    if (!text) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "disasm: no output");
    if ((unsigned)isa >= JV_ISA_COUNT)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "disasm: unknown instruction set %d",
                            (int)isa);
    *text = NULL;
    jv_pvm_blob b;
    javm_status s = jv_pvm_blob_decode(blob, len, &b);
    if (s != JAVM_OK) return s;
    labels lab = {calloc((size_t)b.code_len + 1, 1), b.code_len, {0}};
    if (!lab.mark) return jv_set_error(JAVM_ERR_NO_MEMORY, "disasm: out of memory");
    for (uint32_t i = 0; i < b.jump_count; i++) {
        uint64_t v = jv_pvm_blob_jump(&b, i);
        if (labelable(&b, (int64_t)v)) lab.mark[v] = 1;
    }
    for (uint32_t pc = 0; pc < b.code_len;) {
        if (!jv_bit_get(b.bitmask, pc)) {
            pc++;
            continue;
        }
        jv_insn d;
        jv_asm_insn in;
        if (textual(isa, &b, pc, &d, &in) && has_target(&d) && labelable(&b, d.target))
            lab.mark[d.target] = 1;
        pc += d.len;
    }
    /* ASM-1: check the round trip; if minimal branch widths settle differently (two offsets at
     * a width boundary that depend on each other), print every width explicitly. */
    unsigned fmts[2] = {0, JV_ASM_FMT_ALL_WIDTHS};
    for (int attempt = 0; attempt < 2; attempt++) {
        char *t = render(isa, &b, &lab, flags, fmts[attempt]);
        if (!t) {
            free(lab.mark);
            return jv_set_error(JAVM_ERR_NO_MEMORY, "disasm: out of memory");
        }
        uint8_t *back = NULL;
        size_t back_len = 0;
        int same = jv_asm_assemble_isa(isa, t, strlen(t), &back, &back_len, NULL) == JAVM_OK &&
                   back_len == len &&
                   !memcmp(back, blob, len);
        free(back);
        if (same) {
            free(lab.mark);
            *text = t;
            return JAVM_OK;
        }
        free(t);
    }
    free(lab.mark);
    return jv_set_error(JAVM_ERR_BAD_PROGRAM, "disasm: the program has no exact textual form");
}

JAVM_API size_t javm_program_disasm(const javm_program *p, uint32_t pc, char *buf, size_t n) {
    if (buf && n) buf[0] = 0;
    if (!p || !jv_pvm_is_insn_start(p, pc)) return 0;
    jv_insn d;
    jv_pvm_decode_insn(p->isa, p->code, p->code_len, p->bitmask, pc, &d);
    jv_asm_insn in;
    jv_asm_insn_from_decoded(&d, &in);
    if (buf && n) jv_asm_insn_format(&in, pc, JV_ASM_FMT_NO_WIDTHS, buf, n, NULL, NULL);
    return d.len;
}
