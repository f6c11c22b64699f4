/* pvm/asm — the PVM assembler and disassembler (private to pvm and the tool).
 *
 * The text syntax is documented in docs/ASSEMBLY.md. Everything instruction-shaped comes from
 * src/pvm/opcodes.def: the mnemonic, the opcode byte and the operand class; the class decides
 * the operand list (`jv_asm_class_shape`). Glossary:
 *   item     one unit of the code: an instruction (its first byte is an instruction start in
 *            the bitmask) or raw `.bytes` (no bitmask bit).
 *   width    the byte length of an immediate or branch offset in the encoding (0..4); the
 *            assembler picks the minimal one, `value:N` forces N.
 * Rules:
 *   ASM-1  asm(disasm(p)) == p byte for byte for every valid blob p: the disassembler only
 *          prints an instruction as text if the assembler re-encodes that text to the same bytes
 *          (same widths, same length); otherwise it prints `.insn` with the raw bytes and the
 *          decoded meaning in a comment.
 *   ASM-2  the assembler picks minimal encodings: the smallest immediate width whose sign
 *          extension gives the value, the smallest branch-offset width that reaches the target
 *          (found by growing widths to a fixpoint), the smallest jump-table entry width.
 *   ASM-3  errors name the line: "line 12: unknown mnemonic 'ad'" (javm_last_error()).
 */
#ifndef JV_PVM_ASM_H
#define JV_PVM_ASM_H

#include <stddef.h>
#include <stdint.h>

#include "javm.h"
#include "pvm/pvm.h"

/* The operand list of a class as written in assembly, one letter per operand:
 *   'D' rD, 'A' rA, 'B' rB (registers), 'x' νX, 'y' νY (immediates), 'W' the 64-bit immediate of
 *   load_imm_64, 't' a branch target (label or absolute pc).
 * A0 "", A1 "x", A2 "AW", A3 "xy", A4 "t", A5 "Ax", A6 "Axy", A7 "Axt", A8 "DA", A9 "ABx",
 * A10 "ABt", A11 "ABxy", A12 "DAB". */
const char *jv_asm_class_shape(jv_pvm_class c);

#define JV_ASM_MAX_INSN 16 /* longest encoding the assembler produces (A11: 2 + 4 + 4 + 1) */

/* One instruction with its operands, as decoded or as parsed. */
typedef struct jv_asm_insn {
    uint8_t opcode;
    uint8_t isa;        /* javm_isa of opcode */
    uint8_t ra, rb, rd; /* 0..12 */
    uint64_t x, y;      /* immediates (sign-extended values) */
    int64_t target;     /* absolute branch target (A4, A7, A10) */
    int8_t lx, ly;      /* widths of νX and of νY / the offset; -1 = the minimal width */
} jv_asm_insn;

/* Minimal width (0..4) whose sign extension gives v; 5 if none does. */
int jv_asm_imm_width(uint64_t v);

/* Encodes in at pc into out (JV_ASM_MAX_INSN bytes). Returns the length, or 0 if an operand does
 * not fit its width (why names the operand). */
size_t jv_asm_insn_encode(const jv_asm_insn *in, uint32_t pc, uint8_t *out, const char **why);

/* Prints in as text ("add_32 r9, r7, r8"). Targets are printed as label names when label_of
 * returns one, otherwise as absolute pcs; widths are printed (":N") when they are not the
 * minimal ones. Returns the length that snprintf would have produced. */
typedef const char *(*jv_asm_label_fn)(void *user, int64_t target);
#define JV_ASM_FMT_ALL_WIDTHS 1u /* print every width, minimal or not */
#define JV_ASM_FMT_NO_WIDTHS 2u  /* print no widths (trace output; not for re-assembly) */
size_t jv_asm_insn_format(const jv_asm_insn *in, uint32_t pc, unsigned flags, char *buf,
                          size_t n, jv_asm_label_fn label_of, void *user);
/* The jv_asm_insn of a decoded instruction (widths as decoded). */
void jv_asm_insn_from_decoded(const jv_insn *d, jv_asm_insn *out);

/* Assembles source text into a program blob (malloc'd; the caller frees *blob). On error returns
 * JAVM_ERR_INVALID_ARGUMENT and javm_last_error() says "line N: ...". */
javm_status jv_asm_assemble(const char *src, size_t len, uint8_t **blob, size_t *blob_len);
/* The same, and *warnings = NULL or malloc'd lines "line N: warning: ..." (at most 20): labels
 * used as branch or jump-table targets that are not basic-block starts (such jumps panic). */
javm_status jv_asm_assemble_warn(const char *src, size_t len, uint8_t **blob, size_t *blob_len,
                                 char **warnings);

/* The same in a dialect (the two above assemble GP 0.7). A mnemonic of the other dialect only
 * is refused by name ("'unlikely' does not exist in gp07"). */
javm_status jv_asm_assemble_isa(javm_isa isa, const char *src, size_t len, uint8_t **blob,
                                size_t *blob_len, char **warnings);

#define JV_ASM_DIS_COMMENTS 1u /* append "; pc: bytes" to every line */

/* Disassembles a whole program blob (validated by jv_pvm_blob_decode) into assembler source
 * (malloc'd, NUL-terminated). The result assembles back to exactly `blob` (ASM-1; checked before
 * returning). */
javm_status jv_asm_disassemble(const uint8_t *blob, size_t len, unsigned flags, char **text);
/* The same in a dialect (jv_asm_disassemble reads GP 0.7); the round trip uses the same one. */
javm_status jv_asm_disassemble_isa(javm_isa isa, const uint8_t *blob, size_t len,
                                   unsigned flags, char **text);

#endif
