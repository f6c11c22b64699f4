/* jit — the x86-64 recompiler engine (JAVM_ENGINE_JIT): the pre-decoded op stream of a program
 * translated once, in one linear pass, into machine code shared read-only by every instance and
 * thread; guest accesses are plain machine loads/stores on the instance's paged guest window,
 * first touches arrive as host page faults (design and rules: docs/JIT.md).
 *
 * What it owns
 *   - the compiled code of a program (jv_jit_code): the executable mapping (written while
 *     read-write, then read+execute, never both), the native offset of every op, the native
 *     jump table; attached to the program on first use and released with it;
 *   - the per-instance context (jv_jit_inst): the window's fault callback, the exit of a run,
 *     statistics.
 *
 * Rules (cited by tests as JIT-n)
 *   JIT-1  exits equal the interpreter's in status, pc, registers, memory, gas, #3 statistics,
 *          instruction count and resume point; the interpreter body (pvm/interp_body.h) is the
 *          reference for every op.
 *   JIT-2  every guest access is gs:[base32 + disp] in 32-bit address size, the gs base being
 *          the window for the length of a run: the processor adds the window to the
 *          zero-extended (φb + x) mod 2^32, so no access leaves the window and its guard (at
 *          most 7 bytes past 2^32, well inside it); the caller's gs base is restored after.
 *          An access that wraps at 2^32 (address + width > 2^32) takes the slow path (resolve,
 *          then the access modulo 2^32): a constant address at compile time; a computed one
 *          has no inline check, it faults (guard or top page) and the fault callback redirects
 *          it to the slow path with the op's registers as they were.
 *   JIT-3  control transfers go only to the native start of an op of the same program or to an
 *          exit stub: static targets are resolved at compile time (invalid ones to a panic
 *          stub), dynamic ones through the native jump table after the GP validity checks.
 *   JIT-4  a host fault is the jit's iff it hits the window of an instance running on this
 *          thread, at an access instruction of its program's code, inside that access; it is
 *          resolved by the same touch as the paged engine and the instruction retried, or it
 *          ends the run with the PVM-level exit (the ucontext is redirected to an exit stub).
 *   JIT-5  generated code keeps the gas biased (rdx = gas - bias, bias >= the program's largest
 *          #3 block reserve or the counter negative), so `sub rdx, cost; jl` is a block's whole
 *          gate on the hot path; the out-of-line gate decides exactly (PVM-G1, PVM-G2), and
 *          every reader and writer of the gas (exit, fault charge, slow path) un-biases it.
 */
#ifndef JV_JIT_H
#define JV_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "javm.h"
#include "engine/engine.h"
#include "mem/mem.h"
#include "pvm/pvm.h"

typedef struct jv_jit_code jv_jit_code;

/* Linux x86-64 with 4 KiB pages and the POPCNT, LZCNT and TZCNT instructions. */
bool jv_jit_available(void);

/* Compiles prog (a fresh, unshared result; see jv_jit_code_of for the attached one). */
javm_status jv_jit_compile(const javm_program *prog, jv_jit_code **out);
void jv_jit_code_free(jv_jit_code *c);
/* Bytes of machine code. */
size_t jv_jit_code_size(const jv_jit_code *c);
/* For tests: programs compiled after this call keep the guest registers in mask (bit i =
 * φi) in the frame, so frame-resident operands are covered whatever a program uses most. */
void jv_jit_set_frame_mask(uint16_t mask);
/* For tests: runs set the gs base (JIT-2) with arch_prctl even where rdgsbase/wrgsbase are
 * allowed (the path of kernels without FSGSBASE). */
void jv_jit_force_gs_syscall(bool on);
/* The program's compiled code, compiling it on first use (thread-safe: concurrent first uses
 * may compile twice, one result is kept). */
javm_status jv_jit_code_of(const javm_program *prog, const jv_jit_code **out);

/* The engine operations table entry (engine.h). */
extern const jv_engine_ops jv_engine_jit;

/* Instances: a context over an initialized JV_MEM_PAGED jv_mem (registers its window with the
 * fault handler). */
javm_status jv_jit_create(const javm_program *prog, jv_mem *m, void **ctx);
void jv_jit_destroy(void *ctx);
uint64_t jv_jit_ro_units(const void *ctx);
/* MEM-12 statistics of an instance (tests, benchmarks): write-ahead batches opened, their pages. */
void jv_jit_ahead_stats(const void *ctx, uint64_t *batches, uint64_t *pages);
/* MEM-13 statistics of an instance (tests, benchmarks): reads that left their page watched. */
uint64_t jv_jit_watched_pages(const void *ctx);

/* Runs from op `start` (from jv_pvm_enter) until an exit, filling st as jv_pvm_exec_soft does
 * (JIT-1). JAVM_ERR_OS only if opening host protection failed (the state is then a retry of the
 * access, as in the paged engine). */
javm_status jv_jit_run(jv_pvm_state *st, const javm_program *prog, void *ctx, uint32_t start);

#endif /* JV_JIT_H */
