/* pvm — programs: the pre-decoded op stream (PVM-D3, D4, G1), ϖ, and the standard container. */
#include <stdlib.h>
#include <string.h>

#include "pvm/pvm.h"
#include "util/error.h"

static uint8_t iop_flags(uint8_t iop) { return jv_pvm_iop_flags[iop]; }

static bool op_is_term(uint8_t iop) {
    return iop == JV_I_trap || (iop_flags(iop) & JV_OP_TERM) != 0;
}

/* PVM-G5: with ecall_blocks an ecalli is its own block, so it also ends the block before it
 * and the one it forms. ϖ is not affected (only terminators add to it). */
static bool ends_block(const javm_program *p, uint8_t iop) {
    return op_is_term(iop) || (p->ecall_blocks && iop == JV_I_ecalli);
}

void jv_pvm_program_destroy(javm_program *p) {
    if (!p) return;
    if (p->jit) p->jit->release(p->jit);
    free(p->code);
    free(p->bitmask);
    free(p->jumps);
    free(p->jump_ops);
    free(p->block_starts);
    free(p->ops);
    free(p->pc_words);
    free(p->block_rank);
    jv_mem_snapshot_destroy(p->std.ro_snap);
    jv_mem_snapshot_destroy(p->std.rw_snap);
    free(p);
}

/* One word of rank structure per 64 pcs, 0..code_len (PVM-D5 and the ϖ rank). */
static size_t pc_word_count(uint32_t code_len) { return (size_t)code_len / 64 + 1; }

size_t jv_pvm_program_bytes(const javm_program *p) {
    if (!p) return 0;
    size_t n = p->code_len, kbytes = (n + 7) / 8;
    return sizeof *p + (n + JV_PVM_CODE_PAD) + (kbytes + 8) /* code, bitmask */
           + 2 * ((size_t)p->jump_count + 1) * sizeof(uint32_t) /* jumps, jump_ops */
           + (kbytes + 8)                                       /* block_starts */
           + (size_t)p->nops * sizeof *p->ops                   /* the op stream */
           + pc_word_count(p->code_len) * sizeof *p->pc_words   /* PVM-D5 */
           + pc_word_count(p->code_len) * sizeof *p->block_rank;/* listed blocks */
}

static javm_status oom(void) {
    return jv_set_error(JAVM_ERR_NO_MEMORY, "program: out of memory while loading");
}

uint64_t jv_pvm_count_stores(const jv_pvm_op *ops, uint64_t n) {
    uint64_t stores = 0;
    for (uint64_t j = 0; j < n; j++) stores += (iop_flags(ops[j].iop) & JV_OP_STORE) != 0;
    return stores;
}

/* The position of the k-th set bit (k < popcount(v)) of v. */
static unsigned select64(uint64_t v, unsigned k) {
    for (unsigned i = 0; i < k; i++) v &= v - 1;
    return (unsigned)__builtin_ctzll(v);
}

uint32_t jv_pvm_op_pc(const javm_program *p, uint32_t i) {
    /* the last word whose base is <= i holds op i (bases do not decrease) */
    size_t lo = 0, hi = pc_word_count(p->code_len);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->pc_words[mid].base <= i) lo = mid;
        else hi = mid;
    }
    const jv_pvm_pcword *w = &p->pc_words[lo];
    uint32_t k = i - w->base;
    /* ops in the word, in pc order: a GAS op, then the instruction op, at each marked pc;
     * the smallest pc whose ops up to it number more than k holds op i */
    unsigned a = 0, b = 64;
    while (a < b) {
        unsigned m = (a + b) / 2;
        uint64_t upto = m == 63 ? ~0ull : (2ull << m) - 1;
        uint32_t c = (uint32_t)(__builtin_popcountll(w->insn & upto) +
                                __builtin_popcountll(w->gas & upto));
        if (c > k) b = m;
        else a = m + 1;
    }
    return (uint32_t)(lo * 64 + a);
}

uint32_t jv_pvm_block_rest(const javm_program *p, uint32_t r) {
    uint32_t j = r + 1;
    while (j < p->nops && !jv_pvm_op_is_gate(&p->ops[j])) j++;
    return j - r - 1;
}

/* The ϖ bits of pcs 64w..64w+63. */
static uint64_t starts_word(const javm_program *p, size_t w) {
    return jv_le_get(p->block_starts + 8 * w, 8);
}

bool jv_pvm_program_block_at(const javm_program *p, uint32_t i, uint32_t *pc, uint64_t *cost) {
    if (i >= p->nblocks) return false;
    uint32_t at = p->code_len; /* the implicit trap's block, listed last */
    if (!p->end_listed || i + 1 < p->nblocks) {
        size_t lo = 0, hi = pc_word_count(p->code_len);
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (p->block_rank[mid] <= i) lo = mid;
            else hi = mid;
        }
        at = (uint32_t)(lo * 64 + select64(starts_word(p, lo), i - p->block_rank[lo]));
    }
    uint32_t g = jv_pvm_gate_of(p, jv_pvm_op_at(p, at));
    if (pc) *pc = at;
    if (cost) *cost = jv_pvm_gas_cost(&p->ops[g]);
    return true;
}

/* Ops that keep their rest (jv_pvm_op_rest): they can leave or re-enter a block in its middle. */
static bool keeps_rest(uint8_t iop) {
    return (iop_flags(iop) & (JV_OP_LOAD | JV_OP_STORE)) || iop == JV_I_ecalli ||
           iop == JV_I_sbrk;
}

/* The op of the instruction at pc (operands resolved as pvm.h lays them out; a branch holds its
 * target pc in w, JV_PVM_NONE when it lies outside the code, until build_ops resolves it) and
 * its next pc; sets the ϖ bit after a valid terminator when starts. */
static uint64_t decode_op(javm_program *p, uint32_t pc, jv_pvm_op *o, bool starts) {
    const uint32_t n = p->code_len;
    jv_insn in;
    jv_pvm_decode_insn(p->isa, p->code, n, p->bitmask, pc, &in);
    const jv_pvm_opinfo *info = in.valid ? jv_pvm_opinfo_of_iop(in.iop) : NULL;
    memset(o, 0, sizeof *o);
    o->iop = in.iop;
    o->a = in.ra;
    o->b = in.rb;
    o->d = in.rd;
    o->x = in.imm_x;
    o->w = (uint32_t)in.imm_y; /* <= 4 bytes, sign-extended: jv_pvm_op_imm2 restores it */
    uint64_t next = (uint64_t)pc + in.len;
    if (info && (info->flags & JV_OP_BRANCH))
        o->w = in.target >= 0 && in.target < (int64_t)n ? (uint32_t)in.target : JV_PVM_NONE;
    if (info && (info->flags & (JV_OP_LOAD | JV_OP_STORE))) {
        /* the memory-op shape of pvm.h: base in b (ZERO for absolute forms), data in a; only
         * the address's low 32 bits are kept (the high half takes the rest) */
        if (info->cls == JV_CLASS_A3 || info->cls == JV_CLASS_A5) {
            o->b = JV_PVM_REG_ZERO;
        } else if (info->cls == JV_CLASS_A6) {
            o->b = in.ra;
            o->a = 0;
        }
        o->x = (uint32_t)in.imm_x;
    }
    if (in.iop == JV_I_ecalli) {
        o->w = (uint32_t)in.imm_x; /* the id, <= 4 bytes sign-extended */
        o->x = pc;
        o->a = in.len;
    }
    if (in.iop == JV_I_sbrk) o->x = 0;
    /* ϖ: the instruction after a (valid) terminator */
    if (starts && info && (info->flags & JV_OP_TERM) && next < n &&
        jv_bit_get(p->bitmask, next) && jv_pvm_opinfo_of(p->isa, p->code[next]))
        jv_bit_set(p->block_starts, next);
    return next;
}

/* The cost of op o (at pc) as a block of its own, if it can be a fused op (PVM-G6: a
 * terminator whose cost fits the d byte); else UINT64_MAX. */
static uint64_t fused_cost(const javm_program *p, const jv_pvm_op *o, uint32_t pc) {
    if (!op_is_term(o->iop)) return UINT64_MAX;
    uint64_t cost = p->gas_model == JAVM_GAS_GP08 ? jv_pvm_gas08_block_cost(p, o, pc, 1) : 1;
    return cost <= JV_PVM_FUSED_MAX_COST ? cost : UINT64_MAX;
}

/* Appends op o (at pc) to the stream: when it starts a block, a GAS op first (its x holds the
 * block's pc until build_ops costs it), or, for a terminator whose cost fits (fcost, see
 * fused_cost), the op alone as a fused op carrying its gate (PVM-G6). With ops NULL it only
 * counts. Returns the next index. */
static size_t put_op(javm_program *p, jv_pvm_op *ops, size_t k, bool *block_ends,
                     const jv_pvm_op *o, uint32_t pc, uint64_t fcost) {
    if (p->ecall_blocks && o->iop == JV_I_ecalli) *block_ends = true;
    bool fused = *block_ends && fcost != UINT64_MAX;
    if (*block_ends && !fused) {
        if (ops) {
            memset(&ops[k], 0, sizeof ops[k]);
            ops[k].iop = JV_I_GAS;
            ops[k].x = pc;
            p->pc_words[pc / 64].gas |= 1ull << (pc % 64);
        }
        k++;
    }
    if (ops) {
        ops[k] = *o;
        if (fused) {
            ops[k].iop = (uint8_t)(JV_PVM_FUSED + o->iop);
            ops[k].d = (uint8_t)fcost;
        }
        p->pc_words[pc / 64].insn |= 1ull << (pc % 64);
    }
    *block_ends = ends_block(p, o->iop);
    return k + 1;
}

/* Walks the code in pc order and produces the op stream (PVM-D3, G1, G6): every instruction
 * start, a trap op at each next pc whose bitmask bit is 0, the implicit trap at |c|, and a GAS
 * op (or the fusion of a one-op block) at the first op and after every terminator op. Run
 * twice: to count (ops NULL: opcode bytes only, operands decoded only for a terminator that
 * starts a block, no copy of the stream kept), then to fill the exact-size array, so loading
 * never holds a second, temporary op stream. */
static size_t walk_ops(javm_program *p, jv_pvm_op *ops) {
    const uint32_t n = p->code_len;
    size_t k = 0;
    bool block_ends = true;
    for (uint32_t pc = 0; pc < n; pc++) {
        if (!jv_bit_get(p->bitmask, pc)) continue;
        jv_pvm_op o;
        uint64_t next;
        if (!ops) {
            int iop = jv_pvm_iop_of_byte(p->isa, p->code[pc]);
            memset(&o, 0, sizeof o);
            o.iop = iop < 0 ? (uint8_t)JV_I_trap : (uint8_t)iop;
            if (block_ends && op_is_term(o.iop)) next = decode_op(p, pc, &o, false);
            else next = (uint64_t)pc + 1 + jv_pvm_skip(p->bitmask, n, pc);
        } else {
            next = decode_op(p, pc, &o, true);
        }
        k = put_op(p, ops, k, &block_ends, &o, pc,
                   block_ends ? fused_cost(p, &o, pc) : UINT64_MAX);
        /* PVM-D3: a next pc whose bitmask bit is 0 executes as trap */
        if (next < n && !jv_bit_get(p->bitmask, next)) {
            jv_pvm_op t;
            memset(&t, 0, sizeof t);
            t.iop = JV_I_trap;
            k = put_op(p, ops, k, &block_ends, &t, (uint32_t)next,
                       block_ends ? fused_cost(p, &t, (uint32_t)next) : UINT64_MAX);
        }
    }
    jv_pvm_op end; /* the implicit trap at |c| */
    memset(&end, 0, sizeof end);
    end.iop = JV_I_trap;
    return put_op(p, ops, k, &block_ends, &end, n,
                  block_ends ? fused_cost(p, &end, n) : UINT64_MAX);
}

/* The gate of a block entered by a branch or a jump-table entry at pc (PVM-D4). */
static uint32_t target_gate(const javm_program *p, uint32_t pc) {
    if (pc >= p->code_len || !jv_bit_get(p->block_starts, pc)) return JV_PVM_NONE;
    return jv_pvm_gate_of(p, jv_pvm_op_at(p, pc));
}

/* Builds the op stream from the validated parts held in p. */
static javm_status build_ops(javm_program *p) {
    const uint32_t n = p->code_len;
    p->block_starts = calloc(((size_t)n + 7) / 8 + 8, 1);
    size_t nwords = pc_word_count(n); /* pcs 0..n */
    p->pc_words = calloc(nwords, sizeof *p->pc_words);
    p->block_rank = malloc(nwords * sizeof *p->block_rank);
    if (!p->block_starts || !p->pc_words || !p->block_rank) return oom();
    /* 1, 2. count, then fill the instruction and GAS ops in pc order */
    size_t total = walk_ops(p, NULL);
    jv_pvm_op *ops = malloc(total * sizeof *ops);
    if (!ops) return oom();
    size_t filled = walk_ops(p, ops);
    if (filled != total) { /* the two walks see the same code */
        free(ops);
        return jv_set_error(JAVM_ERR_BAD_PROGRAM, "program: internal error building the op stream");
    }
    if (n > 0 && jv_bit_get(p->bitmask, 0) && jv_pvm_opinfo_of(p->isa, p->code[0]))
        jv_bit_set(p->block_starts, 0);
    p->ops = ops;
    p->nops = (uint32_t)total;
    uint32_t before = 0, starts = 0; /* PVM-D5: the ops at pcs below each word; the ϖ rank */
    for (size_t w = 0; w < nwords; w++) {
        p->pc_words[w].base = before;
        before += (uint32_t)(__builtin_popcountll(p->pc_words[w].insn) +
                             __builtin_popcountll(p->pc_words[w].gas));
        p->block_rank[w] = starts;
        starts += (uint32_t)__builtin_popcountll(starts_word(p, w));
    }

    /* 3. per GAS op's block: the instruction count, the rest of the ops that keep it, the
     * stores and the cost */
    for (size_t i = 0; i < total;) {
        if (ops[i].iop != JV_I_GAS) { /* a fused op: its own block, costed by walk_ops */
            i++;
            continue;
        }
        size_t e = i + 1;
        while (e < total && !jv_pvm_op_is_gate(&ops[e])) e++;
        uint32_t count = (uint32_t)(e - i - 1), pc = (uint32_t)ops[i].x;
        for (size_t j = i + 1; j < e; j++)
            if (keeps_rest(ops[j].iop)) ops[j].x |= (uint64_t)(e - 1 - j) << 32;
        uint64_t cost = 0, stores = 0;
        if (!(p->ecall_blocks && ops[i + 1].iop == JV_I_ecalli)) {
            /* (PVM-G5: an ecall block has no static gate: the ecall's owner charges it) */
            stores = jv_pvm_count_stores(ops + i + 1, count);
            cost = p->gas_model == JAVM_GAS_GP08
                       ? jv_pvm_gas08_block_cost(p, ops + i + 1, pc, count)
                       : count;
        }
        ops[i].x = cost;
        ops[i].w = count;
        ops[i].a = (uint8_t)stores; /* < 2^24: JV_PVM_MAX_CODE */
        ops[i].b = (uint8_t)(stores >> 8);
        ops[i].d = (uint8_t)(stores >> 16);
        i = e;
    }
    /* the listed blocks (javm_program_block): ϖ, then the implicit trap at |c| when the
     * instruction before it continues into it (fallthrough or a conditional branch) */
    uint32_t gend = jv_pvm_gate_of(p, (uint32_t)total - 1);
    if (gend != JV_PVM_NONE && gend > 0) {
        unsigned prev = jv_pvm_op_base(&ops[gend - 1]);
        p->end_listed = prev == JV_I_fallthrough ||
                        ((jv_pvm_iop_flags[prev] & JV_OP_BRANCH) && prev != JV_I_jump &&
                         prev != JV_I_load_imm_jump);
    }
    p->nblocks = starts + p->end_listed;

    /* 4. branch targets (PVM-D4) */
    for (size_t i = 0; i < total; i++) {
        jv_pvm_op *o = &ops[i];
        if (!(jv_pvm_iop_flags[o->iop] & JV_OP_BRANCH)) continue;
        o->w = o->w == JV_PVM_NONE ? JV_PVM_NONE : target_gate(p, o->w);
    }
    p->jump_ops = malloc(((size_t)p->jump_count + 1) * sizeof *p->jump_ops);
    if (!p->jump_ops) return oom();
    for (uint32_t i = 0; i < p->jump_count; i++) p->jump_ops[i] = target_gate(p, p->jumps[i]);
    return JAVM_OK;
}

static javm_status program_from_blob(const uint8_t *blob, size_t len, javm_isa isa,
                                     javm_gas_model gas, bool ecall_blocks,
                                     javm_program **out) {
    if ((unsigned)isa >= JV_ISA_COUNT)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "program: unknown instruction set %d",
                            (int)isa);
    if (gas != JAVM_GAS_GP07 && gas != JAVM_GAS_GP08)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "program: unknown gas model %d",
                            (int)gas);
    jv_pvm_blob b;
    javm_status s = jv_pvm_blob_decode(blob, len, &b);
    if (s) return s;
    javm_program *p = calloc(1, sizeof *p);
    if (!p) return oom();
    p->isa = isa;
    p->gas_model = gas;
    p->ecall_blocks = ecall_blocks;
    p->code_len = b.code_len;
    p->jump_count = b.jump_count;
    p->jump_width = b.z;
    size_t kbytes = ((size_t)b.code_len + 7) / 8;
    p->code = calloc((size_t)b.code_len + JV_PVM_CODE_PAD, 1);
    p->bitmask = calloc(kbytes + 8, 1);
    p->jumps = malloc(((size_t)b.jump_count + 1) * sizeof *p->jumps);
    if (!p->code || !p->bitmask || !p->jumps) {
        jv_pvm_program_destroy(p);
        return oom();
    }
    if (b.code_len) memcpy(p->code, b.code, b.code_len);
    if (kbytes) memcpy(p->bitmask, b.bitmask, kbytes);
    for (uint32_t i = 0; i < b.jump_count; i++) p->jumps[i] = jv_pvm_blob_jump(&b, i);
    s = build_ops(p);
    if (s) {
        jv_pvm_program_destroy(p);
        return s;
    }
    *out = p;
    return JAVM_OK;
}

javm_status jv_pvm_program_create_ex(const uint8_t *blob, size_t len, javm_isa isa,
                                     javm_gas_model gas, bool ecall_blocks, javm_program **out) {
    if (!out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "program: output is NULL");
    *out = NULL;
    return program_from_blob(blob, len, isa, gas, ecall_blocks, out);
}

javm_status jv_pvm_program_create(const uint8_t *blob, size_t len, javm_program **out) {
    return jv_pvm_program_create_ex(blob, len, JAVM_ISA_GP07, JAVM_GAS_GP07, false, out);
}

static uint64_t zone(uint64_t x) { return (x + JV_ZZ - 1) / JV_ZZ * JV_ZZ; }
static uint64_t page_up(uint64_t x) { return (x + JV_ZP - 1) / JV_ZP * JV_ZP; }

jv_pvm_layout jv_pvm_std_layout(uint64_t ro_len, uint64_t rw_len, uint64_t heap_pages,
                                uint64_t stack_size) {
    jv_pvm_layout l;
    l.ro_base = JV_STD_RO_BASE;
    l.ro_size = page_up(ro_len);
    l.rw_base = 2ull * JV_ZZ + zone(ro_len);
    l.rw_size = page_up(rw_len) + heap_pages * JV_ZP;
    l.stack_size = page_up(stack_size);
    l.stack_base = JV_STD_STACK_TOP - l.stack_size;
    l.need = 5ull * JV_ZZ + zone(ro_len) + zone(rw_len + heap_pages * JV_ZP) + zone(stack_size) +
             JV_ZI;
    return l;
}

javm_status jv_pvm_service_split(const uint8_t *blob, size_t len, const uint8_t **meta,
                                 size_t *meta_len, const uint8_t **container,
                                 size_t *container_len) {
    if (!blob && len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "service blob: blob is NULL");
    uint64_t m;
    size_t used;
    switch (jv_pvm_varint_decode(blob, len, &m, &used)) {
    case JV_VARINT_OK:
        break;
    case JV_VARINT_TRUNCATED:
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "service blob: the metadata length is truncated (%zu bytes)", len);
    case JV_VARINT_NONCANONICAL:
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "service blob: the metadata length %llu is not canonically encoded",
                            (unsigned long long)m);
    }
    if (m > len - used)
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "service blob: metadata of %llu bytes runs past the end (%zu bytes "
                            "left at offset %zu)",
                            (unsigned long long)m, len - used, used);
    *meta = blob + used;
    *meta_len = (size_t)m;
    *container = blob + used + m;
    *container_len = len - used - (size_t)m;
    return JAVM_OK;
}

javm_status jv_pvm_container_parse(const uint8_t *blob, size_t len, jv_pvm_container *c) {
    if (!blob && len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "container: blob is NULL");
    if (len < 11)
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "container: %zu bytes is shorter than the 11-byte header", len);
    uint64_t o_len = jv_le_get(blob, 3), w_len = jv_le_get(blob + 3, 3), z = jv_le_get(blob + 6, 2),
             s = jv_le_get(blob + 8, 3);
    size_t off = 11;
    if (o_len > len - off)
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "container: read-only data of %llu bytes exceeds the %zu bytes left "
                            "at offset %zu",
                            (unsigned long long)o_len, len - off, off);
    c->ro = blob + off;
    off += o_len;
    if (w_len > len - off)
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "container: read-write data of %llu bytes exceeds the %zu bytes left "
                            "at offset %zu",
                            (unsigned long long)w_len, len - off, off);
    c->rw = blob + off;
    off += w_len;
    if (len - off < 4)
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "container: blob ends at offset %zu, before the 4-byte code length",
                            off);
    uint64_t c_len = jv_le_get(blob + off, 4);
    off += 4;
    if (c_len != len - off)
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "container: code blob length %llu at offset %zu does not match the %zu "
                            "bytes that remain",
                            (unsigned long long)c_len, off - 4, len - off);
    uint64_t need = jv_pvm_std_layout(o_len, w_len, z, s).need;
    if (need > (1ull << 32))
        return jv_set_error(JAVM_ERR_BAD_CONTAINER,
                            "container: layout needs %llu bytes of address space, more than 2^32 "
                            "(ro %llu, rw %llu, heap pages %llu, stack %llu)",
                            (unsigned long long)need, (unsigned long long)o_len,
                            (unsigned long long)w_len, (unsigned long long)z,
                            (unsigned long long)s);
    c->ro_len = (uint32_t)o_len;
    c->rw_len = (uint32_t)w_len;
    c->heap_pages = (uint32_t)z;
    c->stack_size = (uint32_t)s;
    c->code = blob + off;
    c->code_len = (size_t)c_len;
    return JAVM_OK;
}

javm_status jv_pvm_program_create_container(const jv_pvm_container *c, javm_isa isa,
                                            javm_gas_model gas, bool ecall_blocks,
                                            javm_program **out) {
    if (!c || !out) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "container: NULL argument");
    *out = NULL;
    javm_program *p = NULL;
    javm_status st = program_from_blob(c->code, c->code_len, isa, gas, ecall_blocks, &p);
    if (st) return st;
    p->standard = true;
    p->std.ro_len = c->ro_len;
    p->std.rw_len = c->rw_len;
    p->std.heap_pages = c->heap_pages;
    p->std.stack_size = c->stack_size;
    *out = p;
    return JAVM_OK;
}

