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
    free(p->blocks);
    jv_mem_snapshot_destroy(p->std.ro_snap);
    jv_mem_snapshot_destroy(p->std.rw_snap);
    free(p);
}

size_t jv_pvm_program_bytes(const javm_program *p) {
    if (!p) return 0;
    size_t n = p->code_len, kbytes = (n + 7) / 8;
    return sizeof *p + (n + JV_PVM_CODE_PAD) + (kbytes + 8) /* code, bitmask */
           + 2 * ((size_t)p->jump_count + 1) * sizeof(uint32_t) /* jumps, jump_ops */
           + (kbytes + 8)                                       /* block_starts */
           + (size_t)p->nops * sizeof *p->ops                   /* the op stream */
           + (n / 64 + 1) * sizeof *p->pc_words                 /* PVM-D5 */
           + ((size_t)p->nblocks + 1) * sizeof *p->blocks;
}

static javm_status oom(void) {
    return jv_set_error(JAVM_ERR_NO_MEMORY, "program: out of memory while loading");
}


uint64_t jv_pvm_count_stores(const jv_pvm_op *ops, uint64_t n) {
    uint64_t stores = 0;
    for (uint64_t j = 0; j < n; j++) stores += (iop_flags(ops[j].iop) & JV_OP_STORE) != 0;
    return stores;
}

/* A GAS op that javm_program_block lists: a block start in ϖ, or the implicit trap at |c|
 * when the instruction before it continues into it (fallthrough or a conditional branch). */
static bool listed_block(const javm_program *p, const jv_pvm_op *ops, size_t g) {
    uint32_t pc = ops[g].pc;
    if (pc < p->code_len) return jv_bit_get(p->block_starts, pc);
    if (g == 0) return false;
    uint8_t prev = ops[g - 1].iop;
    return prev == JV_I_fallthrough || ((jv_pvm_iop_flags[prev] & JV_OP_BRANCH) &&
                                        prev != JV_I_jump && prev != JV_I_load_imm_jump);
}

/* Builds the op stream from the validated parts held in p. */
/* Appends op o to the stream (a GAS op first when it starts a block); with ops NULL it only
 * counts. Returns the next index. */
static size_t put_op(javm_program *p, jv_pvm_op *ops, size_t k, bool *block_ends,
                     const jv_pvm_op *o) {
    if (p->ecall_blocks && o->iop == JV_I_ecalli) *block_ends = true;
    if (*block_ends) {
        if (ops) {
            memset(&ops[k], 0, sizeof ops[k]);
            ops[k].iop = JV_I_GAS;
            ops[k].pc = o->pc;
            p->pc_words[o->pc / 64].gas |= 1ull << (o->pc % 64);
        }
        k++;
    }
    if (ops) {
        ops[k] = *o;
        p->pc_words[o->pc / 64].insn |= 1ull << (o->pc % 64);
    }
    *block_ends = ends_block(p, o->iop);
    return k + 1;
}

/* Walks the code in pc order and produces the op stream (PVM-D3, G1): every instruction start,
 * a trap op at each next pc whose bitmask bit is 0, the implicit trap at |c|, and a GAS op
 * before the first op and after every terminator op. Run twice: to count (ops NULL: opcode
 * bytes only, no operand decoding, no copy of the stream kept), then to fill the exact-size
 * array, so loading never holds a second, temporary op stream. */
static size_t walk_ops(javm_program *p, jv_pvm_op *ops) {
    const uint32_t n = p->code_len;
    size_t k = 0;
    bool block_ends = true;
    for (uint32_t pc = 0; pc < n; pc++) {
        if (!jv_bit_get(p->bitmask, pc)) continue;
        jv_pvm_op o;
        memset(&o, 0, sizeof o);
        o.pc = pc;
        uint64_t next;
        if (!ops) {
            int iop = jv_pvm_iop_of_byte(p->isa, p->code[pc]);
            o.iop = iop < 0 ? (uint8_t)JV_I_trap : (uint8_t)iop;
            next = (uint64_t)pc + 1 + jv_pvm_skip(p->bitmask, n, pc);
        } else {
            jv_insn in;
            jv_pvm_decode_insn(p->isa, p->code, n, p->bitmask, pc, &in);
            const jv_pvm_opinfo *info = in.valid ? jv_pvm_opinfo_of_iop(in.iop) : NULL;
            o.iop = in.iop;
            o.a = in.ra;
            o.b = in.rb;
            o.d = in.rd;
            o.x = in.imm_x;
            o.y = in.imm_y;
            /* a branch keeps its target pc in y until pass 4 resolves it into t */
            if (info && (info->flags & JV_OP_BRANCH)) o.y = (uint64_t)in.target;
            if (info && (info->flags & (JV_OP_LOAD | JV_OP_STORE))) {
                /* the memory-op shape of pvm.h: base in b (ZERO for absolute forms), data in a */
                if (info->cls == JV_CLASS_A3 || info->cls == JV_CLASS_A5) {
                    o.b = JV_PVM_REG_ZERO;
                } else if (info->cls == JV_CLASS_A6) {
                    o.b = in.ra;
                    o.a = 0;
                }
            }
            next = (uint64_t)pc + in.len;
            if (in.iop == JV_I_ecalli) o.t = (uint32_t)next;
            /* ϖ: the instruction after a (valid) terminator */
            if (info && (info->flags & JV_OP_TERM) && next < n && jv_bit_get(p->bitmask, next) &&
                jv_pvm_opinfo_of(p->isa, p->code[next]))
                jv_bit_set(p->block_starts, next);
        }
        k = put_op(p, ops, k, &block_ends, &o);
        /* PVM-D3: a next pc whose bitmask bit is 0 executes as trap */
        if (next < n && !jv_bit_get(p->bitmask, next)) {
            jv_pvm_op t;
            memset(&t, 0, sizeof t);
            t.pc = (uint32_t)next;
            t.iop = JV_I_trap;
            k = put_op(p, ops, k, &block_ends, &t);
        }
    }
    jv_pvm_op end; /* the implicit trap at |c| */
    memset(&end, 0, sizeof end);
    end.pc = n;
    end.iop = JV_I_trap;
    return put_op(p, ops, k, &block_ends, &end);
}

/* Builds the op stream from the validated parts held in p. */
static javm_status build_ops(javm_program *p) {
    const uint32_t n = p->code_len;
    p->block_starts = calloc(((size_t)n + 7) / 8 + 8, 1);
    size_t nwords = (size_t)n / 64 + 1; /* pcs 0..n */
    p->pc_words = calloc(nwords, sizeof *p->pc_words);
    if (!p->block_starts || !p->pc_words) return oom();
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
    uint32_t before = 0; /* PVM-D5: the ops at pcs below each word */
    for (size_t w = 0; w < nwords; w++) {
        p->pc_words[w].base = before;
        before += (uint32_t)(__builtin_popcountll(p->pc_words[w].insn) +
                             __builtin_popcountll(p->pc_words[w].gas));
    }

    /* 3. rest (backwards) and block costs */
    for (size_t i = total; i-- > 0;) {
        jv_pvm_op *o = &ops[i];
        if (o->iop == JV_I_GAS) continue;
        o->rest = (ends_block(p, o->iop) || i + 1 >= total || ops[i + 1].iop == JV_I_GAS)
                      ? 0
                      : ops[i + 1].rest + 1;
    }
    size_t nb = 0;
    for (size_t i = 0; i < total; i++) {
        if (ops[i].iop != JV_I_GAS) continue;
        uint64_t count = (uint64_t)ops[i + 1].rest + 1;
        ops[i].rest = (uint32_t)count;
        if (p->ecall_blocks && ops[i + 1].iop == JV_I_ecalli) {
            /* PVM-G5: no static gate: the ecall's owner charges it dynamically */
            ops[i].x = ops[i].y = 0;
        } else {
            ops[i].y = jv_pvm_count_stores(ops + i + 1, count);
            ops[i].x = p->gas_model == JAVM_GAS_GP08 ? jv_pvm_gas08_cost(p, (uint32_t)i + 1)
                                                     : count;
        }
        nb += listed_block(p, ops, i);
    }
    /* the listed blocks (javm_program_block) */
    p->blocks = malloc((nb + 1) * sizeof *p->blocks);
    if (!p->blocks) return oom();
    for (size_t i = 0; i < total; i++)
        if (ops[i].iop == JV_I_GAS && listed_block(p, ops, i)) p->blocks[p->nblocks++] = (uint32_t)i;

    /* 4. branch targets (PVM-D4) */
    for (size_t i = 0; i < total; i++) {
        jv_pvm_op *o = &ops[i];
        if (!(jv_pvm_iop_flags[o->iop] & JV_OP_BRANCH)) continue;
        int64_t tg = (int64_t)o->y;
        o->t = JV_PVM_NONE;
        if (tg >= 0 && tg < (int64_t)n && jv_bit_get(p->block_starts, (uint64_t)tg))
            o->t = jv_pvm_op_at(p, (uint32_t)tg) - 1;
    }
    p->jump_ops = malloc(((size_t)p->jump_count + 1) * sizeof *p->jump_ops);
    if (!p->jump_ops) return oom();
    for (uint32_t i = 0; i < p->jump_count; i++) {
        uint32_t e = p->jumps[i];
        p->jump_ops[i] =
            (e < n && jv_bit_get(p->block_starts, e)) ? jv_pvm_op_at(p, e) - 1 : JV_PVM_NONE;
    }
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

