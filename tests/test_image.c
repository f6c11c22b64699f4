/* The Image layer (docs/IMAGE.md): validation, classification, encoding and content hash;
 * instances on every engine with identical exits, registers, memory and gas (the catalogue of
 * docs/MEMORY.md §15), CALL charges and gates, HALT flush roots checked against an independent
 * SHA-256 reference, MGMT eviction, kernel writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "api/api.h"
#include "fault/fault.h"
#include "image/image.h"
#include "pvm/asm.h"

#define CODE JAVM_IMAGE_CODE_BASE
#define DATA JAVM_IMAGE_DATA_BASE
#define MAP_A DATA                  /* 64 KiB, initial slot 1 (4 KiB of pattern): CoW, zero tail */
#define MAP_B (DATA + 0x100000)     /* 8 KiB, pinned slot 2 */
#define MAP_C (DATA + 0x200000)     /* 16 KiB, no source (the stack) */
#define MAP_C_END (MAP_C + 0x4000)
#define HALT_ADDR 0xFFFF0000u

static javm_engine engines[4];
static unsigned nengines;
static uint8_t pattern[4096];

static int setup(void **state) {
    for (unsigned i = 0; i < 4096; i++) pattern[i] = (uint8_t)(i * 7 + 1);
    const char *names[] = {"soft", "paged", "jit"};
    for (unsigned i = 0; i < 3; i++) {
        javm_engine e;
        if (javm_engine_parse(names[i], &e) == JAVM_OK && javm_engine_available(e))
            engines[nengines++] = e;
    }
    return 0;
}

/* ---- An independent reference for DataCap roots (page-store rules, OpenSSL EVP) ------------ */
static void ref_sha(const uint8_t *m, size_t n, uint8_t out[32]) {
    unsigned len = 32;
    assert_int_equal(EVP_Digest(m, n, out, &len, EVP_sha256(), NULL), 1);
}
/* Merkle root of n 32-byte leaves padded with zero leaves to a power of two >= n (n >= 1). */
static void ref_merkle(const uint8_t *leaves, size_t n, uint8_t out[32]) {
    size_t w = 1;
    while (w < n) w *= 2;
    uint8_t *lv = calloc(w, 32);
    memcpy(lv, leaves, n * 32);
    for (; w > 1; w /= 2)
        for (size_t i = 0; i < w / 2; i++) ref_sha(lv + 64 * i, 64, lv + 32 * i);
    memcpy(out, lv, 32);
    free(lv);
}
static void ref_root(const uint8_t *bytes, uint64_t size, uint8_t out[32]) {
    size_t pages = size / 4096;
    uint8_t *leaves = calloc(pages, 32);
    static const uint8_t zero[4096];
    for (size_t i = 0; i < pages; i++)
        if (memcmp(bytes + 4096 * i, zero, 4096)) ref_merkle(bytes + 4096 * i, 128, leaves + 32 * i);
    uint8_t two[64] = {0};
    for (int i = 0; i < 8; i++) two[i] = (uint8_t)(size >> (8 * i));
    ref_merkle(leaves, pages, two + 32);
    ref_sha(two, 64, out);
    free(leaves);
}
static void assert_slot_root(const javm_image_instance *in, uint32_t key, const uint8_t *bytes,
                             uint64_t size) {
    javm_datacap *d;
    assert_int_equal(javm_image_instance_slot(in, key, &d), JAVM_OK);
    assert_int_equal(javm_datacap_size(d), size);
    uint8_t got[32], want[32];
    assert_int_equal(javm_datacap_root(d, got), JAVM_OK);
    ref_root(bytes, size, want);
    assert_memory_equal(got, want, 32);
    javm_datacap_free(d);
}

/* ---- Building Images ------------------------------------------------------------------------ */
static uint8_t *assemble(const char *src, size_t *len) {
    uint8_t *blob;
    if (jv_asm_assemble(src, strlen(src), &blob, len) != JAVM_OK)
        fail_msg("assembly failed: %s\n%s", javm_last_error(), src);
    return blob;
}

static javm_datacap *cap(const void *bytes, size_t len, uint64_t size) {
    javm_datacap *d;
    assert_int_equal(javm_datacap_new(bytes, len, size, &d), JAVM_OK);
    return d;
}

/* The common layout (MAP_A, MAP_B, MAP_C) around a program; endpoint 0 at pc 0 with φ0 = the
 * halt address and φ1 = the stack top. */
static javm_image *std_image_args(const char *src, unsigned nargs) {
    size_t len;
    uint8_t *blob = assemble(src, &len);
    javm_image *img;
    assert_int_equal(javm_image_new(blob, len, NULL, &img), JAVM_OK);
    free(blob);
    uint32_t s1 = 1, s2 = 2;
    assert_int_equal(javm_image_add_mapping(img, MAP_A, 0x10000, &s1, 1), JAVM_OK);
    assert_int_equal(javm_image_add_mapping(img, MAP_B, 0x2000, &s2, 1), JAVM_OK);
    assert_int_equal(javm_image_add_mapping(img, MAP_C, 0x4000, NULL, 0), JAVM_OK);
    javm_datacap *a = cap(pattern, sizeof pattern, 0), *b = cap("pinned!", 7, 0x2000);
    assert_int_equal(javm_image_add_slot(img, 1, 2, b), JAVM_OK);
    assert_int_equal(javm_image_add_slot(img, 0, 1, a), JAVM_OK);
    javm_datacap_free(a);
    javm_datacap_free(b);
    uint64_t regs[JAVM_NUM_REGS] = {HALT_ADDR, MAP_C_END};
    assert_int_equal(javm_image_add_endpoint(img, 0, 0, nargs, regs), JAVM_OK);
    if (javm_image_seal(img) != JAVM_OK) fail_msg("seal: %s", javm_last_error());
    return img;
}
static javm_image *std_image(const char *src) { return std_image_args(src, 0); }

static javm_image_instance *instance(const javm_image *img, javm_engine e) {
    assert_int_equal(jv_fault_reinstall(), JAVM_OK); /* cmocka replaced it for this test */
    javm_config c;
    javm_config_init(&c);
    c.engine = e;
    javm_image_instance *in;
    if (javm_image_instance_new(img, &c, JAVM_IMAGE_ROOT, &in) != JAVM_OK)
        fail_msg("instance: %s", javm_last_error());
    return in;
}

static uint64_t mat_gas(const javm_image_instance *in) {
    javm_stats st = JAVM_STATS_INIT;
    assert_int_equal(javm_image_stats(in, &st), JAVM_OK);
    return st.mat_gas;
}

/* ---- The MEMORY §15 table: one program each, every engine ---------------------------------------- */
typedef struct mcase {
    const char *name;
    const char *src;
    javm_exit_kind kind;
    uint32_t fault; /* PAGE_FAULT address */
    uint64_t mat;   /* #3 gas */
    uint64_t r7;    /* expected φ7 at the exit */
    uint32_t probe; /* an address whose 8 bytes are compared across engines (0 = none) */
} mcase;

#define H "\njump_ind r0, 0\n"
static const mcase cases[] = {
    {"1 first read of a fresh writable page is free", "load_u64 r7, 0x10000008" H, JAVM_EXIT_HALT,
     0, 0, 0x6a635c554e474039, 0},
    {"2 first write charges one COW_COST", "load_imm r7, 5\nstore_u64 r7, 0x10001000" H,
     JAVM_EXIT_HALT, 0, 256, 5, MAP_A + 0x1000},
    {"3 read then write of one page: one CoW",
     "load_u64 r7, 0x10000010\nstore_u64 r7, 0x10000018" H, JAVM_EXIT_HALT, 0, 256,
     0xa29b948d867f7871,
     MAP_A + 0x18},
    {"4 a second write to the page is free",
     "store_imm_u64 0x10002000, 1\nstore_imm_u64 0x10002008, 2" H, JAVM_EXIT_HALT, 0, 256, 0,
     MAP_A + 0x2008},
    {"5 a straddling write charges 512", "load_imm r7, -1\nstore_u64 r7, 0x10003FFC" H,
     JAVM_EXIT_HALT, 0, 512, (uint64_t)-1, MAP_A + 0x3FFC},
    {"5 a straddling read is free", "load_u64 r7, 0x10000FFC" H, JAVM_EXIT_HALT, 0, 0, 0xfaf3ece5,
     0},
    {"6 a write into a pinned page panics; earlier charges stay",
     "store_imm_u64 0x10004000, 9\nstore_imm_u8 0x10100000, 1" H, JAVM_EXIT_PANIC, 0, 256, 0,
     MAP_B},
    {"7 a straddle out of its region faults with no charge",
     "load_imm r7, -1\nstore_u64 r7, 0x10203FFC" H, JAVM_EXIT_PAGE_FAULT, MAP_C_END, 0,
     (uint64_t)-1, MAP_C + 0x3FF8},
    {"8 an undeclared page faults", "load_u64 r7, 0x20000000" H, JAVM_EXIT_PAGE_FAULT, 0x20000000,
     0, 0, 0},
    {"8 below 64 KiB panics", "load_u64 r7, 0x100" H, JAVM_EXIT_PANIC, 0, 0, 0, 0},
    {"9 a read straddling out of the last code page faults", "load_u64 r7, 0x400FFC" H,
     JAVM_EXIT_PAGE_FAULT, CODE + 0x1000, 0, 0, 0},
    {"10 code bytes are readable", "load_u8 r7, 0x400000" H, JAVM_EXIT_HALT, 0, 0, 52 /* load_u8 */, 0},
    {"10 the code page tail reads zeros", "load_imm r7, 1\nload_u64 r7, 0x400800" H,
     JAVM_EXIT_HALT, 0, 0, 0, 0},
    {"10 a store into code panics", "store_imm_u8 0x400000, 1" H, JAVM_EXIT_PANIC, 0, 0, 0, 0},
    {"12 writes to two pages of one 2 MiB cluster charge two CoWs",
     "store_imm_u8 0x10005000, 1\nstore_imm_u8 0x10006000, 1" H, JAVM_EXIT_HALT, 0, 512, 0,
     MAP_A + 0x6000},
    {"17 past an under-sized cap: zeros, first write CoWs",
     "load_u64 r7, 0x10001000\nstore_imm_u8 0x10001001, 3" H, JAVM_EXIT_HALT, 0, 256, 0,
     MAP_A + 0x1000},
    {"11 reads across a pinned cap are free", "load_u8 r7, 0x10100000\nload_u8 r8, 0x10101000" H,
     JAVM_EXIT_HALT, 0, 0, 'p', 0},
};

static void table(void **state) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const mcase *t = &cases[c];
        javm_image *img = std_image(t->src);
        javm_exit_info first = JAVM_EXIT_INFO_INIT;
        int64_t first_gas = 0;
        uint64_t first_regs[JAVM_NUM_REGS], first_probe = 0;
        for (unsigned e = 0; e < nengines; e++) {
            javm_image_instance *in = instance(img, engines[e]);
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
            if (ex.kind != t->kind) fail_msg("%s [%s]: exit %s", t->name, javm_engine_name(engines[e]), javm_exit_str(ex.kind));
            if (t->kind == JAVM_EXIT_PAGE_FAULT) assert_int_equal(ex.arg, t->fault);
            if (mat_gas(in) != t->mat)
                fail_msg("%s [%s]: #3 gas %llu, expected %llu", t->name,
                         javm_engine_name(engines[e]), (unsigned long long)mat_gas(in),
                         (unsigned long long)t->mat);
            uint64_t regs[JAVM_NUM_REGS], probe = 0;
            javm_instance *vm = jv_image_instance_vm(in);
            for (unsigned r = 0; r < JAVM_NUM_REGS; r++) javm_reg_get(vm, r, &regs[r]);
            if (t->kind == JAVM_EXIT_HALT || t->r7) assert_int_equal(regs[7], t->r7);
            if (t->probe) assert_int_equal(javm_mem_read(vm, t->probe, &probe, 8), JAVM_OK);
            int64_t gas = javm_gas_get(vm);
            if (e == 0) {
                first = ex;
                first_gas = gas;
                memcpy(first_regs, regs, sizeof regs);
                first_probe = probe;
            } else {
                assert_int_equal(ex.pc, first.pc);
                assert_int_equal(ex.arg, first.arg);
                assert_int_equal(gas, first_gas);
                assert_memory_equal(regs, first_regs, sizeof regs);
                assert_int_equal(probe, first_probe);
            }
            javm_image_instance_free(in);
        }
        javm_image_free(img);
    }
}

/* 13: the block gate with the #3 reserve (one store: reserve 512). */
static void block_gate(void **state) {
    javm_image *img = std_image("store_imm_u64 0x10000000, 1" H); /* one block of 2 */
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 2 + 512 - 1, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
        assert_int_equal(ex.pc, 0);
        assert_int_equal(javm_image_gas_get(in), 513);
        javm_image_gas_set(in, 514);
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_image_gas_get(in), 514 - 2 - 256); /* only block_cost + the CoW */
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* A callee of 10,000 code bytes (halts at once), one pinned 3 MiB and one unpinned 64 KiB
 * mapping: the worked example, call_frame_cost 2752. */
static javm_image *callee_image(void) {
    char *src = malloc(64 * 1024);
    strcpy(src, "jump_ind r0, 0\n"); /* 2 bytes, then 9,998 one-byte traps */
    size_t at = strlen(src);
    for (int i = 0; i < 10000 - 2; i++) at += (size_t)sprintf(src + at, "trap\n");
    size_t len;
    uint8_t *blob = assemble(src, &len);
    free(src);
    javm_image *img;
    assert_int_equal(javm_image_new(blob, len, NULL, &img), JAVM_OK);
    free(blob);
    assert_int_equal(jv_image_cost(&img->img).code_len, 10000);
    uint32_t s1 = 1, s2 = 2;
    assert_int_equal(javm_image_add_mapping(img, DATA, 3u << 20, &s2, 1), JAVM_OK);
    assert_int_equal(javm_image_add_mapping(img, DATA + (4u << 20), 0x10000, &s1, 1), JAVM_OK);
    javm_datacap *p = cap("ro", 2, 3u << 20), *u = cap("rw", 2, 0x10000);
    assert_int_equal(javm_image_add_slot(img, 1, 2, p), JAVM_OK);
    assert_int_equal(javm_image_add_slot(img, 0, 1, u), JAVM_OK);
    javm_datacap_free(p);
    javm_datacap_free(u);
    uint64_t regs[JAVM_NUM_REGS] = {HALT_ADDR};
    assert_int_equal(javm_image_add_endpoint(img, 5, 0, 0, regs), JAVM_OK);
    assert_int_equal(javm_image_seal(img), JAVM_OK);
    return img;
}

/* 14: the ecall gate and the CALL charge (docs/IMAGE.md worked example: 2752, gate 2852). */
static void call_charge(void **state) {
    javm_image *callee = callee_image();
    assert_int_equal(javm_image_call_frame_cost(callee), 2752);
    javm_image *caller = std_image("load_imm r7, 3\nload_imm r8, 5\necalli 26" H);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *ci = instance(callee, engines[e]), *in = instance(caller, engines[e]);
        assert_int_equal(javm_image_instance_set_child(in, 3, ci), JAVM_OK);
        /* the caller's first block is 2 instructions (the ecalli is its own block of cost 0);
         * the gate needs 2852 more */
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 2 + 2852 - 1, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
        uint32_t ecall_pc = ex.pc;
        assert_true(ecall_pc > 0);
        assert_int_equal(javm_image_gas_get(in), 2851); /* nothing charged at the gate */
        /* exactly: gate + callee's block + the caller's block after the ecalli */
        javm_image_gas_set(in, 2852 + 1 + 1);
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_image_gas_get(in), 0);
        uint64_t r8;
        assert_int_equal(javm_image_reg_get(in, 8, &r8), JAVM_OK);
        assert_int_equal(r8, JAVM_IMAGE_OK);
        /* a CALL to a slot without an instance costs MGMT_OP_COST and reports it */
        assert_int_equal(javm_image_call(in, 0, 10000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_image_gas_get(in), 10000 - 3 - 2852 - 1);
        javm_image_instance_free(in);
        javm_image_instance_free(ci);
    }
    javm_image_free(caller);
    javm_image_free(callee);
}

/* Nested CALLs: arguments in, results out, the callee's host call served by the host on the
 * inner frame, its memory persisted between CALLs (and flushed into its slot), its CoW charged
 * again in every frame; exact gas on every engine. A callee that panics is faulted afterwards. */
static void nested_calls(void **state) {
    javm_image *callee = std_image_args("load_u64 r9, 0x10000100\nadd_64 r9, r9, r7\n"
                                        "store_u64 r9, 0x10000100\nadd_64 r7, r9, r8\n"
                                        "ecalli 40" H, 2);
    javm_image *caller = std_image("load_imm r9, 5\nload_imm r10, 7\nload_imm r7, 3\n"
                                   "load_imm r8, 0\necalli 26\nmove_reg r11, r7\nmove_reg r12, r8\n"
                                   "load_imm r7, 3\nload_imm r8, 0\necalli 26" H);
    uint64_t p;
    memcpy(&p, pattern + 0x100, 8);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *ci = instance(callee, engines[e]), *in = instance(caller, engines[e]);
        assert_int_equal(javm_image_instance_set_child(in, 3, ci), JAVM_OK);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
        for (uint64_t k = 1; ex.kind == JAVM_EXIT_HOST_CALL; k++) {
            assert_int_equal(ex.arg, 40);
            uint64_t r7;
            assert_int_equal(javm_image_reg_get(in, 7, &r7), JAVM_OK); /* the callee's */
            assert_int_equal(r7, p + 5 * k + 7);
            assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        }
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t r7, r8, r11, r12;
        javm_image_reg_get(in, 7, &r7);
        javm_image_reg_get(in, 8, &r8);
        javm_image_reg_get(in, 11, &r11);
        javm_image_reg_get(in, 12, &r12);
        assert_int_equal(r11, p + 12);
        assert_int_equal(r12, JAVM_IMAGE_OK);
        assert_int_equal(r7, p + 17);
        assert_int_equal(r8, JAVM_IMAGE_OK);
        /* caller 9 instructions (its two ecallis are blocks of cost 0); per CALL: 100 + 1664,
         * callee 5 instructions, its CoW 256, host floor 100 */
        assert_int_equal(javm_image_gas_get(in), 100000 - 9 - 2 * (1764 + 5 + 256 + 100));
        assert_int_equal(mat_gas(ci), 512);
        assert_int_equal(mat_gas(in), 0);
        uint8_t want[0x10000] = {0};
        memcpy(want, pattern, sizeof pattern);
        uint64_t stored = p + 10;
        memcpy(want + 0x100, &stored, 8);
        assert_slot_root(ci, 1, want, 0x10000);
        javm_image_instance_free(in);
        javm_image_instance_free(ci);
    }
    javm_image_free(caller);
    javm_image_free(callee);

    /* a panicking callee: CALLEE_PANIC, then FAULTED; the caller carries on */
    callee = std_image("trap");
    caller = std_image("load_imm r7, 3\nload_imm r8, 0\necalli 26\nmove_reg r11, r8\n"
                       "load_imm r7, 3\necalli 26\nmove_reg r12, r8\n"
                       "load_imm r7, 4\necalli 26" H);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *ci = instance(callee, engines[e]), *in = instance(caller, engines[e]);
        assert_int_equal(javm_image_instance_set_child(in, 3, ci), JAVM_OK);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t r8, r11, r12;
        javm_image_reg_get(in, 8, &r8);
        javm_image_reg_get(in, 11, &r11);
        javm_image_reg_get(in, 12, &r12);
        assert_int_equal(r11, JAVM_IMAGE_CALLEE_PANIC);
        assert_int_equal(r12, JAVM_IMAGE_FAULTED);
        assert_int_equal(r8, JAVM_IMAGE_NO_SLOT);
        assert_int_equal(javm_image_call(ci, 0, 1000, &ex), JAVM_ERR_STATE);
        javm_image_instance_free(in);
        javm_image_instance_free(ci);
    }
    javm_image_free(caller);
    javm_image_free(callee);
}

/* An ecalli is its own block (docs/IMAGE.md "Ecalls are blocks"): the store after a CALL in
 * the same source block is gated by the new block that starts after the ecalli, so its #3
 * reserve is checked after the callee spent gas. Short of it: out of gas at the new block's
 * start (the store), nothing charged or changed, and a top-up resumes there. Entering the
 * caller needs only its first block (2), not the store's reserve. */
static void ecall_block_gate(void **state) {
    javm_image *callee = std_image("jump_ind r0, 0");
    javm_image *caller = std_image("load_imm r7, 3\nload_imm r8, 0\necalli 26\n"
                                   "store_imm_u8 0x10000000, 1" H);
    const javm_program *prog = caller->img.prog;
    uint32_t ecall_pc = UINT32_MAX, store_pc = UINT32_MAX;
    for (uint32_t i = 0; i < prog->nops; i++) {
        if (prog->ops[i].iop == JV_I_ecalli) ecall_pc = jv_pvm_op_pc(prog, i);
        if (prog->ops[i].iop == JV_I_store_imm_u8) store_pc = jv_pvm_op_pc(prog, i);
    }
    assert_true(ecall_pc < store_pc && store_pc < prog->code_len);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *ci = instance(callee, engines[e]), *in = instance(caller, engines[e]);
        assert_int_equal(javm_image_instance_set_child(in, 3, ci), JAVM_OK);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        /* the ecall's own gate first: 2 + 1764 - 1 stops at the ecalli with 1763 left */
        assert_int_equal(javm_image_call(in, 0, 2 + 1764 - 1, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
        assert_int_equal(ex.pc, ecall_pc);
        assert_int_equal(javm_image_gas_get(in), 1763);
        /* then the CALL 1764, the callee 1, and 200 left < the store block's 2 + 512 */
        javm_image_gas_set(in, 1764 + 1 + 200);
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
        assert_int_equal(ex.pc, store_pc);
        assert_int_equal(javm_image_gas_get(in), 200);
        uint8_t b = 9;
        assert_int_equal(javm_image_mem_read(in, MAP_A, &b, 1), JAVM_OK);
        assert_int_equal(b, pattern[0]); /* the store did not happen */
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK); /* still short */
        assert_int_equal(ex.kind, JAVM_EXIT_OUT_OF_GAS);
        assert_int_equal(ex.pc, store_pc);
        assert_int_equal(javm_image_gas_get(in), 200);
        javm_image_gas_set(in, 514);
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_image_gas_get(in), 514 - 2 - 256); /* block cost + the CoW */
        assert_int_equal(javm_image_mem_read(in, MAP_A, &b, 1), JAVM_OK);
        assert_int_equal(b, 1);
        javm_image_instance_free(in);
        javm_image_instance_free(ci);
    }
    javm_image_free(caller);
    javm_image_free(callee);
}

/* 15 + flush: HALT then CALL again; the first write after re-entry pays again; the written
 * bytes persist and the slot's flushed root matches the reference. */
static void halt_rearm_flush(void **state) {
    javm_image *img = std_image("load_u64 r7, 0x10000100\nadd_imm_64 r7, r7, 1\n"
                                "store_u64 r7, 0x10000100\nstore_u64 r7, 0x10008000" H);
    uint64_t base;
    memcpy(&base, pattern + 0x100, 8);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        uint8_t want[0x10000] = {0};
        memcpy(want, pattern, sizeof pattern);
        for (int k = 1; k <= 3; k++) {
            javm_exit_info ex = JAVM_EXIT_INFO_INIT;
            assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
            assert_int_equal(ex.kind, JAVM_EXIT_HALT);
            assert_int_equal(mat_gas(in), 512ull * k); /* two CoWs in every frame */
            uint64_t r7;
            assert_int_equal(javm_image_reg_get(in, 7, &r7), JAVM_OK);
            assert_int_equal(r7, base + k);
            memcpy(want + 0x100, &r7, 8);
            memcpy(want + 0x8000, &r7, 8);
            assert_slot_root(in, 1, want, 0x10000);
        }
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* 16: frame state survives a page-table rebuild (paged engine: the host protections dropped
 * while the frame is suspended in a host call): no re-charge. */
static void rebuild_no_recharge(void **state) {
    javm_image *img = std_image("store_imm_u8 0x10007000, 1\necalli 40\nstore_imm_u8 0x10007001, 2"
                                "\nload_u8 r7, 0x10007000" H);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
        assert_int_equal(ex.arg, 40);
        jv_mem *m = &jv_image_instance_vm(in)->mem;
        if (m->mode == JV_MEM_PAGED) /* throw the page tables away */
            assert_int_equal(mprotect(m->base + DATA, 0x300000, PROT_NONE), 0);
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(mat_gas(in), 256);
        uint64_t r7;
        assert_int_equal(javm_image_reg_get(in, 7, &r7), JAVM_OK);
        assert_int_equal(r7, 1);
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* 20: MGMT_MOVE of a DataCap into a mapped slot: PAGE_IN_COST per 2 MiB at the op, the range's
 * states reset, the new bytes visible, a later write pays CoW again; the old slot is empty. */
static void mgmt_move_evicts(void **state) {
    javm_image *img = std_image("store_imm_u8 0x10000000, 0x55\n"
                                "load_imm r7, 9\nload_imm r8, 1\necalli 2\nmove_reg r9, r7\n"
                                "load_u8 r10, 0x10000000\nload_u8 r11, 0x10000001\n"
                                "store_imm_u8 0x10000002, 0x66" H);
    uint8_t fresh[0x3000];
    memset(fresh, 0xAB, sizeof fresh);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        javm_datacap *d = cap(fresh, sizeof fresh, 0);
        assert_int_equal(javm_image_instance_set_slot(in, 9, d), JAVM_OK);
        assert_int_equal(javm_image_instance_set_slot(in, 1, d), JAVM_ERR_STATE); /* mapped */
        javm_datacap_free(d);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t r9, r10, r11;
        javm_image_reg_get(in, 9, &r9);
        javm_image_reg_get(in, 10, &r10);
        javm_image_reg_get(in, 11, &r11);
        assert_int_equal(r9, JAVM_IMAGE_OK);
        assert_int_equal(r10, 0xAB); /* the guest's earlier write did not follow */
        assert_int_equal(r11, 0xAB);
        assert_int_equal(mat_gas(in), 256 + 256); /* CoW before and again after the eviction */
        /* gas: 8 instructions (the ecalli is a block of cost 0), 100 + 64 for the op, two CoWs */
        assert_int_equal(javm_image_gas_get(in), 100000 - 8 - 164 - 512);
        javm_datacap *none;
        assert_int_equal(javm_image_instance_slot(in, 9, &none), JAVM_ERR_INVALID_ARGUMENT);
        uint8_t want[0x10000] = {0};
        memcpy(want, fresh, sizeof fresh);
        want[2] = 0x66;
        assert_slot_root(in, 1, want, 0x10000);
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* DROP of a mapped slot re-sources its mapping as zeros; COPY into it leaves the source alone. */
static void mgmt_drop_and_copy(void **state) {
    javm_image *img = std_image("store_imm_u8 0x10000010, 0x77\n"
                                "load_imm r7, 1\necalli 3\nmove_reg r9, r7\n"       /* DROP 1 */
                                "load_u8 r10, 0x10000000\nstore_imm_u8 0x10000020, 0x11\n"
                                "ecalli 40\n"                                      /* host look */
                                "load_imm r7, 9\nload_imm r8, 1\necalli 1\n"        /* COPY 9->1 */
                                "load_u8 r11, 0x10000000\nload_u8 r12, 0x10000020" H);
    uint8_t fresh[4096];
    memset(fresh, 0xCD, sizeof fresh);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        javm_datacap *d = cap(fresh, sizeof fresh, 0);
        assert_int_equal(javm_image_instance_set_slot(in, 9, d), JAVM_OK);
        javm_datacap_free(d);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
        uint8_t b[2];
        assert_int_equal(javm_image_mem_read(in, MAP_A + 0x10, b, 1), JAVM_OK);
        assert_int_equal(b[0], 0); /* the write before the DROP did not survive it */
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t r9, r10, r11, r12;
        javm_image_reg_get(in, 9, &r9);
        javm_image_reg_get(in, 10, &r10);
        javm_image_reg_get(in, 11, &r11);
        javm_image_reg_get(in, 12, &r12);
        assert_int_equal(r9, JAVM_IMAGE_OK);
        assert_int_equal(r10, 0);    /* dropped: zeros */
        assert_int_equal(r11, 0xCD); /* copied in */
        assert_int_equal(r12, 0xCD); /* the write after the DROP was evicted by the COPY */
        /* two CoWs (before and after the DROP); 10 instructions (the three ecallis are blocks
         * of cost 0), DROP 100, the host call's floor 100, COPY 100 + 64 for the cap it maps */
        assert_int_equal(mat_gas(in), 512);
        assert_int_equal(javm_image_gas_get(in), 100000 - 10 - 100 - 100 - 164 - 512);
        javm_datacap *src;
        assert_int_equal(javm_image_instance_slot(in, 9, &src), JAVM_OK); /* COPY keeps it */
        javm_datacap_free(src);
        uint8_t want[0x10000] = {0};
        memcpy(want, fresh, sizeof fresh);
        assert_slot_root(in, 1, want, 0x10000);
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* 11: two pinned caps in one 2 MiB cluster are two units for the CALL cost (by size); reading
 * both charges nothing and the same gas on every engine, whatever the fault-around did. */
static void two_caps_one_cluster(void **state) {
    size_t len;
    uint8_t *blob = assemble("load_u8 r7, 0x10000000\nload_u8 r8, 0x10001000\n"
                             "load_u8 r9, 0x10001FFF" H, &len);
    javm_image *img;
    assert_int_equal(javm_image_new(blob, len, NULL, &img), JAVM_OK);
    free(blob);
    javm_datacap *a = cap("A", 1, 0), *b = cap("B", 1, 0);
    assert_int_equal(javm_image_add_slot(img, 1, 1, a), JAVM_OK);
    assert_int_equal(javm_image_add_slot(img, 1, 2, b), JAVM_OK);
    javm_datacap_free(a);
    javm_datacap_free(b);
    uint32_t k1 = 1, k2 = 2;
    assert_int_equal(javm_image_add_mapping(img, DATA, 4096, &k1, 1), JAVM_OK);
    assert_int_equal(javm_image_add_mapping(img, DATA + 4096, 4096, &k2, 1), JAVM_OK);
    uint64_t regs[JAVM_NUM_REGS] = {HALT_ADDR};
    assert_int_equal(javm_image_add_endpoint(img, 0, 0, 0, regs), JAVM_OK);
    assert_int_equal(javm_image_seal(img), JAVM_OK);
    jv_img_cost c = jv_image_cost(&img->img);
    assert_int_equal(c.pinned_units, 2);
    assert_int_equal(c.ro_units, 3);
    assert_int_equal(javm_image_call_frame_cost(img), 1024 + 512 + 3 * 64);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 1000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        assert_int_equal(javm_image_gas_get(in), 1000 - 4);
        assert_int_equal(mat_gas(in), 0);
        uint64_t r7, r8;
        javm_image_reg_get(in, 7, &r7);
        javm_image_reg_get(in, 8, &r8);
        assert_int_equal(r7, 'A');
        assert_int_equal(r8, 'B');
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* Management ops that are refused: pinned slots, oversized caps, empty sources. */
static void mgmt_refusals(void **state) {
    javm_image *img = std_image("load_imm r7, 2\necalli 3\nmove_reg r9, r7\n"     /* DROP pinned */
                                "load_imm r7, 9\nload_imm r8, 1\necalli 1\nmove_reg r10, r7\n"
                                "load_imm r7, 7\nload_imm r8, 8\necalli 2\nmove_reg r11, r7\n"
                                "ecalli 5\nmove_reg r12, r7" H);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        javm_datacap *big = cap(NULL, 0, 0x20000); /* larger than MAP_A */
        assert_int_equal(javm_image_instance_set_slot(in, 9, big), JAVM_OK);
        javm_datacap_free(big);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t r[4];
        for (int i = 0; i < 4; i++) javm_image_reg_get(in, 9 + i, &r[i]);
        assert_int_equal(r[0], JAVM_IMAGE_PINNED);
        assert_int_equal(r[1], JAVM_IMAGE_TOO_LARGE);
        assert_int_equal(r[2], JAVM_IMAGE_NO_SLOT);
        assert_int_equal(r[3], JAVM_IMAGE_UNSUPPORTED);
        /* 10 instructions (the four ecallis are blocks of cost 0), four ops of 100 */
        assert_int_equal(javm_image_gas_get(in), 100000 - 10 - 4 * 100);
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* Kernel-authored writes: COW_COST per page not yet written in the frame, all or nothing. */
static void kernel_writes(void **state) {
    javm_image *img = std_image("store_imm_u8 0x10009000, 1\necalli 40\nload_u64 r7, 0x1000A000" H);
    for (unsigned e = 0; e < nengines; e++) {
        javm_image_instance *in = instance(img, engines[e]);
        javm_exit_info ex = JAVM_EXIT_INFO_INIT;
        uint64_t v = 0x1122334455667788ull;
        assert_int_equal(javm_image_mem_write(in, MAP_A, &v, 8), JAVM_ERR_STATE); /* no frame */
        assert_int_equal(javm_image_call(in, 0, 100000, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HOST_CALL);
        int64_t g = javm_image_gas_get(in);
        /* [0x10009FFC, +8) dirties page 0x10009000 (written: free) and 0x1000A000 (256) */
        assert_int_equal(javm_image_mem_write(in, MAP_A + 0x9FFC, &v, 8), JAVM_OK);
        assert_int_equal(javm_image_gas_get(in), g - 256);
        assert_int_equal(javm_image_mem_write(in, MAP_B, &v, 1), JAVM_ERR_STATE); /* pinned */
        javm_image_gas_set(in, 255);
        assert_int_equal(javm_image_mem_write(in, MAP_A + 0xB000, &v, 1), JAVM_ERR_LIMIT);
        javm_image_gas_set(in, 100000);
        assert_int_equal(javm_image_resume(in, &ex), JAVM_OK);
        assert_int_equal(ex.kind, JAVM_EXIT_HALT);
        uint64_t r7;
        javm_image_reg_get(in, 7, &r7);
        assert_int_equal(r7, v >> 32);
        assert_int_equal(mat_gas(in), 512);
        javm_image_instance_free(in);
    }
    javm_image_free(img);
}

/* ---- Validation, classification, encoding ---------------------------------------------------- */
static void classification(void **state) {
    javm_image *img = std_image("trap");
    const jv_image *i = &img->img;
    assert_true(javm_image_mapping_is_pinned(img, MAP_B));
    assert_false(javm_image_mapping_is_pinned(img, MAP_A));
    assert_false(javm_image_mapping_is_pinned(img, MAP_B + 0x1000)); /* exact starts only */
    jv_page_kind k;
    assert_true(jv_image_page_kind(i, MAP_A, true, &k));
    assert_int_equal(k, JV_KIND_UNPINNED_CAP_COW);
    assert_true(jv_image_page_kind(i, MAP_A + 0x1000, true, &k)); /* the zero tail */
    assert_int_equal(k, JV_KIND_EPHEMERAL_ZERO);
    assert_true(jv_image_page_kind(i, MAP_A, false, &k)); /* non-root: no initial slots */
    assert_int_equal(k, JV_KIND_EPHEMERAL_ZERO);
    assert_true(jv_image_page_kind(i, MAP_B + 0x1000, true, &k));
    assert_int_equal(k, JV_KIND_PINNED_CAP_RO);
    assert_true(jv_image_page_kind(i, MAP_C, true, &k));
    assert_int_equal(k, JV_KIND_EPHEMERAL_ZERO);
    assert_true(jv_image_page_kind(i, CODE, true, &k));
    assert_int_equal(k, JV_KIND_PINNED_CAP_RO);
    assert_false(jv_image_page_kind(i, MAP_C_END, true, &k));
    /* 11: two pinned caps in one cluster count by size (one unit each), plus the code's */
    jv_img_cost c = jv_image_cost(i);
    assert_int_equal(c.ro_units, 2);
    assert_int_equal(c.call_frame_cost, 1024 + 512 + 2 * 64);
    javm_image_free(img);
}

/* A non-root instance maps its initial-sourced mappings as zeros. */
static void non_root_instance(void **state) {
    javm_image *img = std_image("load_u64 r7, 0x10000000" H);
    javm_image_instance *in;
    assert_int_equal(jv_fault_reinstall(), JAVM_OK);
    assert_int_equal(javm_image_instance_new(img, NULL, 0, &in), JAVM_OK);
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    assert_int_equal(javm_image_call(in, 0, 1000, &ex), JAVM_OK);
    uint64_t r7 = 1;
    javm_image_reg_get(in, 7, &r7);
    assert_int_equal(r7, 0);
    javm_image_instance_free(in);
    javm_image_free(img);
}

static javm_status try_seal(void (*edit)(javm_image *)) {
    size_t len;
    uint8_t *blob = assemble("trap", &len);
    javm_image *img;
    assert_int_equal(javm_image_new(blob, len, NULL, &img), JAVM_OK);
    free(blob);
    edit(img);
    javm_status s = javm_image_seal(img);
    javm_image_free(img);
    return s;
}
static void e_unaligned(javm_image *i) { javm_image_add_mapping(i, DATA + 1, 4096, NULL, 0); }
static void e_size(javm_image *i) { javm_image_add_mapping(i, DATA, 100, NULL, 0); }
static void e_low(javm_image *i) { javm_image_add_mapping(i, 0x20000, 4096, NULL, 0); }
static void e_dup(javm_image *i) {
    javm_image_add_mapping(i, DATA, 4096, NULL, 0);
    javm_image_add_mapping(i, DATA, 8192, NULL, 0);
}
static void e_overlap(javm_image *i) {
    javm_image_add_mapping(i, DATA, 8192, NULL, 0);
    javm_image_add_mapping(i, DATA + 4096, 4096, NULL, 0);
}
static void e_nosrc(javm_image *i) {
    uint32_t k = 4;
    javm_image_add_mapping(i, DATA, 4096, &k, 1);
}
static void e_n_gt_s(javm_image *i) {
    uint32_t k = 4;
    javm_datacap *d = cap(NULL, 0, 8192);
    javm_image_add_slot(i, 0, 4, d);
    javm_datacap_free(d);
    javm_image_add_mapping(i, DATA, 4096, &k, 1);
}
static void e_both(javm_image *i) {
    javm_datacap *d = cap(NULL, 0, 4096);
    javm_image_add_slot(i, 0, 4, d);
    javm_image_add_slot(i, 1, 4, d);
    javm_datacap_free(d);
}
static void e_entry(javm_image *i) { javm_image_add_endpoint(i, 0, 7, 0, NULL); }
static void e_keys(javm_image *i) {
    javm_image_add_endpoint(i, 2, 0, 0, NULL);
    javm_image_add_endpoint(i, 1, 0, 0, NULL);
}
static void e_args(javm_image *i) { javm_image_add_endpoint(i, 0, 0, 5, NULL); }
static void e_deep(javm_image *i) {
    uint32_t path[2] = {1, 2};
    javm_image_add_mapping(i, DATA, 4096, path, 2);
}
static void e_shared_rw(javm_image *i) {
    uint32_t k = 4;
    javm_datacap *d = cap(NULL, 0, 4096);
    javm_image_add_slot(i, 0, 4, d);
    javm_datacap_free(d);
    javm_image_add_mapping(i, DATA, 4096, &k, 1);
    javm_image_add_mapping(i, DATA + 4096, 4096, &k, 1);
}
static void e_past_4g(javm_image *i) { javm_image_add_mapping(i, 0xFFFFF000u, 8192, NULL, 0); }

static void validation(void **state) {
    void (*bad[])(javm_image *) = {e_unaligned, e_size, e_low,  e_dup,  e_overlap,
                                   e_nosrc,     e_n_gt_s, e_both, e_entry, e_keys,
                                   e_args,      e_deep, e_shared_rw, e_past_4g};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        javm_status s = try_seal(bad[k]);
        if (s != JAVM_ERR_BAD_IMAGE) fail_msg("case %zu: status %d", k, s);
        assert_true(strncmp(javm_last_error(), "image: ", 7) == 0);
    }
    /* a mapped source with a Missing page cannot be laid out: sealing fails, nothing runs */
    javm_image *img;
    size_t len;
    uint8_t *blob = assemble("trap", &len);
    assert_int_equal(javm_image_new(blob, len, NULL, &img), JAVM_OK);
    free(blob);
    javm_datacap *d = cap(NULL, 0, 4096);
    uint8_t missing[33] = {2, 0xAA};
    assert_int_equal(javm_datacap_page_decode(d, 0, missing, sizeof missing, 0), JAVM_OK);
    uint32_t k = 1;
    assert_int_equal(javm_image_add_slot(img, 0, 1, d), JAVM_OK);
    assert_int_equal(javm_image_add_mapping(img, DATA, 4096, &k, 1), JAVM_OK);
    assert_int_equal(javm_image_seal(img), JAVM_ERR_MISSING_PAGE);
    javm_image_free(img);
    javm_datacap_free(d);
    /* the code must be a valid program blob */
    uint8_t junk[3] = {1, 2, 3};
    assert_int_equal(javm_image_new(junk, 3, NULL, &img), JAVM_ERR_BAD_IMAGE);
    assert_null(img);
}

static void encoding_roundtrip(void **state) {
    javm_image *img = std_image("load_u64 r7, 0x10000008" H);
    size_t len;
    assert_int_equal(javm_image_encode(img, NULL, 0, &len), JAVM_OK);
    uint8_t *buf = malloc(len);
    assert_int_equal(javm_image_encode(img, buf, len, &len), JAVM_OK);
    javm_image *back;
    if (javm_image_decode(buf, len, &back) != JAVM_OK) fail_msg("decode: %s", javm_last_error());
    uint8_t h1[32], h2[32];
    assert_int_equal(javm_image_content_hash(img, h1), JAVM_OK);
    assert_int_equal(javm_image_content_hash(back, h2), JAVM_OK);
    assert_memory_equal(h1, h2, 32);
    size_t len2;
    uint8_t *buf2 = malloc(len);
    assert_int_equal(javm_image_encode(back, buf2, len, &len2), JAVM_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(buf, buf2, len); /* canonical */
    /* every truncation and every single-byte change is decoded or refused, never a crash; a
     * change in the code or a slot's bytes changes the hash */
    for (size_t n = 0; n < len; n += 7) {
        javm_image *x;
        assert_int_not_equal(javm_image_decode(buf, n, &x), JAVM_OK);
    }
    for (size_t k = 0; k < len; k++) {
        buf[k] ^= 0x41;
        javm_image *x;
        if (javm_image_decode(buf, len, &x) == JAVM_OK) {
            uint8_t h[32];
            javm_image_content_hash(x, h);
            javm_image_free(x);
        }
        buf[k] ^= 0x41;
    }
    javm_image_free(back);
    javm_image_free(img);
    free(buf);
    free(buf2);
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(block_gate),
        cmocka_unit_test(call_charge),
        cmocka_unit_test(nested_calls),
        cmocka_unit_test(ecall_block_gate),
        cmocka_unit_test(halt_rearm_flush),
        cmocka_unit_test(rebuild_no_recharge),
        cmocka_unit_test(mgmt_move_evicts),
        cmocka_unit_test(mgmt_drop_and_copy),
        cmocka_unit_test(two_caps_one_cluster),
        cmocka_unit_test(mgmt_refusals),
        cmocka_unit_test(kernel_writes),
        cmocka_unit_test(classification),
        cmocka_unit_test(non_root_instance),
        cmocka_unit_test(validation),
        cmocka_unit_test(encoding_roundtrip),
    };
    return cmocka_run_group_tests(t, setup, NULL);
}
