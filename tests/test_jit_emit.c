/* jit: the x86-64 emitter (src/jit/x86.h) against objdump. Every instruction form the
 * translator uses is emitted with operands that stress the encoding (REX.R/X/B, the byte
 * registers that need a REX prefix, rsp/r12 bases that need a SIB byte, rbp/r13 bases that
 * need a displacement, disp8 vs disp32, imm8 vs imm32, 16-bit operands) and the disassembly
 * must read back exactly as intended. objdump (binutils) is a test dependency (deps.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jit/x86.h"

typedef struct form {
    const char *want; /* objdump -M intel text, spaces collapsed */
} form;

/* Emits case i into b; returns the expected disassembly, NULL past the last case. */
static const char *emit_case(xbuf *b, int i) {
    switch (i) {
    case 0: x_mov_r_rm(b, XW, RAX, R(RBX)); return "mov rax,rbx";
    case 1: x_mov_r_rm(b, XW, R8, R(R15)); return "mov r8,r15";
    case 2: x_mov_r_rm(b, 0, RAX, R(R9)); return "mov eax,r9d";
    case 3: x_mov_r_rm(b, XW, RCX, M(RSP, 0x58)); return "mov rcx,QWORD PTR [rsp+0x58]";
    case 4: x_mov_rm_r(b, XW, M(RSP, 0x100), R11); return "mov QWORD PTR [rsp+0x100],r11";
    case 5: x_mov_r_rm(b, XW, RAX, M(R12, 8)); return "mov rax,QWORD PTR [r12+0x8]";
    case 6: x_mov_r_rm(b, XW, RAX, M(R13, 0)); return "mov rax,QWORD PTR [r13+0x0]";
    case 7: x_mov_r_rm(b, XW, RAX, M(RBP, 0)); return "mov rax,QWORD PTR [rbp+0x0]";
    case 8: x_mov_r_rm(b, XW, R10, MX(R15, RAX, 0, 0)); return "mov r10,QWORD PTR [r15+rax*1]";
    case 9: x_mov_r_rm(b, XW, RCX, MX(RCX, RAX, 3, 0)); return "mov rcx,QWORD PTR [rcx+rax*8]";
    case 10: x_mov_rm_r(b, 0, MX(R15, RAX, 0, 0), RSI); return "mov DWORD PTR [r15+rax*1],esi";
    case 11: x_mov_rm_r(b, X66, MX(R15, RAX, 0, 0), R9); return "mov WORD PTR [r15+rax*1],r9w";
    case 12: x_mov8_rm_r(b, MX(R15, RAX, 0, 0), RSI); return "mov BYTE PTR [r15+rax*1],sil";
    case 13: x_mov8_rm_r(b, MX(R15, RAX, 0, 0), RBP); return "mov BYTE PTR [r15+rax*1],bpl";
    case 14: x_mov8_rm_r(b, MX(R15, RAX, 0, 0), RBX); return "mov BYTE PTR [r15+rax*1],bl";
    case 15: x_mov8_rm_i(b, MX(R15, RAX, 0, 0), 0x7A); return "mov BYTE PTR [r15+rax*1],0x7a";
    case 16: x_mov_rm_i(b, X66, MX(R15, RAX, 0, 0), 0x1234); return "mov WORD PTR [r15+rax*1],0x1234";
    case 17: x_mov_rm_i(b, 0, MX(R15, RAX, 0, 0), 0x12345678); return "mov DWORD PTR [r15+rax*1],0x12345678";
    case 18: x_mov_rm_i(b, XW, MX(R15, RAX, 0, 0), -2); return "mov QWORD PTR [r15+rax*1],0xfffffffffffffffe";
    case 19: x_mov_r_imm64(b, R11, 0xFFFF0000u); return "mov r11d,0xffff0000";
    case 20: x_mov_r_imm64(b, RAX, (uint64_t)-5); return "mov rax,0xfffffffffffffffb";
    case 21: x_mov_r_imm64(b, R14, 0x123456789ABCDEF0ull); return "movabs r14,0x123456789abcdef0";
    case 22: x_movzx8(b, RSI, MX(R15, RAX, 0, 0)); return "movzx esi,BYTE PTR [r15+rax*1]";
    case 23: x_movsx8(b, RCX, R(RDI)); return "movsx rcx,dil";
    case 24: x_movzx16(b, R8, MX(R15, RAX, 0, 0)); return "movzx r8d,WORD PTR [r15+rax*1]";
    case 25: x_movsx16(b, RAX, M(RSP, 0x60)); return "movsx rax,WORD PTR [rsp+0x60]";
    case 26: x_movsxd(b, R12, R(RAX)); return "movsxd r12,eax";
    case 27: x_movsxd(b, RBX, MX(R15, RAX, 0, 0)); return "movsxd rbx,DWORD PTR [r15+rax*1]";
    case 28: x_lea(b, 0, RAX, M(R13, -3)); return "lea eax,[r13-0x3]";
    case 29: x_lea(b, 0, RAX, M(RBX, 0x12345)); return "lea eax,[rbx+0x12345]";
    case 30: x_lea(b, XW, RDI, M(RSP, 8)); return "lea rdi,[rsp+0x8]";
    case 31: x_alu_r_rm(b, XW, ALU_ADD, RAX, R(R10)); return "add rax,r10";
    case 32: x_alu_r_rm(b, XW, ALU_SUB, R9, M(RSP, 0x58)); return "sub r9,QWORD PTR [rsp+0x58]";
    case 33: x_alu_r_rm(b, 0, ALU_XOR, RDX, R(RDX)); return "xor edx,edx";
    case 34: x_alu_rm_r(b, XW, ALU_CMP, M(RSP, 0x60), RCX); return "cmp QWORD PTR [rsp+0x60],rcx";
    case 35: x_alu_rm_i(b, XW, ALU_AND, R(R13), 1); return "and r13,0x1";
    case 36: x_alu_rm_i(b, XW, ALU_OR, R(RBX), 0x7767814F); return "or rbx,0x7767814f";
    case 37: x_alu_rm_i(b, 0, ALU_CMP, R(RAX), -8); return "cmp eax,0xfffffff8";
    case 38: x_alu_rm_i(b, XW, ALU_SUB, R(RDX), 0x1000); return "sub rdx,0x1000";
    case 39: x_alu_rm_i(b, XW, ALU_CMP, M(RSP, 0x70), 0); return "cmp QWORD PTR [rsp+0x70],0x0";
    case 40: x_imul_r_rm(b, XW, R13, M(RSP, 0x58)); return "imul r13,QWORD PTR [rsp+0x58]";
    case 41: x_imul_r_rm_i(b, XW, RAX, M(RSP, 0x70), 3); return "imul rax,QWORD PTR [rsp+0x70],0x3";
    case 42: x_imul_r_rm_i(b, 0, R8, R(R9), -7); return "imul r8d,r9d,0xfffffff9";
    case 43: x_f7(b, XW, F7_MUL, R(RCX)); return "mul rcx";
    case 44: x_f7(b, XW, F7_IMUL, M(RSP, 0x60)); return "imul QWORD PTR [rsp+0x60]";
    case 45: x_f7(b, 0, F7_DIV, R(RCX)); return "div ecx";
    case 46: x_f7(b, XW, F7_IDIV, R(RCX)); return "idiv rcx";
    case 47: x_f7(b, 0, F7_NEG, R(RAX)); return "neg eax";
    case 48: x_f7(b, XW, F7_NOT, R(R11)); return "not r11";
    case 49: x_sh_cl(b, XW, SH_SHL, R(RAX)); return "shl rax,cl";
    case 50: x_sh_cl(b, 0, SH_SAR, R(R10)); return "sar r10d,cl";
    case 51: x_sh_cl(b, XW, SH_ROL, R(RSI)); return "rol rsi,cl";
    case 52: x_sh_i(b, XW, SH_ROR, R(R9), 29); return "ror r9,0x1d";
    case 53: x_sh_i(b, 0, SH_SHR, R(RAX), 1); return "shr eax,0x1";
    case 54: x_test_rm_r(b, XW, R(RCX), RCX); return "test rcx,rcx";
    case 55: x_test8_rm_i(b, R(RAX), 1); return "test al,0x1";
    case 56: x_setcc(b, CC_B, RAX); return "setb al";
    case 57: x_setcc(b, CC_G, RSI); return "setg sil";
    case 58: x_cmov(b, XW, CC_E, R12, R(RCX)); return "cmove r12,rcx";
    case 59: x_cmov(b, XW, CC_L, RAX, M(RSP, 0x58)); return "cmovl rax,QWORD PTR [rsp+0x58]";
    case 60: x_bswap64(b, R8); return "bswap r8";
    case 61: x_popcnt(b, XW, RAX, R(RBX)); return "popcnt rax,rbx";
    case 62: x_lzcnt(b, 0, R9, M(RSP, 0x58)); return "lzcnt r9d,DWORD PTR [rsp+0x58]";
    case 63: x_tzcnt(b, XW, RDI, R(R14)); return "tzcnt rdi,r14";
    case 64: x_cqo(b); return "cqo";
    case 65: x_push(b, R15); return "push r15";
    case 66: x_pop(b, RBX); return "pop rbx";
    case 67: x_rep_movsq(b); return "rep movs QWORD PTR es:[rdi],QWORD PTR ds:[rsi]";
    case 68: x_jmp_rm(b, R(RCX)); return "jmp rcx";
    case 69: x_call_rm(b, R(RAX)); return "call rax";
    case 70: x_ret(b); return "ret";
    case 71: x_push_rm(b, M(RSP, 0x80)); return "push QWORD PTR [rsp+0x80]";
    case 72: x_lea(b, XW, R9, MX(RSI, R8, 0, 0)); return "lea r9,[rsi+r8*1]";
    case 73: x_lea(b, XW, RBX, MX(RBP, R13, 0, 0)); return "lea rbx,[rbp+r13*1+0x0]";
    case 74: x_lea(b, XW, R9, MX(R13, R12, 0, 0)); return "lea r9,[r13+r12*1+0x0]";
    case 75: x_lea(b, XW, R14, M(R12, -1)); return "lea r14,[r12-0x1]";
    case 76: x_setcc(b, CC_B, R10); return "setb r10b";
    case 77: x_setcc(b, CC_L, RDI); return "setl dil";
    case 78: x_movzx8(b, R10, R(R10)); return "movzx r10d,r10b";
    case 79: x_movzx8(b, RSI, R(RSI)); return "movzx esi,sil";
    case 80: x_movzx8(b, RBX, R(RBX)); return "movzx ebx,bl";
    case 81: x_alu_r_rm(b, 0, ALU_XOR, R9, R(R9)); return "xor r9d,r9d";
    case 82: x_mov_r_rm(b, 0, RAX, R(R13)); return "mov eax,r13d";
    case 83: x_jmp_rm(b, MX(RCX, RAX, 3, 0)); return "jmp QWORD PTR [rcx+rax*8]";
    case 84: x_mov_rm_i(b, 0, M(RSP, 0x94), 10); return "mov DWORD PTR [rsp+0x94],0xa";
    case 85:
    case 86: { /* rip-relative: objdump shows the target address after '#' */
        static char want[2][64];
        size_t site = x_lea_rip(b, XW, i == 85 ? RCX : R9);
        int32_t rel = i == 85 ? 0x100 : 0x123456;
        memcpy(b->p + site, &rel, 4);
        snprintf(want[i - 85], sizeof want[0], "lea %s,[rip+0x%x] # 0x%zx", i == 85 ? "rcx" : "r9",
                 (unsigned)rel, b->len + (size_t)rel);
        return want[i - 85];
    }
    /* guest-window operands (JIT-2): gs segment, 32-bit address size, displacement mod 2^32 */
    case 87: x_mov_r_rm(b, XW, R9, MG(R8, 0)); return "mov r9,QWORD PTR gs:[r8d]";
    case 88: x_mov_rm_r(b, XW, MG(R13, 0), R11); return "mov QWORD PTR gs:[r13d+0x0],r11";
    case 89: x_mov_r_rm(b, 0, RSI, MG(R12, 0x10)); return "mov esi,DWORD PTR gs:[r12d+0x10]";
    case 90: x_movzx8(b, RBX, MG(RBP, 0xFFFFFFF8)); return "movzx ebx,BYTE PTR gs:[ebp-0x8]";
    case 91: x_movsx16(b, RAX, MG(RAX, 0x12345678)); return "movsx rax,WORD PTR gs:[eax+0x12345678]";
    case 92: x_movsxd(b, R10, MG(RDI, 0x80)); return "movsxd r10,DWORD PTR gs:[edi+0x80]";
    case 93: x_mov8_rm_r(b, MG(RSI, 0), RSI); return "mov BYTE PTR gs:[esi],sil";
    case 94: x_mov_rm_r(b, X66, MG(R14, 1), R9); return "mov WORD PTR gs:[r14d+0x1],r9w";
    case 95: x_mov_rm_i(b, XW, MG(RBX, 0), -2); return "mov QWORD PTR gs:[ebx],0xfffffffffffffffe";
    case 96: x_movzx16(b, R8, MG(R15, 0xFFFFFFFF)); return "movzx r8d,WORD PTR gs:[r15d-0x1]";
    case 97: x_movsx8(b, R15, MG(R12, 0)); return "movsx r15,BYTE PTR gs:[r12d]";
    /* absolute: SIB without base or index (objdump writes the empty index as eiz) */
    case 98: x_mov8_rm_i(b, MGA(0x12345), 0x7A); return "mov BYTE PTR gs:[eiz*1+0x12345],0x7a";
    case 99: x_mov_r_rm(b, XW, RCX, MGA(0xFFFFFFF8)); return "mov rcx,QWORD PTR gs:[eiz*1+0xfffffff8]";
    case 100: x_mov_rm_i(b, X66, MGA(0x80000000), 0x1234); return "mov WORD PTR gs:[eiz*1+0x80000000],0x1234";
    case 101: x_mov_rm_r(b, 0, MGA(0), R13); return "mov DWORD PTR gs:[eiz*1+0x0],r13d";
    default: return NULL;
    }
}

static void collapse(char *s) { /* trim, and one space between mnemonic and operands */
    char *w = s;
    int sp = 0;
    for (char *r = s; *r; r++) {
        if (*r == ' ' || *r == '\t') {
            sp = 1;
            continue;
        }
        if (sp && w != s) *w++ = ' ';
        sp = 0;
        *w++ = *r;
    }
    *w = 0;
}

static void forms_match_objdump(void **state) {
    (void)state;
    char path[] = "/tmp/javm-jit-emit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    xbuf b = {0};
    size_t starts[128];
    int n = 0;
    const char *want[128];
    for (;; n++) {
        starts[n] = b.len;
        want[n] = emit_case(&b, n);
        if (!want[n]) break;
    }
    assert_false(b.oom);
    assert_int_equal(write(fd, b.p, b.len), (ssize_t)b.len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "objdump -D -b binary -mi386:x86-64 -M intel %s", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[512];
    int k = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long off;
        char *tab1 = strchr(line, '\t');
        if (!tab1 || sscanf(line, " %lx:", &off) != 1) continue;
        char *tab2 = strchr(tab1 + 1, '\t');
        if (!tab2) continue; /* a continuation line of a long instruction's bytes */
        char text[256];
        snprintf(text, sizeof text, "%s", tab2 + 1);
        text[strcspn(text, "\n")] = 0;
        collapse(text);
        if (k >= n) fail_msg("extra instruction at 0x%lx: %s", off, text);
        if (off != starts[k]) fail_msg("case %d: objdump starts an instruction at 0x%lx, emitted at 0x%zx", k, off, starts[k]);
        if (strcmp(text, want[k])) fail_msg("case %d: emitted '%s', want '%s'", k, text, want[k]);
        k++;
    }
    int rc = pclose(f);
    unlink(path);
    assert_int_equal(rc, 0);
    assert_int_equal(k, n);
    free(b.p);
}

/* rel8 / rel32 jumps land where x_patch8 and a rel32 patch put them. */
static void jumps_land(void **state) {
    (void)state;
    xbuf b = {0};
    size_t j8 = x_jcc8(&b, CC_NE);
    x_ret(&b);
    x_patch8(&b, j8);
    size_t j32 = x_jmp32(&b);
    int32_t rel = -(int32_t)(j32 + 4);
    memcpy(b.p + j32, &rel, 4);
    assert_int_equal(b.p[0], 0x75);
    assert_int_equal(b.p[1], 1); /* skips the ret */
    assert_int_equal(b.p[3], 0xE9);
    free(b.p);
}

/* int3 padding up to an alignment, nothing when already aligned. */
static void padding_aligns(void **state) {
    (void)state;
    xbuf b = {0};
    for (int i = 0; i < 5; i++) xb_u8(&b, 0x90);
    x_pad_int3(&b, 32);
    assert_int_equal(b.len, 32);
    for (size_t i = 5; i < 32; i++) assert_int_equal(b.p[i], 0xCC);
    x_pad_int3(&b, 32);
    assert_int_equal(b.len, 32);
    free(b.p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forms_match_objdump),
        cmocka_unit_test(jumps_land),
        cmocka_unit_test(padding_aligns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
