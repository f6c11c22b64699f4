/* fuzz_asm — the assembler on arbitrary text: it never crashes, and whatever it accepts and the
 * loader accepts, the disassembler turns back into text that assembles to the same bytes
 * (ASM-1). Inputs whose first byte is odd and not text (a control or non-ASCII byte) are read as
 * token choices (mnemonics, registers, numbers, labels, directives), so even a random driver
 * produces plausible programs; text such as the example programs is assembled as it is. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvm/asm.h"
#include "pvm/pvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const extra[] = {
    "r0", "r1", "r7", "r12", "r13", ", ", ", ", ", ", "\n", "\n", "\n", "l1", "l2",
    "0", "1", "-1", "127", "128", "-129", "0x7fffffff", "-0x80000000", "0xffffffff", "0xDEADBEEF",
    ":0", ":1", ":2", ":4", " + ", " * ", "(", ")", ".jumptable ", ".jumpwidth ", ".bytes ",
    ".insn ", ".equ K, 5\n", "K", "fallthrough\n", "trap\n", "; c\n", "# c\n", "// c\n", "0b101",
    "1_000", "~", "<<", "9999999999999999999999",
};

static size_t build_text(const uint8_t *data, size_t size, char *out, size_t cap) {
    const char *mn[256];
    size_t nmn = 0;
    for (int b = 0; b < 256; b++) {
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of(JAVM_ISA_GP07, (uint8_t)b);
        if (o) mn[nmn++] = o->name;
    }
    size_t n = 0, nextra = sizeof extra / sizeof extra[0];
    if (size > 1 && (data[1] & 1)) n += (size_t)sprintf(out, "l1: "); /* labels at both ends */
    for (size_t i = 1; i < size; i++) {
        /* mostly mnemonics with operands; now and then a loose token */
        size_t k = data[i] >= 250 ? nmn + data[i] % nextra : (size_t)(data[i] % nmn);
        const char *t = k < nmn ? mn[k] : extra[k - nmn];
        size_t l = strlen(t);
        if (n + l + 300 >= cap) break;
        memcpy(out + n, t, l);
        n += l;
        if (k >= nmn) continue;
        /* a mnemonic: usually followed by well-formed operands of its class */
        int op = jv_pvm_opcode_by_name(JAVM_ISA_GP07, t, l);
        const char *shape = jv_asm_class_shape((jv_pvm_class)jv_pvm_opinfo_of(JAVM_ISA_GP07, (uint8_t)op)->cls);
        for (int j = 0; shape[j]; j++) {
            uint8_t v = i + 1 < size ? data[++i] : 0;
            out[n++] = j ? ',' : ' ';
            switch (shape[j]) {
            case 'D': case 'A': case 'B': n += (size_t)sprintf(out + n, "r%u", v % 13); break;
            case 't': n += (size_t)sprintf(out + n, "%s", v & 1 ? "l1" : "l2"); break;
            default: n += (size_t)sprintf(out + n, "%d", (int)(int8_t)v * (v & 0x80 ? 1000 : 1)); break;
            }
        }
        out[n++] = '\n';
    }
    n += (size_t)sprintf(out + n, "\n%sl2: trap\n", n >= 4 && !memcmp(out, "l1: ", 4) ? "" : "l1: ");
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char text[1 << 16];
    const char *src = (const char *)data;
    size_t len = size;
    if (size && (data[0] & 1) && !isprint(data[0]) && !isspace(data[0])) {
        len = build_text(data, size, text, sizeof text);
        src = text;
    }
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    if (jv_asm_assemble(src, len, &blob, &blob_len) != JAVM_OK) return 0;
    jv_pvm_blob parts;
    if (jv_pvm_blob_decode(blob, blob_len, &parts) == JAVM_OK) {
        char *dis = NULL;
        if (jv_asm_disassemble(blob, blob_len, JV_ASM_DIS_COMMENTS, &dis) != JAVM_OK) abort();
        uint8_t *back = NULL;
        size_t back_len = 0;
        if (jv_asm_assemble(dis, strlen(dis), &back, &back_len) != JAVM_OK) abort();
        if (back_len != blob_len || memcmp(back, blob, blob_len)) abort();
        free(back);
        free(dis);
    }
    free(blob);
    return 0;
}
