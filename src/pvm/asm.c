/* pvm/asm.c — instruction encoding and formatting from opcodes.def, and the assembler.
 * Syntax: docs/ASSEMBLY.md. Design and rules ASM-1..3: asm.h. */
#include "pvm/asm.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

/* ---- Opcode metadata, from the single table ------------------------------------------------ */

static const char *op_name(uint8_t isa, uint8_t b) {
    const jv_pvm_opinfo *o = jv_pvm_opinfo_of((javm_isa)isa, b);
    return o ? o->name : NULL;
}

static jv_pvm_class op_class(uint8_t isa, uint8_t b) {
    const jv_pvm_opinfo *o = jv_pvm_opinfo_of((javm_isa)isa, b);
    return o ? (jv_pvm_class)o->cls : JV_CLASS_A0;
}

static const char *const shapes[JV_CLASS_COUNT] = {
    "", "x", "AW", "xy", "t", "Ax", "Axy", "Axt", "DA", "ABx", "ABt", "ABxy", "DAB",
};

const char *jv_asm_class_shape(jv_pvm_class c) {
    return (unsigned)c < JV_CLASS_COUNT ? shapes[c] : "";
}

/* ---- Immediates ----------------------------------------------------------------------------- */

static uint64_t sext(uint64_t v, int l) { /* X_l of the low l bytes of v */
    if (l <= 0) return 0;
    if (l >= 8) return v;
    int sh = 64 - 8 * l;
    return (uint64_t)((int64_t)(v << sh) >> sh);
}

int jv_asm_imm_width(uint64_t v) {
    for (int l = 0; l <= 4; l++)
        if (sext(v, l) == v) return l;
    return 5;
}

/* Chooses the width of v: w < 0 means minimal. -1 with *why set if v does not fit. */
static int choose(uint64_t v, int w, const char *what, const char **why) {
    if (w < 0) w = jv_asm_imm_width(v);
    if (w > 4 || sext(v, w) != v) {
        *why = what;
        return -1;
    }
    return w;
}

static size_t put_le(uint8_t *out, size_t n, uint64_t v, int l) {
    for (int i = 0; i < l; i++) out[n++] = (uint8_t)(v >> (8 * i));
    return n;
}

/* The two immediates of A3, A6 and A11: their widths, then νX and νY little-endian. */
static int choose_xy(const jv_asm_insn *in, int *lx, int *ly, const char **why) {
    if ((*lx = choose(in->x, in->lx, "first immediate does not fit its width", why)) < 0) return -1;
    if ((*ly = choose(in->y, in->ly, "second immediate does not fit its width", why)) < 0) return -1;
    return 0;
}

static size_t put_xy(uint8_t *out, size_t n, const jv_asm_insn *in, int lx, int ly) {
    n = put_le(out, n, in->x, lx);
    return put_le(out, n, in->y, ly);
}

size_t jv_asm_insn_encode(const jv_asm_insn *in, uint32_t pc, uint8_t *out, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    if (!op_name(in->isa, in->opcode)) {
        *why = "invalid opcode";
        return 0;
    }
    if (in->ra > 12 || in->rb > 12 || in->rd > 12) {
        *why = "register above r12";
        return 0;
    }
    size_t n = 0;
    int lx = -1, ly = -1;
    uint64_t off = (uint64_t)in->target - pc; /* mod 2^64: no signed overflow */
    out[n++] = in->opcode;
    switch (op_class(in->isa, in->opcode)) {
    case JV_CLASS_A0: break;
    case JV_CLASS_A1:
        if ((lx = choose(in->x, in->lx, "immediate does not fit its width", why)) < 0) return 0;
        n = put_le(out, n, in->x, lx);
        break;
    case JV_CLASS_A2:
        out[n++] = in->ra;
        n = put_le(out, n, in->x, 8);
        break;
    case JV_CLASS_A3:
        if (choose_xy(in, &lx, &ly, why)) return 0;
        out[n++] = (uint8_t)lx;
        n = put_xy(out, n, in, lx, ly);
        break;
    case JV_CLASS_A4:
        if ((lx = choose(off, in->lx, "branch offset does not fit its width", why)) < 0) return 0;
        n = put_le(out, n, off, lx);
        break;
    case JV_CLASS_A5:
        if ((lx = choose(in->x, in->lx, "immediate does not fit its width", why)) < 0) return 0;
        out[n++] = in->ra;
        n = put_le(out, n, in->x, lx);
        break;
    case JV_CLASS_A6:
        if (choose_xy(in, &lx, &ly, why)) return 0;
        out[n++] = (uint8_t)(in->ra | lx << 4);
        n = put_xy(out, n, in, lx, ly);
        break;
    case JV_CLASS_A7:
        if ((lx = choose(in->x, in->lx, "immediate does not fit its width", why)) < 0) return 0;
        if ((ly = choose(off, in->ly, "branch offset does not fit its width", why)) < 0) return 0;
        out[n++] = (uint8_t)(in->ra | lx << 4);
        n = put_le(out, n, in->x, lx);
        n = put_le(out, n, off, ly);
        break;
    case JV_CLASS_A8: out[n++] = (uint8_t)(in->rd | in->ra << 4); break;
    case JV_CLASS_A9:
        if ((lx = choose(in->x, in->lx, "immediate does not fit its width", why)) < 0) return 0;
        out[n++] = (uint8_t)(in->ra | in->rb << 4);
        n = put_le(out, n, in->x, lx);
        break;
    case JV_CLASS_A10:
        if ((lx = choose(off, in->lx, "branch offset does not fit its width", why)) < 0) return 0;
        out[n++] = (uint8_t)(in->ra | in->rb << 4);
        n = put_le(out, n, off, lx);
        break;
    case JV_CLASS_A11:
        if (choose_xy(in, &lx, &ly, why)) return 0;
        out[n++] = (uint8_t)(in->ra | in->rb << 4);
        out[n++] = (uint8_t)lx;
        n = put_xy(out, n, in, lx, ly);
        break;
    case JV_CLASS_A12:
        out[n++] = (uint8_t)(in->ra | in->rb << 4);
        out[n++] = in->rd;
        break;
    default: *why = "bad operand class"; return 0;
    }
    return n;
}

/* ---- Formatting ----------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, len; /* capacity, length that would have been written */
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->len < b->n ? b->n - b->len : 0;
    int k = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0) b->len += (size_t)k;
}

static void sb_imm(sbuf *b, uint64_t v) {
    int64_t s = (int64_t)v;
    if (s > -65536 && s < 65536) sb_printf(b, "%lld", (long long)s);
    else if (s < 0) sb_printf(b, "-0x%llx", (unsigned long long)(0 - v));
    else sb_printf(b, "0x%llx", (unsigned long long)v);
}

size_t jv_asm_insn_format(const jv_asm_insn *in, uint32_t pc, unsigned flags, char *buf,
                          size_t n, jv_asm_label_fn label_of, void *user) {
    sbuf b = {buf, n, 0};
    if (n) buf[0] = 0;
    const char *name = op_name(in->isa, in->opcode);
    jv_pvm_class cls = op_class(in->isa, in->opcode);
    if (!name) {
        sb_printf(&b, "invalid opcode %u", in->opcode);
        return b.len;
    }
    sb_printf(&b, "%s", name);
    const char *shape = shapes[cls];
    for (int i = 0; shape[i]; i++) {
        sb_printf(&b, i ? ", " : " ");
        int w = -1;
        uint64_t v = 0;
        switch (shape[i]) {
        case 'D': sb_printf(&b, "r%u", in->rd); continue;
        case 'A': sb_printf(&b, "r%u", in->ra); continue;
        case 'B': sb_printf(&b, "r%u", in->rb); continue;
        case 'W': sb_printf(&b, "0x%llx", (unsigned long long)in->x); continue;
        case 'x': v = in->x; w = in->lx; sb_imm(&b, v); break;
        case 'y': v = in->y; w = in->ly; sb_imm(&b, v); break;
        case 't': {
            v = (uint64_t)in->target - pc;
            w = cls == JV_CLASS_A7 ? in->ly : in->lx;
            const char *l = label_of ? label_of(user, in->target) : NULL;
            if (l) sb_printf(&b, "%s", l);
            else sb_printf(&b, "%lld", (long long)in->target);
            break;
        }
        default: continue;
        }
        if (w >= 0 && !(flags & JV_ASM_FMT_NO_WIDTHS) &&
            ((flags & JV_ASM_FMT_ALL_WIDTHS) || w != jv_asm_imm_width(v)))
            sb_printf(&b, ":%d", w);
    }
    return b.len;
}

void jv_asm_insn_from_decoded(const jv_insn *d, jv_asm_insn *out) {
    memset(out, 0, sizeof *out);
    out->opcode = d->opcode;
    out->isa = d->isa;
    out->ra = d->ra;
    out->rb = d->rb;
    out->rd = d->rd;
    out->x = d->imm_x;
    out->y = d->imm_y;
    out->target = d->target;
    out->lx = (int8_t)d->lx;
    out->ly = (int8_t)d->ly;
}

/* ---- The assembler -------------------------------------------------------------------------- */

typedef struct sym {
    char *name;
    int line;     /* definition line (0: referenced, not yet defined) */
    int use_line; /* first use */
    int is_label;
    size_t item;  /* label: index of the item it precedes */
    uint64_t value;
} sym;

enum { IT_INSN, IT_RAW, IT_RAW_INSN };

typedef struct item {
    int kind, line;
    jv_asm_insn in;
    long tsym;        /* target symbol, or -1 (absolute: in.target) */
    int twidth;       /* explicit target width, or -1 */
    int cur;          /* current target width during relaxation */
    size_t raw, nraw; /* raw bytes in the raw buffer */
    uint32_t pc, len;
} item;

typedef struct jentry {
    long sym;
    uint64_t value;
    int line;
} jentry;

typedef struct asmctx {
    const char *p, *end; /* current position in the current line */
    int line;
    char err[256];
    sym *syms;
    size_t nsyms, capsyms;
    uint32_t *hash; /* open addressing: 1 + index into syms, 0 = empty; capsyms * 2 slots */
    size_t nhash;
    item *items;
    size_t nitems, capitems;
    uint8_t *raw;
    size_t nraw, capraw;
    jentry *jt;
    size_t njt, capjt;
    javm_isa isa; /* the dialect mnemonics are looked up in */
    int jwidth;   /* -1 = minimal */
    int depth;  /* expression nesting (unary operators and parentheses) */
} asmctx;

static int fail(asmctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(asmctx *c, const char *fmt, ...) {
    if (c->err[0]) return -1;
    int k = snprintf(c->err, sizeof c->err, "line %d: ", c->line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + k, sizeof c->err - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

static void skip_ws(asmctx *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')) c->p++;
}

static int at_end(asmctx *c) {
    skip_ws(c);
    return c->p >= c->end;
}

static int is_id0(int ch) { return isalpha(ch) || ch == '_'; }
static int is_id(int ch) { return isalnum(ch) || ch == '_' || ch == '.'; }

static size_t ident_len(const char *p, const char *end) {
    if (p >= end || !is_id0((unsigned char)*p)) return 0;
    size_t n = 1;
    while (p + n < end && is_id((unsigned char)p[n])) n++;
    return n;
}

static int is_register_name(const char *s, size_t n) {
    if (n < 2 || n > 3 || s[0] != 'r') return 0;
    for (size_t i = 1; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

static uint64_t name_hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static long sym_find(asmctx *c, const char *s, size_t n) {
    if (!c->nhash) return -1;
    for (size_t k = name_hash(s, n) & (c->nhash - 1);; k = (k + 1) & (c->nhash - 1)) {
        uint32_t e = c->hash[k];
        if (!e) return -1;
        const char *m = c->syms[e - 1].name;
        if (strlen(m) == n && !memcmp(m, s, n)) return (long)(e - 1);
    }
}

static void hash_put(asmctx *c, size_t i) {
    const char *m = c->syms[i].name;
    size_t k = name_hash(m, strlen(m)) & (c->nhash - 1);
    while (c->hash[k]) k = (k + 1) & (c->nhash - 1);
    c->hash[k] = (uint32_t)(i + 1);
}

static long sym_add(asmctx *c, const char *s, size_t n) {
    if (grow((void **)&c->syms, &c->capsyms, c->nsyms + 1, sizeof(sym))) return fail(c, "out of memory");
    if (c->nhash < 2 * (c->nsyms + 1)) { /* keep the table at most half full */
        size_t nh = c->nhash ? c->nhash * 2 : 64;
        while (nh < 2 * (c->nsyms + 1)) nh *= 2;
        uint32_t *h = calloc(nh, sizeof *h);
        if (!h) return fail(c, "out of memory");
        free(c->hash);
        c->hash = h;
        c->nhash = nh;
        for (size_t i = 0; i < c->nsyms; i++) hash_put(c, i);
    }
    sym *y = &c->syms[c->nsyms];
    memset(y, 0, sizeof *y);
    y->name = malloc(n + 1);
    if (!y->name) return fail(c, "out of memory");
    memcpy(y->name, s, n);
    y->name[n] = 0;
    hash_put(c, c->nsyms);
    return (long)c->nsyms++;
}

/* Expressions: sums and products of numbers and .equ constants, unary minus, parentheses;
 * arithmetic mod 2^64. */
static int expr(asmctx *c, uint64_t *v);

static int number(asmctx *c, uint64_t *v) {
    const char *p = c->p;
    unsigned base = 10;
    if (p + 1 < c->end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16, p += 2;
    else if (p + 1 < c->end && p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) base = 2, p += 2;
    uint64_t x = 0;
    int digits = 0;
    for (; p < c->end; p++) {
        unsigned dv;
        if (*p == '_') continue;
        if (isdigit((unsigned char)*p)) dv = (unsigned)(*p - '0');
        else if (isalpha((unsigned char)*p)) dv = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
        else break;
        if (dv >= base) return fail(c, "bad digit '%c' in number", *p);
        if (x > (UINT64_MAX - dv) / base) return fail(c, "number does not fit in 64 bits");
        x = x * base + dv;
        digits++;
    }
    if (!digits) return fail(c, "bad number");
    c->p = p;
    *v = x;
    return 0;
}

#define ASM_MAX_DEPTH 256 /* nesting bound: deeper input would overflow the C stack */

static int primary(asmctx *c, uint64_t *v) {
    skip_ws(c);
    if (c->p >= c->end) return fail(c, "missing operand");
    char ch = *c->p;
    if (ch == '-' || ch == '+' || ch == '~' || ch == '(') {
        if (c->depth >= ASM_MAX_DEPTH)
            return fail(c, "expression nested more than %d deep", ASM_MAX_DEPTH);
        c->depth++;
        c->p++;
        int rc = ch == '(' ? expr(c, v) : primary(c, v);
        c->depth--;
        if (rc) return -1;
        if (ch == '-') *v = 0 - *v;
        else if (ch == '~') *v = ~*v;
        if (ch != '(') return 0;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ')') return fail(c, "missing ')'");
        c->p++;
        return 0;
    }
    if (isdigit((unsigned char)ch)) return number(c, v);
    size_t n = ident_len(c->p, c->end);
    if (n) {
        long s = sym_find(c, c->p, n);
        if (s < 0 || c->syms[s].is_label || !c->syms[s].line)
            return fail(c, "'%.*s' is not a constant defined above (.equ)", (int)n, c->p);
        c->p += n;
        *v = c->syms[s].value;
        return 0;
    }
    return fail(c, "unexpected '%c' in expression", ch);
}

static int product(asmctx *c, uint64_t *v) {
    if (primary(c, v)) return -1;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end) return 0;
        char op = *c->p;
        int shl = op == '<' && c->p + 1 < c->end && c->p[1] == '<';
        if (op != '*' && !shl) return 0;
        c->p += shl ? 2 : 1;
        uint64_t r;
        if (primary(c, &r)) return -1;
        if (shl) *v = r >= 64 ? 0 : *v << r;
        else *v *= r;
    }
}

static int expr(asmctx *c, uint64_t *v) {
    if (product(c, v)) return -1;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || (*c->p != '+' && *c->p != '-')) return 0;
        char op = *c->p++;
        uint64_t r;
        if (product(c, &r)) return -1;
        *v = op == '+' ? *v + r : *v - r;
    }
}

static int comma(asmctx *c) {
    skip_ws(c);
    if (c->p >= c->end || *c->p != ',') return fail(c, "expected ','");
    c->p++;
    return 0;
}

/* Optional ":N" width suffix. */
static int width_suffix(asmctx *c, int *w) {
    *w = -1;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':') return 0;
    c->p++;
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '4' || (c->p + 1 < c->end && isalnum((unsigned char)c->p[1])))
        return fail(c, "width after ':' must be 0..4");
    *w = *c->p++ - '0';
    return 0;
}

static int reg(asmctx *c, uint8_t *r) {
    skip_ws(c);
    size_t n = ident_len(c->p, c->end);
    unsigned num = 0; /* the digits of the name only: the text need not be NUL-terminated */
    for (size_t i = 1; is_register_name(c->p, n) && i < n; i++) num = num * 10 + (unsigned)(c->p[i] - '0');
    if (!is_register_name(c->p, n) || num > 12 || (n == 3 && c->p[1] == '0'))
        return fail(c, "expected a register r0..r12, got '%.*s'", n ? (int)n : 1, c->p < c->end ? c->p : "");
    *r = (uint8_t)num;
    c->p += n;
    return 0;
}

static int imm(asmctx *c, uint64_t *v, int8_t *w) {
    int wi;
    if (expr(c, v) || width_suffix(c, &wi)) return -1;
    int need = jv_asm_imm_width(*v);
    if (wi < 0 && need > 4)
        return fail(c, "immediate 0x%llx does not fit in 4 bytes (values are sign-extended from "
                       "the bytes given; use load_imm_64 for 64-bit constants)",
                    (unsigned long long)*v);
    if (wi >= 0 && sext(*v, wi) != *v)
        return fail(c, "immediate 0x%llx does not fit in %d byte(s)", (unsigned long long)*v, wi);
    *w = (int8_t)wi;
    return 0;
}

/* A target: a label (possibly defined later) or an expression giving an absolute pc. */
static int target(asmctx *c, long *tsym, int64_t *abs, int *w) {
    skip_ws(c);
    size_t n = ident_len(c->p, c->end);
    long s = n ? sym_find(c, c->p, n) : -1;
    if (n && !is_register_name(c->p, n) && (s < 0 || c->syms[s].is_label || !c->syms[s].line)) {
        if (s < 0 && (s = sym_add(c, c->p, n)) < 0) return -1;
        c->syms[s].is_label = 1;
        if (!c->syms[s].use_line) c->syms[s].use_line = c->line;
        c->p += n;
        *tsym = s;
    } else {
        uint64_t v;
        if (expr(c, &v)) return -1;
        *tsym = -1;
        *abs = (int64_t)v;
    }
    return width_suffix(c, w);
}

static item *new_item(asmctx *c, int kind) {
    if (grow((void **)&c->items, &c->capitems, c->nitems + 1, sizeof(item))) {
        fail(c, "out of memory");
        return NULL;
    }
    item *it = &c->items[c->nitems++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->line = c->line;
    it->tsym = -1;
    it->twidth = -1;
    it->in.lx = it->in.ly = -1;
    return it;
}

static int raw_bytes(asmctx *c, int kind) {
    item *it = new_item(c, kind);
    if (!it) return -1;
    it->raw = c->nraw;
    while (!at_end(c)) {
        uint64_t v;
        if (expr(c, &v)) return -1;
        if (v > 255 && v < (uint64_t)-128) return fail(c, "byte value 0x%llx out of range", (unsigned long long)v);
        if (grow((void **)&c->raw, &c->capraw, c->nraw + 1, 1)) return fail(c, "out of memory");
        c->raw[c->nraw++] = (uint8_t)v;
        it->nraw++;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') c->p++;
    }
    if (!it->nraw) return fail(c, "%s needs at least one byte", kind == IT_RAW ? ".bytes" : ".insn");
    return 0;
}

static int directive(asmctx *c) {
    size_t n = 1 + ident_len(c->p + 1, c->end);
    const char *d = c->p;
    c->p += n;
#define IS(s) (n == sizeof(s) - 1 && !memcmp(d, s, n))
    if (IS(".bytes")) return raw_bytes(c, IT_RAW);
    if (IS(".insn")) return raw_bytes(c, IT_RAW_INSN);
    if (IS(".jumptable")) {
        while (!at_end(c)) {
            if (grow((void **)&c->jt, &c->capjt, c->njt + 1, sizeof(jentry))) return fail(c, "out of memory");
            jentry *e = &c->jt[c->njt++];
            int64_t abs = 0;
            int w;
            e->line = c->line;
            if (target(c, &e->sym, &abs, &w)) return -1;
            if (w >= 0) return fail(c, "jump-table entries take no width (use .jumpwidth)");
            e->value = (uint64_t)abs;
            skip_ws(c);
            if (c->p < c->end && *c->p == ',') c->p++;
            else if (!at_end(c)) return fail(c, "expected ',' between jump-table entries");
        }
        return 0;
    }
    if (IS(".jumpwidth")) {
        uint64_t v;
        if (expr(c, &v)) return -1;
        if (v > 4) return fail(c, ".jumpwidth must be 0..4");
        c->jwidth = (int)v;
        return 0;
    }
    if (IS(".equ")) {
        skip_ws(c);
        size_t k = ident_len(c->p, c->end);
        if (!k || is_register_name(c->p, k)) return fail(c, ".equ needs a name");
        long s = sym_find(c, c->p, k);
        if (s >= 0) return fail(c, "'%.*s' is already defined", (int)k, c->p);
        if ((s = sym_add(c, c->p, k)) < 0) return -1;
        c->p += k;
        uint64_t v;
        if (comma(c) || expr(c, &v)) return -1;
        c->syms[s].value = v;
        c->syms[s].line = c->line;
        return 0;
    }
#undef IS
    return fail(c, "unknown directive '%.*s'", (int)n, d);
}

static int instruction(asmctx *c) {
    size_t n = ident_len(c->p, c->end);
    if (!n) return fail(c, "expected a mnemonic, a label or a directive");
    int op = jv_pvm_opcode_by_name(c->isa, c->p, n);
    if (op < 0) {
        if (jv_pvm_opcode_by_name(c->isa == JAVM_ISA_GP07 ? JAVM_ISA_GP08 : JAVM_ISA_GP07, c->p,
                                  n) >= 0)
            return fail(c, "'%.*s' does not exist in %s", (int)n, c->p, javm_isa_name(c->isa));
        return fail(c, "unknown mnemonic '%.*s'", (int)n, c->p);
    }
    c->p += n;
    item *it = new_item(c, IT_INSN);
    if (!it) return -1;
    it->in.opcode = (uint8_t)op;
    it->in.isa = (uint8_t)c->isa;
    jv_pvm_class cls = op_class(it->in.isa, (uint8_t)op);
    const char *shape = shapes[cls];
    for (int i = 0; shape[i]; i++) {
        if (i && comma(c)) return -1;
        int rc = 0;
        switch (shape[i]) {
        case 'D': rc = reg(c, &it->in.rd); break;
        case 'A': rc = reg(c, &it->in.ra); break;
        case 'B': rc = reg(c, &it->in.rb); break;
        case 'W': rc = expr(c, &it->in.x); break;
        case 'x': rc = imm(c, &it->in.x, &it->in.lx); break;
        case 'y': rc = imm(c, &it->in.y, &it->in.ly); break;
        case 't': rc = target(c, &it->tsym, &it->in.target, &it->twidth); break;
        }
        if (rc) return -1;
    }
    if (!at_end(c)) return fail(c, "unexpected '%.*s' after the operands of %s", (int)(c->end - c->p), c->p,
                                op_name(it->in.isa, (uint8_t)op));
    return 0;
}

static int parse_line(asmctx *c) {
    /* labels */
    for (;;) {
        skip_ws(c);
        size_t n = ident_len(c->p, c->end);
        const char *q = c->p + n;
        while (q < c->end && (*q == ' ' || *q == '\t')) q++;
        if (!n || q >= c->end || *q != ':') break;
        if (is_register_name(c->p, n)) return fail(c, "'%.*s' is a register, not a label name", (int)n, c->p);
        long s = sym_find(c, c->p, n);
        if (s >= 0 && (c->syms[s].line || !c->syms[s].is_label))
            return fail(c, "'%.*s' is already defined on line %d", (int)n, c->p, c->syms[s].line);
        if (s < 0 && (s = sym_add(c, c->p, n)) < 0) return -1;
        c->syms[s].is_label = 1;
        c->syms[s].line = c->line;
        c->syms[s].item = c->nitems;
        c->p = q + 1;
    }
    if (at_end(c)) return 0;
    if (*c->p == '.') return directive(c);
    return instruction(c);
}

/* Item length for the current widths (targets do not change lengths). */
static uint32_t item_len(asmctx *c, item *it, uint32_t pc) {
    if (it->kind != IT_INSN) return (uint32_t)it->nraw;
    jv_asm_insn in = it->in;
    jv_pvm_class cls = op_class(in.isa, in.opcode);
    if (strchr(shapes[cls], 't')) {
        int w = it->twidth >= 0 ? it->twidth : it->cur;
        in.target = pc; /* offset 0 fits every width */
        if (cls == JV_CLASS_A7) in.ly = (int8_t)w;
        else in.lx = (int8_t)w;
    }
    uint8_t tmp[JV_ASM_MAX_INSN];
    const char *why = "";
    size_t k = jv_asm_insn_encode(&in, pc, tmp, &why);
    if (!k) fail(c, "%s", why);
    return (uint32_t)k;
}

static int resolve(asmctx *c, long s, int64_t *out) {
    sym *y = &c->syms[s];
    if (!y->line) {
        c->line = y->use_line;
        return fail(c, "undefined label '%s'", y->name);
    }
    *out = (int64_t)y->value;
    return 0;
}

static int layout(asmctx *c, uint32_t *code_len) {
    /* Widths only grow, each at most to 4, and every round but the last grows one: 4 rounds per
     * relaxable branch plus a final one always settle (a chain of branches, each pushed over a
     * width boundary by the previous one's growth, needs one round per link). */
    size_t rounds = 1;
    for (size_t i = 0; i < c->nitems; i++)
        if (c->items[i].kind == IT_INSN && c->items[i].twidth < 0 &&
            strchr(shapes[op_class(c->items[i].in.isa, c->items[i].in.opcode)], 't'))
            rounds += 4;
    for (size_t round = 0; round < rounds; round++) {
        uint64_t pc = 0;
        for (size_t i = 0; i < c->nitems; i++) {
            item *it = &c->items[i];
            it->pc = (uint32_t)pc;
            c->line = it->line;
            /* only relaxable branches change length after the first round */
            int relax = it->kind == IT_INSN && it->twidth < 0 && strchr(shapes[op_class(it->in.isa, it->in.opcode)], 't');
            uint32_t k = round && !relax ? it->len : item_len(c, it, (uint32_t)pc);
            if (c->err[0]) return -1;
            it->len = k;
            pc += k;
            if (pc > 0xFFFFFFFFull) return fail(c, "code exceeds 4 GiB");
        }
        for (size_t s = 0; s < c->nsyms; s++)
            if (c->syms[s].is_label && c->syms[s].line)
                c->syms[s].value = c->syms[s].item < c->nitems ? c->items[c->syms[s].item].pc : pc;
        *code_len = (uint32_t)pc;
        int changed = 0;
        for (size_t i = 0; i < c->nitems; i++) {
            item *it = &c->items[i];
            if (it->kind != IT_INSN || it->twidth >= 0 || !strchr(shapes[op_class(it->in.isa, it->in.opcode)], 't'))
                continue;
            int64_t t = it->in.target;
            if (it->tsym >= 0 && resolve(c, it->tsym, &t)) return -1;
            int need = jv_asm_imm_width((uint64_t)t - it->pc);
            if (need > 4) {
                c->line = it->line;
                return fail(c, "branch target %lld is out of reach", (long long)t);
            }
            if (need > it->cur) {
                it->cur = need;
                changed = 1;
            }
        }
        if (!changed) return 0;
    }
    return fail(c, "branch offsets did not settle");
}

static int emit(asmctx *c, uint32_t code_len, uint8_t **blob, size_t *blob_len) {
    /* jump table */
    uint64_t maxv = 0;
    for (size_t i = 0; i < c->njt; i++) {
        jentry *e = &c->jt[i];
        if (e->sym >= 0) {
            int64_t t = 0;
            c->line = e->line;
            if (resolve(c, e->sym, &t)) return -1;
            e->value = (uint64_t)t;
        }
        if (e->value > maxv) maxv = e->value;
    }
    int z = c->jwidth;
    if (z < 0) {
        z = 0;
        if (c->njt) {
            z = 1;
            while (z < 8 && (maxv >> (8 * z))) z++;
        }
        if (z > 4) return fail(c, "jump-table entry %llu does not fit in 4 bytes", (unsigned long long)maxv);
    }
    if (z == 0 && c->njt) {
        c->line = c->jt[0].line;
        return fail(c, "jump-table entries need a .jumpwidth of at least 1");
    }
    for (size_t i = 0; i < c->njt; i++) {
        if (z < 8 && (c->jt[i].value >> (8 * z))) {
            c->line = c->jt[i].line;
            return fail(c, "jump-table entry %llu does not fit in %d byte(s)", (unsigned long long)c->jt[i].value, z);
        }
    }
    size_t kb = ((size_t)code_len + 7) / 8;
    size_t total = 9 + 1 + 9 + c->njt * (size_t)z + code_len + kb;
    uint8_t *out = calloc(1, total ? total : 1);
    if (!out) return fail(c, "out of memory");
    size_t n = jv_pvm_varint_encode(c->njt, out);
    out[n++] = (uint8_t)z;
    n += jv_pvm_varint_encode(code_len, out + n);
    for (size_t i = 0; i < c->njt; i++) n = put_le(out, n, c->jt[i].value, z);
    uint8_t *code = out + n, *mask = out + n + code_len;
    for (size_t i = 0; i < c->nitems; i++) {
        item *it = &c->items[i];
        c->line = it->line;
        if (it->kind != IT_INSN) {
            memcpy(code + it->pc, c->raw + it->raw, it->nraw);
            if (it->kind == IT_RAW_INSN) mask[it->pc / 8] |= (uint8_t)(1u << (it->pc % 8));
            continue;
        }
        jv_asm_insn in = it->in;
        if (strchr(shapes[op_class(in.isa, in.opcode)], 't')) {
            if (it->tsym >= 0 && resolve(c, it->tsym, &in.target)) {
                free(out);
                return -1;
            }
            int w = it->twidth >= 0 ? it->twidth : it->cur;
            if (op_class(in.isa, in.opcode) == JV_CLASS_A7) in.ly = (int8_t)w;
            else in.lx = (int8_t)w;
        }
        uint8_t tmp[JV_ASM_MAX_INSN];
        const char *why = "";
        size_t k = jv_asm_insn_encode(&in, it->pc, tmp, &why);
        if (k != it->len) {
            free(out);
            return fail(c, "%s (target %lld)", k ? "internal: length changed" : why, (long long)in.target);
        }
        memcpy(code + it->pc, tmp, k);
        mask[it->pc / 8] |= (uint8_t)(1u << (it->pc % 8));
    }
    *blob = out;
    *blob_len = n + code_len + kb;
    return 0;
}

/* Warnings: labels used as branch or jump-table targets that are not basic-block starts (pc 0
 * or the instruction after a terminator); the program assembles, but such a jump panics. */
static char *lint(asmctx *c, uint32_t code_len) {
    uint8_t *start = calloc((size_t)code_len + 1, 1); /* 1 = instruction start, 2 = block start */
    if (!start) return NULL;
    int after_term = 1;
    for (size_t i = 0; i < c->nitems; i++) {
        item *it = &c->items[i];
        if (it->kind == IT_RAW) continue;
        uint8_t op = it->kind == IT_INSN ? it->in.opcode : c->raw[it->raw];
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of(c->isa, op);
        start[it->pc] = o ? (uint8_t)(after_term ? 2 : 1) : 0;
        after_term = !o || (o->flags & JV_OP_TERM);
    }
    enum { CAP = 8192, MAXW = 20 };
    char *out = calloc(1, CAP);
    sbuf w = {out, out ? CAP : 0, 0};
    int count = 0;
    for (size_t i = 0; out && i < c->nitems + c->njt; i++) {
        long ts = i < c->nitems ? (c->items[i].kind == IT_INSN ? c->items[i].tsym : -1) : c->jt[i - c->nitems].sym;
        if (ts < 0) continue;
        uint64_t t = c->syms[ts].value;
        if (t <= code_len && start[t] == 2) continue;
        int line = i < c->nitems ? c->items[i].line : c->jt[i - c->nitems].line;
        if (++count <= MAXW)
            sb_printf(&w, "line %d: warning: '%s' is not the start of a basic block, so a jump there panics "
                          "(put `fallthrough` before the label)\n",
                      line, c->syms[ts].name);
    }
    if (count > MAXW) sb_printf(&w, "(%d more warnings)\n", count - MAXW);
    free(start);
    if (out && !out[0]) {
        free(out);
        out = NULL;
    }
    return out;
}

javm_status jv_asm_assemble(const char *src, size_t len, uint8_t **blob, size_t *blob_len) {
    return jv_asm_assemble_isa(JAVM_ISA_GP07, src, len, blob, blob_len, NULL);
}

javm_status jv_asm_assemble_warn(const char *src, size_t len, uint8_t **blob, size_t *blob_len,
                                 char **warnings) {
    return jv_asm_assemble_isa(JAVM_ISA_GP07, src, len, blob, blob_len, warnings);
}

javm_status jv_asm_assemble_isa(javm_isa isa, const char *src, size_t len, uint8_t **blob,
                                size_t *blob_len, char **warnings) {
    if (warnings) *warnings = NULL;
    if (!src || !blob || !blob_len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "asm: missing argument");
    if ((unsigned)isa >= JV_ISA_COUNT)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "asm: unknown instruction set %d", (int)isa);
    asmctx c;
    memset(&c, 0, sizeof c);
    c.isa = isa;
    c.jwidth = -1;
    const char *s = src, *end = src + len;
    int rc = 0;
    for (c.line = 1; s < end && !rc; c.line++) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e) e = end;
        /* strip the comment: ';', '#' or '//' to the end of the line */
        const char *ce = s;
        while (ce < e && *ce != ';' && *ce != '#' && !(*ce == '/' && ce + 1 < e && ce[1] == '/')) ce++;
        if (memchr(s, 0, (size_t)(ce - s))) {
            rc = fail(&c, "NUL byte in source");
            break;
        }
        c.p = s;
        c.end = ce;
        rc = parse_line(&c);
        s = e < end ? e + 1 : end;
    }
    uint32_t code_len = 0;
    if (!rc) rc = layout(&c, &code_len);
    if (!rc) rc = emit(&c, code_len, blob, blob_len);
    if (!rc && warnings) *warnings = lint(&c, code_len);
    for (size_t i = 0; i < c.nsyms; i++) free(c.syms[i].name);
    free(c.syms);
    free(c.hash);
    free(c.items);
    free(c.raw);
    free(c.jt);
    if (rc) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s", c.err[0] ? c.err : "assembly failed");
    return JAVM_OK;
}
