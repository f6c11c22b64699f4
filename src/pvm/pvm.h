/* pvm — programs and execution: blob decoding and validation, basic blocks, the pre-decoded
 * executable form, the opcode table, instruction semantics, block gas, the interpreter and its
 * exits, the standard program container (docs/ISA.md, docs/PROGRAM.md, docs/GAS.md).
 *
 * What it owns
 *   - the opcode metadata derived from opcodes.def (the single source of truth): the byte enum
 *     JV_OPC_*, the dense dispatch enum JV_I_*, names, operand classes, flags, widths;
 *   - the GP varint (canonical only) and the blob codec (jv_pvm_blob_decode / _encode);
 *   - the shared single-instruction decoder (jv_pvm_decode_insn) used by the pre-decoder and the
 *     disassembler;
 *   - programs (struct javm_program): the validated parts, ϖ, and the pre-decoded op stream,
 *     immutable after load and shared read-only by every instance on every thread;
 *   - the interpreter body (interp_body.h), instantiated by the soft engine (interp.c) and by
 *     the paged engine (src/engine), and the VM state it runs on (jv_pvm_state).
 *
 * Glossary
 *   ζ          the code followed by zero bytes: reads past |c| return 0 (the program keeps
 *              JV_PVM_CODE_PAD zero bytes after the code, so decoding never bounds-checks).
 *   skip(i)    min(24, distance from i+1 to the next bitmask 1; the bitmask is all ones past
 *              its end). An instruction is 1 + skip bytes long.
 *   ϖ          basic-block starts: 0 and the instruction after every terminator, intersected
 *              with valid instruction starts (bitmask 1 and a valid opcode). Branch and djump
 *              targets must lie in ϖ.
 *   op         one record of the pre-decoded stream (jv_pvm_op, 16 bytes): an instruction with
 *              its operands resolved, a GAS pseudo-op, or a fused op.
 *   GAS op     a pseudo-op placed before the first instruction of every block that can be
 *              entered (PVM-G1). It carries the block's cost, its number of stores and of
 *              instructions.
 *   fused op   a block of one terminator whose op carries the gate itself (PVM-G6).
 *   gate       the op a block is entered at: its GAS op, or its fused op.
 *   block      the ops from a gate up to and including the next terminator op.
 *   resume     an op index at which the next run continues without paying again (PVM-G3).
 *
 * Rules (cited by tests as PVM-n)
 *   PVM-D1  varints must be canonical (the shortest encoding); the blob decomposes exactly:
 *           no truncation, no trailing bytes, |bitmask| = ceil(|c|/8), padding bits zero,
 *           z <= 4, no entries when z = 0, |c| <= JV_PVM_MAX_CODE (2^24 - 1).
 *   PVM-D2  registers are clamped to 12; immediates are sign-extended from their length
 *           (0 bytes = 0), except load_imm_64 which reads 8 raw bytes from ζ; offsets are
 *           relative to the instruction's own pc and computed in int64.
 *   PVM-D3  the op stream holds, in pc order: every bitmask-1 position; a trap op for each
 *           position reached as the next pc of an instruction whose bitmask bit is 0 (skip is
 *           capped at 24); the implicit trap at pc |c|. A byte that is not an opcode decodes
 *           as trap. Op i+1 is the fall-through successor of op i whenever op i falls through.
 *   PVM-D4  branch targets are resolved to the gate of the target block when the target is
 *           in ϖ, else to JV_PVM_NONE (the branch panics when taken, pc = the branch). Jump
 *           table entries are resolved the same way.
 *   PVM-D5  pc -> op: jv_pvm_op_at(p, pc) is the index of the instruction op at pc (0..|c|),
 *           JV_PVM_NONE where no op starts; O(1) from a rank bitmap (jv_pvm_pcword). Ops hold
 *           no pc: op -> pc (jv_pvm_op_pc) searches the same map, for exits, traces and tools.
 *   PVM-G1  a GAS op precedes the first op and every op that follows a terminator op (trap,
 *           invalid opcode, fallthrough, jumps, branches), unless PVM-G6 fuses the block. Its cost is, in the gp07 model,
 *           the number of instruction ops from it to the first terminator op inclusive (the
 *           implicit trap counts), in the gp08 model the pipeline simulation of docs/GAS.md §4
 *           (src/pvm/gas.c); its instruction count is the same count in both.
 *   PVM-G6  fused ops: a block that is a single terminator op whose cost fits a byte
 *           (JV_PVM_FUSED_MAX_COST; always in gp07) has no GAS op: its op (iop = JV_PVM_FUSED
 *           + the terminator's id) carries the cost in d and gates itself as a GAS op of that
 *           cost, count 1 and no stores would (PVM-G2: out of gas at its pc, the block start),
 *           then executes the terminator. Costs, exits and statistics are exactly those of
 *           the unfused stream; branch/jump-table targets, fresh starts at its pc and
 *           resumes enter it as the block's gate.
 *   PVM-G2  executing a GAS op: if gas < cost (or, with #3 on, gas - cost < stores × 2 ×
 *           cow_cost) -> out-of-gas, pc = the block start, gas/registers/memory unchanged,
 *           and the next run retries the same gate. Otherwise gas -= cost. There is no
 *           per-instruction gas check.
 *   PVM-G3  a run starts at st->resume when set (a host-call resume at the op after the
 *           ecalli, a page-fault retry at the faulting op): no charge (with PVM-G5 the op
 *           after an ecalli is the next block's GAS op, which gates as usual). Otherwise it is
 *           a fresh start at st->pc: a block start runs its gate; an instruction in the
 *           middle of a block pays the ops from pc to the block's end (docs/GAS.md GAS-4; with
 *           st->entry_whole_block it pays the containing block's cost instead); any other pc
 *           panics there after paying 1.
 *   PVM-G5  ecall blocks (a load option, javm_load_options.ecall_blocks; the Image layer uses
 *           it): every ecalli is its own block. A GAS op with cost 0 and stores 0 (the ecall's
 *           owner gates and charges it dynamically) precedes it, so the block before it ends
 *           there, and a GAS op follows it: the instructions after it form a new block (costed
 *           by PVM-G1, ending at the next terminator or ecalli), charged and gated when a
 *           host-call resume enters it. ϖ is unchanged: the op after an ecalli is not a branch
 *           or djump target (nor a listed block) unless plain mode makes it one. Off (default)
 *           the op stream is exactly PVM-G1's.
 *   PVM-G4  #3 charges returned by memory accesses are debited at the access (after the gate
 *           reserved for them), and never make gas negative when the gate held.
 *   PVM-E1  exit pcs are the exiting instruction's pc (vector convention): panic (trap, bad
 *           branch/djump target, memory panic), halt (the djump to 0xFFFF0000), page fault
 *           (state before the instruction; resume retries it), host call (resume at next_pc),
 *           out-of-gas (the block start).
 *   PVM-E2  djump(a): a = 0xFFFF0000 -> halt; a = 0, a odd, a > 2|j| or j[a/2-1] not in ϖ ->
 *           panic; else jump. load_imm_jump_ind takes its target from the old φB and keeps
 *           its register write when it panics.
 *   PVM-S1  sbrk (GP <= 0.7 only; st->sbrk_enabled, else it executes as trap): size 0 returns
 *           the heap top; otherwise if top + size exceeds the heap limit (or 2^32) it returns 0
 *           and changes nothing, else the pages covering [top, top + size) that are not yet
 *           accessible are mapped read-write (zero), it returns the old top and the top moves
 *           up by size. Programs without a heap (raw blobs) have top = limit = 0.
 *   PVM-SV1 a JAM service blob is E(|m|) ++ m ++ a standard container: metadata m (free-form:
 *           name, version, authors) behind a canonical GP varint length; the loader skips m.
 *
 * Reusing the interpreter body in another engine (src/engine)
 *   interp_body.h is included inside a function body. It needs in scope: `jv_pvm_state *st`,
 *   `const javm_program *prog`, `uint32_t start` (an op index from jv_pvm_enter), and macros
 *     JV_LOAD(width, addr, dst)  load `width` bytes at the u32 `addr` into the u64 lvalue dst
 *                                (zero-extended); on failure JV_MEM_FAIL(res) (a jv_mem_result
 *                                with kind PANIC or FAULT); on success with a #3 charge or
 *                                statistics, JV_MEM_ACCOUNT(res).
 *     JV_STORE(width, addr, val) the same for a store of the low `width` bytes of val.
 *     JV_SBRK(size)              an expression: the sbrk result (use jv_pvm_sbrk).
 *   optional: JV_BODY_SWITCH (1 = switch dispatch; default computed goto; the soft engine
 *   builds both, so both are tested), JV_TRACE_HOOK() (called before every instruction op, with
 *   st->gas and st->pc synced), JV_MEM_PRE() (called before every guest access; the paged
 *   engine publishes the access and, via JV_SYNC(), the live gas/op into st there),
 *   JV_GAS_IN_STATE (defined: the loop keeps gas in st->gas instead of a local, so a fault
 *   handler can debit #3 charges through a pointer to it).
 *   The body returns from the enclosing function after filling st (exit_kind, pc, exit_arg,
 *   exit_next_pc, resume, gas). An exit decided outside the loop (e.g. by a signal handler
 *   that siglongjmps out of JV_LOAD) is produced with jv_pvm_exit_mem(st, prog, op, res) from
 *   the op published by JV_MEM_PRE, after restoring st->gas from the published value.
 */
#ifndef JV_PVM_H
#define JV_PVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "javm.h"
#include "mem/mem.h"

/* ---- Opcode metadata (from opcodes.def) --------------------------------------------------- */
enum { JV_OP_NONE = 0, JV_OP_TERM = 1, JV_OP_LOAD = 2, JV_OP_STORE = 4, JV_OP_BRANCH = 8 };

typedef enum jv_pvm_class {
    JV_CLASS_A0, JV_CLASS_A1, JV_CLASS_A2, JV_CLASS_A3, JV_CLASS_A4, JV_CLASS_A5, JV_CLASS_A6,
    JV_CLASS_A7, JV_CLASS_A8, JV_CLASS_A9, JV_CLASS_A10, JV_CLASS_A11, JV_CLASS_A12,
    JV_CLASS_COUNT
} jv_pvm_class;

/* Opcode bytes in GP 0.7 (the default dialect): JV_OPC_add_32 = 190; -1 where the instruction
 * does not exist in GP 0.7 (unlikely). Byte values per dialect: jv_pvm_opinfo.bytes. */
enum jv_pvm_opcode {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem) JV_OPC_##name = b07,
#include "pvm/opcodes.def"
#undef X
};

/* Dense dispatch ids, in table order (the same in both dialects), then the pseudo-ops. */
enum jv_pvm_iop {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem) JV_I_##name,
#include "pvm/opcodes.def"
#undef X
    JV_I_GAS, /* block gas gate (PVM-G1) */
    JV_I_COUNT
};
#define JV_PVM_NUM_OPCODES ((unsigned)JV_I_GAS)

/* Access widths as constants (the opcodes.def column): JV_W_load_u32 = 4, JV_W_add_32 = 0. */
enum jv_pvm_width {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem) JV_W_##name = width,
#include "pvm/opcodes.def"
#undef X
};
_Static_assert(JV_I_GAS == 140, "opcodes.def must list 140 instructions (139 per dialect)");

/* Dialects (docs/ISA.md "Dialects"): javm_isa values index jv_pvm_opinfo.bytes. */
#define JV_ISA_COUNT 2
_Static_assert(JAVM_ISA_GP07 == 0 && JAVM_ISA_GP08 == 1, "javm_isa indexes the byte columns");

typedef struct jv_pvm_opinfo {
    const char *name;              /* "add_32" */
    const char *semantics;         /* the formula column */
    int16_t bytes[JV_ISA_COUNT];   /* opcode byte per dialect, -1 = not in that dialect */
    uint8_t cls;                   /* jv_pvm_class */
    uint8_t flags;                 /* JV_OP_TERM | JV_OP_LOAD | JV_OP_STORE | JV_OP_BRANCH */
    uint8_t width;                 /* bytes touched by a load/store, else 0 */
} jv_pvm_opinfo;

/* NULL if the byte is not an opcode of the dialect (it executes as trap), or isa is unknown. */
const jv_pvm_opinfo *jv_pvm_opinfo_of(javm_isa isa, uint8_t byte);
/* By dispatch id (JV_I_*); NULL for pseudo-ops. */
const jv_pvm_opinfo *jv_pvm_opinfo_of_iop(unsigned iop);
/* Dispatch id of an opcode byte in the dialect; -1 if the byte is not an opcode there. */
int jv_pvm_iop_of_byte(javm_isa isa, uint8_t byte);
/* Opcode byte of a mnemonic (len bytes, not NUL-terminated) in the dialect; -1 if the name is
 * unknown or the instruction does not exist in that dialect. */
int jv_pvm_opcode_by_name(javm_isa isa, const char *name, size_t len);
/* The byte of a dispatch id in a dialect (-1: none). */
int jv_pvm_byte_of_iop(javm_isa isa, unsigned iop);

/* ---- Varints (docs/PROGRAM.md §1) ---------------------------------------------------- */
#define JV_VARINT_MAX 9
/* Writes the canonical encoding of x to out; returns its length (1..9). */
size_t jv_pvm_varint_encode(uint64_t x, uint8_t out[JV_VARINT_MAX]);
typedef enum jv_varint_status {
    JV_VARINT_OK = 0,
    JV_VARINT_TRUNCATED = 1,
    JV_VARINT_NONCANONICAL = 2,
} jv_varint_status;
/* Decodes one varint from p[0..n); *used = its length. Non-canonical encodings are rejected
 * (the value is still stored in *out). */
jv_varint_status jv_pvm_varint_decode(const uint8_t *p, size_t n, uint64_t *out, size_t *used);

/* ---- Blob codec (docs/PROGRAM.md §2) ------------------------------------------------- */
/* code bytes accepted by the loader: 16 MiB less one byte, so that a block's store count fits
 * the 24 bits of its GAS op (jv_pvm_op; GP's service code limit is about 4 MB) */
#define JV_PVM_MAX_CODE ((1u << 24) - 1)
#define JV_PVM_MAX_JUMPS (1u << 24)   /* jump-table entries accepted by the loader */
#define JV_PVM_CODE_PAD 32u           /* zero bytes kept after the code (ζ) */

typedef struct jv_pvm_blob {
    uint32_t jump_count;
    uint8_t z;                /* entry width */
    const uint8_t *jumps;     /* jump_count * z bytes, little-endian entries */
    uint32_t code_len;
    const uint8_t *code;
    const uint8_t *bitmask;   /* ceil(code_len / 8) bytes */
} jv_pvm_blob;

/* PVM-D1. Parts point into blob. Errors: JAVM_ERR_BAD_PROGRAM with a message naming the part
 * and the offset. */
javm_status jv_pvm_blob_decode(const uint8_t *blob, size_t len, jv_pvm_blob *out);
/* Entry i (< jump_count) of a decoded blob's jump table: z little-endian bytes. */
uint32_t jv_pvm_blob_jump(const jv_pvm_blob *b, uint32_t i);
/* Encodes a blob from its parts (malloc'd; NULL on allocation failure or z > 8). The bitmask
 * is ceil(code_len / 8) bytes. */
uint8_t *jv_pvm_blob_encode(const uint32_t *jump_table, uint32_t n, uint8_t z,
                            const uint8_t *code, uint32_t code_len, const uint8_t *bitmask,
                            size_t *out_len);

/* ---- Single-instruction decoder (shared with the disassembler) ----------------------------- */
typedef struct jv_insn {
    uint8_t opcode;       /* the code byte */
    uint8_t valid;        /* opcode is in the dialect's table (otherwise it executes as trap) */
    uint8_t iop;          /* dispatch id (JV_I_trap when not valid) */
    uint8_t isa;          /* javm_isa it was decoded in */
    uint8_t len;          /* 1 + skip(pc) */
    uint8_t ra, rb, rd;   /* clamped register indices (0 when unused) */
    uint8_t lx, ly;       /* immediate lengths in bytes as decoded */
    uint64_t imm_x, imm_y;/* sign-extended immediates (load_imm_64: raw 8 bytes) */
    int64_t target;       /* absolute target of A4/A7/A10 offsets (may be out of range) */
} jv_insn;

/* skip(pc) over the bitmask of a code of code_len bytes (bits past the end read as 1). */
uint32_t jv_pvm_skip(const uint8_t *bitmask, uint32_t code_len, uint32_t pc);
/* Decodes the instruction at pc from ζ (no padding needed; bytes past code_len read as 0). */
void jv_pvm_decode_insn(javm_isa isa, const uint8_t *code, uint32_t code_len,
                        const uint8_t *bitmask, uint32_t pc, jv_insn *out);

/* ---- The pre-decoded executable form ------------------------------------------------------- */
#define JV_PVM_NONE UINT32_MAX

/* One op (16 bytes: an op index scales by a shift). Field use by class:
 *   A1 ecalli   w = id (sign-extended from 32 bits), a = its length (next pc = pc + a),
 *               x = its own pc | rest << 32
 *   A2          a, x (raw 64 bits)             A3   b = ZERO, x = address, w = value
 *   A4          w = target op                  A5   a, x (memory forms: b = ZERO)
 *   A6          b = base, x, w = value (a unused)          A7   a, x, w = target op
 *   A8          d = destination, a = source (sbrk: x = rest << 32)
 *   A9          a, b, x                        A10  a, b, w = target op
 *   A11         a, b, x, w = the second immediate (sign-extended from 32 bits)
 *   A12         a, b, d
 *   GAS         x = the block's cost in the program's gas model, w = its instruction count,
 *               a | b << 8 | d << 16 = the stores in the block (24 bits, JV_PVM_MAX_CODE)
 *   fused       (iop = JV_PVM_FUSED + a terminator's id, PVM-G6) a one-op block whose op
 *               carries its own gate: the fields of the terminator, d = the block's cost;
 *               instruction count 1, no stores.
 * Every second immediate (store_imm values, load_imm_jump_ind offsets) is at most 4 bytes, so
 * w holds it; targets are op indices. No op records its pc: jv_pvm_op_pc derives it from the
 * pc -> op map (PVM-D5), for exits, traces and tools.
 * rest = the number of instruction ops after an op up to the end of its block. Only the ops that
 * can leave or re-enter a block in its middle keep it, in x's high 32 bits: memory ops (faults,
 * panics, retries), ecalli (host calls) and sbrk (a disabled sbrk panics); a terminator's rest
 * is 0 (jv_pvm_op_rest).
 *
 * Memory ops (JV_OP_LOAD / JV_OP_STORE) share one operand shape whatever their class, so every
 * consumer (interpreter, fault decoder, recompiler) uses the same formulas below:
 *   address = (φ[b] + x) mod 2^32, with b = JV_PVM_REG_ZERO (always 0) for the absolute forms
 *             (only x's low 32 bits matter: its high half is the rest);
 *   width   = the opcodes.def width column;
 *   data    = φ[a] (the loaded register, or the stored one), except the store_imm forms (A3,
 *             A6), which store jv_pvm_op_imm2. */
typedef struct jv_pvm_op {
    uint8_t iop; /* enum jv_pvm_iop, or JV_PVM_FUSED + a terminator's id */
    uint8_t a, b, d;
    uint32_t w;
    uint64_t x;
} jv_pvm_op;
_Static_assert(sizeof(jv_pvm_op) == 16, "jv_pvm_op is 16 bytes");

/* PVM-G6: a fused op's iop is JV_PVM_FUSED + the terminator's dispatch id (all below 99, so it
 * fits the byte). Tables indexed by iop have JV_PVM_IOP_SLOTS entries: the fused ids repeat
 * their base's. */
#define JV_PVM_FUSED ((unsigned)JV_I_COUNT)
#define JV_PVM_IOP_SLOTS (2u * JV_I_COUNT)
/* the largest cost a fused op carries (its d byte) */
#define JV_PVM_FUSED_MAX_COST 255u

/* Per iop (JV_I_*, pseudo-ops and fused ids included): the opcodes.def flags and width. */
extern const uint8_t jv_pvm_iop_flags[JV_PVM_IOP_SLOTS];
extern const uint8_t jv_pvm_iop_width[JV_PVM_IOP_SLOTS];

/* Fused ops and gates (GAS ops and fused ops: the ops a block is entered at). */
static inline bool jv_pvm_op_is_fused(const jv_pvm_op *op) { return op->iop >= JV_PVM_FUSED; }
/* The instruction an op executes: its iop without the fusion. */
static inline unsigned jv_pvm_op_base(const jv_pvm_op *op) {
    return op->iop >= JV_PVM_FUSED ? op->iop - JV_PVM_FUSED : op->iop;
}
static inline bool jv_pvm_op_is_gate(const jv_pvm_op *op) {
    return op->iop == JV_I_GAS || op->iop >= JV_PVM_FUSED;
}
/* The gate of a GAS or fused op: the block's cost, #3 stores and instruction count. */
static inline uint64_t jv_pvm_gas_cost(const jv_pvm_op *op) {
    return op->iop == JV_I_GAS ? op->x : op->d;
}
static inline uint32_t jv_pvm_gas_stores(const jv_pvm_op *op) {
    return op->iop == JV_I_GAS ? (uint32_t)op->a | (uint32_t)op->b << 8 | (uint32_t)op->d << 16
                               : 0;
}
static inline uint32_t jv_pvm_gas_count(const jv_pvm_op *op) {
    return op->iop == JV_I_GAS ? op->w : 1;
}
/* A4, A7, A10: the target op (a gate) or JV_PVM_NONE. */
static inline uint32_t jv_pvm_op_target(const jv_pvm_op *op) { return op->w; }
/* A3, A6: the stored value; A11: the offset of the djump; A1: the host-call id. */
static inline uint64_t jv_pvm_op_imm2(const jv_pvm_op *op) {
    return (uint64_t)(int64_t)(int32_t)op->w;
}
/* rest (see jv_pvm_op) of an op that can exit mid-block: memory ops, ecalli, sbrk; 0 for the
 * other ops that exit (terminators). */
static inline uint32_t jv_pvm_op_rest(const jv_pvm_op *op) {
    return (jv_pvm_iop_flags[op->iop] & JV_OP_TERM) ? 0 : (uint32_t)(op->x >> 32);
}
/* ecalli: its pc and the pc after it. */
static inline uint32_t jv_pvm_ecall_pc(const jv_pvm_op *op) { return (uint32_t)op->x; }
static inline uint32_t jv_pvm_ecall_next(const jv_pvm_op *op) { return (uint32_t)op->x + op->a; }

/* The operand formulas of a memory op (see jv_pvm_op); regs has JV_PVM_NUM_REGS + 1 slots. */
static inline uint32_t jv_pvm_op_addr(const jv_pvm_op *op, const uint64_t *regs) {
    return (uint32_t)(regs[op->b] + op->x);
}
static inline unsigned jv_pvm_op_width(const jv_pvm_op *op) { return jv_pvm_iop_width[op->iop]; }
static inline bool jv_pvm_op_is_store(const jv_pvm_op *op) {
    return (jv_pvm_iop_flags[op->iop] & JV_OP_STORE) != 0;
}
static inline bool jv_pvm_op_is_mem(const jv_pvm_op *op) {
    return (jv_pvm_iop_flags[op->iop] & (JV_OP_LOAD | JV_OP_STORE)) != 0;
}
/* A store_imm form (A3, A6): the data is jv_pvm_op_imm2, not a register. */
static inline bool jv_pvm_op_stores_imm(const jv_pvm_op *op) {
    return op->iop == JV_I_store_imm_u8 || op->iop == JV_I_store_imm_u16 ||
           op->iop == JV_I_store_imm_u32 || op->iop == JV_I_store_imm_u64 ||
           op->iop == JV_I_store_imm_ind_u8 || op->iop == JV_I_store_imm_ind_u16 ||
           op->iop == JV_I_store_imm_ind_u32 || op->iop == JV_I_store_imm_ind_u64;
}

/* PVM-D5: the pc -> op map. Word w covers pcs 64w..64w+63 (0..code_len: the implicit trap
 * included): bit i of insn marks an instruction op at pc 64w+i, bit i of gas a GAS op just before
 * it, and base counts the ops (instruction and GAS) at pcs below 64w. The op index of the
 * instruction at pc is then base + the insn bits below it + the gas bits up to it: O(1), in
 * 24 bytes per 64 code bytes instead of a 4-byte index per code byte. */
typedef struct jv_pvm_pcword {
    uint64_t insn, gas;
    uint32_t base;
} jv_pvm_pcword;

/* The standard-container parts of a program (docs/PROGRAM.md §3). The data bytes are
 * not kept here: the layer that loads the container (api, javm_program_load_standard) lays
 * them out once as memory snapshots (mem.h, MEM-6; NULL for an empty section), owned by the
 * program and destroyed by jv_pvm_program_destroy. Instances map the snapshots instead of
 * copying the bytes. */
typedef struct jv_pvm_standard {
    uint32_t ro_len;     /* |o| */
    uint32_t rw_len;     /* |w| */
    uint32_t heap_pages; /* z */
    uint32_t stack_size; /* s */
    jv_mem_snapshot *ro_snap; /* |o| bytes, page-rounded with zeros */
    jv_mem_snapshot *rw_snap; /* |w| bytes, page-rounded with zeros */
} jv_pvm_standard;

/* Data an engine derives from a program (the recompiler's machine code): attached on first use
 * with an atomic compare-and-swap (the program stays otherwise immutable) and released with the
 * program through its release function. */
typedef struct jv_pvm_attachment {
    void (*release)(struct jv_pvm_attachment *self);
} jv_pvm_attachment;

struct javm_program {
    uint8_t *code;           /* code_len + JV_PVM_CODE_PAD bytes (ζ) */
    uint32_t code_len;
    uint8_t *bitmask;        /* ceil(code_len/8) + 8 bytes (zero padded) */
    uint32_t jump_count;
    uint8_t jump_width;
    uint32_t *jumps;         /* raw jump-table entries */
    uint32_t *jump_ops;      /* PVM-D4: entry -> gate op index or JV_PVM_NONE */
    uint8_t *block_starts;   /* ϖ as a bitmap over code_len bits */
    jv_pvm_op *ops;
    uint32_t nops;
    jv_pvm_pcword *pc_words; /* the pc -> op map (PVM-D5): one word per 64 pcs, 0..code_len */
    uint32_t *block_rank;    /* the ϖ bits below each 64 pcs (javm_program_block's select) */
    uint32_t nblocks;        /* listed blocks: ϖ, then |c| when end_listed */
    bool end_listed;         /* the implicit trap at |c| is a listed block (see listed_block) */
    javm_isa isa;            /* the dialect the code was decoded in */
    javm_gas_model gas_model;/* the model of the GAS ops' costs */
    bool ecall_blocks;       /* PVM-G5: every ecalli is its own block (javm_load_options) */
    bool standard;
    jv_pvm_standard std;
    jv_pvm_attachment *jit;  /* NULL until compiled; set once (atomically), read with acquire */
};

/* Loads a raw blob (PVM-D1..D4) in a dialect, with block costs in a gas model; ecall_blocks
 * selects PVM-G5. */
javm_status jv_pvm_program_create_ex(const uint8_t *blob, size_t len, javm_isa isa,
                                     javm_gas_model gas, bool ecall_blocks, javm_program **out);
/* The same in GP 0.7 with the gp07 gas model. */
javm_status jv_pvm_program_create(const uint8_t *blob, size_t len, javm_program **out);
/* The parts of a standard container, pointing into the container's bytes. */
typedef struct jv_pvm_container {
    const uint8_t *ro, *rw, *code;
    uint32_t ro_len, rw_len, heap_pages, stack_size;
    size_t code_len;
} jv_pvm_container;
/* Splits a standard container into its parts and validates its size and layout (below). */
javm_status jv_pvm_container_parse(const uint8_t *blob, size_t len, jv_pvm_container *c);
/* A metadata-prefixed service blob (PVM-SV1): E(|m|) ++ m ++ a standard container, E the GP
 * natural-number varint (canonical). *meta / *meta_len: m; *container / *container_len: the
 * rest, not yet validated. A length that is truncated, not canonical or runs past the end of
 * the blob is refused (JAVM_ERR_BAD_CONTAINER, the message says which). */
javm_status jv_pvm_service_split(const uint8_t *blob, size_t len, const uint8_t **meta,
                                 size_t *meta_len, const uint8_t **container,
                                 size_t *container_len);
/* Loads a standard container: E3 |o|, E3 |w|, E2 z, E3 s, o, w, E4 |c|, c. Validates the exact
 * size and 5ZZ + Z(|o|) + Z(|w| + z·ZP) + Z(s) + ZI <= 2^32. The program records the layout
 * (std); the data bytes are left to the caller (c->ro, c->rw; see jv_pvm_standard). */
javm_status jv_pvm_program_create_container(const jv_pvm_container *c, javm_isa isa,
                                            javm_gas_model gas, bool ecall_blocks,
                                            javm_program **out);
void jv_pvm_program_destroy(javm_program *p);

/* Accessors (for the disassembler and tools). */
static inline const uint8_t *jv_pvm_program_code(const javm_program *p, uint32_t *len) {
    *len = p->code_len;
    return p->code;
}
static inline const uint8_t *jv_pvm_program_bitmask(const javm_program *p) { return p->bitmask; }
static inline uint32_t jv_pvm_program_jump_count(const javm_program *p) { return p->jump_count; }
static inline uint8_t jv_pvm_program_jump_width(const javm_program *p) { return p->jump_width; }
static inline uint32_t jv_pvm_program_jump_entry(const javm_program *p, uint32_t i) {
    return i < p->jump_count ? p->jumps[i] : 0;
}
/* PVM-D5: the index of the instruction op at pc (0..code_len), or JV_PVM_NONE. */
static inline uint32_t jv_pvm_op_at(const javm_program *p, uint32_t pc) {
    if (pc > p->code_len) return JV_PVM_NONE;
    const jv_pvm_pcword *w = &p->pc_words[pc / 64];
    uint64_t bit = 1ull << (pc % 64);
    if (!(w->insn & bit)) return JV_PVM_NONE;
    return w->base + (uint32_t)__builtin_popcountll(w->insn & (bit - 1)) +
           (uint32_t)__builtin_popcountll(w->gas & (bit | (bit - 1)));
}
/* PVM-D5: the pc of op i (< nops; a GAS op: its block's first instruction), from the rank map
 * (a binary search over its words, then a select in the word): for exits, traces and tools;
 * loops that walk ops in order track the pc themselves. */
uint32_t jv_pvm_op_pc(const javm_program *p, uint32_t i);
/* The gate op (GAS or fused) a block starting at instruction op r is entered at; JV_PVM_NONE if
 * op r does not start a block. */
static inline uint32_t jv_pvm_gate_of(const javm_program *p, uint32_t r) {
    if (r > 0 && p->ops[r - 1].iop == JV_I_GAS) return r - 1;
    return jv_pvm_op_is_fused(&p->ops[r]) ? r : JV_PVM_NONE;
}
/* Listed block i (javm_program_block): its pc and cost, from the ϖ rank (a binary search, then a
 * select in the word). False if i >= nblocks. */
bool jv_pvm_program_block_at(const javm_program *p, uint32_t i, uint32_t *pc, uint64_t *cost);
/* The number of instruction ops after instruction op r up to the end of its block (a scan to
 * the next gate: for mid-block entries; exits read jv_pvm_op_rest). */
uint32_t jv_pvm_block_rest(const javm_program *p, uint32_t r);
/* The bytes a loaded program holds (every allocation of the program, the jit's excluded): the
 * load-memory figure of docs/BENCHMARKS.md, which test_pvm_decode bounds per input byte. */
size_t jv_pvm_program_bytes(const javm_program *p);
static inline bool jv_pvm_is_insn_start(const javm_program *p, uint32_t pc) {
    return pc < p->code_len && jv_bit_get(p->bitmask, pc);
}
static inline bool jv_pvm_is_block_start(const javm_program *p, uint32_t pc) {
    return pc < p->code_len && jv_bit_get(p->block_starts, pc);
}

/* Standard layout constants (docs/PROGRAM.md §3). */
#define JV_ZP 4096u
#define JV_ZZ 65536u
#define JV_ZI (1u << 24)
#define JV_STD_RO_BASE 0x10000u
#define JV_STD_STACK_TOP 0xFEFE0000u
#define JV_STD_ARGS_BASE 0xFEFF0000u
#define JV_HALT_ADDRESS 0xFFFF0000u

/* The standard layout of a container's memory: the one formula behind both the loader's check
 * (need <= 2^32) and javm_instance_init_standard's mapping. Sizes are page-rounded; the stack
 * ends at JV_STD_STACK_TOP, the argument zone (JV_ZI bytes) starts at JV_STD_ARGS_BASE. */
typedef struct jv_pvm_layout {
    uint64_t ro_base, ro_size;       /* read-only data */
    uint64_t rw_base, rw_size;       /* read-write data, then the z heap pages */
    uint64_t stack_base, stack_size; /* stack_base + stack_size = JV_STD_STACK_TOP */
    uint64_t need;                   /* 5ZZ + Z(|o|) + Z(|w| + z·ZP) + Z(s) + ZI */
} jv_pvm_layout;
jv_pvm_layout jv_pvm_std_layout(uint64_t ro_len, uint64_t rw_len, uint64_t heap_pages,
                                uint64_t stack_size);

/* ---- The gp08 gas model (gas.c, docs/GAS.md) ----------------------------------------------- */
#define JV_GAS08_TRAP_COST 2 /* a lone trap: also charged for a fresh start at a non-instruction */
/* The cost of the block whose first instruction op is ops[first] (the op after its GAS op, or
 * a fused op). */
uint64_t jv_pvm_gas08_cost(const javm_program *p, uint32_t first);
/* The same for the `count` instruction ops from first, the first at pc (the loader, while the
 * ops are being built, and for a fused op's single one). */
uint64_t jv_pvm_gas08_block_cost(const javm_program *p, const jv_pvm_op *first, uint32_t pc,
                                 uint32_t count);
/* The block's cycle chart (docs/GAS.md "Charts"; malloc'd text, one line per instruction) for
 * the block entered at the gate op ops[gate] (GAS or fused), and its cost. NULL on allocation
 * failure. */
char *jv_pvm_gas08_chart(const javm_program *p, uint32_t gate, uint64_t *cost);

/* ---- VM state and exits -------------------------------------------------------------------- */
#define JV_PVM_NUM_REGS 13
/* A register slot past the 13 architectural ones that is always 0: the base of the absolute
 * memory forms (see jv_pvm_op). Decoded register indices are clamped to 12, so no instruction
 * writes it; everything that resets st->regs clears it. */
#define JV_PVM_REG_ZERO 13

typedef enum jv_pvm_exit {
    JV_EXIT_HALT = JAVM_EXIT_HALT,
    JV_EXIT_PANIC = JAVM_EXIT_PANIC,
    JV_EXIT_OOG = JAVM_EXIT_OUT_OF_GAS,
    JV_EXIT_FAULT = JAVM_EXIT_PAGE_FAULT,
    JV_EXIT_HOST = JAVM_EXIT_HOST_CALL,
} jv_pvm_exit;

#define JV_PVM_FRESH UINT32_MAX      /* st->resume: start at st->pc, charging (PVM-G3) */
#define JV_PVM_DONE (UINT32_MAX - 1) /* st->resume: halted or panicked; set a pc to run again */

/* Everything an engine loop reads and writes. regs/gas/pc are the architectural state. */
typedef struct jv_pvm_state {
    uint64_t regs[JV_PVM_NUM_REGS + 1]; /* + JV_PVM_REG_ZERO */
    int64_t gas;
    uint32_t pc;          /* exiting instruction's pc, or the pc of the next fresh start */
    uint32_t resume;      /* op index to continue at without charge, JV_PVM_FRESH or _DONE */
    /* last exit */
    uint8_t exit_kind;    /* jv_pvm_exit */
    uint32_t exit_next_pc;
    uint64_t exit_arg;
    /* configuration */
    uint64_t mat_reserve; /* 2 × cow_cost when #3 gas is on, else 0 (PVM-G2) */
    bool sbrk_enabled;    /* PVM-S1: GP <= 0.7 */
    bool entry_whole_block; /* PVM-G3: a mid-block fresh start pays the containing block's
                               whole cost (PolkaVM's interpreter) instead of pc..end */
    uint32_t heap_top, heap_limit;
    /* statistics */
    uint64_t instructions, mat_gas, first_touch, cow;
    /* tracing (the traced loop only) */
    javm_trace_fn trace_fn;
    void *trace_user;
    const javm_instance *trace_vm;
    /* published by engines that exit from outside the loop (see the top comment) */
    const jv_pvm_op *cur;
} jv_pvm_state;

/* Resets registers, gas, pc, exits, statistics; heap to none; sbrk enabled. */
void jv_pvm_state_init(jv_pvm_state *st);

/* PVM-G3: decides where a run starts. Returns true with *start = an op index to run the loop
 * from; false if the run ended before the loop (out of gas, or a panic at a pc that is not an
 * instruction), with the exit filled in st. */
bool jv_pvm_enter(jv_pvm_state *st, const javm_program *prog, uint32_t *start);

/* The number of store ops (JV_OP_STORE) among ops[0..n): the #3 reserve count of a block, or
 * of its tail for a mid-block start (PVM-G2, G3). */
uint64_t jv_pvm_count_stores(const jv_pvm_op *ops, uint64_t n);

/* Fills st for an exit of a memory access of op (kind PANIC or FAULT), as the loop does. */
void jv_pvm_exit_mem(jv_pvm_state *st, const javm_program *prog, const jv_pvm_op *op,
                     jv_mem_result res);

/* PVM-S1 (also used by other engines through JV_SBRK). */
uint64_t jv_pvm_sbrk(jv_pvm_state *st, jv_mem *mem, uint64_t size);

/* #3 gate helper: remaining >= stores × reserve without overflow. */
static inline bool jv_pvm_mat_gate(int64_t remaining, uint64_t stores, uint64_t reserve) {
    return stores == 0 || (remaining >= 0 && (uint64_t)remaining / stores >= reserve);
}

/* The soft engine: runs from `start` until an exit. The default uses computed goto, _switch
 * switch dispatch (tests compare the two through jv_api_run_with), _trace single-steps
 * with st->trace_fn called before every instruction. All three give identical results. */
void jv_pvm_exec_soft(jv_pvm_state *st, const javm_program *prog, jv_mem *mem, uint32_t start);
void jv_pvm_exec_soft_switch(jv_pvm_state *st, const javm_program *prog, jv_mem *mem,
                             uint32_t start);
void jv_pvm_exec_soft_trace(jv_pvm_state *st, const javm_program *prog, jv_mem *mem,
                            uint32_t start);

#endif /* JV_PVM_H */
