/* pvm — the gp08 gas model: a block's cost is the cycle count of a small out-of-order core
 * model that decodes, executes and retires the block (docs/GAS.md, rules GAS-1..GAS-8). The
 * per-instruction inputs (latency, decode slots, units) are columns of opcodes.def; the
 * registers read and written follow from the operand class. Costs are computed once, at load,
 * from the op stream (jv_pvm_gas08_cost), so running a program costs nothing extra. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvm/pvm.h"

/* ---- Model inputs, from opcodes.def ---------------------------------------------------------- */
#define LM (-1)                              /* the load latency */
#define LB (-2)                              /* the branch rule: 1 or 20 */
#define P(a, b) (0x100 | (a) << 4 | (b))     /* a if a source is also written, else b */
#define PS(a, b) (0x200 | (a) << 4 | (b))    /* a if rA = rD, else b */
#define U(A, L, S, M, D) {A, L, S, M, D}      /* ALU, load, store, multiply, divide */

typedef struct g8_info {
    int16_t lat;
    uint16_t dec;
    uint8_t units[5];
} g8_info;

static const g8_info g8[JV_PVM_NUM_OPCODES] = {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem) \
    [JV_I_##name] = {lat, dec, units},
#include "pvm/opcodes.def"
#undef X
};
#undef LM
#undef LB
#undef P
#undef PS
#undef U

enum {
    G8_DECODE = 4,   /* decode slots per cycle */
    G8_STARTS = 5,   /* execution starts per cycle */
    G8_ROB = 32,     /* live reorder-buffer entries */
    G8_LOAD_LAT = 25,/* L2-hit load latency (the vectors') */
    G8_BR_HINT = 1,  /* branch latency when a successor starts with trap or unlikely */
    G8_BR_LAT = 20,  /* otherwise */
};
static const uint8_t g8_units_total[5] = {4, 4, 4, 1, 1};

/* ---- One instruction instance --------------------------------------------------------------- */
typedef struct g8_ins {
    uint16_t src, dst; /* register masks (bit r = register r, 0..12) */
    int lat;
    int dec;
    bool move;         /* move_reg: renamed in the front end */
    bool term;
    const uint8_t *units;
} g8_ins;

static inline uint16_t rbit(uint8_t r) { return r < 13 ? (uint16_t)(1u << r) : 0; }

static uint8_t zeta(const javm_program *p, int64_t i) {
    return i >= 0 && i < (int64_t)p->code_len ? p->code[i] : 0;
}

/* GAS-3: registers read and written by the operand class (the op's fields as pvm.h lays them
 * out: memory ops keep their base in b). */
static void g8_regs(const jv_pvm_op *o, unsigned iop, uint16_t *src, uint16_t *dst) {
    const jv_pvm_opinfo *in = jv_pvm_opinfo_of_iop(iop);
    uint16_t a = rbit(o->a), b = rbit(o->b), d = rbit(o->d);
    uint8_t fl = in->flags;
    *src = *dst = 0;
    switch ((jv_pvm_class)in->cls) {
    case JV_CLASS_A0: case JV_CLASS_A1: case JV_CLASS_A3: case JV_CLASS_A4: case JV_CLASS_COUNT:
        break;
    case JV_CLASS_A2: *dst = a; break;
    case JV_CLASS_A5:
        if (iop == JV_I_jump_ind || (fl & JV_OP_STORE)) *src = a;
        else *dst = a;
        break;
    case JV_CLASS_A6: *src = b; break; /* the base */
    case JV_CLASS_A7:
        if (iop == JV_I_load_imm_jump) *dst = a;
        else *src = a;
        break;
    case JV_CLASS_A8: *src = a; *dst = d; break;
    case JV_CLASS_A9:
        if (fl & JV_OP_STORE) *src = a | b;
        else { *src = b; *dst = a; }
        break;
    case JV_CLASS_A10: *src = a | b; break;
    case JV_CLASS_A11: *src = b; *dst = a; break;
    case JV_CLASS_A12: *src = a | b; *dst = d; break;
    }
}

/* The op o at pc; last: it ends the block (a terminator, or with PVM-G5 the op before an ecalli
 * or the ecalli itself). */
static void g8_decode(const javm_program *p, const jv_pvm_op *o, uint32_t pc, bool last,
                      g8_ins *ins) {
    unsigned iop = jv_pvm_op_base(o); /* a fused op simulates as its instruction */
    const g8_info *gi = &g8[iop];
    g8_regs(o, iop, &ins->src, &ins->dst);
    ins->move = iop == JV_I_move_reg;
    ins->term = last;
    ins->units = gi->units;
    /* GAS-4: latency */
    if (gi->lat == -1) {
        ins->lat = G8_LOAD_LAT;
    } else if (gi->lat == -2) { /* raw successor bytes: the fallthrough and the target */
        jv_insn in; /* the target pc as decoded (the op holds the target op, or none) */
        jv_pvm_decode_insn(p->isa, p->code, p->code_len, p->bitmask, pc, &in);
        int64_t next = (int64_t)pc + in.len;
        int unl = jv_pvm_byte_of_iop(p->isa, JV_I_unlikely);
        int trp = jv_pvm_byte_of_iop(p->isa, JV_I_trap);
        uint8_t f = zeta(p, next), t = zeta(p, in.target);
        bool hint = f == trp || t == trp || (unl >= 0 && (f == unl || t == unl));
        ins->lat = hint ? G8_BR_HINT : G8_BR_LAT;
    } else {
        ins->lat = gi->lat;
    }
    /* GAS-5: decode slots */
    unsigned dec = gi->dec;
    if (dec & 0x100) ins->dec = (ins->src & ins->dst) ? (int)(dec >> 4 & 15) : (int)(dec & 15);
    else if (dec & 0x200) ins->dec = o->a == o->d ? (int)(dec >> 4 & 15) : (int)(dec & 15);
    else ins->dec = (int)dec;
}

/* ---- The simulation (GAS-6) ------------------------------------------------------------------ */
enum { ST_DEC, ST_WAIT, ST_EXE, ST_FIN };

typedef struct g8_entry {
    uint8_t state;
    int left;
    uint32_t deps;  /* ring slots whose results it still waits for */
    uint16_t regs;  /* registers whose newest in-flight producer it is */
    uint64_t units; /* one byte per unit kind (g8_pack) */
    uint32_t row;   /* chart row */
} g8_entry;

/* Unit vectors packed one byte per kind, so "fits" and the updates are single operations (every
 * count is below 128, so no byte borrows). */
#define G8_HIGH 0x8080808080ull
static inline uint64_t g8_pack(const uint8_t u[5]) {
    uint64_t v = 0;
    for (int i = 0; i < 5; i++) v |= (uint64_t)u[i] << (8 * i);
    return v;
}
static inline bool g8_fits(uint64_t units, uint64_t free_u) {
    return (((free_u | G8_HIGH) - units) & G8_HIGH) == G8_HIGH;
}

/* The optional chart: rows x cols cells, row r = the r-th instruction of the block. */
typedef struct g8_chart {
    char *cells;
    uint32_t rows;
    uint64_t cols;
} g8_chart;

static void chart_set(g8_chart *c, uint32_t row, uint64_t cycle, char ch) {
    if (c && row < c->rows && cycle < c->cols) c->cells[(size_t)row * c->cols + cycle] = ch;
}

/* Simulates the block of `count` instruction ops from first (at pc; each op but the last falls
 * through, so the next one is at pc + 1 + skip); returns the cycle count. */
static uint64_t g8_simulate(const javm_program *p, const jv_pvm_op *first, uint32_t pc,
                            uint32_t count, g8_chart *chart) {
    g8_entry rob[G8_ROB];
    memset(rob, 0, sizeof rob);
    unsigned head = 0, live = 0;
    uint64_t free_u = g8_pack(g8_units_total);
    uint32_t decm = 0, waitm = 0, exem = 0, finm = 0; /* ring slots per state */
    uint64_t cycle = 0;
    int dslots = G8_DECODE, starts = G8_STARTS;
    uint32_t at = 0, row = 0;
    bool done = false; /* the terminator has been decoded */
    g8_ins ins = {0};
    bool have = false;
    for (;;) {
        if (!done && !have) {
            g8_decode(p, &first[at], pc, at + 1 >= count, &ins);
            have = true;
        }
        /* 1. decode */
        if (!done && ins.dec <= dslots && live < G8_ROB) {
            if (ins.move) { /* GAS-7: rename rD to rA's producer */
                for (unsigned k = 0; k < live; k++) {
                    g8_entry *e = &rob[(head + k) % G8_ROB];
                    e->regs = (e->regs & ins.src) ? (uint16_t)(e->regs | ins.dst)
                                                  : (uint16_t)(e->regs & ~ins.dst);
                }
                chart_set(chart, row, cycle, 'D');
            } else {
                uint32_t deps = 0;
                for (unsigned k = 0; k < live; k++) {
                    unsigned s = (head + k) % G8_ROB;
                    if (rob[s].regs & ins.src) deps |= 1u << s;
                    rob[s].regs &= (uint16_t)~ins.dst;
                }
                unsigned s = (head + live) % G8_ROB;
                rob[s] = (g8_entry){ST_DEC, ins.lat, deps, ins.dst, g8_pack(ins.units), row};
                decm |= 1u << s;
                live++;
            }
            dslots -= ins.dec;
            row++;
            have = false;
            if (ins.term) done = true;
            else {
                at++;
                pc += 1 + jv_pvm_skip(p->bitmask, p->code_len, pc);
            }
            continue;
        }
        /* 2. start the oldest ready entry */
        if (starts > 0 && waitm) {
            int pick = -1;
            /* WAIT slots in age order: the ring rotated so that head is bit 0 */
            uint32_t cand = head ? (waitm >> head | waitm << (G8_ROB - head)) : waitm;
            while (cand) {
                unsigned s = (head + (unsigned)__builtin_ctz(cand)) % G8_ROB;
                cand &= cand - 1;
                const g8_entry *e = &rob[s];
                if (!e->deps && g8_fits(e->units, free_u)) {
                    pick = (int)s;
                    break;
                }
            }
            if (pick >= 0) {
                g8_entry *e = &rob[pick];
                e->state = ST_EXE;
                waitm &= ~(1u << pick);
                exem |= 1u << pick;
                free_u -= e->units;
                starts--;
                continue;
            }
        }
        /* 3. stop */
        if (done && live == 0) return cycle;
        /* Fast-forward (costs only, not charts): when nothing can be decoded (the terminator is
         * in, or the ROB is full) and nothing can start or change state before an executing
         * entry's countdown reaches 1, the cycles until then only count down; skip them. */
        if (!chart && (done || live == G8_ROB) && starts > 0 && !decm &&
            !(finm >> head & 1)) {
            int min_left = INT32_MAX;
            for (uint32_t m = exem; m; m &= m - 1) {
                int l = rob[__builtin_ctz(m)].left;
                if (l < min_left) min_left = l;
            }
            if (min_left != INT32_MAX && min_left > 1) {
                int d = min_left - 1;
                for (uint32_t m = exem; m; m &= m - 1) rob[__builtin_ctz(m)].left -= d;
                cycle += (uint64_t)d;
            }
        }
        /* 4. advance one cycle, from the states before it */
        if (chart) { /* the cells of this cycle, from those states */
            bool prefix = true;
            for (unsigned k = 0; k < live; k++) {
                const g8_entry *e = &rob[(head + k) % G8_ROB];
                prefix = prefix && e->state == ST_FIN;
                static const char cell[] = {'D', '=', 'e', '-'};
                char ch = prefix ? 'R' : cell[e->state];
                if (e->state == ST_EXE && e->left == 0) ch = 'E';
                chart_set(chart, e->row, cycle, ch);
            }
        }
        unsigned retired = 0; /* in order, any number: the FIN prefix */
        while (retired < live && (finm >> ((head + retired) % G8_ROB) & 1)) {
            finm &= ~(1u << ((head + retired) % G8_ROB));
            retired++;
        }
        for (uint32_t m = decm; m; m &= m - 1) rob[__builtin_ctz(m)].state = ST_WAIT;
        waitm |= decm;
        decm = 0;
        for (uint32_t m = exem; m; m &= m - 1) {
            unsigned k = (unsigned)__builtin_ctz(m);
            g8_entry *e = &rob[k];
            if (e->left == 0) {
                e->state = ST_FIN;
                exem &= ~(1u << k);
                finm |= 1u << k;
                continue;
            }
            if (e->left == 1) { /* results ready: free units, satisfy dependants */
                free_u += e->units;
                e->regs = 0;
                for (unsigned j = 0; j < live; j++) rob[(head + j) % G8_ROB].deps &= ~(1u << k);
            }
            e->left--;
        }
        head = (head + retired) % G8_ROB;
        live -= retired;
        cycle++;
        dslots = G8_DECODE;
        starts = G8_STARTS;
    }
}

static uint64_t g8_cost_of_cycles(uint64_t cycles) { return cycles > 4 ? cycles - 3 : 1; }

uint64_t jv_pvm_gas08_block_cost(const javm_program *p, const jv_pvm_op *first, uint32_t pc,
                                 uint32_t count) {
    return g8_cost_of_cycles(g8_simulate(p, first, pc, count, NULL));
}

uint64_t jv_pvm_gas08_cost(const javm_program *p, uint32_t first) {
    return jv_pvm_gas08_block_cost(p, &p->ops[first], jv_pvm_op_pc(p, first),
                                   jv_pvm_block_rest(p, first) + 1);
}

char *jv_pvm_gas08_chart(const javm_program *p, uint32_t gate, uint64_t *cost) {
    const jv_pvm_op *g = &p->ops[gate];
    uint32_t first = jv_pvm_op_is_fused(g) ? gate : gate + 1; /* a fused op is its block */
    uint32_t rows = jv_pvm_gas_count(g), pc0 = jv_pvm_op_pc(p, first);
    uint64_t cycles = g8_simulate(p, &p->ops[first], pc0, rows, NULL);
    if (cost) /* an ecall block (PVM-G5) has no static cost: the chart is its ecalli alone */
        *cost = p->ecall_blocks && p->ops[first].iop == JV_I_ecalli ? 0 : g8_cost_of_cycles(cycles);
    g8_chart c = {NULL, rows, cycles};
    if ((uint64_t)rows * cycles > (1u << 28)) return NULL; /* 256 MiB of cells: refuse */
    c.cells = malloc((size_t)rows * cycles + 1);
    if (!c.cells) return NULL;
    memset(c.cells, '.', (size_t)rows * cycles);
    g8_simulate(p, &p->ops[first], pc0, rows, &c);
    size_t cap = (size_t)rows * (cycles + 8 + 96) + 1, len = 0;
    char *out = malloc(cap);
    if (!out) {
        free(c.cells);
        return NULL;
    }
    uint32_t pc = pc0;
    for (uint32_t r = 0; r < rows; r++) {
        char text[96];
        if (!javm_program_disasm(p, pc, text, sizeof text))
            snprintf(text, sizeof text, "trap"); /* past the code, or not an instruction start */
        pc += 1 + jv_pvm_skip(p->bitmask, p->code_len, pc); /* the next op of the block */
        memcpy(out + len, "    ", 4);
        len += 4;
        memcpy(out + len, c.cells + (size_t)r * cycles, cycles);
        len += cycles;
        int n = snprintf(out + len, cap - len, "  %s\n", text);
        if (n > 0) len += (size_t)n < cap - len ? (size_t)n : cap - len - 1;
    }
    out[len] = 0;
    free(c.cells);
    return out;
}
