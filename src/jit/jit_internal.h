/* jit — what the compiler (compile.c) and the runtime (run.c) share: the native frame the
 * generated code runs on, the exit kinds, the compiled-code record. Private to src/jit. */
#ifndef JV_JIT_INTERNAL_H
#define JV_JIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "jit/jit.h"

/* Why generated code returned to the runtime (frame.exit_kind). */
enum {
    JV_JX_PANIC = 1, /* trap, invalid branch/djump target, sbrk when disabled */
    JV_JX_HALT,      /* djump to 0xFFFF0000 */
    JV_JX_HOST,      /* ecalli */
    JV_JX_OOG,       /* a GAS op's gate failed (gas restored) */
    JV_JX_MEM,       /* a PVM-level fault/panic of an access (jv_jit_inst.fault) */
    JV_JX_OS,        /* opening host protection failed */
};

struct jv_jit_inst;

/* The native frame: generated code runs with rsp pointing at it. The entry stub copies it in
 * from the caller's copy (self) and the exit stub copies it back. Guest registers without a
 * host register live in regs[] for the whole run; the others are stored there at exits and
 * around calls into C. Its size is 8 mod 16 so that rsp is 16-byte aligned in generated code
 * (after the return address and six callee-saved pushes). */
typedef struct jv_jit_frame {
    uint64_t regs[JV_PVM_NUM_REGS];
    int64_t gas;                  /* biased: gas - bias (in rdx while generated code runs) */
    int64_t uncounted;            /* block gas that is not instruction count (gp08 costs) */
    uint64_t reserve;             /* #3 block reserve (st->mat_reserve) */
    uint64_t bias;                /* real gas = gas + bias (mod 2^64; jv_jit_gas_bias) */
    struct jv_jit_inst *inst;
    uint32_t exit_kind, exit_op;  /* JV_JX_*, op index */
    struct jv_jit_frame *self;    /* where the exit copies the frame back */
    uint8_t *base;                /* the guest window (the gs base while generated code runs) */
    uint64_t wrap_ret;            /* the fault callback's return address for the wrap stub */
    uint64_t ahead;               /* MEM-12: nonzero while a write-ahead batch is open (the
                                   * counter is then a lower bound: gates settle first) */
} jv_jit_frame;
_Static_assert(sizeof(jv_jit_frame) % 16 == 8, "frame size must be 8 mod 16");
#define JV_JIT_FRAME_QWORDS (sizeof(jv_jit_frame) / 8)

/* An attachment of a program (pvm.h) so the program releases its code. */
struct jv_jit_code {
    jv_pvm_attachment att;
    const javm_program *prog;
    uint8_t *code;          /* the executable mapping (cold section at a fixed offset) */
    size_t map_len;         /* the main section's mapping (the whole reservation until laid out) */
    size_t cold_at, cold_len; /* the djump table + cold section mapping (0 until laid out) */
    size_t code_bytes;      /* machine code emitted (both sections) */
    size_t body_lo, body_hi; /* [lo, hi): the op bodies (the only code that accesses guest memory) */
    uint32_t *op_off;       /* native offset of every op (prog->nops entries, nondecreasing) */
    uint32_t nops;
    int8_t map[JV_PVM_NUM_REGS]; /* guest register -> host register, -1 = in the frame (the fault
                                  * callback recomputes an access's address from it, JIT-4) */
    uint64_t max_stores;    /* the largest store count of a block (#3 gate) */
    uint64_t *jt;           /* djump address a (0 .. 2 x count) -> native address (read-only, in the
                             * mapping before the cold section; invalid entries: the djump_bad stub) */
    uint32_t off_entry;     /* void entry(jv_jit_frame *frame, const void *target) */
    uint32_t off_exit;      /* exit with frame.exit_kind/op set, host registers live */
    uint32_t off_wrap;      /* slow path of a wrapping access (JIT-2), entered by the callback */
};

/* The bias of the gas counter for a run (JIT-5): the largest block reserve of the program
 * (max_stores x reserve), so that a non-negative biased counter after a block's cost passes
 * every gate; gas + 1 when that is more than the gas (every gate then goes out of line); 0 for
 * negative gas or no reserve (the counter is then the gas). */
uint64_t jv_jit_gas_bias(int64_t gas, uint64_t reserve, uint64_t max_stores);

typedef void (*jv_jit_entry_fn)(jv_jit_frame *frame, const void *target);

/* Called by generated code (through the slow stub) for accesses that wrap, for sbrk, and by a
 * GAS op's out-of-line gate while a write-ahead batch is open (MEM-12: settle it): returns 0 to
 * continue (registers and gas reloaded from the frame), 1 to exit (exit fields set). */
int jv_jit_slow(jv_jit_frame *f, uint32_t op_index, uint32_t addr);

#endif /* JV_JIT_INTERNAL_H */
