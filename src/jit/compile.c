/* jit — the translation: one linear pass over the pre-decoded ops, each op to a fixed machine
 * code template (docs/JIT.md, "Translation"). Two sections are emitted side by side: the main
 * section (shared stubs, then every op in op order) and the cold section (out-of-line paths:
 * gas exits, panic stubs, slow accesses); jumps are fixed up once both are laid out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "jit/jit_internal.h"
#include "jit/x86.h"
#include "util/error.h"

/* Host registers for guest registers. rax and rcx are scratch, rdx holds the gas counter, rsp
 * is the frame (guest accesses address the window through the gs segment base, JIT-2; r15 is
 * not used): eleven remain for thirteen guest registers. Each program
 * gives them to its eleven most used guest registers (counted in one pass over the ops); the
 * other two live in the frame. */
static const uint8_t g_pool[11] = {RBX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, R14};
#define GAS RDX

#define FR(field) ((int32_t)offsetof(jv_jit_frame, field))

/* ---- Layout and fixups -------------------------------------------------------------------------
 * Both sections are emitted in place, in one anonymous read-write mapping that becomes
 * read+execute when done: the main section at offset 0, the cold section at a fixed offset past
 * the largest main section the program can produce (MAX_MAIN_OP bytes per op, checked per op),
 * so every rel32 whose target is already known (stubs, cold code, earlier ops) is written at
 * once. Only forward branches to later ops are recorded and patched at the end. */
#define MAX_MAIN_OP 160u /* the largest op template, with margin */
#define MAX_COLD_OP 96u
/* A block that is only reached by a jump (the op before it never falls through) starts at a
 * multiple of BLOCK_ALIGN, padded with int3 that never runs. Measured (docs/BENCHMARKS.md): the
 * calls workload's djump targets run 1.3x faster aligned; 16 bytes gains nothing, and aligning
 * blocks entered by fallthrough too executes the padding and gains nothing more. */
#define BLOCK_ALIGN 32u
#define STUB_BYTES 2048u
enum { SEC_MAIN = 0, SEC_COLD = 1 };
enum { T_OP, T_MAIN, T_COLD };
typedef struct jfix {
    uint32_t site;   /* offset of the rel32 in its section */
    uint32_t target; /* op index, or offset in the target section */
    uint8_t sec, kind;
} jfix;

typedef struct jc {
    xbuf b[2];
    jfix *fx;
    size_t nfx, cfx;
    bool oom;
    const javm_program *p;
    jv_jit_code *code;
    uint32_t x_exit, x_synced, x_panic, x_halt, x_host, x_oog, x_slow, x_wrap; /* main offsets */
    uint32_t panic_stub;     /* cold offset of the current op's panic stub, or UINT32_MAX */
    int8_t map[JV_PVM_NUM_REGS]; /* guest register -> host register, -1 = in the frame */
    int8_t ucnt;             /* host register of frame.uncounted while code runs, or -1 */
    uint32_t cur;            /* current op index */
    size_t cold_off;         /* offset of the cold section in the mapping */
    size_t tab_off;          /* offset of the djump table in the mapping (before the cold section) */
    uint32_t x_djump_bad;    /* main offset of the stub of an invalid table entry */
} jc;

static void patch(jc *c, unsigned sec, size_t site, unsigned kind, uint32_t target) {
    size_t at = (sec == SEC_COLD ? c->cold_off : 0) + site, to;
    if (kind == T_OP) to = c->code->op_off[target];
    else if (kind == T_MAIN) to = target;
    else to = c->cold_off + target;
    int32_t rel = (int32_t)((int64_t)to - (int64_t)(at + 4));
    memcpy(c->b[sec].p + site, &rel, 4);
}

static void fix(jc *c, unsigned sec, size_t site, unsigned kind, uint32_t target) {
    if (c->b[sec].oom) return;
    if (kind != T_OP || target <= c->cur) {
        patch(c, sec, site, kind, target);
        return;
    }
    if (c->nfx == c->cfx) {
        size_t n = c->cfx ? c->cfx * 2 : 1024;
        jfix *q = realloc(c->fx, n * sizeof *q);
        if (!q) {
            c->oom = true;
            return;
        }
        c->fx = q;
        c->cfx = n;
    }
    c->fx[c->nfx++] = (jfix){(uint32_t)site, target, (uint8_t)sec, (uint8_t)kind};
}

#define MB (&c->b[SEC_MAIN])
#define CB (&c->b[SEC_COLD])

/* Guest register operand. */
static inline bool host_(const jc *c, unsigned g) { return c->map[g] >= 0; }
static inline unsigned H_(const jc *c, unsigned g) { return (unsigned)c->map[g]; }
static inline xrm G_(const jc *c, unsigned g) {
    return host_(c, g) ? R(H_(c, g)) : M(RSP, FR(regs) + 8 * (int32_t)g);
}
/* The frame's copy of everything host registers hold: the guest registers and, in a program
 * that has one, the uncounted register. */
static void store_host_regs(const jc *c, xbuf *b, int32_t bias) {
    for (unsigned g = 0; g < JV_PVM_NUM_REGS; g++)
        if (host_(c, g)) x_mov_rm_r(b, XW, M(RSP, bias + FR(regs) + 8 * (int32_t)g), H_(c, g));
    if (c->ucnt >= 0) x_mov_rm_r(b, XW, M(RSP, bias + FR(uncounted)), (unsigned)c->ucnt);
}
static void load_host_regs(const jc *c, xbuf *b, int32_t bias) {
    for (unsigned g = 0; g < JV_PVM_NUM_REGS; g++)
        if (host_(c, g)) x_mov_r_rm(b, XW, H_(c, g), M(RSP, bias + FR(regs) + 8 * (int32_t)g));
    if (c->ucnt >= 0) x_mov_r_rm(b, XW, (unsigned)c->ucnt, M(RSP, bias + FR(uncounted)));
}

/* Jumps from section `sec` of buffer b to a target. */
static void jmp_to(jc *c, unsigned sec, unsigned kind, uint32_t target) {
    fix(c, sec, x_jmp32(&c->b[sec]), kind, target);
}
static void jcc_to(jc *c, unsigned sec, unsigned cc, unsigned kind, uint32_t target) {
    fix(c, sec, x_jcc32(&c->b[sec], cc), kind, target);
}

/* The current op's panic stub in the cold section (made on first use). */
static uint32_t panic_stub(jc *c) {
    if (c->panic_stub == UINT32_MAX) {
        c->panic_stub = (uint32_t)CB->len;
        x_mov_r_imm64(CB, RAX, c->cur);
        jmp_to(c, SEC_COLD, T_MAIN, c->x_panic);
    }
    return c->panic_stub;
}

/* A jump (or conditional jump) to the gate op t (GAS or fused), or to the panic stub when t is invalid. */
static void branch(jc *c, int cc, uint32_t t) {
    unsigned kind = T_OP;
    uint32_t target = t;
    if (t == JV_PVM_NONE) {
        kind = T_COLD;
        target = panic_stub(c);
    }
    if (cc < 0) jmp_to(c, SEC_MAIN, kind, target);
    else jcc_to(c, SEC_MAIN, (unsigned)cc, kind, target);
}

static uint16_t g_frame_mask; /* jv_jit_set_frame_mask */
void jv_jit_set_frame_mask(uint16_t mask) { __atomic_store_n(&g_frame_mask, mask, __ATOMIC_RELAXED); }

/* The eleven most used guest registers get host registers (ties: the lower index). */
static void assign_registers(jc *c) {
    uint64_t uses[JV_PVM_NUM_REGS] = {0};
    uint16_t forced = __atomic_load_n(&g_frame_mask, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < c->p->nops; i++) {
        const jv_pvm_op *o = &c->p->ops[i];
        if (o->iop == JV_I_GAS || o->iop == JV_I_ecalli) continue; /* (no registers) */
        if (o->a < JV_PVM_NUM_REGS) uses[o->a]++;
        if (o->b < JV_PVM_NUM_REGS) uses[o->b]++;
        if (!jv_pvm_op_is_fused(o) && o->d < JV_PVM_NUM_REGS) uses[o->d]++; /* (d: its cost) */
    }
    /* a program with a block whose cost is not its instruction count (gp08) keeps the
     * difference in the last pool register: one register add per such block, where a frame
     * counter would chain a load and a store through memory from block to block */
    unsigned pool = sizeof g_pool;
    c->ucnt = -1;
    for (uint32_t i = 0; i < c->p->nops; i++)
        if (jv_pvm_op_is_gate(&c->p->ops[i]) &&
            jv_pvm_gas_cost(&c->p->ops[i]) != jv_pvm_gas_count(&c->p->ops[i])) {
            c->ucnt = (int8_t)g_pool[--pool];
            break;
        }
    bool taken[JV_PVM_NUM_REGS] = {false};
    for (unsigned h = 0; h < pool; h++) {
        int best = -1;
        for (unsigned g = 0; g < JV_PVM_NUM_REGS; g++)
            if (!taken[g] && !((forced >> g) & 1) && (best < 0 || uses[g] > uses[best]))
                best = (int)g;
        if (best >= 0) taken[best] = true;
    }
    for (unsigned g = 0, h = 0; g < JV_PVM_NUM_REGS; g++)
        c->map[g] = taken[g] ? (int8_t)g_pool[h++] : -1;
}

/* ---- Shared stubs ----------------------------------------------------------------------------- */
static const unsigned saved[6] = {RBX, RBP, R12, R13, R14, R15};

static void emit_stubs(jc *c) {
    xbuf *b = MB;
    const int32_t frame = (int32_t)sizeof(jv_jit_frame);
    /* entry(frame *rdi, target rsi) */
    c->code->off_entry = (uint32_t)b->len;
    for (unsigned i = 0; i < 6; i++) x_push(b, saved[i]);
    x_alu_rm_i(b, XW, ALU_SUB, R(RSP), frame);
    x_mov_r_rm(b, XW, RAX, R(RSI));
    x_mov_r_rm(b, XW, RSI, R(RDI));
    x_mov_r_rm(b, XW, RDI, R(RSP));
    x_mov_r_imm64(b, RCX, JV_JIT_FRAME_QWORDS);
    x_rep_movsq(b);
    load_host_regs(c, b, 0);
    x_mov_r_rm(b, XW, GAS, M(RSP, FR(gas)));
    x_jmp_rm(b, R(RAX));
    /* exit: host registers live */
    c->x_exit = (uint32_t)b->len;
    c->code->off_exit = c->x_exit;
    store_host_regs(c, b, 0);
    x_mov_rm_r(b, XW, M(RSP, FR(gas)), GAS);
    c->x_synced = (uint32_t)b->len;
    x_mov_r_rm(b, XW, RSI, R(RSP));
    x_mov_r_rm(b, XW, RDI, M(RSP, FR(self)));
    x_mov_r_imm64(b, RCX, JV_JIT_FRAME_QWORDS);
    x_rep_movsq(b);
    x_alu_rm_i(b, XW, ALU_ADD, R(RSP), frame);
    for (int i = 5; i >= 0; i--) x_pop(b, saved[i]);
    x_ret(b);
    /* exit_K: eax = op index */
    static const unsigned kinds[4] = {JV_JX_PANIC, JV_JX_HALT, JV_JX_HOST, JV_JX_OOG};
    uint32_t *offs[4] = {&c->x_panic, &c->x_halt, &c->x_host, &c->x_oog};
    for (unsigned k = 0; k < 4; k++) {
        *offs[k] = (uint32_t)b->len;
        x_mov_rm_i(b, 0, M(RSP, FR(exit_kind)), (int32_t)kinds[k]);
        x_mov_rm_r(b, 0, M(RSP, FR(exit_op)), RAX);
        jmp_to(c, SEC_MAIN, T_MAIN, c->x_exit);
    }
    /* djump_bad: where an invalid djump table entry leads; the djump stored its op index */
    c->x_djump_bad = (uint32_t)b->len;
    x_mov_r_rm(b, 0, RAX, M(RSP, FR(exit_op)));
    jmp_to(c, SEC_MAIN, T_MAIN, c->x_panic);
    /* slow: called with eax = guest address, ecx = op index; the frame is at rsp + 8 */
    c->x_slow = (uint32_t)b->len;
    store_host_regs(c, b, 8);
    x_mov_rm_r(b, XW, M(RSP, 8 + FR(gas)), GAS);
    x_lea(b, XW, RDI, M(RSP, 8));
    x_mov_r_rm(b, 0, RSI, R(RCX));
    x_mov_r_rm(b, 0, RDX, R(RAX));
    x_alu_rm_i(b, XW, ALU_SUB, R(RSP), 8);
    x_mov_r_imm64(b, RAX, (uint64_t)(uintptr_t)&jv_jit_slow);
    x_call_rm(b, R(RAX));
    x_alu_rm_i(b, XW, ALU_ADD, R(RSP), 8);
    x_test_rm_r(b, 0, R(RAX), RAX);
    size_t j = x_jcc8(b, CC_NE);
    load_host_regs(c, b, 8);
    x_mov_r_rm(b, XW, GAS, M(RSP, 8 + FR(gas)));
    x_ret(b);
    x_patch8(b, j);
    x_alu_rm_i(b, XW, ALU_ADD, R(RSP), 8); /* drop the return address */
    jmp_to(c, SEC_MAIN, T_MAIN, c->x_synced);
    /* wrap: where the fault callback sends an access that wraps at 2^32 (JIT-2), with eax = the
     * guest address, ecx = the op index and frame.wrap_ret = the end of the op: a call of the
     * slow path that returns there (push [rsp + d] reads the frame before rsp moves) */
    c->x_wrap = (uint32_t)b->len;
    c->code->off_wrap = c->x_wrap;
    x_push_rm(b, M(RSP, FR(wrap_ret)));
    jmp_to(c, SEC_MAIN, T_MAIN, c->x_slow);
}

/* ---- Operand helpers ---------------------------------------------------------------------------- */
/* dst (host register) = guest g, 64 or 32 bits (f = XW or 0). */
static void ldg(jc *c, unsigned f, unsigned dst, unsigned g) {
    if (host_(c, g) && H_(c, g) == dst) return;
    x_mov_r_rm(MB, f, dst, G_(c, g));
}
static void stg(jc *c, unsigned g, unsigned src) {
    if (host_(c, g) && H_(c, g) == src) return;
    x_mov_rm_r(MB, XW, G_(c, g), src);
}
/* guest g = 64-bit constant */
static void set_imm(jc *c, unsigned g, uint64_t v) {
    if (host_(c, g)) x_mov_r_imm64(MB, H_(c, g), v);
    else if (fits32((int64_t)v)) x_mov_rm_i(MB, XW, G_(c, g), (int32_t)(int64_t)v);
    else {
        x_mov_r_imm64(MB, RAX, v);
        stg(c, g, RAX);
    }
}
/* flags = compare guest a with guest b (uses rcx when both live in the frame) */
static void cmp_gg(jc *c, unsigned a, unsigned b) {
    if (host_(c, b)) x_alu_rm_r(MB, XW, ALU_CMP, G_(c, a), H_(c, b));
    else if (host_(c, a)) x_alu_r_rm(MB, XW, ALU_CMP, H_(c, a), G_(c, b));
    else {
        ldg(c, XW, RCX, b);
        x_alu_rm_r(MB, XW, ALU_CMP, G_(c, a), RCX);
    }
}
/* flags = compare guest a with a constant (uses rcx for a constant beyond 32 bits) */
static void cmp_gi(jc *c, unsigned a, uint64_t x) {
    if (x == 0 && host_(c, a)) x_test_rm_r(MB, XW, R(H_(c, a)), H_(c, a));
    else if (fits32((int64_t)x)) x_alu_rm_i(MB, XW, ALU_CMP, G_(c, a), (int32_t)(int64_t)x);
    else {
        x_mov_r_imm64(MB, RCX, x);
        x_alu_rm_r(MB, XW, ALU_CMP, G_(c, a), RCX);
    }
}
/* guest d = sign-extended low half of host register r */
static void st_sx32r(jc *c, unsigned d, unsigned r) {
    if (host_(c, d)) x_movsxd(MB, H_(c, d), R(r));
    else {
        x_movsxd(MB, RAX, R(r));
        stg(c, d, RAX);
    }
}
static void st_sx32(jc *c, unsigned d) { st_sx32r(c, d, RAX); }
/* The register an op computing guest d may work in: d's own when it is a host register that
 * no later operand read needs (d != the other source), else rax. */
static unsigned work(const jc *c, unsigned d, int other) {
    return host_(c, d) && (other < 0 || (unsigned)other != d) ? H_(c, d) : RAX;
}

/* φD = φA op φB (64-bit add/sub/and/or/xor) */
static void alu3(jc *c, xalu op, unsigned d, unsigned a, unsigned b) {
    if (op != ALU_SUB && d == b && d != a) { /* commutative: φD = φD op φA */
        b = a;
        a = d;
    }
    if (op == ALU_ADD && host_(c, d) && host_(c, a) && host_(c, b) && d != a && d != b) {
        x_lea(MB, XW, H_(c, d), MX(H_(c, a), H_(c, b), 0, 0)); /* three operands, one op */
        return;
    }
    if (host_(c, d) && d != b) {
        ldg(c, XW, H_(c, d), a);
        x_alu_r_rm(MB, XW, op, H_(c, d), G_(c, b));
        return;
    }
    ldg(c, XW, RAX, a);
    x_alu_r_rm(MB, XW, op, RAX, G_(c, b));
    stg(c, d, RAX);
}
/* φA = φB op νX (64-bit) */
static void alui(jc *c, xalu op, unsigned a, unsigned b, uint64_t x) {
    unsigned r = host_(c, a) ? H_(c, a) : RAX;
    if (!fits32((int64_t)x)) {
        x_mov_r_imm64(MB, RCX, x);
        ldg(c, XW, r, b);
        x_alu_r_rm(MB, XW, op, r, R(RCX));
    } else if (op == ALU_ADD && x != 0 && host_(c, a) && host_(c, b) && a != b) {
        x_lea(MB, XW, r, M(H_(c, b), (int32_t)(int64_t)x)); /* three operands, one op */
    } else {
        ldg(c, XW, r, b);
        if (!(x == 0 && (op == ALU_ADD || op == ALU_OR || op == ALU_XOR)))
            x_alu_rm_i(MB, XW, op, R(r), (int32_t)(int64_t)x);
    }
    stg(c, a, r);
}
/* φd = (sign-extended) (φa op φb) in 32 bits */
static void alu3_32(jc *c, xalu op, unsigned d, unsigned a, unsigned b) {
    unsigned r = work(c, d, (int)b);
    ldg(c, 0, r, a);
    x_alu_r_rm(MB, 0, op, r, G_(c, b));
    st_sx32r(c, d, r);
}
/* shifts/rotates: φd = φa sh (φb mod w) */
static void sh3(jc *c, unsigned f, xsh op, unsigned d, unsigned a, unsigned b) {
    unsigned r = work(c, d, -1); /* the count is in rcx before r is written */
    ldg(c, 0, RCX, b);
    ldg(c, f, r, a);
    x_sh_cl(MB, f, op, R(r));
    if (f) stg(c, d, r);
    else st_sx32r(c, d, r);
}
/* φa = φb sh (x mod w) */
static void shi(jc *c, unsigned f, xsh op, unsigned a, unsigned b, uint64_t x) {
    unsigned n = (unsigned)(x & (f ? 63 : 31));
    unsigned r = work(c, a, -1);
    ldg(c, f, r, b);
    if (n) x_sh_i(MB, f, op, R(r), (uint8_t)n);
    if (f) stg(c, a, r);
    else st_sx32r(c, a, r);
}
/* φa = x sh (φb mod w) (the _alt forms) */
static void shalt(jc *c, unsigned f, xsh op, unsigned a, unsigned b, uint64_t x) {
    unsigned r = work(c, a, -1);
    ldg(c, 0, RCX, b);
    if (f) x_mov_r_imm64(MB, r, x);
    else x_mov_r_imm64(MB, r, (uint32_t)x);
    x_sh_cl(MB, f, op, R(r));
    if (f) stg(c, a, r);
    else st_sx32r(c, a, r);
}
/* Division family (PVM §5.3 rules, never an x86 #DE): kind 0 div, 1 rem. */
static void divop(jc *c, unsigned f, bool sgn, bool rem, unsigned d, unsigned a, unsigned b) {
    xbuf *m = MB;
    ldg(c, f, RCX, b);
    ldg(c, f, RAX, a);
    x_mov_rm_r(m, XW, M(RSP, FR(gas)), GAS); /* rdx is needed by div */
    x_test_rm_r(m, f, R(RCX), RCX);
    size_t jz = x_jcc8(m, CC_E);
    size_t jm1 = 0;
    if (sgn) {
        x_alu_rm_i(m, f, ALU_CMP, R(RCX), -1);
        jm1 = x_jcc8(m, CC_E);
        if (f) x_cqo(m);
        else xb_u8(m, 0x99); /* cdq */
        x_f7(m, f, F7_IDIV, R(RCX));
    } else {
        x_alu_r_rm(m, 0, ALU_XOR, RDX, R(RDX));
        x_f7(m, f, F7_DIV, R(RCX));
    }
    size_t jd1 = x_jmp8(m), jd2 = 0;
    if (sgn) { /* divisor -1: quotient -a (MIN stays MIN), remainder 0 */
        x_patch8(m, jm1);
        if (rem) x_alu_r_rm(m, 0, ALU_XOR, RDX, R(RDX));
        else x_f7(m, f, F7_NEG, R(RAX));
        jd2 = x_jmp8(m);
    }
    x_patch8(m, jz); /* divisor 0: quotient all ones, remainder a */
    if (rem) x_mov_r_rm(m, XW, RDX, R(RAX));
    else x_mov_rm_i(m, XW, R(RAX), -1);
    x_patch8(m, jd1);
    if (sgn) x_patch8(m, jd2);
    if (rem) x_mov_r_rm(m, XW, RAX, R(RDX));
    x_mov_r_rm(m, XW, GAS, M(RSP, FR(gas)));
    if (f) stg(c, d, RAX);
    else st_sx32(c, d);
}
/* φd = [φa cmp (imm ? x : φb)] via setcc, three instructions when d is a host register:
 * `xor d, d; cmp; setcc d8` when d is not a compared operand (the xor must come before the cmp),
 * else `cmp; setcc d8; movzx d, d8`. A frame-resident d goes through eax. */
static void setcc_to(jc *c, unsigned cc, unsigned d, unsigned a, unsigned b, bool imm, uint64_t x) {
    bool compared = d == a || (!imm && d == b);
    unsigned r = host_(c, d) ? H_(c, d) : RAX;
    if (!(host_(c, d) && compared)) x_alu_r_rm(MB, 0, ALU_XOR, r, R(r));
    if (imm) cmp_gi(c, a, x);
    else cmp_gg(c, a, b);
    x_setcc(MB, cc, r);
    if (host_(c, d) && compared) x_movzx8(MB, r, R(r));
    stg(c, d, r);
}
/* φd = cc ? src : φd, with flags already set */
static void cmov_to(jc *c, unsigned cc, unsigned d, xrm src) {
    if (host_(c, d)) x_cmov(MB, XW, cc, H_(c, d), src);
    else {
        ldg(c, XW, RAX, d);
        x_cmov(MB, XW, cc, RAX, src);
        stg(c, d, RAX);
    }
}
static void minmax(jc *c, unsigned cc, unsigned d, unsigned a, unsigned b) {
    unsigned r = work(c, d, (int)b);
    ldg(c, XW, r, a);
    x_alu_r_rm(MB, XW, ALU_CMP, r, G_(c, b));
    x_cmov(MB, XW, cc, r, G_(c, b));
    stg(c, d, r);
}

/* eax = (φg + disp) mod 2^32: one 32-bit lea from a host register (a mov for disp 0, which
 * the processor may eliminate at rename) */
static void addr32(jc *c, unsigned g, uint32_t disp) {
    if (host_(c, g) && !disp) x_mov_r_rm(MB, 0, RAX, R(H_(c, g)));
    else if (host_(c, g)) x_lea(MB, 0, RAX, M(H_(c, g), (int32_t)disp));
    else {
        x_mov_r_rm(MB, 0, RAX, G_(c, g));
        if (disp) x_alu_rm_i(MB, 0, ALU_ADD, R(RAX), (int32_t)disp);
    }
}

/* ---- Memory accesses ---------------------------------------------------------------------------- */
/* The operand of the access [φbase + x] (JIT-2): gs:[base32 + x] in 32-bit address size, so the
 * processor computes the guest address modulo 2^32 and adds the window (the gs base of the run,
 * jv_jit_run) in the access itself; a base register in the frame is loaded into eax first, a
 * constant address is gs:[x]. A dynamic address has no inline wrap check: an access that wraps
 * at 2^32 runs into the guard beyond the window and the fault callback sends it to the slow path
 * (run.c). Returns false when the access must go to the slow path unconditionally (a constant
 * address that may wrap), which has then been emitted. */
static bool mem_operand(jc *c, int basereg, uint64_t x, xrm *m) {
    uint32_t disp = (uint32_t)x;
    if (basereg < 0) {
        if (disp > JV_PAGED_WRAP_LIMIT) {
            x_mov_r_imm64(MB, RAX, disp);
            x_mov_r_imm64(MB, RCX, c->cur);
            fix(c, SEC_MAIN, x_call32(MB), T_MAIN, c->x_slow);
            return false;
        }
        *m = MGA(disp);
    } else if (host_(c, (unsigned)basereg)) {
        *m = MG(H_(c, (unsigned)basereg), disp);
    } else {
        x_mov_r_rm(MB, 0, RAX, G_(c, (unsigned)basereg));
        *m = MG(RAX, disp);
    }
    return true;
}

static void emit_load(jc *c, unsigned iop, unsigned dst, int basereg, uint64_t x) {
    xrm m;
    if (!mem_operand(c, basereg, x, &m)) return;
    unsigned r = host_(c, dst) ? H_(c, dst) : RCX;
    switch (iop) {
    case JV_I_load_u8: case JV_I_load_ind_u8: x_movzx8(MB, r, m); break;
    case JV_I_load_i8: case JV_I_load_ind_i8: x_movsx8(MB, r, m); break;
    case JV_I_load_u16: case JV_I_load_ind_u16: x_movzx16(MB, r, m); break;
    case JV_I_load_i16: case JV_I_load_ind_i16: x_movsx16(MB, r, m); break;
    case JV_I_load_u32: case JV_I_load_ind_u32: x_mov_r_rm(MB, 0, r, m); break;
    case JV_I_load_i32: case JV_I_load_ind_i32: x_movsxd(MB, r, m); break;
    default: x_mov_r_rm(MB, XW, r, m); break;
    }
    if (!host_(c, dst)) stg(c, dst, RCX);
}

/* Store of guest register src (src >= 0) or the constant y. */
static void emit_store(jc *c, unsigned width, int src, uint64_t y, int basereg, uint64_t x) {
    unsigned v = RCX;
    if (src >= 0 && host_(c, (unsigned)src)) v = H_(c, (unsigned)src);
    else if (src >= 0) ldg(c, XW, RCX, (unsigned)src);
    else if (width == 8 && !fits32((int64_t)y)) x_mov_r_imm64(MB, RCX, y);
    xrm m;
    if (!mem_operand(c, basereg, x, &m)) return;
    if (src >= 0 || (width == 8 && !fits32((int64_t)y))) {
        switch (width) {
        case 1: x_mov8_rm_r(MB, m, v); break;
        case 2: x_mov_rm_r(MB, X66, m, v); break;
        case 4: x_mov_rm_r(MB, 0, m, v); break;
        default: x_mov_rm_r(MB, XW, m, v); break;
        }
    } else {
        switch (width) {
        case 1: x_mov8_rm_i(MB, m, (uint8_t)y); break;
        case 2: x_mov_rm_i(MB, X66, m, (int32_t)(uint16_t)y); break;
        case 4: x_mov_rm_i(MB, 0, m, (int32_t)(uint32_t)y); break;
        default: x_mov_rm_i(MB, XW, m, (int32_t)(int64_t)y); break;
        }
    }
}

/* ---- Dynamic jumps (PVM-E2) ----------------------------------------------------------------- */
/* eax = the address a. The native table is indexed by a itself (entries 0 .. 2 x jump count:
 * entry 2(i + 1) is jump-table entry i) and every entry is a native address: entry 0, the odd
 * ones and those whose target is not a block start hold the `djump_bad` stub, which panics
 * with the op index the djump stored in the frame. So one bound check and one indirect jump
 * through the table cover 0, odd, out of range and not a block start. The table lies in the
 * code mapping (read-only), within rel32 reach of every op. */
static void djump(jc *c) {
    xbuf *m = MB;
    uint32_t panic = panic_stub(c);
    /* cold: a beyond the table: halt for a = 0xFFFF0000, else panic */
    uint32_t beyond = (uint32_t)CB->len;
    x_alu_rm_i(CB, 0, ALU_CMP, R(RAX), (int32_t)JV_HALT_ADDRESS);
    jcc_to(c, SEC_COLD, CC_NE, T_COLD, panic);
    x_mov_r_imm64(CB, RAX, c->cur);
    jmp_to(c, SEC_COLD, T_MAIN, c->x_halt);

    if (c->p->jump_count == 0) { /* no table: every address is beyond it */
        jmp_to(c, SEC_MAIN, T_COLD, beyond);
        return;
    }
    x_alu_rm_i(m, 0, ALU_CMP, R(RAX), (int32_t)(2 * c->p->jump_count));
    jcc_to(c, SEC_MAIN, CC_A, T_COLD, beyond);
    fix(c, SEC_MAIN, x_lea_rip(m, XW, RCX), T_MAIN, (uint32_t)c->tab_off);
    x_mov_rm_i(m, 0, M(RSP, FR(exit_op)), (int32_t)c->cur); /* for djump_bad */
    x_jmp_rm(m, MX(RCX, RAX, 3, 0));
}

/* op gas, cost (add or sub of the block cost; rcx holds a cost beyond 32 bits) */
static void gas_imm(xbuf *b, xalu op, int64_t cost) {
    if (fits32(cost)) x_alu_rm_i(b, XW, op, R(GAS), (int32_t)cost);
    else {
        x_mov_r_imm64(b, RCX, (uint64_t)cost);
        x_alu_r_rm(b, XW, op, GAS, R(RCX));
    }
}

/* Ops whose template ends in an unconditional jump: the next op is reached only by jumps. */
static bool no_fallthrough(unsigned iop) {
    return iop == JV_I_jump || iop == JV_I_jump_ind || iop == JV_I_load_imm_jump ||
           iop == JV_I_load_imm_jump_ind || iop == JV_I_trap || iop == JV_I_ecalli;
}

/* ---- One op --------------------------------------------------------------------------------- */
/* A block's gate (a GAS op, or the head of a fused op, PVM-G6): cost, #3 stores, instruction
 * count. */
static javm_status emit_gate(jc *c, int64_t cost, uint64_t stores, uint64_t count) {
    xbuf *m = MB;
    /* sub gas, cost; jl gate: the whole check on the hot path. rdx is biased (rdx = gas -
     * frame.bias, jv_jit_run) by at least the largest #3 block reserve of the program, so
     * passing it passes the reserve gate too; the out-of-line gate decides exactly, as the
     * interpreter does, whenever the biased counter goes negative. The instruction count
     * is derived from the gas charged (jv_jit_run). */
    if (stores > INT32_MAX) return jv_set_error(JAVM_ERR_UNSUPPORTED, "jit: block too large");
    gas_imm(m, ALU_SUB, cost);
    jcc_to(c, SEC_MAIN, CC_L, T_COLD, (uint32_t)CB->len);
    /* cold: the counter before the block, the real gas in rax */
    gas_imm(CB, ALU_ADD, cost);
    /* MEM-12: while a write-ahead batch is open the counter is a lower bound (its pages
     * were pre-charged): settle it first (the slow path on this op reloads the counter) */
    x_alu_rm_i(CB, XW, ALU_CMP, M(RSP, FR(ahead)), 0);
    size_t j_exact = x_jcc8(CB, CC_E);
    x_mov_r_imm64(CB, RCX, c->cur);
    fix(c, SEC_COLD, x_call32(CB), T_MAIN, c->x_slow);
    x_patch8(CB, j_exact);
    x_mov_r_rm(CB, XW, RAX, M(RSP, FR(bias)));
    x_alu_r_rm(CB, XW, ALU_ADD, RAX, R(GAS));
    /* PVM-G1: gas >= cost; PVM-G2 (#3): gas - cost >= stores x reserve, no overflow */
    if (fits32(cost)) x_alu_rm_i(CB, XW, ALU_SUB, R(RAX), (int32_t)cost);
    else {
        x_mov_r_imm64(CB, RCX, (uint64_t)cost);
        x_alu_r_rm(CB, XW, ALU_SUB, RAX, R(RCX));
    }
    size_t j_short = x_jcc8(CB, CC_L), j_over = 0, j_rsv = 0;
    if (stores) {
        x_imul_r_rm_i(CB, XW, RCX, M(RSP, FR(reserve)), (int32_t)stores);
        j_over = x_jcc8(CB, CC_O);
        x_alu_r_rm(CB, XW, ALU_CMP, RAX, R(RCX));
        j_rsv = x_jcc8(CB, CC_L);
    }
    gas_imm(CB, ALU_SUB, cost); /* the gate passes: charge the cost, on with the block */
    jmp_to(c, SEC_COLD, T_MAIN, (uint32_t)MB->len);
    /* out of gas: the counter as before the block */
    x_patch8(CB, j_short);
    if (stores) {
        x_patch8(CB, j_over);
        x_patch8(CB, j_rsv);
    }
    x_mov_r_imm64(CB, RAX, c->cur);
    jmp_to(c, SEC_COLD, T_MAIN, c->x_oog);
    /* statistics: the block's instruction count is its cost under gp07; a block whose cost
     * differs (gp08) records the difference, subtracted at the exit */
    if ((int64_t)count != cost) {
        int64_t diff = cost - (int64_t)count;
        xrm u = R((unsigned)c->ucnt); /* assign_registers saw this block */
        if (fits32(diff)) x_alu_rm_i(m, XW, ALU_ADD, u, (int32_t)diff);
        else {
            x_mov_r_imm64(m, RAX, (uint64_t)diff);
            x_alu_rm_r(m, XW, ALU_ADD, u, RAX);
        }
    }
    return JAVM_OK;
}

static javm_status emit_op(jc *c, const jv_pvm_op *o) {
    xbuf *m = MB;
    unsigned a = o->a, b = o->b, d = o->d;
    uint64_t x = o->x, y = jv_pvm_op_imm2(o);
    if (jv_pvm_op_is_mem(o)) { /* one operand shape (pvm.h): [φb + x], data φa or y */
        int base = o->b == JV_PVM_REG_ZERO ? -1 : (int)o->b;
        if (!jv_pvm_op_is_store(o)) emit_load(c, o->iop, a, base, x);
        else if (jv_pvm_op_stores_imm(o))
            emit_store(c, jv_pvm_op_width(o), -1, y, base, x);
        else emit_store(c, jv_pvm_op_width(o), (int)a, 0, base, x);
        return JAVM_OK;
    }
    if (jv_pvm_op_is_gate(o)) { /* a GAS op, or the gate a fused op carries (PVM-G6) */
        javm_status s = emit_gate(c, (int64_t)jv_pvm_gas_cost(o), jv_pvm_gas_stores(o),
                                  jv_pvm_gas_count(o));
        if (s != JAVM_OK) return s;
    }
    uint32_t t = jv_pvm_op_target(o);
    switch ((enum jv_pvm_iop)jv_pvm_op_base(o)) {
    case JV_I_GAS: break;
    case JV_I_trap:
        x_mov_r_imm64(m, RAX, c->cur);
        jmp_to(c, SEC_MAIN, T_MAIN, c->x_panic);
        break;
    case JV_I_fallthrough: break;
    case JV_I_unlikely: break; /* a gas-model hint only (gp08) */
    case JV_I_ecalli:
        x_mov_r_imm64(m, RAX, c->cur);
        jmp_to(c, SEC_MAIN, T_MAIN, c->x_host);
        break;
    case JV_I_load_imm_64:
    case JV_I_load_imm: set_imm(c, a, x); break;
    case JV_I_jump: branch(c, -1, t); break;
    case JV_I_jump_ind:
        addr32(c, a, (uint32_t)x);
        djump(c);
        break;
        break;
    case JV_I_load_imm_jump:
        set_imm(c, a, x);
        branch(c, -1, t);
        break;
    case JV_I_branch_eq_imm: cmp_gi(c, a, x); branch(c, CC_E, t); break;
    case JV_I_branch_ne_imm: cmp_gi(c, a, x); branch(c, CC_NE, t); break;
    case JV_I_branch_lt_u_imm: cmp_gi(c, a, x); branch(c, CC_B, t); break;
    case JV_I_branch_le_u_imm: cmp_gi(c, a, x); branch(c, CC_BE, t); break;
    case JV_I_branch_ge_u_imm: cmp_gi(c, a, x); branch(c, CC_AE, t); break;
    case JV_I_branch_gt_u_imm: cmp_gi(c, a, x); branch(c, CC_A, t); break;
    case JV_I_branch_lt_s_imm: cmp_gi(c, a, x); branch(c, CC_L, t); break;
    case JV_I_branch_le_s_imm: cmp_gi(c, a, x); branch(c, CC_LE, t); break;
    case JV_I_branch_ge_s_imm: cmp_gi(c, a, x); branch(c, CC_GE, t); break;
    case JV_I_branch_gt_s_imm: cmp_gi(c, a, x); branch(c, CC_G, t); break;
    case JV_I_move_reg:
        if (host_(c, d)) ldg(c, XW, H_(c, d), a);
        else if (host_(c, a)) stg(c, d, H_(c, a));
        else {
            ldg(c, XW, RAX, a);
            stg(c, d, RAX);
        }
        break;
    case JV_I_sbrk:
        x_mov_r_imm64(m, RCX, c->cur);
        fix(c, SEC_MAIN, x_call32(m), T_MAIN, c->x_slow);
        break;
    case JV_I_count_set_bits_64: x_popcnt(m, XW, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_count_set_bits_32: x_popcnt(m, 0, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_leading_zero_bits_64: x_lzcnt(m, XW, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_leading_zero_bits_32: x_lzcnt(m, 0, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_trailing_zero_bits_64: x_tzcnt(m, XW, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_trailing_zero_bits_32: x_tzcnt(m, 0, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_sign_extend_8: x_movsx8(m, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_sign_extend_16: x_movsx16(m, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_zero_extend_16: x_movzx16(m, work(c, d, -1), G_(c, a)); stg(c, d, work(c, d, -1)); break;
    case JV_I_reverse_bytes:
        ldg(c, XW, work(c, d, -1), a);
        x_bswap64(m, work(c, d, -1));
        stg(c, d, work(c, d, -1));
        break;
        break;
    case JV_I_add_imm_32:
        if (host_(c, b)) x_lea(m, 0, work(c, a, -1), M(H_(c, b), (int32_t)(uint32_t)x));
        else {
            ldg(c, 0, work(c, a, -1), b);
            if ((uint32_t)x) x_alu_rm_i(m, 0, ALU_ADD, R(work(c, a, -1)), (int32_t)(uint32_t)x);
        }
        st_sx32r(c, a, work(c, a, -1));
        break;
    case JV_I_and_imm: alui(c, ALU_AND, a, b, x); break;
    case JV_I_xor_imm: alui(c, ALU_XOR, a, b, x); break;
    case JV_I_or_imm: alui(c, ALU_OR, a, b, x); break;
    case JV_I_mul_imm_32:
        x_imul_r_rm_i(m, 0, work(c, a, -1), G_(c, b), (int32_t)(uint32_t)x);
        st_sx32r(c, a, work(c, a, -1));
        break;
    case JV_I_set_lt_u_imm: setcc_to(c, CC_B, a, b, 0, true, x); break;
    case JV_I_set_lt_s_imm: setcc_to(c, CC_L, a, b, 0, true, x); break;
    case JV_I_shlo_l_imm_32: shi(c, 0, SH_SHL, a, b, x); break;
    case JV_I_shlo_r_imm_32: shi(c, 0, SH_SHR, a, b, x); break;
    case JV_I_shar_r_imm_32: shi(c, 0, SH_SAR, a, b, x); break;
    case JV_I_neg_add_imm_32:
        x_mov_r_imm64(m, RAX, (uint32_t)x);
        x_alu_r_rm(m, 0, ALU_SUB, RAX, G_(c, b));
        st_sx32(c, a);
        break;
    case JV_I_set_gt_u_imm: setcc_to(c, CC_A, a, b, 0, true, x); break;
    case JV_I_set_gt_s_imm: setcc_to(c, CC_G, a, b, 0, true, x); break;
    case JV_I_shlo_l_imm_alt_32: shalt(c, 0, SH_SHL, a, b, x); break;
    case JV_I_shlo_r_imm_alt_32: shalt(c, 0, SH_SHR, a, b, x); break;
    case JV_I_shar_r_imm_alt_32: shalt(c, 0, SH_SAR, a, b, x); break;
    case JV_I_cmov_iz_imm:
    case JV_I_cmov_nz_imm:
        x_mov_r_imm64(m, RCX, x);
        cmp_gi(c, b, 0); /* test b, b for a host register */
        cmov_to(c, o->iop == JV_I_cmov_iz_imm ? CC_E : CC_NE, a, R(RCX));
        break;
    case JV_I_add_imm_64: alui(c, ALU_ADD, a, b, x); break;
    case JV_I_mul_imm_64:
        if (fits32((int64_t)x)) x_imul_r_rm_i(m, XW, work(c, a, -1), G_(c, b), (int32_t)(int64_t)x);
        else {
            x_mov_r_imm64(m, work(c, a, (int)b), x);
            x_imul_r_rm(m, XW, work(c, a, (int)b), G_(c, b));
        }
        stg(c, a, fits32((int64_t)x) ? work(c, a, -1) : work(c, a, (int)b));
        break;
    case JV_I_shlo_l_imm_64: shi(c, XW, SH_SHL, a, b, x); break;
    case JV_I_shlo_r_imm_64: shi(c, XW, SH_SHR, a, b, x); break;
    case JV_I_shar_r_imm_64: shi(c, XW, SH_SAR, a, b, x); break;
    case JV_I_neg_add_imm_64:
        x_mov_r_imm64(m, work(c, a, (int)b), x);
        x_alu_r_rm(m, XW, ALU_SUB, work(c, a, (int)b), G_(c, b));
        stg(c, a, work(c, a, (int)b));
        break;
    case JV_I_shlo_l_imm_alt_64: shalt(c, XW, SH_SHL, a, b, x); break;
    case JV_I_shlo_r_imm_alt_64: shalt(c, XW, SH_SHR, a, b, x); break;
    case JV_I_shar_r_imm_alt_64: shalt(c, XW, SH_SAR, a, b, x); break;
    case JV_I_rot_r_64_imm: shi(c, XW, SH_ROR, a, b, x); break;
    case JV_I_rot_r_64_imm_alt: shalt(c, XW, SH_ROR, a, b, x); break;
    case JV_I_rot_r_32_imm: shi(c, 0, SH_ROR, a, b, x); break;
    case JV_I_rot_r_32_imm_alt: shalt(c, 0, SH_ROR, a, b, x); break;
    case JV_I_branch_eq: cmp_gg(c, a, b); branch(c, CC_E, t); break;
    case JV_I_branch_ne: cmp_gg(c, a, b); branch(c, CC_NE, t); break;
    case JV_I_branch_lt_u: cmp_gg(c, a, b); branch(c, CC_B, t); break;
    case JV_I_branch_lt_s: cmp_gg(c, a, b); branch(c, CC_L, t); break;
    case JV_I_branch_ge_u: cmp_gg(c, a, b); branch(c, CC_AE, t); break;
    case JV_I_branch_ge_s: cmp_gg(c, a, b); branch(c, CC_GE, t); break;
    case JV_I_load_imm_jump_ind: /* the target comes from the old φB; φA is written first */
        addr32(c, b, (uint32_t)y);
        if (host_(c, a)) x_mov_r_imm64(m, H_(c, a), x);
        else if (fits32((int64_t)x)) x_mov_rm_i(m, XW, G_(c, a), (int32_t)(int64_t)x);
        else {
            x_mov_r_imm64(m, RCX, x);
            stg(c, a, RCX);
        }
        djump(c);
        break;
    case JV_I_add_32: alu3_32(c, ALU_ADD, d, a, b); break;
    case JV_I_sub_32: alu3_32(c, ALU_SUB, d, a, b); break;
    case JV_I_mul_32:
        ldg(c, 0, RAX, a);
        x_imul_r_rm(m, 0, RAX, G_(c, b));
        st_sx32(c, d);
        break;
    case JV_I_div_u_32: divop(c, 0, false, false, d, a, b); break;
    case JV_I_div_s_32: divop(c, 0, true, false, d, a, b); break;
    case JV_I_rem_u_32: divop(c, 0, false, true, d, a, b); break;
    case JV_I_rem_s_32: divop(c, 0, true, true, d, a, b); break;
    case JV_I_shlo_l_32: sh3(c, 0, SH_SHL, d, a, b); break;
    case JV_I_shlo_r_32: sh3(c, 0, SH_SHR, d, a, b); break;
    case JV_I_shar_r_32: sh3(c, 0, SH_SAR, d, a, b); break;
    case JV_I_add_64: alu3(c, ALU_ADD, d, a, b); break;
    case JV_I_sub_64: alu3(c, ALU_SUB, d, a, b); break;
    case JV_I_mul_64:
        if (d == b && d != a) { /* commutative: φD = φD × φA */
            b = a;
            a = d;
        }
        if (host_(c, d) && d != b) {
            ldg(c, XW, H_(c, d), a);
            x_imul_r_rm(m, XW, H_(c, d), G_(c, b));
        } else {
            ldg(c, XW, RAX, a);
            x_imul_r_rm(m, XW, RAX, G_(c, b));
            stg(c, d, RAX);
        }
        break;
    case JV_I_div_u_64: divop(c, XW, false, false, d, a, b); break;
    case JV_I_div_s_64: divop(c, XW, true, false, d, a, b); break;
    case JV_I_rem_u_64: divop(c, XW, false, true, d, a, b); break;
    case JV_I_rem_s_64: divop(c, XW, true, true, d, a, b); break;
    case JV_I_shlo_l_64: sh3(c, XW, SH_SHL, d, a, b); break;
    case JV_I_shlo_r_64: sh3(c, XW, SH_SHR, d, a, b); break;
    case JV_I_shar_r_64: sh3(c, XW, SH_SAR, d, a, b); break;
    case JV_I_and: alu3(c, ALU_AND, d, a, b); break;
    case JV_I_xor: alu3(c, ALU_XOR, d, a, b); break;
    case JV_I_or: alu3(c, ALU_OR, d, a, b); break;
    case JV_I_mul_upper_s_s:
    case JV_I_mul_upper_u_u:
        ldg(c, XW, RAX, a);
        x_mov_rm_r(m, XW, M(RSP, FR(gas)), GAS);
        x_f7(m, XW, o->iop == JV_I_mul_upper_s_s ? F7_IMUL : F7_MUL, G_(c, b));
        x_mov_r_rm(m, XW, RAX, R(RDX));
        x_mov_r_rm(m, XW, GAS, M(RSP, FR(gas)));
        stg(c, d, RAX);
        break;
    case JV_I_mul_upper_s_u: /* hi_su(a, b) = hi_uu(a, b) - (a < 0 ? b : 0) */
        ldg(c, XW, RAX, a);
        ldg(c, XW, RCX, b);
        x_mov_rm_r(m, XW, M(RSP, FR(gas)), GAS);
        x_f7(m, XW, F7_MUL, R(RCX));
        ldg(c, XW, RAX, a);
        x_sh_i(m, XW, SH_SAR, R(RAX), 63);
        x_alu_r_rm(m, XW, ALU_AND, RAX, R(RCX));
        x_alu_r_rm(m, XW, ALU_SUB, RDX, R(RAX));
        x_mov_r_rm(m, XW, RAX, R(RDX));
        x_mov_r_rm(m, XW, GAS, M(RSP, FR(gas)));
        stg(c, d, RAX);
        break;
    case JV_I_set_lt_u: setcc_to(c, CC_B, d, a, b, false, 0); break;
    case JV_I_set_lt_s: setcc_to(c, CC_L, d, a, b, false, 0); break;
    case JV_I_cmov_iz:
    case JV_I_cmov_nz:
        cmp_gi(c, b, 0); /* test b, b for a host register */
        cmov_to(c, o->iop == JV_I_cmov_iz ? CC_E : CC_NE, d, G_(c, a));
        break;
    case JV_I_rot_l_64: sh3(c, XW, SH_ROL, d, a, b); break;
    case JV_I_rot_l_32: sh3(c, 0, SH_ROL, d, a, b); break;
    case JV_I_rot_r_64: sh3(c, XW, SH_ROR, d, a, b); break;
    case JV_I_rot_r_32: sh3(c, 0, SH_ROR, d, a, b); break;
    case JV_I_and_inv:
    case JV_I_or_inv:
        ldg(c, XW, RAX, b);
        x_f7(m, XW, F7_NOT, R(RAX));
        x_alu_r_rm(m, XW, o->iop == JV_I_and_inv ? ALU_AND : ALU_OR, RAX, G_(c, a));
        stg(c, d, RAX);
        break;
    case JV_I_xnor:
        ldg(c, XW, RAX, a);
        x_alu_r_rm(m, XW, ALU_XOR, RAX, G_(c, b));
        x_f7(m, XW, F7_NOT, R(RAX));
        stg(c, d, RAX);
        break;
    case JV_I_max: minmax(c, CC_L, d, a, b); break;
    case JV_I_max_u: minmax(c, CC_B, d, a, b); break;
    case JV_I_min: minmax(c, CC_G, d, a, b); break;
    case JV_I_min_u: minmax(c, CC_A, d, a, b); break;
    default: {
        const jv_pvm_opinfo *info = jv_pvm_opinfo_of_iop(jv_pvm_op_base(o));
        return jv_set_error(JAVM_ERR_UNSUPPORTED, "jit: op %s (pc %u) is not compiled",
                            info ? info->name : "?", jv_pvm_op_pc(c->p, c->cur));
    }
    }
    return JAVM_OK;
}

/* ---- Layout ----------------------------------------------------------------------------------- */
static void code_release(jv_pvm_attachment *a) { jv_jit_code_free((jv_jit_code *)a); }

void jv_jit_code_free(jv_jit_code *c) {
    if (!c) return;
    if (c->code) munmap(c->code, c->map_len);
    if (c->code && c->cold_len) munmap(c->code + c->cold_at, c->cold_len);
    free(c->op_off);
    free(c);
}

size_t jv_jit_code_size(const jv_jit_code *c) { return c ? c->code_bytes : 0; }

static javm_status finish(jc *c) {
    jv_jit_code *k = c->code;
    for (size_t i = 0; i < c->nfx; i++)
        patch(c, c->fx[i].sec, c->fx[i].site, c->fx[i].kind, c->fx[i].target);
    uint64_t bad = (uint64_t)(uintptr_t)(k->code + c->x_djump_bad);
    size_t nt = 2 * (size_t)c->p->jump_count + 1;
    for (size_t e = 0; e < nt; e++) k->jt[e] = bad;
    for (uint32_t j = 0; j < c->p->jump_count; j++) { /* entry i at address 2(i + 1) */
        uint32_t t = c->p->jump_ops[j];
        if (t != JV_PVM_NONE) k->jt[2 * (size_t)j + 2] = (uint64_t)(uintptr_t)(k->code + k->op_off[t]);
    }
    /* give back what the sections did not use; int3 in the partial pages */
    size_t main_end = (MB->len + 4095) & ~(size_t)4095;
    size_t cold_end = (c->cold_off + CB->len + 4095) & ~(size_t)4095;
    memset(MB->p + MB->len, 0xCC, main_end - MB->len);
    memset(CB->p + CB->len, 0xCC, cold_end - (c->cold_off + CB->len));
    if (c->tab_off > main_end) munmap(k->code + main_end, c->tab_off - main_end);
    if (k->map_len > cold_end) munmap(k->code + cold_end, k->map_len - cold_end);
    /* from now on only the main section and the table + cold section are ours (something else
     * may map the gap) */
    k->map_len = main_end;
    k->cold_at = c->tab_off;
    k->cold_len = cold_end - c->tab_off;
    if (mprotect(k->code, main_end, PROT_READ | PROT_EXEC) != 0 ||
        mprotect(k->code + c->tab_off, c->cold_off - c->tab_off, PROT_READ) != 0 ||
        mprotect(k->code + c->cold_off, cold_end - c->cold_off, PROT_READ | PROT_EXEC) != 0)
        return jv_set_error(JAVM_ERR_OS, "jit: cannot make the code executable");
    k->code_bytes = MB->len + CB->len;
    return JAVM_OK;
}

javm_status jv_jit_compile(const javm_program *p, jv_jit_code **out) {
    *out = NULL;
    if (!jv_jit_available())
        return jv_set_error(JAVM_ERR_UNSUPPORTED,
                            "jit: needs Linux x86-64 with 4 KiB pages, POPCNT, LZCNT and TZCNT");
    if (p->jump_count >= JV_HALT_ADDRESS / 2) /* the halt address must lie beyond the table */
        return jv_set_error(JAVM_ERR_UNSUPPORTED, "jit: jump table of %u entries too large",
                            p->jump_count);
    jv_jit_code *k = calloc(1, sizeof *k);
    if (!k) return jv_set_error(JAVM_ERR_NO_MEMORY, "jit: out of memory");
    k->att.release = code_release;
    k->prog = p;
    k->nops = p->nops;
    k->op_off = malloc(((size_t)p->nops + 1) * sizeof *k->op_off);
    jc cs, *c = &cs;
    memset(c, 0, sizeof *c);
    c->p = p;
    c->code = k;
    javm_status s = JAVM_OK;
    if (!k->op_off) goto oom;
    size_t npad = 0, nfused = 0; /* blocks to align; fused ops (a gate and an op: two budgets) */
    for (uint32_t i = 0; i < p->nops; i++) {
        if (i > 0) npad += no_fallthrough(jv_pvm_op_base(&p->ops[i - 1]));
        nfused += jv_pvm_op_is_fused(&p->ops[i]);
    }
    size_t nbudget = (size_t)p->nops + nfused;
    size_t main_cap = STUB_BYTES + nbudget * MAX_MAIN_OP + npad * (BLOCK_ALIGN - 1);
    size_t cold_cap = 4096 + nbudget * MAX_COLD_OP;
    size_t tab_bytes = (((2 * (size_t)p->jump_count + 1) * sizeof *k->jt) + 4095) & ~(size_t)4095;
    c->tab_off = (main_cap + 4095) & ~(size_t)4095;
    c->cold_off = c->tab_off + tab_bytes;
    if (c->cold_off + cold_cap > (1u << 31)) { /* everything within rel32 reach */
        s = jv_set_error(JAVM_ERR_UNSUPPORTED,
                         "jit: program of %u ops and %u jump-table entries too large to compile",
                         p->nops, p->jump_count);
        goto fail;
    }
    k->map_len = (c->cold_off + cold_cap + 4095) & ~(size_t)4095;
    void *region = mmap(NULL, k->map_len, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) goto oom;
    k->code = region;
    k->jt = (uint64_t *)(void *)(k->code + c->tab_off);
    *MB = (xbuf){.p = k->code, .cap = main_cap, .fixed = true};
    *CB = (xbuf){.p = k->code + c->cold_off, .cap = cold_cap, .fixed = true};
    assign_registers(c);
    memcpy(k->map, c->map, sizeof k->map);
    emit_stubs(c);
    k->body_lo = MB->len;
    for (uint32_t i = 0; i < p->nops; i++) {
        if (jv_pvm_gas_stores(&p->ops[i]) > k->max_stores) /* (0 for non-gates) */
            k->max_stores = jv_pvm_gas_stores(&p->ops[i]);
        c->cur = i;
        c->panic_stub = UINT32_MAX;
        if (i > 0 && no_fallthrough(jv_pvm_op_base(&p->ops[i - 1]))) x_pad_int3(MB, BLOCK_ALIGN);
        k->op_off[i] = (uint32_t)MB->len;
        size_t m0 = MB->len, c0 = CB->len;
        if ((s = emit_op(c, &p->ops[i])) != JAVM_OK) goto fail;
        size_t budgets = jv_pvm_op_is_fused(&p->ops[i]) ? 2 : 1;
        if (MB->len - m0 > budgets * MAX_MAIN_OP || CB->len - c0 > budgets * MAX_COLD_OP ||
            MB->oom || CB->oom) {
            s = jv_set_error(JAVM_ERR_UNSUPPORTED, "jit: op at pc %u exceeds its code budget",
                             jv_pvm_op_pc(p, i));
            goto fail;
        }
    }
    k->op_off[p->nops] = (uint32_t)MB->len;
    k->body_hi = MB->len;
    if (MB->oom || CB->oom || c->oom) goto oom;
    s = finish(c);
    if (s != JAVM_OK) goto fail;
    free(c->fx);
    *out = k;
    return JAVM_OK;
oom:
    s = jv_set_error(JAVM_ERR_NO_MEMORY, "jit: out of memory while compiling");
fail:
    free(c->fx);
    jv_jit_code_free(k);
    return s;
}

javm_status jv_jit_code_of(const javm_program *prog, const jv_jit_code **out) {
    javm_program *p = (javm_program *)prog; /* only the attachment slot is written, atomically */
    jv_pvm_attachment *a = __atomic_load_n(&p->jit, __ATOMIC_ACQUIRE);
    if (!a) {
        jv_jit_code *k = NULL;
        javm_status s = jv_jit_compile(prog, &k);
        if (s != JAVM_OK) return s;
        jv_pvm_attachment *expected = NULL;
        if (__atomic_compare_exchange_n(&p->jit, &expected, &k->att, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            a = &k->att;
        } else {
            jv_jit_code_free(k);
            a = expected;
        }
    }
    *out = (const jv_jit_code *)a;
    return JAVM_OK;
}
