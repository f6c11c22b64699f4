/* Assembler and disassembler: ASM-1 round trip over every conformance-vector program, minimal
 * encodings (ASM-2), label resolution and branch relaxation, errors with line numbers (ASM-3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <json-c/json.h>

#include "javm.h"
#include "pvm/asm.h"
#include "pvm/pvm.h"

#define VECTOR_DIR JAVM_VECTOR_DIR "/gp07"

static uint8_t *assemble_ok(const char *src, size_t *len) {
    uint8_t *blob = NULL;
    javm_status s = jv_asm_assemble(src, strlen(src), &blob, len);
    if (s != JAVM_OK) fail_msg("assembly failed: %s\nsource:\n%s", javm_last_error(), src);
    return blob;
}

static void expect_blob(const char *src, const uint8_t *want, size_t want_len) {
    size_t len;
    uint8_t *blob = assemble_ok(src, &len);
    if (len != want_len || memcmp(blob, want, len)) {
        char got[512] = "";
        for (size_t i = 0; i < len && i < 100; i++) sprintf(got + strlen(got), "%02x ", blob[i]);
        free(blob);
        fail_msg("source:\n%s\ngot: %s", src, got);
    }
    free(blob);
}

static void expect_error(const char *src, const char *needle) {
    uint8_t *blob = NULL;
    size_t len = 0;
    javm_status s = jv_asm_assemble(src, strlen(src), &blob, &len);
    if (s == JAVM_OK) {
        free(blob);
        fail_msg("expected an error containing '%s' for:\n%s", needle, src);
    }
    if (!strstr(javm_last_error(), needle))
        fail_msg("error '%s' does not contain '%s'", javm_last_error(), needle);
}

/* ---- ASM-1: every vector program ----------------------------------------------------------- */

static int roundtrip_file(javm_isa isa, const char *path, char *why, size_t n) {
    json_object *root = json_object_from_file(path);
    if (!root) return snprintf(why, n, "%s: not JSON", path), 0;
    json_object *prog;
    if (!json_object_object_get_ex(root, "program", &prog) || !json_object_is_type(prog, json_type_array)) {
        json_object_put(root);
        return snprintf(why, n, "%s: no program", path), 0;
    }
    size_t len = json_object_array_length(prog);
    uint8_t *blob = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) blob[i] = (uint8_t)json_object_get_int(json_object_array_get_idx(prog, i));
    json_object_put(root);
    char *text = NULL;
    int ok = 0;
    if (jv_asm_disassemble_isa(isa, blob, len, JV_ASM_DIS_COMMENTS, &text) != JAVM_OK) {
        snprintf(why, n, "%s: disasm: %s", path, javm_last_error());
    } else {
        uint8_t *back = NULL;
        size_t back_len = 0;
        if (jv_asm_assemble_isa(isa, text, strlen(text), &back, &back_len, NULL) != JAVM_OK)
            snprintf(why, n, "%s: asm: %s", path, javm_last_error());
        else if (back_len != len || memcmp(back, blob, len))
            snprintf(why, n, "%s: bytes differ", path);
        else
            ok = 1;
        free(back);
    }
    free(text);
    free(blob);
    return ok;
}

/* asm(disasm(p)) == p for every vector program, in the dialect of its set. */
static void roundtrip_dir(javm_isa isa, const char *dir, int expect_files) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0, good = 0;
    char why[2048], path[1024];
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        files++;
        if (roundtrip_file(isa, path, why, sizeof why)) good++;
        else print_error("%s\n", why);
    }
    closedir(d);
    print_message("round trip (%s): %d/%d vector programs\n", javm_isa_name(isa), good, files);
    assert_int_equal(files, expect_files);
    assert_int_equal(good, files);
}

static void roundtrip_all_vectors(void **state) {
    (void)state;
    roundtrip_dir(JAVM_ISA_GP07, VECTOR_DIR, 307);
    roundtrip_dir(JAVM_ISA_GP08, JAVM_VECTOR_DIR "/gp08", 356);
}

/* The dialects differ exactly where opcodes.def says: the same bytes disassemble to other
 * mnemonics, and each dialect's own instructions round-trip. */
static void roundtrip_dialects(void **state) {
    (void)state;
    /* 65 87 6e 87 02: sbrk, zero_extend_16 and an invalid opcode in gp07; count_set_bits_64,
     * reverse_bytes and unlikely in gp08 */
    const uint8_t code[] = {0x65, 0x87, 0x6e, 0x87, 0x02};
    const uint8_t mask[] = {0x15};
    size_t len;
    uint8_t *blob = jv_pvm_blob_encode(NULL, 0, 0, code, sizeof code, mask, &len);
    char *t7 = NULL, *t8 = NULL;
    assert_int_equal(jv_asm_disassemble_isa(JAVM_ISA_GP07, blob, len, 0, &t7), JAVM_OK);
    assert_int_equal(jv_asm_disassemble_isa(JAVM_ISA_GP08, blob, len, 0, &t8), JAVM_OK);
    assert_non_null(strstr(t7, "sbrk r7, r8"));
    assert_non_null(strstr(t7, "zero_extend_16 r7, r8"));
    assert_non_null(strstr(t7, "invalid opcode 2"));
    assert_non_null(strstr(t8, "count_set_bits_64 r7, r8"));
    assert_non_null(strstr(t8, "reverse_bytes r7, r8"));
    assert_non_null(strstr(t8, "unlikely"));
    uint8_t *back = NULL;
    size_t back_len = 0;
    assert_int_equal(jv_asm_assemble_isa(JAVM_ISA_GP08, t8, strlen(t8), &back, &back_len, NULL),
                     JAVM_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, blob, len);
    free(back);
    /* the gp07 text does not assemble as gp08 (sbrk is gone) */
    assert_int_equal(jv_asm_assemble_isa(JAVM_ISA_GP08, t7, strlen(t7), &back, &back_len, NULL),
                     JAVM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(javm_last_error(), "'sbrk' does not exist in gp08"));
    free(t7);
    free(t8);
    free(blob);
}

/* Programs with the oddities the vectors may contain: non-minimal immediates, clamped register
 * nibbles, trailing bytes, invalid opcodes, bitmask gaps, an unused entry width. */
static void roundtrip_oddities(void **state) {
    (void)state;
    static const struct {
        uint8_t code[40];
        uint32_t len;
        uint8_t mask[5];
    } cases[] = {
        {{51, 7, 2, 0, 0, 0}, 6, {0x01}},                       /* load_imm with a 4-byte 2 */
        {{51, 0x0f, 2}, 3, {0x01}},                              /* register nibble 15 */
        {{51, 0xf7, 2}, 3, {0x01}},                              /* ignored high nibble */
        {{0, 0xaa, 0xbb, 1}, 4, {0x09}},                         /* trap with trailing bytes */
        {{0xff, 1, 2}, 3, {0x01}},                               /* invalid opcode */
        {{1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, 30, {0x01}},
        {{9, 9, 1}, 3, {0x04}},                                  /* bytes before the first start */
        {{40, 0}, 2, {0x01}},                                    /* jump to itself, 1-byte offset */
        {{40}, 1, {0x01}},                                       /* jump with 0-byte offset */
        {{20, 3, 1, 2}, 4, {0x01}},                              /* short load_imm_64 */
        {{30, 0x0b, 1}, 3, {0x01}},                              /* A3 length byte 11 */
        {{180, 0x77, 9, 1}, 4, {0x01}},                          /* A11 length byte 9 */
        {{190, 0x21, 200}, 3, {0x01}},                           /* A12 rd byte 200 */
        {{170, 0x21, 0, 0, 0, 0}, 6, {0x01}},                    /* branch with 4-byte offset 0 */
        {{81, 0x11, 5, 0xfb}, 4, {0x01}},                        /* branch_eq_imm to pc -5 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int z = 0; z < 3; z++) {
            uint32_t jt[2] = {0, cases[i].len};
            uint32_t nj = z ? 2 : 0;
            size_t len;
            uint8_t *blob = jv_pvm_blob_encode(jt, nj, (uint8_t)z, cases[i].code, cases[i].len, cases[i].mask, &len);
            assert_non_null(blob);
            char *text = NULL;
            if (jv_asm_disassemble(blob, len, JV_ASM_DIS_COMMENTS, &text) != JAVM_OK)
                fail_msg("case %zu z %d: %s", i, z, javm_last_error());
            expect_blob(text, blob, len);
            free(text);
            free(blob);
        }
    }
}

/* ---- ASM-2: minimal encodings, labels, relaxation ------------------------------------------ */

static void encodes_minimal(void **state) {
    (void)state;
    /* inst_add_32 */
    expect_blob("add_32 r9, r7, r8\n", (const uint8_t[]){0, 0, 3, 190, 135, 9, 1}, 7);
    /* load_imm r7, 2 ; jump_ind r7, 1 ; trap ; load_imm_64 r8, 0xdeadbeef (docs/PROGRAM.md §2) */
    expect_blob(".jumptable target\n"
                "load_imm r7, 2\n jump_ind r7, 1\n trap\n"
                "target: load_imm_64 r8, 0xDEADBEEF\n",
                (const uint8_t[]){1, 1, 17, 7, 51, 7, 2, 50, 7, 1, 0, 20, 8, 239, 190, 173, 222, 0, 0, 0, 0, 201, 0, 0},
                24);
    /* immediates: 0 is 0 bytes, -1 is 1 byte, 255 needs 2, 0x800000 needs 4 */
    expect_blob("load_imm r1, 0\n", (const uint8_t[]){0, 0, 2, 51, 1, 1}, 6);
    expect_blob("load_imm r1, -1\n", (const uint8_t[]){0, 0, 3, 51, 1, 0xff, 1}, 7);
    expect_blob("load_imm r1, 255\n", (const uint8_t[]){0, 0, 4, 51, 1, 0xff, 0, 1}, 8);
    expect_blob("load_imm r1, 0x800000\n", (const uint8_t[]){0, 0, 6, 51, 1, 0, 0, 0x80, 0, 1}, 10);
    expect_blob("load_imm r1, 0xffffffffff800000\n", (const uint8_t[]){0, 0, 5, 51, 1, 0, 0, 0x80, 1}, 9);
    /* explicit width */
    expect_blob("load_imm r1, 2:4\n", (const uint8_t[]){0, 0, 6, 51, 1, 2, 0, 0, 0, 1}, 10);
    /* store_imm_ind_u16 r7, 1, 0x1234 (class A6, docs/ISA.md §4) */
    expect_blob("store_imm_ind_u16 r7, 1, 0x1234\n", (const uint8_t[]){0, 0, 5, 71, 0x17, 1, 0x34, 0x12, 1}, 9);
    /* store_imm_u8 0x20000, 0x12 */
    expect_blob("store_imm_u8 0x20000, 0x12\n", (const uint8_t[]){0, 0, 6, 30, 3, 0, 0, 2, 0x12, 1}, 10);
    /* move_reg rD, rA: low nibble is the destination */
    expect_blob("move_reg r1, r2\n", (const uint8_t[]){0, 0, 2, 100, 0x21, 1}, 6);
    /* load_imm_jump_ind r8, r7, 1234, 0 */
    expect_blob("load_imm_jump_ind r8, r7, 1234, 0\n", (const uint8_t[]){0, 0, 5, 180, 0x78, 2, 0xd2, 0x04, 1}, 9);
    /* .equ, expressions, numbers */
    expect_blob(".equ BASE, 0x1_0000\nload_imm r1, BASE*2 + (4 - 8) // c\n",
                (const uint8_t[]){0, 0, 5, 51, 1, 0xfc, 0xff, 0x01, 1}, 9);
    /* raw items */
    expect_blob(".bytes 1, 2 3\n.insn 0xff, 7\n", (const uint8_t[]){0, 0, 5, 1, 2, 3, 0xff, 7, 0x08}, 9);
}

static void labels_resolve(void **state) {
    (void)state;
    /* backward branch: branch_ne_imm r7, 0, L0 at pc 6 (a constructed example) */
    expect_blob("top: load_imm r7, 1\n load_imm r8, 2\n branch_ne_imm r7, 0, top\n",
                (const uint8_t[]){0, 0, 9, 51, 7, 1, 51, 8, 2, 82, 7, 0xfa, 0x49, 0x00}, 14);
    /* forward jump over a fallthrough, and a label at the end of the code */
    expect_blob("jump end\nfallthrough\nend:\n", (const uint8_t[]){0, 0, 3, 40, 3, 1, 0x05}, 7);
    /* jump to itself has a 0-byte offset */
    expect_blob("l: jump l\n", (const uint8_t[]){0, 0, 1, 40, 1}, 5);
    /* an absolute numeric target */
    expect_blob("fallthrough\njump 0\n", (const uint8_t[]){0, 0, 3, 1, 40, 0xff, 0x03}, 7);
    /* relaxation: 200 bytes of filler push the offset to 2 bytes */
    char src[4096] = "jump far\n";
    for (int i = 0; i < 100; i++) strcat(src, "move_reg r1, r2\n");
    strcat(src, "far: trap\n");
    size_t len;
    uint8_t *blob = assemble_ok(src, &len);
    /* header 0 0 varint(204)=80 cc; jump 40 cc 00 */
    assert_int_equal(blob[2], 0x80);
    assert_int_equal(blob[3], 204);
    assert_int_equal(blob[4], 40);
    assert_int_equal(blob[5], 203);
    assert_int_equal(blob[6], 0);
    free(blob);
    /* jump table: minimal width 2 for a target >= 256 */
    src[0] = 0;
    strcat(src, ".jumptable a, b\na: trap\n");
    for (int i = 0; i < 150; i++) strcat(src, "move_reg r1, r2\n");
    strcat(src, "b: trap\n");
    blob = assemble_ok(src, &len);
    assert_int_equal(blob[0], 2);
    assert_int_equal(blob[1], 2);
    assert_int_equal(blob[4] | blob[5] << 8, 0);
    assert_int_equal(blob[6] | blob[7] << 8, 301);
    free(blob);
    expect_blob(".jumpwidth 3\n.jumptable x\nx: trap\n", (const uint8_t[]){1, 3, 1, 0, 0, 0, 0, 1}, 8);
}

/* ---- ASM-3: errors name the line ------------------------------------------------------------ */

static void errors_have_lines(void **state) {
    (void)state;
    expect_error("trap\nad r1, r2\n", "line 2: unknown mnemonic 'ad'");
    expect_error("add_64 r1, r2\n", "line 1: expected ','");
    expect_error("add_64 r1, r2, r13\n", "expected a register r0..r12");
    expect_error("add_64 r1, r2, r3, r4\n", "unexpected");
    expect_error("load_imm r1, 0x100000000\n", "does not fit in 4 bytes");
    expect_error("load_imm r1, 300:1\n", "does not fit in 1 byte");
    expect_error("load_imm r1, 3:5\n", "width after ':' must be 0..4");
    expect_error("load_imm r1, 99999999999999999999999\n", "does not fit in 64 bits");
    expect_error("load_imm r1, 0x12g\n", "bad digit");
    expect_error("\n\njump nowhere\n", "line 3: undefined label 'nowhere'");
    expect_error("a: trap\na: trap\n", "line 2: 'a' is already defined on line 1");
    expect_error(".frob 1\n", "unknown directive '.frob'");
    expect_error(".bytes 256\n", "out of range");
    expect_error(".bytes\n", "needs at least one byte");
    expect_error("load_imm r1, X\n", "not a constant defined above");
    expect_error(".jumpwidth 1\n.jumptable 300\n", "does not fit in 1 byte");
    expect_error(".jumpwidth 5\n", ".jumpwidth must be 0..4");
    expect_error(".jumpwidth 0\n\n.jumptable 0\n", "line 3: jump-table entries need a .jumpwidth");
    expect_error("l: jump l:0\n trap\n jump l:0\n", "line 3: branch offset does not fit its width");
    expect_error("r1: trap\n", "is a register");
    expect_error("jump -0x8000000000000000\n", "out of reach");
    expect_error("jump 0x7fffffffffffffff\n", "out of reach");
    expect_error("load_imm r1, (1\n", "missing ')'");
}

static void warns_about_non_block_targets(void **state) {
    (void)state;
    uint8_t *blob = NULL;
    size_t len;
    char *w = NULL;
    const char *src = "jump x\nload_imm r1, 1\nx: trap\n.jumptable y\nfallthrough\ny: trap\n";
    assert_int_equal(jv_asm_assemble_warn(src, strlen(src), &blob, &len, &w), JAVM_OK);
    assert_non_null(w);
    assert_non_null(strstr(w, "line 1: warning: 'x' is not the start of a basic block"));
    assert_null(strstr(w, "'y'"));
    free(w);
    free(blob);
    src = "jump x\nload_imm r1, 1\nfallthrough\nx: trap\n.jumptable x\n";
    assert_int_equal(jv_asm_assemble_warn(src, strlen(src), &blob, &len, &w), JAVM_OK);
    assert_null(w);
    free(blob);
}

static void assemble_fuzzish_no_crash(void **state) {
    (void)state;
    /* truncated prefixes of a valid source never crash and either assemble or fail cleanly */
    const char *src = ".equ A, 5\n.jumptable l1\nl1: load_imm r1, A:2 ; c\n branch_eq r1, r2, l1:4\n"
                      " store_imm_ind_u8 r1, -3, 0x7f\n .bytes 1,2\n .insn 0xff\n";
    for (size_t n = 0; n <= strlen(src); n++) {
        uint8_t *blob = NULL;
        size_t len = 0;
        if (jv_asm_assemble(src, n, &blob, &len) == JAVM_OK) free(blob);
    }
}

/* The source is length-delimited: a register name at the very end is not read past len (it
 * used atoi, which read on: "r1" followed by an out-of-range '2' became r12), and deeply nested
 * expressions fail with an error instead of overflowing the stack. */
static void length_and_depth_bounds(void **state) {
    (void)state;
    const char *full = "move_reg r1, r12";
    size_t len_a, len_b;
    uint8_t *a = NULL, *b = assemble_ok("move_reg r1, r1", &len_b);
    assert_int_equal(jv_asm_assemble(full, strlen(full) - 1, &a, &len_a), JAVM_OK);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_b);
    free(a);
    free(b);
    char *exact = malloc(15); /* no NUL after the text (ASan sees an over-read) */
    assert_non_null(exact);
    memcpy(exact, "move_reg r1, r1", 15);
    assert_int_equal(jv_asm_assemble(exact, 15, &a, &len_a), JAVM_OK);
    free(a);
    free(exact);
    size_t n = 200000;
    char *deep = malloc(2 * n + 64);
    assert_non_null(deep);
    for (int k = 0; k < 2; k++) {
        size_t m = (size_t)sprintf(deep, "add_imm_32 r1, r2, ");
        for (size_t i = 0; i < n; i++) deep[m++] = k ? '-' : '(';
        deep[m++] = '1';
        for (size_t i = 0; k == 0 && i < n; i++) deep[m++] = ')';
        deep[m] = 0;
        expect_error(deep, "nested");
    }
    free(deep);
    expect_blob("add_imm_32 r1, r2, ((((-(-(~~5)))))) - -1\n", (const uint8_t[]){0, 0, 3, 131, 0x21, 6, 1}, 7);
}

/* Branch relaxation settles however long the chain of width growths is: here each jump spans the
 * next one and sits exactly at the 1-byte limit until that one grows (one more round per link;
 * a fixed bound of 64 rounds used to reject this valid program). */
static void long_relaxation_chain(void **state) {
    (void)state;
    enum { N = 100, FILL = 123 };
    char *src = malloc((size_t)N * (FILL * 5 + 40) + 2000);
    assert_non_null(src);
    size_t m = 0;
    for (int k = 1; k <= N; k++) {
        m += (size_t)sprintf(src + m, "jump L%d\n", k);
        if (k > 1) m += (size_t)sprintf(src + m, "L%d:\n", k - 1);
        for (int i = 0; i < (k < N ? FILL : 200); i++) m += (size_t)sprintf(src + m, "trap\n");
    }
    sprintf(src + m, "L%d: trap\n", N);
    size_t len;
    uint8_t *blob = assemble_ok(src, &len);
    jv_pvm_blob b;
    assert_int_equal(jv_pvm_blob_decode(blob, len, &b), JAVM_OK);
    /* every jump needed the 2-byte offset: 3 + 123 + 3 = 129 bytes to its label */
    assert_int_equal(b.code[0], 40);
    assert_int_equal(b.code[1], 129);
    assert_int_equal(b.code[2], 0);
    free(blob);
    free(src);
}

static void single_insn_disasm(void **state) {
    (void)state;
    size_t len;
    uint8_t *blob = assemble_ok("add_32 r9, r7, r8\nl: branch_eq_imm r1, -5, l\n", &len);
    javm_program *p = NULL;
    assert_int_equal(jv_pvm_program_create(blob, len, &p), JAVM_OK);
    char buf[128];
    assert_int_equal(javm_program_disasm(p, 0, buf, sizeof buf), 3);
    assert_string_equal(buf, "add_32 r9, r7, r8");
    assert_int_equal(javm_program_disasm(p, 3, buf, sizeof buf), 3);
    assert_string_equal(buf, "branch_eq_imm r1, -5, 3");
    assert_int_equal(javm_program_disasm(p, 1, buf, sizeof buf), 0);
    assert_int_equal(javm_program_disasm(p, 6, buf, sizeof buf), 0);
    jv_pvm_program_destroy(p);
    free(blob);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_all_vectors),
        cmocka_unit_test(roundtrip_dialects),
        cmocka_unit_test(roundtrip_oddities),
        cmocka_unit_test(encodes_minimal),
        cmocka_unit_test(labels_resolve),
        cmocka_unit_test(errors_have_lines),
        cmocka_unit_test(warns_about_non_block_targets),
        cmocka_unit_test(assemble_fuzzish_no_crash),
        cmocka_unit_test(single_insn_disasm),
        cmocka_unit_test(length_and_depth_bounds),
        cmocka_unit_test(long_relaxation_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
