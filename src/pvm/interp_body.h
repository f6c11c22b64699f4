/* pvm — the interpreter loop body, shared by every engine. Include it INSIDE a function body,
 * after including pvm/semantics.h at file scope; see pvm.h ("Reusing the interpreter body") for
 * what must be in scope and which macros the instantiating file defines (JV_LOAD, JV_STORE,
 * JV_SBRK; optional JV_BODY_SWITCH, JV_TRACE_HOOK, JV_MEM_PRE, JV_GAS_IN_STATE). Every macro
 * this file defines is #undef'ed at its end, so it can be included several times in one
 * translation unit.
 *
 * Shape: `ip` walks the op stream; each handler ends with JV_NEXT() (the next op) or a jump to
 * a target op; GAS ops gate and debit block gas (PVM-G1/G2); exits fill st and return. */
#ifndef JV_PVM_SEMANTICS_H
#error "include pvm/semantics.h at file scope before pvm/interp_body.h"
#endif

#ifndef JV_BODY_SWITCH
#define JV_BODY_SWITCH 0
#define JV_BODY_SWITCH_DEFAULTED
#endif
#ifndef JV_TRACE_HOOK
#define JV_TRACE_HOOK() ((void)0)
#define JV_TRACE_HOOK_DEFAULTED
#endif
#ifndef JV_MEM_PRE
#define JV_MEM_PRE() ((void)0)
#define JV_MEM_PRE_DEFAULTED
#endif

{
    uint64_t *const R = st->regs;
    const jv_pvm_op *const jv_ops = prog->ops;
    const uint32_t *const jv_jt = prog->jump_ops;
    const uint32_t jv_njt = prog->jump_count;
    const uint64_t jv_rsv = st->mat_reserve;
#ifdef JV_GAS_IN_STATE
#define JV_G (st->gas) /* memory-resident: out-of-loop code (fault handlers) may debit it */
#else
    int64_t jv_gas = st->gas;
#define JV_G jv_gas
#endif
    const jv_pvm_op *ip = jv_ops + start;
    jv_mem_result jv_mres;

/* Syncs the live loop state into st (for hooks and out-of-loop exits). */
#define JV_SYNC()                                                                              \
    do {                                                                                       \
        st->gas = JV_G;                                                                         \
        st->cur = ip;                                                                          \
    } while (0)
#define JV_MEM_FAIL(res)                                                                       \
    do {                                                                                       \
        jv_mres = (res);                                                                       \
        goto jv_x_mem;                                                                         \
    } while (0)
#define JV_MEM_ACCOUNT(res)                                                                    \
    do {                                                                                       \
        JV_G -= (int64_t)(res).charge;                                                          \
        st->mat_gas += (res).charge;                                                           \
        st->first_touch += (res).first_touch;                                                  \
        st->cow += (res).cow;                                                                  \
    } while (0)

/* PVM-G6: a fused op gates its one-op block (cost d, one instruction, no stores: the #3 gate
 * always holds), then runs as its instruction. */
#define JV_FUSED_GATE()                                                                        \
    do {                                                                                       \
        int64_t jv_fc = (int64_t)ip->d;                                                        \
        if (JV_UNLIKELY(JV_G < jv_fc)) goto jv_x_oog;                                          \
        JV_G -= jv_fc;                                                                         \
        st->instructions += 1;                                                                 \
    } while (0)

#if JV_BODY_SWITCH
#define JV_NEXT() goto jv_dispatch
#define JV_CASE(n) case JV_I_##n:
    unsigned jv_iop;
jv_dispatch:
    jv_iop = ip->iop;
    if (jv_iop >= JV_PVM_FUSED) {
        JV_FUSED_GATE();
        jv_iop -= JV_PVM_FUSED;
    }
    if (jv_iop != JV_I_GAS) {
        JV_TRACE_HOOK();
    }
    switch ((enum jv_pvm_iop)jv_iop) {
#else
    static const void *const jv_labels[JV_PVM_IOP_SLOTS] = {
#define X(name, b07, b08, cls, flags, width, lat, dec, units, sem)                              \
    [JV_I_##name] = &&jv_l_##name, [JV_PVM_FUSED + JV_I_##name] = &&jv_l_fused,
#include "pvm/opcodes.def"
#undef X
        [JV_I_GAS] = &&jv_l_GAS,
        [JV_PVM_FUSED + JV_I_GAS] = &&jv_l_fused,
    };
#define JV_NEXT() goto *jv_labels[ip->iop]
#define JV_CASE(n) jv_l_##n:
    JV_NEXT();
    {
    jv_l_fused:
        JV_FUSED_GATE();
        goto *jv_labels[ip->iop - JV_PVM_FUSED];
#endif

/* Op families. */
#define JV_STEP() \
    do {          \
        ip++;     \
        JV_NEXT();\
    } while (0)
#define JV_TAKE()                                                                              \
    do {                                                                                       \
        if (JV_UNLIKELY(ip->w == JV_PVM_NONE)) goto jv_x_panic;                                \
        ip = jv_ops + ip->w;                                                                   \
        JV_NEXT();                                                                             \
    } while (0)
#define JV_DJUMP(addr_expr)                                                                    \
    do {                                                                                       \
        uint32_t jv_a = (uint32_t)(addr_expr);                                                 \
        if (JV_UNLIKELY(jv_a == JV_HALT_ADDRESS)) goto jv_x_halt;                              \
        uint32_t jv_k = (jv_a >> 1) - 1;                                                       \
        if (JV_UNLIKELY((jv_a & 1) || jv_k >= jv_njt || jv_jt[jv_k] == JV_PVM_NONE))           \
            goto jv_x_panic;                                                                   \
        ip = jv_ops + jv_jt[jv_k];                                                             \
        JV_NEXT();                                                                             \
    } while (0)
/* A12: φD = f(φA, φB) */
#define JV_OP3(n, expr)                                                                        \
    JV_CASE(n) {                                                                               \
        uint64_t a = R[ip->a], b = R[ip->b];                                                   \
        R[ip->d] = (expr);                                                                     \
        JV_STEP();                                                                             \
    }
/* A9: φA = f(φB, νX) */
#define JV_OPI(n, expr)                                                                        \
    JV_CASE(n) {                                                                               \
        uint64_t b = R[ip->b], x = ip->x;                                                      \
        R[ip->a] = (expr);                                                                     \
        JV_STEP();                                                                             \
    }
/* A8: φD = f(φA) */
#define JV_OP2(n, expr)                                                                        \
    JV_CASE(n) {                                                                               \
        uint64_t a = R[ip->a];                                                                 \
        R[ip->d] = (expr);                                                                     \
        JV_STEP();                                                                             \
    }
/* A7: branch(νY, f(φA, νX)) */
#define JV_BRI(n, cond)                                                                        \
    JV_CASE(n) {                                                                               \
        uint64_t a = R[ip->a], x = ip->x;                                                      \
        if (cond) JV_TAKE();                                                                   \
        JV_STEP();                                                                             \
    }
/* A10: branch(νX, f(φA, φB)) */
#define JV_BR2(n, cond)                                                                        \
    JV_CASE(n) {                                                                               \
        uint64_t a = R[ip->a], b = R[ip->b];                                                   \
        if (cond) JV_TAKE();                                                                   \
        JV_STEP();                                                                             \
    }
/* Memory ops: the address and width formulas of pvm.h (jv_pvm_op_addr; the width is the
 * opcodes.def column, a constant per handler through JV_W_*). Loads write φA. */
#define JV_LD(n, conv)                                                                         \
    JV_CASE(n) {                                                                               \
        uint64_t v = 0;                                                                        \
        uint32_t jv_addr = jv_pvm_op_addr(ip, R);                                              \
        JV_MEM_PRE();                                                                          \
        JV_LOAD(JV_W_##n, jv_addr, v);                                                         \
        R[ip->a] = conv(v);                                                                    \
        JV_STEP();                                                                             \
    }
#define JV_ST(n, val_expr)                                                                     \
    JV_CASE(n) {                                                                               \
        uint32_t jv_addr = jv_pvm_op_addr(ip, R);                                              \
        uint64_t v = (val_expr);                                                               \
        JV_MEM_PRE();                                                                          \
        JV_STORE(JV_W_##n, jv_addr, v);                                                        \
        JV_STEP();                                                                             \
    }
#define JV_ID(v) (v)

        JV_CASE(GAS) {
            int64_t cost = (int64_t)ip->x;
            if (JV_UNLIKELY(JV_G < cost)) goto jv_x_oog;
            if (JV_UNLIKELY(jv_rsv != 0) &&
                !jv_pvm_mat_gate(JV_G - cost, jv_pvm_gas_stores(ip), jv_rsv))
                goto jv_x_oog;
            JV_G -= cost;
            st->instructions += ip->w; /* the block's instruction count */
            JV_STEP();
        }
        JV_CASE(trap) goto jv_x_panic;
        JV_CASE(fallthrough) JV_STEP();
        JV_CASE(unlikely) JV_STEP(); /* a gas-model hint only */
        JV_CASE(ecalli) goto jv_x_host;
        JV_CASE(load_imm_64) {
            R[ip->a] = ip->x;
            JV_STEP();
        }
        JV_ST(store_imm_u8, jv_pvm_op_imm2(ip))
        JV_ST(store_imm_u16, jv_pvm_op_imm2(ip))
        JV_ST(store_imm_u32, jv_pvm_op_imm2(ip))
        JV_ST(store_imm_u64, jv_pvm_op_imm2(ip))
        JV_CASE(jump) JV_TAKE();
        JV_CASE(jump_ind) JV_DJUMP(R[ip->a] + ip->x);
        JV_CASE(load_imm) {
            R[ip->a] = ip->x;
            JV_STEP();
        }
        JV_LD(load_u8, JV_ID)
        JV_LD(load_i8, jv_sx8)
        JV_LD(load_u16, JV_ID)
        JV_LD(load_i16, jv_sx16)
        JV_LD(load_u32, JV_ID)
        JV_LD(load_i32, jv_sx32)
        JV_LD(load_u64, JV_ID)
        JV_ST(store_u8, R[ip->a])
        JV_ST(store_u16, R[ip->a])
        JV_ST(store_u32, R[ip->a])
        JV_ST(store_u64, R[ip->a])
        JV_ST(store_imm_ind_u8, jv_pvm_op_imm2(ip))
        JV_ST(store_imm_ind_u16, jv_pvm_op_imm2(ip))
        JV_ST(store_imm_ind_u32, jv_pvm_op_imm2(ip))
        JV_ST(store_imm_ind_u64, jv_pvm_op_imm2(ip))
        JV_CASE(load_imm_jump) {
            R[ip->a] = ip->x;
            JV_TAKE();
        }
        JV_BRI(branch_eq_imm, a == x)
        JV_BRI(branch_ne_imm, a != x)
        JV_BRI(branch_lt_u_imm, a < x)
        JV_BRI(branch_le_u_imm, a <= x)
        JV_BRI(branch_ge_u_imm, a >= x)
        JV_BRI(branch_gt_u_imm, a > x)
        JV_BRI(branch_lt_s_imm, (int64_t)a < (int64_t)x)
        JV_BRI(branch_le_s_imm, (int64_t)a <= (int64_t)x)
        JV_BRI(branch_ge_s_imm, (int64_t)a >= (int64_t)x)
        JV_BRI(branch_gt_s_imm, (int64_t)a > (int64_t)x)
        JV_OP2(move_reg, a)
        JV_CASE(sbrk) {
            if (JV_UNLIKELY(!st->sbrk_enabled)) goto jv_x_panic;
            uint64_t size = R[ip->a];
            JV_SYNC();
            R[ip->d] = JV_SBRK(size);
            JV_STEP();
        }
        JV_OP2(count_set_bits_64, (uint64_t)__builtin_popcountll(a))
        JV_OP2(count_set_bits_32, (uint64_t)__builtin_popcount((uint32_t)a))
        JV_OP2(leading_zero_bits_64, jv_clz64(a))
        JV_OP2(leading_zero_bits_32, jv_clz32(a))
        JV_OP2(trailing_zero_bits_64, jv_ctz64(a))
        JV_OP2(trailing_zero_bits_32, jv_ctz32(a))
        JV_OP2(sign_extend_8, jv_sx8(a))
        JV_OP2(sign_extend_16, jv_sx16(a))
        JV_OP2(zero_extend_16, (uint16_t)a)
        JV_OP2(reverse_bytes, __builtin_bswap64(a))
        JV_ST(store_ind_u8, R[ip->a])
        JV_ST(store_ind_u16, R[ip->a])
        JV_ST(store_ind_u32, R[ip->a])
        JV_ST(store_ind_u64, R[ip->a])
        JV_LD(load_ind_u8, JV_ID)
        JV_LD(load_ind_i8, jv_sx8)
        JV_LD(load_ind_u16, JV_ID)
        JV_LD(load_ind_i16, jv_sx16)
        JV_LD(load_ind_u32, JV_ID)
        JV_LD(load_ind_i32, jv_sx32)
        JV_LD(load_ind_u64, JV_ID)
        JV_OPI(add_imm_32, jv_sx32(b + x))
        JV_OPI(and_imm, b & x)
        JV_OPI(xor_imm, b ^ x)
        JV_OPI(or_imm, b | x)
        JV_OPI(mul_imm_32, jv_sx32(b * x))
        JV_OPI(set_lt_u_imm, (uint64_t)(b < x))
        JV_OPI(set_lt_s_imm, (uint64_t)((int64_t)b < (int64_t)x))
        JV_OPI(shlo_l_imm_32, jv_shl32(b, x))
        JV_OPI(shlo_r_imm_32, jv_shr32(b, x))
        JV_OPI(shar_r_imm_32, jv_sar32(b, x))
        JV_OPI(neg_add_imm_32, jv_sx32(x - b))
        JV_OPI(set_gt_u_imm, (uint64_t)(b > x))
        JV_OPI(set_gt_s_imm, (uint64_t)((int64_t)b > (int64_t)x))
        JV_OPI(shlo_l_imm_alt_32, jv_shl32(x, b))
        JV_OPI(shlo_r_imm_alt_32, jv_shr32(x, b))
        JV_OPI(shar_r_imm_alt_32, jv_sar32(x, b))
        JV_OPI(cmov_iz_imm, b == 0 ? x : R[ip->a])
        JV_OPI(cmov_nz_imm, b != 0 ? x : R[ip->a])
        JV_OPI(add_imm_64, b + x)
        JV_OPI(mul_imm_64, b * x)
        JV_OPI(shlo_l_imm_64, jv_shl64(b, x))
        JV_OPI(shlo_r_imm_64, jv_shr64(b, x))
        JV_OPI(shar_r_imm_64, jv_sar64(b, x))
        JV_OPI(neg_add_imm_64, x - b)
        JV_OPI(shlo_l_imm_alt_64, jv_shl64(x, b))
        JV_OPI(shlo_r_imm_alt_64, jv_shr64(x, b))
        JV_OPI(shar_r_imm_alt_64, jv_sar64(x, b))
        JV_OPI(rot_r_64_imm, jv_rotr64(b, x))
        JV_OPI(rot_r_64_imm_alt, jv_rotr64(x, b))
        JV_OPI(rot_r_32_imm, jv_rotr32(b, x))
        JV_OPI(rot_r_32_imm_alt, jv_rotr32(x, b))
        JV_BR2(branch_eq, a == b)
        JV_BR2(branch_ne, a != b)
        JV_BR2(branch_lt_u, a < b)
        JV_BR2(branch_lt_s, (int64_t)a < (int64_t)b)
        JV_BR2(branch_ge_u, a >= b)
        JV_BR2(branch_ge_s, (int64_t)a >= (int64_t)b)
        JV_CASE(load_imm_jump_ind) {
            uint64_t base = R[ip->b];
            R[ip->a] = ip->x;
            JV_DJUMP(base + ip->w); /* mod 2^32: no sign extension needed */
        }
        JV_OP3(add_32, jv_sx32(a + b))
        JV_OP3(sub_32, jv_sx32(a - b))
        JV_OP3(mul_32, jv_sx32(a * b))
        JV_OP3(div_u_32, jv_div_u32(a, b))
        JV_OP3(div_s_32, jv_div_s32(a, b))
        JV_OP3(rem_u_32, jv_rem_u32(a, b))
        JV_OP3(rem_s_32, jv_rem_s32(a, b))
        JV_OP3(shlo_l_32, jv_shl32(a, b))
        JV_OP3(shlo_r_32, jv_shr32(a, b))
        JV_OP3(shar_r_32, jv_sar32(a, b))
        JV_OP3(add_64, a + b)
        JV_OP3(sub_64, a - b)
        JV_OP3(mul_64, a * b)
        JV_OP3(div_u_64, jv_div_u64(a, b))
        JV_OP3(div_s_64, jv_div_s64(a, b))
        JV_OP3(rem_u_64, jv_rem_u64(a, b))
        JV_OP3(rem_s_64, jv_rem_s64(a, b))
        JV_OP3(shlo_l_64, jv_shl64(a, b))
        JV_OP3(shlo_r_64, jv_shr64(a, b))
        JV_OP3(shar_r_64, jv_sar64(a, b))
        JV_OP3(and, a & b)
        JV_OP3(xor, a ^ b)
        JV_OP3(or, a | b)
        JV_OP3(mul_upper_s_s, jv_mulh_ss(a, b))
        JV_OP3(mul_upper_u_u, jv_mulh_uu(a, b))
        JV_OP3(mul_upper_s_u, jv_mulh_su(a, b))
        JV_OP3(set_lt_u, (uint64_t)(a < b))
        JV_OP3(set_lt_s, (uint64_t)((int64_t)a < (int64_t)b))
        JV_OP3(cmov_iz, b == 0 ? a : R[ip->d])
        JV_OP3(cmov_nz, b != 0 ? a : R[ip->d])
        JV_OP3(rot_l_64, jv_rotl64(a, b))
        JV_OP3(rot_l_32, jv_rotl32(a, b))
        JV_OP3(rot_r_64, jv_rotr64(a, b))
        JV_OP3(rot_r_32, jv_rotr32(a, b))
        JV_OP3(and_inv, a & ~b)
        JV_OP3(or_inv, a | ~b)
        JV_OP3(xnor, ~(a ^ b))
        JV_OP3(max, jv_smax(a, b))
        JV_OP3(max_u, a > b ? a : b)
        JV_OP3(min, jv_smin(a, b))
        JV_OP3(min_u, a < b ? a : b)
#if JV_BODY_SWITCH
    default:
        goto jv_x_panic;
#endif
    }

jv_x_panic:
    st->exit_kind = JV_EXIT_PANIC;
    goto jv_x_done;
jv_x_halt:
    st->exit_kind = JV_EXIT_HALT;
jv_x_done: /* halted or panicked at ip: the rest of its block was charged but not run */
    st->pc = jv_pvm_op_pc(prog, (uint32_t)(ip - jv_ops));
    st->resume = JV_PVM_DONE;
    st->instructions -= jv_pvm_op_rest(ip);
    goto jv_x_out;
jv_x_host:
    st->exit_kind = JV_EXIT_HOST;
    st->pc = jv_pvm_ecall_pc(ip);
    st->exit_arg = jv_pvm_op_imm2(ip);
    st->exit_next_pc = jv_pvm_ecall_next(ip);
    st->resume = (uint32_t)(ip + 1 - jv_ops);
    st->instructions -= jv_pvm_op_rest(ip);
    goto jv_x_out;
jv_x_oog: /* at a gate: pc = its block's start */
    st->exit_kind = JV_EXIT_OOG;
    st->pc = jv_pvm_op_pc(prog, (uint32_t)(ip - jv_ops));
    st->resume = JV_PVM_FRESH;
    goto jv_x_out;
jv_x_mem:
    st->gas = JV_G;
    jv_pvm_exit_mem(st, prog, ip, jv_mres);
    return;
jv_x_out:
    st->gas = JV_G;
    return;

#undef JV_SYNC
#undef JV_FUSED_GATE
#undef JV_G
#undef JV_MEM_FAIL
#undef JV_MEM_ACCOUNT
#undef JV_NEXT
#undef JV_CASE
#undef JV_STEP
#undef JV_TAKE
#undef JV_DJUMP
#undef JV_OP3
#undef JV_OPI
#undef JV_OP2
#undef JV_BRI
#undef JV_BR2
#undef JV_LD
#undef JV_ST
#undef JV_ID
}

#ifdef JV_BODY_SWITCH_DEFAULTED
#undef JV_BODY_SWITCH
#undef JV_BODY_SWITCH_DEFAULTED
#endif
#ifdef JV_TRACE_HOOK_DEFAULTED
#undef JV_TRACE_HOOK
#undef JV_TRACE_HOOK_DEFAULTED
#endif
#ifdef JV_MEM_PRE_DEFAULTED
#undef JV_MEM_PRE
#undef JV_MEM_PRE_DEFAULTED
#endif
