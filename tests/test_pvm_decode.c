/* pvm decoding: varints (the worked examples of docs/PROGRAM.md §1 and more, non-canonical
 * rejection), skip, every operand class (docs/ISA.md §4) with decodings of real vector programs, blob
 * validation errors (PVM-D1), the blob encoder, the op stream and block costs (PVM-D3/G1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "javm.h"
#include "pvm/pvm.h"

/* ---- varints -------------------------------------------------------------------------------- */
static const struct {
    uint64_t x;
    uint8_t len;
    uint8_t enc[9];
} varints[] = {
    {0, 1, {0x00}},
    {1, 1, {0x01}},
    {127, 1, {0x7f}},
    {128, 2, {0x80, 0x80}},
    {255, 2, {0x80, 0xff}},
    {256, 2, {0x81, 0x00}},
    {970, 2, {0x83, 0xca}},
    {16383, 2, {0xbf, 0xff}},
    {16384, 3, {0xc0, 0x00, 0x40}},
    {533597, 3, {0xc8, 0x5d, 0x24}},
    {2097151, 3, {0xdf, 0xff, 0xff}},
    {2097152, 4, {0xe0, 0x00, 0x00, 0x20}},
    {1ull << 28, 5, {0xf0, 0x00, 0x00, 0x00, 0x10}},
    {1ull << 35, 6, {0xf8, 0x00, 0x00, 0x00, 0x00, 0x08}},
    {1ull << 42, 7, {0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04}},
    {(1ull << 49) - 1, 7, {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
    {1ull << 49, 8, {0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02}},
    {(1ull << 56) - 1, 8, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
    {1ull << 56, 9, {0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}},
    {UINT64_MAX, 9, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
};

static void varint_worked_examples(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof varints / sizeof varints[0]; i++) {
        uint8_t buf[9];
        size_t n = jv_pvm_varint_encode(varints[i].x, buf);
        assert_int_equal(n, varints[i].len);
        assert_memory_equal(buf, varints[i].enc, n);
        uint64_t v = 0;
        size_t used = 0;
        assert_int_equal(jv_pvm_varint_decode(varints[i].enc, varints[i].len, &v, &used),
                         JV_VARINT_OK);
        assert_int_equal(used, varints[i].len);
        assert_true(v == varints[i].x);
        /* one byte short is truncated */
        assert_int_equal(jv_pvm_varint_decode(varints[i].enc, varints[i].len - 1u, &v, &used),
                         JV_VARINT_TRUNCATED);
    }
}

static void varint_noncanonical_rejected(void **state) {
    (void)state;
    static const uint8_t a[] = {0x80, 0x05};                   /* 5 in 2 bytes */
    static const uint8_t b[] = {0xc0, 0x00, 0x01};             /* 256 in 3 bytes */
    static const uint8_t c[] = {0xff, 1, 0, 0, 0, 0, 0, 0, 0}; /* 1 in 9 bytes */
    static const uint8_t d[] = {0xbf, 0x7f};                   /* 0x3f7f: canonical */
    uint64_t v;
    size_t used;
    assert_int_equal(jv_pvm_varint_decode(a, 2, &v, &used), JV_VARINT_NONCANONICAL);
    assert_int_equal(v, 5);
    assert_int_equal(jv_pvm_varint_decode(b, 3, &v, &used), JV_VARINT_NONCANONICAL);
    assert_int_equal(jv_pvm_varint_decode(c, 9, &v, &used), JV_VARINT_NONCANONICAL);
    assert_int_equal(jv_pvm_varint_decode(d, 2, &v, &used), JV_VARINT_OK);
    assert_int_equal(v, 0x3f7f);
    assert_int_equal(jv_pvm_varint_decode(a, 0, &v, &used), JV_VARINT_TRUNCATED);
}

static void varint_roundtrip_boundaries(void **state) {
    (void)state;
    for (unsigned s = 0; s < 64; s++) {
        uint64_t xs[3] = {(1ull << s) - 1, 1ull << s, (1ull << s) + 1};
        for (int k = 0; k < 3; k++) {
            uint8_t buf[9];
            size_t n = jv_pvm_varint_encode(xs[k], buf);
            uint64_t v;
            size_t used;
            assert_int_equal(jv_pvm_varint_decode(buf, n, &v, &used), JV_VARINT_OK);
            assert_int_equal(used, n);
            assert_true(v == xs[k]);
        }
    }
}

/* ---- skip ----------------------------------------------------------------------------------- */
static void skip_rules(void **state) {
    (void)state;
    uint8_t k[8] = {0};
    /* starts at 0, 3, 6, 7 (bitmask 0xc9 of the worked example) */
    k[0] = 0xc9;
    assert_int_equal(jv_pvm_skip(k, 17, 0), 2);
    assert_int_equal(jv_pvm_skip(k, 17, 3), 2);
    assert_int_equal(jv_pvm_skip(k, 17, 6), 0);
    /* pc 7: no more set bits; past the end (17) bits read 1 -> skip = 17 - 8 = 9 */
    assert_int_equal(jv_pvm_skip(k, 17, 7), 9);
    /* a long gap is capped at 24 */
    uint8_t z[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(jv_pvm_skip(z, 64, 0), 24);
    /* at the last byte the next position is past the end */
    assert_int_equal(jv_pvm_skip(z, 1, 0), 0);
}

/* ---- single-instruction decoding ------------------------------------------------------------ */
static void decode_one(const uint8_t *code, uint32_t len, uint32_t pc, uint32_t next_start,
                       jv_insn *in) {
    uint8_t mask[16] = {0};
    mask[pc / 8] |= (uint8_t)(1u << (pc % 8));
    if (next_start < len) mask[next_start / 8] |= (uint8_t)(1u << (next_start % 8));
    jv_pvm_decode_insn(JAVM_ISA_GP07, code, len, mask, pc, in);
}

static void decode_worked_examples(void **state) {
    (void)state;
    jv_insn in;
    { /* be 87 09: add_32 rA=7 rB=8 rD=9 */
        static const uint8_t c[] = {0xbe, 0x87, 0x09};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.opcode, 190);
        assert_true(in.valid);
        assert_int_equal(in.len, 3);
        assert_int_equal(in.ra, 7);
        assert_int_equal(in.rb, 8);
        assert_int_equal(in.rd, 9);
    }
    { /* 1e 03 00 00 02 12: store_imm_u8 x=0x20000 y=0x12 */
        static const uint8_t c[] = {0x1e, 0x03, 0x00, 0x00, 0x02, 0x12};
        decode_one(c, 6, 0, 6, &in);
        assert_int_equal(in.opcode, 30);
        assert_int_equal(in.lx, 3);
        assert_true(in.imm_x == 0x20000);
        assert_int_equal(in.ly, 1);
        assert_true(in.imm_y == 0x12);
    }
    { /* 47 17 01 34 12: store_imm_ind_u16 rA=7 x=1 y=0x1234 */
        static const uint8_t c[] = {0x47, 0x17, 0x01, 0x34, 0x12};
        decode_one(c, 5, 0, 5, &in);
        assert_int_equal(in.opcode, 71);
        assert_int_equal(in.ra, 7);
        assert_true(in.imm_x == 1);
        assert_true(in.imm_y == 0x1234);
    }
    { /* 33 07 02: load_imm r7 = 2; 33 07 ff: r7 = -1 */
        static const uint8_t c[] = {0x33, 0x07, 0x02};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.ra, 7);
        assert_true(in.imm_x == 2);
        static const uint8_t d[] = {0x33, 0x07, 0xff};
        decode_one(d, 3, 0, 3, &in);
        assert_true(in.imm_x == UINT64_MAX);
    }
    { /* 95 77 01: add_imm_64 r7 = r7 + 1 */
        static const uint8_t c[] = {0x95, 0x77, 0x01};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.opcode, 149);
        assert_int_equal(in.ra, 7);
        assert_int_equal(in.rb, 7);
        assert_true(in.imm_x == 1);
    }
    { /* 32 07 01: jump_ind r7 + 1 */
        static const uint8_t c[] = {0x32, 0x07, 0x01};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.opcode, 50);
        assert_int_equal(in.ra, 7);
        assert_true(in.imm_x == 1);
    }
    { /* 14 08 ef be ad de 00 00 00 00: load_imm_64 r8 = 0xdeadbeef */
        static const uint8_t c[] = {0x14, 0x08, 0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0};
        decode_one(c, 10, 0, 10, &in);
        assert_int_equal(in.opcode, 20);
        assert_int_equal(in.ra, 8);
        assert_true(in.imm_x == 0xdeadbeefull);
    }
    { /* b4 78 02 d2 04: load_imm_jump_ind rA=8 rB=7 x=1234 y=0 */
        static const uint8_t c[] = {0xb4, 0x78, 0x02, 0xd2, 0x04};
        decode_one(c, 5, 0, 5, &in);
        assert_int_equal(in.opcode, 180);
        assert_int_equal(in.ra, 8);
        assert_int_equal(in.rb, 7);
        assert_int_equal(in.lx, 2);
        assert_true(in.imm_x == 1234);
        assert_int_equal(in.ly, 0);
        assert_true(in.imm_y == 0);
    }
    { /* 52 07 fa at pc 6: branch_ne_imm r7, 0 -> pc 0 */
        uint8_t c[9] = {0};
        c[6] = 0x52;
        c[7] = 0x07;
        c[8] = 0xfa;
        decode_one(c, 9, 6, 9, &in);
        assert_int_equal(in.opcode, 82);
        assert_int_equal(in.ra, 7);
        assert_true(in.imm_x == 0);
        assert_int_equal(in.ly, 1);
        assert_int_equal(in.target, 0);
    }
}

static void decode_every_class(void **state) {
    (void)state;
    jv_insn in;
    { /* A0 trap */
        static const uint8_t c[] = {0x00};
        decode_one(c, 1, 0, 1, &in);
        assert_int_equal(in.opcode, 0);
        assert_true(in.valid);
        assert_int_equal(in.len, 1);
    }
    { /* A1 ecalli 0xff -> sign-extended */
        static const uint8_t c[] = {10, 0xff};
        decode_one(c, 2, 0, 2, &in);
        assert_true(in.imm_x == UINT64_MAX);
        assert_int_equal(in.lx, 1);
    }
    { /* A2 load_imm_64 reads 8 bytes past the end of the code (ζ) */
        static const uint8_t c[] = {20, 0x0f, 0x11};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.ra, 12); /* 15 clamped */
        assert_true(in.imm_x == 0x11);
    }
    { /* A3: lX from b1 mod 8 capped at 4 */
        static const uint8_t c[] = {31, 0x07, 1, 2, 3, 4, 5, 6};
        decode_one(c, 8, 0, 8, &in);
        assert_int_equal(in.lx, 4);
        assert_true(in.imm_x == 0x04030201);
        assert_int_equal(in.ly, 2);
        assert_true(in.imm_y == 0x0605);
    }
    { /* A4 jump -2 from pc 0 */
        static const uint8_t c[] = {40, 0xfe};
        decode_one(c, 2, 0, 2, &in);
        assert_int_equal(in.target, -2);
    }
    { /* A5 with no immediate bytes */
        static const uint8_t c[] = {51, 0x03};
        decode_one(c, 2, 0, 2, &in);
        assert_int_equal(in.ra, 3);
        assert_int_equal(in.lx, 0);
        assert_true(in.imm_x == 0);
    }
    { /* A6 store_imm_ind_u8 rA=2 x=0x80 (sign-extended) y=0 */
        static const uint8_t c[] = {70, 0x12, 0x80};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.ra, 2);
        assert_true(in.imm_x == 0xffffffffffffff80ull);
        assert_int_equal(in.ly, 0);
    }
    { /* A7 branch_eq_imm r1, 5, +10 (from pc 0) */
        static const uint8_t c[] = {81, 0x11, 5, 10};
        decode_one(c, 4, 0, 4, &in);
        assert_int_equal(in.ra, 1);
        assert_true(in.imm_x == 5);
        assert_int_equal(in.target, 10);
    }
    { /* A8: low nibble is the destination */
        static const uint8_t c[] = {100, 0x52};
        decode_one(c, 2, 0, 2, &in);
        assert_int_equal(in.rd, 2);
        assert_int_equal(in.ra, 5);
    }
    { /* A9 with rB 15 clamped, 4-byte immediate */
        static const uint8_t c[] = {149, 0xf1, 0x00, 0x00, 0x00, 0x80};
        decode_one(c, 6, 0, 6, &in);
        assert_int_equal(in.ra, 1);
        assert_int_equal(in.rb, 12);
        assert_true(in.imm_x == 0xffffffff80000000ull);
    }
    { /* A10 branch_eq r1, r2, -3 from pc 0 */
        static const uint8_t c[] = {170, 0x21, 0xfd};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.ra, 1);
        assert_int_equal(in.rb, 2);
        assert_int_equal(in.target, -3);
    }
    { /* A12: rD is the whole third byte, clamped */
        static const uint8_t c[] = {200, 0x21, 0x33};
        decode_one(c, 3, 0, 3, &in);
        assert_int_equal(in.rd, 12);
    }
    { /* an invalid opcode is reported as such */
        static const uint8_t c[] = {0xff, 1, 2};
        decode_one(c, 3, 0, 3, &in);
        assert_false(in.valid);
        assert_int_equal(in.len, 3);
    }
}

static void opcode_table(void **state) {
    (void)state;
    for (unsigned isa = 0; isa < 2; isa++) {
        unsigned n = 0, terms = 0;
        for (unsigned b = 0; b < 256; b++) {
            const jv_pvm_opinfo *i = jv_pvm_opinfo_of((javm_isa)isa, (uint8_t)b);
            if (!i) continue;
            n++;
            terms += (i->flags & JV_OP_TERM) != 0;
            assert_int_equal(i->bytes[isa], b);
            assert_int_equal(jv_pvm_opcode_by_name((javm_isa)isa, i->name, strlen(i->name)),
                             (int)b);
        }
        assert_int_equal(n, 139);
        assert_int_equal(terms, 22);
        assert_int_equal(jv_pvm_opcode_by_name((javm_isa)isa, "nope", 4), -1);
        assert_string_equal(jv_pvm_opinfo_of((javm_isa)isa, 190)->name, "add_32");
        assert_int_equal(jv_pvm_opinfo_of((javm_isa)isa, 190)->cls, JV_CLASS_A12);
    }
    /* the dialect differences (docs/ISA.md): unlikely = 2 only in gp08, sbrk only in gp07,
     * 102..111 (gp07) = 101..110 (gp08), everything else identical */
    assert_null(jv_pvm_opinfo_of(JAVM_ISA_GP07, 2));
    assert_string_equal(jv_pvm_opinfo_of(JAVM_ISA_GP08, 2)->name, "unlikely");
    assert_string_equal(jv_pvm_opinfo_of(JAVM_ISA_GP07, 101)->name, "sbrk");
    assert_int_equal(jv_pvm_opcode_by_name(JAVM_ISA_GP08, "sbrk", 4), -1);
    assert_int_equal(jv_pvm_opcode_by_name(JAVM_ISA_GP07, "unlikely", 8), -1);
    assert_null(jv_pvm_opinfo_of(JAVM_ISA_GP08, 111));
    for (unsigned b = 0; b < 256; b++) {
        const jv_pvm_opinfo *a = jv_pvm_opinfo_of(JAVM_ISA_GP07, (uint8_t)b);
        if (!a || b == 101) continue;
        unsigned b8 = b >= 102 && b <= 111 ? b - 1 : b;
        assert_ptr_equal(jv_pvm_opinfo_of(JAVM_ISA_GP08, (uint8_t)b8), a);
    }
    assert_null(jv_pvm_opinfo_of((javm_isa)7, 0));
}

/* ---- blobs ---------------------------------------------------------------------------------- */
static void expect_bad(const uint8_t *b, size_t n, const char *needle) {
    jv_pvm_blob out;
    javm_status s = jv_pvm_blob_decode(b, n, &out);
    assert_int_equal(s, JAVM_ERR_BAD_PROGRAM);
    if (!strstr(javm_last_error(), needle)) {
        print_error("message '%s' lacks '%s'\n", javm_last_error(), needle);
        fail();
    }
    javm_program *p = (javm_program *)1;
    assert_int_equal(javm_program_load(b, n, &p), JAVM_ERR_BAD_PROGRAM);
    assert_null(p);
}

static void blob_validation_errors(void **state) {
    (void)state;
    static const uint8_t ok[] = {0, 0, 3, 190, 135, 9, 1};
    jv_pvm_blob out;
    assert_int_equal(jv_pvm_blob_decode(ok, sizeof ok, &out), JAVM_OK);
    assert_int_equal(out.code_len, 3);
    expect_bad(ok, 0, "empty");
    expect_bad(ok, 1, "width byte");
    expect_bad(ok, 2, "code length: truncated");
    expect_bad(ok, 5, "code length 3 exceeds");
    expect_bad(ok, 6, "bitmask needs 1 bytes");
    static const uint8_t trailing[] = {0, 0, 3, 190, 135, 9, 1, 0};
    expect_bad(trailing, sizeof trailing, "1 trailing bytes");
    static const uint8_t padding[] = {0, 0, 3, 190, 135, 9, 0x09};
    expect_bad(padding, sizeof padding, "padding");
    static const uint8_t noncanon[] = {0, 0, 0x80, 3, 190, 135, 9, 1};
    expect_bad(noncanon, sizeof noncanon, "non-canonical");
    static const uint8_t wide[] = {1, 5, 1, 0, 0, 0, 0, 0, 0, 1};
    expect_bad(wide, sizeof wide, "exceeds 4");
    static const uint8_t zero_width[] = {2, 0, 1, 0, 1};
    expect_bad(zero_width, sizeof zero_width, "entry width 0");
    static const uint8_t short_jt[] = {3, 2, 1, 0, 0};
    expect_bad(short_jt, sizeof short_jt, "jump table");
    static const uint8_t trunc_count[] = {0xc0, 0x00};
    expect_bad(trunc_count, sizeof trunc_count, "jump-table length: truncated");
    /* the code limit: 2^24 - 1 bytes (a block's store count fits its GAS op's 24 bits) */
    uint8_t big[2 + JV_VARINT_MAX] = {0, 0};
    size_t vl = jv_pvm_varint_encode(JV_PVM_MAX_CODE + 1ull, big + 2);
    expect_bad(big, 2 + vl, "code length 16777216 exceeds the limit 16777215");
    vl = jv_pvm_varint_encode(JV_PVM_MAX_CODE, big + 2);
    expect_bad(big, 2 + vl, "code length 16777215 exceeds the 0 bytes left");
    /* the real vector of the worked example decodes */
    static const uint8_t jt[] = {1, 1, 17, 7, 51, 7, 2, 50, 7, 1, 0, 20, 8, 239, 190,
                                 173, 222, 0, 0, 0, 0, 201, 0, 0};
    assert_int_equal(jv_pvm_blob_decode(jt, sizeof jt, &out), JAVM_OK);
    assert_int_equal(out.jump_count, 1);
    assert_int_equal(out.z, 1);
    assert_int_equal(out.code_len, 17);
}

static void blob_encode_roundtrip(void **state) {
    (void)state;
    static const uint8_t jt[] = {1, 1, 17, 7, 51, 7, 2, 50, 7, 1, 0, 20, 8, 239, 190,
                                 173, 222, 0, 0, 0, 0, 201, 0, 0};
    jv_pvm_blob b;
    assert_int_equal(jv_pvm_blob_decode(jt, sizeof jt, &b), JAVM_OK);
    uint32_t entries[1] = {7};
    size_t n = 0;
    uint8_t *enc = jv_pvm_blob_encode(entries, 1, 1, b.code, b.code_len, b.bitmask, &n);
    assert_non_null(enc);
    assert_int_equal(n, sizeof jt);
    assert_memory_equal(enc, jt, n);
    free(enc);
    /* a 200-byte code uses a 2-byte length varint */
    uint8_t code[200] = {0}, mask[25] = {0};
    mask[0] = 1;
    enc = jv_pvm_blob_encode(NULL, 0, 0, code, 200, mask, &n);
    assert_non_null(enc);
    assert_int_equal(n, 2 + 2 + 200 + 25);
    assert_int_equal(enc[2], 0x80);
    assert_int_equal(enc[3], 200);
    assert_int_equal(jv_pvm_blob_decode(enc, n, &b), JAVM_OK);
    free(enc);
}

/* ---- op stream, ϖ and block costs ------------------------------------------------------------ */
static void program_blocks_and_costs(void **state) {
    (void)state;
    /* inst_add_32: add_32 then the implicit trap: one block of cost 2 */
    static const uint8_t add[] = {0, 0, 3, 190, 135, 9, 1};
    javm_program *p;
    assert_int_equal(javm_program_load(add, sizeof add, &p), JAVM_OK);
    assert_int_equal(p->nops, 3);
    assert_int_equal(p->ops[0].iop, JV_I_GAS);
    assert_true(jv_pvm_gas_cost(&p->ops[0]) == 2);
    assert_int_equal(jv_pvm_gas_count(&p->ops[0]), 2);
    assert_int_equal(p->ops[1].iop, JV_I_add_32);
    assert_int_equal(p->ops[2].iop, JV_I_trap);
    assert_int_equal(jv_pvm_op_pc(p, 0), 0);
    assert_int_equal(jv_pvm_op_pc(p, 1), 0);
    assert_int_equal(jv_pvm_op_pc(p, 2), 3);
    assert_true(jv_pvm_is_block_start(p, 0));
    assert_false(jv_pvm_is_block_start(p, 1));
    javm_program_free(p);

    /* load_imm; jump_ind; trap; load_imm_64 with a jump table entry 7 */
    static const uint8_t jt[] = {1, 1, 17, 7, 51, 7, 2, 50, 7, 1, 0, 20, 8, 239, 190,
                                 173, 222, 0, 0, 0, 0, 201, 0, 0};
    assert_int_equal(javm_program_load(jt, sizeof jt, &p), JAVM_OK);
    /* blocks: [0,3] cost 2, [6] cost 1 (a fused trap, PVM-G6), [7, implicit trap] cost 2 */
    assert_true(jv_pvm_is_block_start(p, 0));
    assert_true(jv_pvm_is_block_start(p, 6));
    assert_true(jv_pvm_is_block_start(p, 7));
    assert_false(jv_pvm_is_block_start(p, 3));
    assert_int_equal(p->ops[0].iop, JV_I_GAS);
    assert_true(jv_pvm_gas_cost(&p->ops[0]) == 2);
    uint32_t r6 = jv_pvm_op_at(p, 6), r7 = jv_pvm_op_at(p, 7);
    assert_int_equal(p->ops[r6 - 1].iop, JV_I_jump_ind); /* no GAS op before the trap */
    assert_int_equal(p->ops[r6].iop, JV_PVM_FUSED + JV_I_trap);
    assert_int_equal(jv_pvm_gate_of(p, r6), r6);
    assert_true(jv_pvm_gas_cost(&p->ops[r6]) == 1);
    assert_int_equal(jv_pvm_gas_count(&p->ops[r6]), 1);
    assert_int_equal(jv_pvm_gas_stores(&p->ops[r6]), 0);
    assert_int_equal(jv_pvm_op_pc(p, r6), 6);
    assert_int_equal(p->ops[r7 - 1].iop, JV_I_GAS);
    assert_true(jv_pvm_gas_cost(&p->ops[r7 - 1]) == 2);
    assert_int_equal(jv_pvm_op_pc(p, r7 - 1), 7);
    assert_int_equal(p->jump_ops[0], r7 - 1);
    assert_int_equal(p->nops, 7); /* GAS, load_imm, jump_ind, trap; GAS, load_imm_64, trap */
    assert_int_equal(jv_pvm_program_jump_entry(p, 0), 7);
    assert_int_equal(jv_pvm_program_jump_width(p), 1);
    javm_program_free(p);

    /* a gap of 30 bytes between starts: the pc after skip=24 is an orphan trap */
    uint8_t code[32] = {0}, mask[4] = {0};
    code[0] = 1; /* fallthrough at 0 ... */
    code[0] = 51; /* load_imm r0 with a long encoding */
    mask[0] = 1;
    mask[3] = 0x40; /* start at 30 */
    code[30] = 0;
    size_t n;
    uint8_t *blob = jv_pvm_blob_encode(NULL, 0, 0, code, 31, mask, &n);
    assert_int_equal(javm_program_load(blob, n, &p), JAVM_OK);
    uint32_t orphan = jv_pvm_op_at(p, 25);
    assert_true(orphan != JV_PVM_NONE);
    assert_int_equal(p->ops[orphan].iop, JV_I_trap);
    assert_true(jv_pvm_gas_cost(&p->ops[0]) == 2); /* load_imm + the orphan trap */
    assert_int_equal(jv_pvm_op_pc(p, orphan), 25);
    javm_program_free(p);
    free(blob);
}

static void branch_target_validation(void **state) {
    (void)state;
    /* pc0 jump +3 (to pc 2: inside nothing), pc2 ...: targets must be block starts */
    /* code: 0: jump 4 (block start after the jump) ; 2: fallthrough ; 3: trap ; 4: trap */
    uint8_t code[] = {40, 3, 1, 0, 0};
    uint8_t mask[] = {0x1d}; /* 0, 2, 3, 4 */
    size_t n;
    uint8_t *blob = jv_pvm_blob_encode(NULL, 0, 0, code, sizeof code, mask, &n);
    javm_program *p;
    assert_int_equal(javm_program_load(blob, n, &p), JAVM_OK);
    /* target 3 is the instruction after fallthrough -> a block start */
    assert_true(jv_pvm_is_block_start(p, 3));
    /* the jump and the trap at 3 are one-op blocks: fused ops, their own gates */
    assert_int_equal(jv_pvm_op_target(&p->ops[jv_pvm_op_at(p, 0)]), jv_pvm_op_at(p, 3));
    assert_int_equal(jv_pvm_gate_of(p, jv_pvm_op_at(p, 3)), jv_pvm_op_at(p, 3));
    javm_program_free(p);
    free(blob);
    code[1] = 1; /* target 1: not an instruction start */
    blob = jv_pvm_blob_encode(NULL, 0, 0, code, sizeof code, mask, &n);
    assert_int_equal(javm_program_load(blob, n, &p), JAVM_OK);
    assert_int_equal(jv_pvm_op_target(&p->ops[jv_pvm_op_at(p, 0)]), JV_PVM_NONE);
    javm_program_free(p);
    free(blob);
}

static void standard_container(void **state) {
    (void)state;
    /* |o|=3 |w|=2 z=1 s=4096, o, w, |c|, c = the add_32 blob */
    static const uint8_t inner[] = {0, 0, 3, 190, 135, 9, 1};
    uint8_t b[64];
    size_t k = 0;
    uint8_t hdr[] = {3, 0, 0, 2, 0, 0, 1, 0, 0, 0x10, 0};
    memcpy(b, hdr, sizeof hdr);
    k = sizeof hdr;
    b[k++] = 'a';
    b[k++] = 'b';
    b[k++] = 'c';
    b[k++] = 'x';
    b[k++] = 'y';
    b[k++] = sizeof inner;
    b[k++] = 0;
    b[k++] = 0;
    b[k++] = 0;
    memcpy(b + k, inner, sizeof inner);
    k += sizeof inner;
    javm_program *p;
    assert_int_equal(javm_program_load_standard(b, k, &p), JAVM_OK);
    assert_true(p->standard);
    assert_int_equal(p->std.ro_len, 3);
    assert_int_equal(p->std.rw_len, 2);
    assert_int_equal(p->std.heap_pages, 1);
    assert_int_equal(p->std.stack_size, 4096);
    javm_program_free(p);
    assert_int_equal(javm_program_load_standard(b, k - 1, &p), JAVM_ERR_BAD_CONTAINER);
    assert_int_equal(javm_program_load_standard(b, 5, &p), JAVM_ERR_BAD_CONTAINER);
    /* a stack of 2^24-1 bytes and 0xffff heap pages still fit; a huge ro does not parse */
    uint8_t big[] = {0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0};
    uint8_t big2[sizeof big + sizeof inner];
    memcpy(big2, big, sizeof big);
    memcpy(big2 + sizeof big, inner, sizeof inner);
    assert_int_equal(javm_program_load_standard(big2, sizeof big2, &p), JAVM_OK);
    javm_program_free(p);
}


/* PVM-D3/D4/G1 as properties over random programs: every instruction op equals the
 * single-instruction decoder's view, the op after a falling-through op is its next pc, GAS ops
 * sit exactly before the first op and after terminators with the right cost, and branch
 * targets resolve to the GAS op of a block start or to NONE. */
static uint64_t rng_state = 0x70766d;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static bool is_term_op(uint8_t iop) {
    const jv_pvm_opinfo *i = jv_pvm_opinfo_of_iop(iop);
    return iop == JV_I_trap || (i && (i->flags & JV_OP_TERM));
}

/* The ops that keep their rest (pvm.h jv_pvm_op_rest). */
static bool keeps_rest(unsigned iop) {
    return (jv_pvm_iop_flags[iop] & (JV_OP_LOAD | JV_OP_STORE)) || iop == JV_I_ecalli ||
           iop == JV_I_sbrk;
}

static void op_stream_properties(void **state) {
    (void)state;
    static const uint8_t valid[] = {0, 1, 10, 20, 30, 40, 50, 51, 58, 62, 70, 80, 81, 90, 100,
                                    111, 120, 130, 149, 161, 170, 175, 180, 190, 230, 255};
    for (int round = 0; round < 400; round++) {
        uint32_t len = (uint32_t)(rng() % 200);
        uint8_t code[200], mask[26] = {0};
        for (uint32_t i = 0; i < len; i++) {
            code[i] = (rng() % 3) ? valid[rng() % sizeof valid] : (uint8_t)rng();
            if (rng() % 3 == 0 || i == 0) mask[i / 8] |= (uint8_t)(1u << (i % 8));
        }
        if (round % 5 == 0) /* long gaps: skip capped at 24 */
            for (uint32_t i = 1; i < len; i++)
                if (i % 40) mask[i / 8] &= (uint8_t)~(1u << (i % 8));
        uint32_t jt[3] = {(uint32_t)(rng() % (len + 2)), 0, (uint32_t)(rng() % (len + 2))};
        size_t n;
        uint8_t *blob = jv_pvm_blob_encode(jt, 3, 1, code, len, mask, &n);
        javm_program *p;
        assert_int_equal(javm_program_load(blob, n, &p), JAVM_OK);
        free(blob);
        for (uint32_t k = 0; k < p->nops; k++) {
            const jv_pvm_op *o = &p->ops[k];
            unsigned iop = jv_pvm_op_base(o);
            if (jv_pvm_op_is_gate(o)) { /* a block starts: after a terminator */
                assert_true(k == 0 || is_term_op((uint8_t)jv_pvm_op_base(&p->ops[k - 1])));
                uint32_t c = 0, stores = 0, j = jv_pvm_op_is_fused(o) ? k : k + 1;
                for (;; j++) {
                    c++;
                    stores += jv_pvm_op_is_store(&p->ops[j]);
                    if (is_term_op((uint8_t)jv_pvm_op_base(&p->ops[j]))) break;
                }
                assert_int_equal(jv_pvm_gas_count(o), c);
                assert_true(jv_pvm_gas_cost(o) == c); /* gp07 */
                assert_int_equal(jv_pvm_gas_stores(o), stores);
                /* PVM-G6: exactly the one-terminator blocks are fused */
                assert_int_equal(jv_pvm_op_is_fused(o), c == 1);
            }
            if (o->iop == JV_I_GAS) {
                assert_int_equal(jv_pvm_op_pc(p, k), jv_pvm_op_pc(p, k + 1));
                continue;
            }
            assert_true(jv_pvm_op_is_fused(o) || k > 0);
            if (!jv_pvm_op_is_gate(o)) assert_false(is_term_op((uint8_t)jv_pvm_op_base(&p->ops[k - 1])));
            uint32_t pc = jv_pvm_op_pc(p, k);
            assert_int_equal(jv_pvm_op_at(p, pc), k);
            if (keeps_rest(iop) || is_term_op((uint8_t)iop)) { /* rest: ops to the terminator */
                uint32_t j = k;
                while (!is_term_op((uint8_t)jv_pvm_op_base(&p->ops[j]))) j++;
                assert_int_equal(jv_pvm_op_rest(o), j - k);
                assert_int_equal(jv_pvm_block_rest(p, k), j - k);
            }
            if (pc == len) { /* the implicit trap is last */
                assert_int_equal(k, p->nops - 1);
                assert_int_equal(iop, JV_I_trap);
                continue;
            }
            jv_insn in;
            jv_pvm_decode_insn(JAVM_ISA_GP07, p->code, len, p->bitmask, pc, &in);
            bool start = (mask[pc / 8] >> (pc % 8)) & 1;
            if (!start || !in.valid) { /* orphan or invalid opcode: trap */
                assert_int_equal(iop, JV_I_trap);
            } else {
                assert_int_equal(iop, jv_pvm_iop_of_byte(JAVM_ISA_GP07, in.opcode));
                const jv_pvm_opinfo *info = jv_pvm_opinfo_of(JAVM_ISA_GP07, in.opcode);
                if (iop == JV_I_ecalli) { /* id, own pc and length */
                    assert_true(jv_pvm_op_imm2(o) == in.imm_x);
                    assert_int_equal(jv_pvm_ecall_pc(o), pc);
                    assert_int_equal(jv_pvm_ecall_next(o), pc + in.len);
                } else if (!keeps_rest(iop)) {
                    assert_true(o->x == in.imm_x);
                }
                if (!jv_pvm_op_is_fused(o)) assert_int_equal(o->d, in.rd);
                bool branch_cls = info->cls == JV_CLASS_A4 || info->cls == JV_CLASS_A7 ||
                                  info->cls == JV_CLASS_A10;
                assert_int_equal((info->flags & JV_OP_BRANCH) != 0, branch_cls);
                if (info->flags & (JV_OP_LOAD | JV_OP_STORE)) {
                    /* the one operand formula (pvm.h) against the class rule of the decoded
                     * instruction: μ[νX] (A3, A5), μ[φA + νX] (A6), μ[φB + νX] (A9) */
                    uint64_t regs[JV_PVM_NUM_REGS + 1];
                    for (unsigned r = 0; r < JV_PVM_NUM_REGS; r++)
                        regs[r] = rng();
                    regs[JV_PVM_REG_ZERO] = 0;
                    uint64_t base = info->cls == JV_CLASS_A6   ? regs[in.ra]
                                    : info->cls == JV_CLASS_A9 ? regs[in.rb]
                                                               : 0;
                    assert_int_equal(jv_pvm_op_addr(o, regs), (uint32_t)(base + in.imm_x));
                    assert_int_equal(jv_pvm_op_width(o), info->width);
                    assert_int_equal(jv_pvm_op_is_store(o), (info->flags & JV_OP_STORE) != 0);
                    assert_true(jv_pvm_op_is_mem(o));
                    if (info->cls == JV_CLASS_A5 || info->cls == JV_CLASS_A9)
                        assert_int_equal(o->a, in.ra); /* the data register */
                } else {
                    assert_false(jv_pvm_op_is_mem(o));
                    if (iop != JV_I_ecalli) assert_int_equal(o->a, in.ra);
                    assert_int_equal(o->b, in.rb);
                }
                if (branch_cls) {
                    bool ok = in.target >= 0 && in.target < (int64_t)len &&
                              jv_pvm_is_block_start(p, (uint32_t)in.target);
                    uint32_t t = jv_pvm_op_target(o);
                    if (ok) {
                        assert_true(jv_pvm_op_is_gate(&p->ops[t]));
                        assert_int_equal(jv_pvm_op_pc(p, t), (uint32_t)in.target);
                    } else {
                        assert_int_equal(t, JV_PVM_NONE);
                    }
                } else if (info->cls == JV_CLASS_A3 || info->cls == JV_CLASS_A6 ||
                           info->cls == JV_CLASS_A11) {
                    assert_true(jv_pvm_op_imm2(o) == in.imm_y);
                }
            }
            /* fall-through successor (skipping a GAS op) is the next pc */
            if (start && in.valid && !(jv_pvm_opinfo_of(JAVM_ISA_GP07, in.opcode)->flags & JV_OP_TERM)) {
                uint32_t nx = k + 1;
                if (p->ops[nx].iop == JV_I_GAS) nx++;
                assert_int_equal(jv_pvm_op_pc(p, nx), pc + in.len);
            }
        }
        /* PVM-D5: exactly the pcs of instruction ops map to an op */
        uint32_t mapped = 0, insn_ops = 0;
        for (uint32_t pc = 0; pc <= len + 70; pc++) mapped += jv_pvm_op_at(p, pc) != JV_PVM_NONE;
        for (uint32_t k = 0; k < p->nops; k++) insn_ops += p->ops[k].iop != JV_I_GAS;
        assert_int_equal(mapped, insn_ops);
        /* the listed blocks: ϖ in pc order, then |c| when the op before it falls into it;
         * each with its gate's cost */
        uint32_t listed = 0;
        for (uint32_t pc = 0; pc <= len; pc++) {
            uint32_t r = jv_pvm_op_at(p, pc);
            bool l = pc < len ? jv_pvm_is_block_start(p, pc) : false;
            if (pc == len) {
                uint32_t g = jv_pvm_gate_of(p, r);
                unsigned prev = g != JV_PVM_NONE && g > 0 ? jv_pvm_op_base(&p->ops[g - 1])
                                                          : JV_I_trap;
                l = prev == JV_I_fallthrough ||
                    ((jv_pvm_iop_flags[prev] & JV_OP_BRANCH) && prev != JV_I_jump &&
                     prev != JV_I_load_imm_jump);
            }
            if (!l) continue;
            uint32_t bpc = UINT32_MAX;
            uint64_t cost = 0;
            assert_int_equal(javm_program_block(p, listed, &bpc, &cost), JAVM_OK);
            assert_int_equal(bpc, pc);
            assert_true(cost == jv_pvm_gas_cost(&p->ops[jv_pvm_gate_of(p, r)]));
            listed++;
        }
        assert_int_equal(javm_program_block_count(p), listed);
        javm_program_free(p);
    }
}

/* The load-memory bound of docs/BENCHMARKS.md: the worst-case blobs (every code byte an
 * instruction: traps, fallthroughs and 1-byte jumps are one-op blocks, one fused op per byte
 * (PVM-G6); truncated add_64 one block of one op per byte) hold at most JV_LOAD_BOUND bytes per
 * input byte: a 16-byte op per code byte plus 1.8 bytes of code, bitmask, ϖ and rank maps.
 * Deterministic: the bytes the program reports (jv_pvm_program_bytes), not the resident memory.
 * (The 32-byte record with a GAS op before every one-op block held 61.9x.) */
#define JV_LOAD_BOUND 20.0
static void load_memory_bound(void **state) {
    (void)state;
    const uint32_t n = 1u << 16;
    const int bytes[] = {JV_OPC_trap, JV_OPC_fallthrough, JV_OPC_add_64, JV_OPC_jump,
                         JV_OPC_store_u8};
    uint8_t *code = malloc(n), *mask = malloc(n / 8);
    assert_non_null(code);
    assert_non_null(mask);
    memset(mask, 0xFF, n / 8);
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        memset(code, bytes[i], n);
        size_t len;
        uint8_t *blob = jv_pvm_blob_encode(NULL, 0, 0, code, n, mask, &len);
        assert_non_null(blob);
        javm_program *p;
        assert_int_equal(javm_program_load(blob, len, &p), JAVM_OK);
        free(blob);
        double ratio = (double)jv_pvm_program_bytes(p) / (double)len;
        print_message("load memory, %u bytes of opcode %d: %.1fx the input\n", n, bytes[i], ratio);
        if (ratio > JV_LOAD_BOUND)
            fail_msg("opcode %d: %.1f bytes per input byte, bound %.0f", bytes[i], ratio,
                     JV_LOAD_BOUND);
        assert_true(jv_pvm_program_bytes(p) > (size_t)p->nops * sizeof *p->ops);
        if (bytes[i] == JV_OPC_store_u8) { /* one block of n stores: all 24 bits of the count */
            assert_int_equal(p->ops[0].iop, JV_I_GAS);
            assert_int_equal(jv_pvm_gas_stores(&p->ops[0]), n);
            assert_int_equal(jv_pvm_gas_count(&p->ops[0]), n + 1);
        }
        javm_program_free(p);
    }
    free(code);
    free(mask);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varint_worked_examples),
        cmocka_unit_test(varint_noncanonical_rejected),
        cmocka_unit_test(varint_roundtrip_boundaries),
        cmocka_unit_test(skip_rules),
        cmocka_unit_test(decode_worked_examples),
        cmocka_unit_test(decode_every_class),
        cmocka_unit_test(opcode_table),
        cmocka_unit_test(blob_validation_errors),
        cmocka_unit_test(blob_encode_roundtrip),
        cmocka_unit_test(program_blocks_and_costs),
        cmocka_unit_test(branch_target_validation),
        cmocka_unit_test(standard_container),
        cmocka_unit_test(op_stream_properties),
        cmocka_unit_test(load_memory_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
