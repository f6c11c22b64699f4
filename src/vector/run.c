/* vector — running a vector's steps through the public API and comparing (vector.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/error.h"
#include "vector/vector.h"

javm_status jv_vec_load_program(const jv_vector *v, const javm_load_options *lo,
                                javm_program **out) {
    return javm_program_load_ex(v->program, v->program_len, lo, out);
}

/* The cost of the gas block starting at pc (the blocks are in pc order: binary search). */
static bool block_cost_of(const javm_program *prog, uint32_t pc, uint64_t *cost) {
    uint32_t lo = 0, hi = javm_program_block_count(prog);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2, at;
        uint64_t c;
        if (javm_program_block(prog, mid, &at, &c) != JAVM_OK) return false;
        if (at == pc) {
            *cost = c;
            return true;
        }
        if (at < pc) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

/* ---- Sessions ----------------------------------------------------------------------------- */
javm_status jv_vec_session_start(jv_vec_session *s, const jv_vector *v,
                                 const javm_load_options *lo, const javm_config *cfg) {
    memset(s, 0, sizeof *s);
    s->v = v;
    javm_status st = jv_vec_load_program(v, lo, &s->prog);
    if (st == JAVM_ERR_BAD_PROGRAM) { /* VEC-2: an empty program holds the state */
        static const uint8_t empty[] = {0, 0, 0};
        snprintf(s->load_error, sizeof s->load_error, "%s", javm_last_error());
        s->unloadable = true;
        st = javm_program_load_ex(empty, sizeof empty, lo, &s->prog);
    }
    if (st) return st;
    if ((st = javm_instance_new(s->prog, cfg, &s->vm))) {
        jv_vec_session_end(s);
        return st;
    }
    javm_gas_set(s->vm, v->initial_gas);
    if (!s->unloadable) javm_pc_set(s->vm, v->initial_pc);
    return JAVM_OK;
}

void jv_vec_session_end(jv_vec_session *s) {
    javm_instance_free(s->vm);
    javm_program_free(s->prog);
    s->vm = NULL;
    s->prog = NULL;
}

/* "steps[3] (map): <status>: <detail>" (the detail copied first: it is the buffer rewritten). */
static javm_status step_error(javm_status r, const jv_vec_step *st) {
    char detail[512];
    snprintf(detail, sizeof detail, "%s", javm_last_error());
    return jv_set_error(r, "%s: %s: %s", st->where, javm_status_str(r), detail);
}

/* Applies one map, write or set-reg step. */
static javm_status apply(jv_vec_session *s, const jv_vec_step *st) {
    javm_status r = JAVM_OK;
    switch (st->kind) {
    case JV_VEC_MAP:
        r = javm_map(s->vm, st->map.address, st->map.length,
                     st->map.writable ? JAVM_ACCESS_RW : JAVM_ACCESS_RO, NULL, 0);
        break;
    case JV_VEC_WRITE: /* VEC-1 */
        r = javm_mem_write(s->vm, st->write.address, st->write.contents, st->write.len);
        break;
    case JV_VEC_SET_REG:
        r = javm_reg_set(s->vm, st->reg, st->value);
        break;
    case JV_VEC_RUN:
    case JV_VEC_ASSERT:
        break;
    }
    return r ? step_error(r, st) : JAVM_OK;
}

javm_status jv_vec_session_advance(jv_vec_session *s, bool *have_run) {
    *have_run = false;
    while (s->next < s->v->n_steps) {
        const jv_vec_step *st = &s->v->steps[s->next++];
        if (st->kind == JV_VEC_RUN) {
            *have_run = true;
            return JAVM_OK;
        }
        javm_status r = apply(s, st);
        if (r) return r;
    }
    return JAVM_OK;
}

void jv_vec_session_record(const jv_vec_session *s, const javm_exit_info *ex, jv_vec_result *res) {
    memset(res, 0, sizeof *res);
    res->status = ex->kind;
    res->pc = ex->pc;
    res->gas = javm_gas_get(s->vm);
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) (void)javm_reg_get(s->vm, i, &res->regs[i]);
    if (ex->kind == JAVM_EXIT_PAGE_FAULT) res->fault_address = ex->arg;
    if (ex->kind == JAVM_EXIT_HOST_CALL) {
        res->host_call = ex->arg;
        res->next_pc = ex->next_pc;
    }
    javm_stats stats = JAVM_STATS_INIT;
    javm_stats_get(s->vm, &stats);
    res->mat_gas = stats.mat_gas;
}

javm_status jv_vec_session_run(jv_vec_session *s, jv_vec_result *res) {
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    ex.kind = JAVM_EXIT_PANIC;
    ex.pc = s->v->initial_pc;
    if (!s->unloadable) { /* VEC-2: else a panic at the initial pc that changes nothing */
        javm_status r = javm_run(s->vm, &ex);
        if (r) return r;
    }
    jv_vec_session_record(s, &ex, res);
    return JAVM_OK;
}

const jv_vec_step *jv_vec_session_step(jv_vec_session *s, jv_vec_result *res, javm_status *err) {
    *err = JAVM_OK;
    if (s->next >= s->v->n_steps) return NULL;
    const jv_vec_step *st = &s->v->steps[s->next++];
    if (st->kind == JV_VEC_RUN) {
        if ((*err = jv_vec_session_run(s, res))) *err = step_error(*err, st);
    } else {
        *err = apply(s, st);
    }
    return *err ? NULL : st;
}

/* ---- Memory ------------------------------------------------------------------------------- */
/* n > 0 bytes all zero: p[0] is, and every byte equals the one before it (libc's memcmp is
 * the fast loop; a 4 GiB map is a million of these). */
static bool all_zero(const uint8_t *p, size_t n) {
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

void jv_vec_pages(const javm_instance *vm,
                  void (*fn)(void *user, uint32_t page, const uint8_t *bytes), void *user) {
    uint64_t from = 0;
    uint32_t page;
    uint8_t buf[JV_PAGE_SIZE];
    while (from < (1ull << 32) && jv_api_next_mapped(vm, from, &page)) {
        if (javm_mem_read(vm, page, buf, sizeof buf) == JAVM_OK && !all_zero(buf, sizeof buf))
            fn(user, page, buf);
        from = (uint64_t)page + JV_PAGE_SIZE;
    }
}

typedef struct cell {
    uint32_t addr;
    uint8_t val;
} cell;

typedef struct cells {
    cell *v;
    size_t n, cap;
    bool oom;
} cells;

static void cells_push(cells *c, uint32_t addr, uint8_t val) {
    if (c->oom) return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        cell *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv) {
            c->oom = true;
            return;
        }
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n++] = (cell){addr, val};
}

typedef struct icell {
    cell c;
    size_t i;
} icell;

static int icell_cmp(const void *a, const void *b) {
    const icell *x = a, *y = b;
    if (x->c.addr != y->c.addr) return x->c.addr < y->c.addr ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Sorts by address; of equal addresses the last pushed wins; drops zero bytes. */
static bool cells_normalize(cells *c) {
    if (c->oom) return false;
    icell *t = malloc((c->n ? c->n : 1) * sizeof *t);
    if (!t) return false;
    for (size_t i = 0; i < c->n; i++) t[i] = (icell){c->v[i], i};
    qsort(t, c->n, sizeof *t, icell_cmp);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (k && c->v[k - 1].addr == t[i].c.addr) c->v[k - 1] = t[i].c;
        else c->v[k++] = t[i].c;
    }
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (c->v[i].val) c->v[m++] = c->v[i];
    c->n = m;
    free(t);
    return true;
}

static void collect_page(void *user, uint32_t page, const uint8_t *bytes) {
    for (uint32_t i = 0; i < JV_PAGE_SIZE; i++)
        if (bytes[i]) cells_push(user, page + i, bytes[i]);
}

static void print_run(FILE *out, const char *prefix, const javm_instance *vm, uint32_t lo,
                      const uint8_t *exp, const uint8_t *got, size_t n) {
    if (!out) return;
    fprintf(out, "%smemory 0x%x..0x%x:", prefix, lo, (uint32_t)(lo + n));
    if (javm_page_access(vm, lo) == JAVM_ACCESS_NONE) fprintf(out, " (not accessible)");
    size_t show = n > 16 ? 16 : n;
    fprintf(out, " expected");
    for (size_t i = 0; i < show; i++) fprintf(out, " %02x", exp[i]);
    fprintf(out, "%s, got", n > show ? " ..." : "");
    for (size_t i = 0; i < show; i++) fprintf(out, " %02x", got[i]);
    fprintf(out, "%s\n", n > show ? " ..." : "");
}

/* VEC-3 */
static int compare_memory(const jv_vec_expect *x, const javm_instance *vm, FILE *out,
                          const char *prefix) {
    cells e = {0}, a = {0};
    for (size_t i = 0; i < x->n_memory; i++)
        for (size_t j = 0; j < x->memory[i].len; j++)
            cells_push(&e, (uint32_t)(x->memory[i].address + j), x->memory[i].contents[j]);
    jv_vec_pages(vm, collect_page, &a);
    bool ok = cells_normalize(&e);
    ok = cells_normalize(&a) && ok;
    if (!ok) {
        if (out) fprintf(out, "%smemory: out of memory while comparing\n", prefix);
        free(e.v);
        free(a.v);
        return 1;
    }
    int runs = 0;
    size_t i = 0, j = 0;
    uint8_t eb[64], gb[64];
    size_t rn = 0;
    uint32_t rlo = 0, rnext = 0;
    while (i < e.n || j < a.n) {
        uint32_t addr;
        uint8_t ev = 0, av = 0;
        if (j >= a.n || (i < e.n && e.v[i].addr < a.v[j].addr)) {
            addr = e.v[i].addr;
            ev = e.v[i++].val;
        } else if (i >= e.n || a.v[j].addr < e.v[i].addr) {
            addr = a.v[j].addr;
            av = a.v[j++].val;
        } else {
            addr = e.v[i].addr;
            ev = e.v[i++].val;
            av = a.v[j++].val;
        }
        if (ev == av) continue;
        if (rn && addr == rnext && rn < sizeof eb) {
            eb[rn] = ev;
            gb[rn] = av;
            rn++;
            rnext = addr + 1;
            continue;
        }
        if (rn && runs < 8) print_run(out, prefix, vm, rlo, eb, gb, rn);
        if (rn) runs++;
        rlo = addr;
        rnext = addr + 1;
        eb[0] = ev;
        gb[0] = av;
        rn = 1;
    }
    if (rn && runs < 8) print_run(out, prefix, vm, rlo, eb, gb, rn);
    if (rn) runs++;
    if (runs > 8 && out) fprintf(out, "%smemory: %d more differing runs\n", prefix, runs - 8);
    free(e.v);
    free(a.v);
    return runs ? 1 : 0;
}

int jv_vec_compare(const jv_vec_session *s, const jv_vec_expect *e, const jv_vec_result *res,
                   FILE *out, const char *prefix) {
    int d = 0;
    if (!prefix) prefix = "";
    if (res->status != e->status) {
        d++;
        if (out)
            fprintf(out, "%sstatus: expected %s, got %s\n", prefix, javm_exit_str(e->status),
                    javm_exit_str(res->status));
    }
    if (res->pc != e->pc) {
        d++;
        if (out) fprintf(out, "%spc: expected %u, got %u\n", prefix, e->pc, res->pc);
    }
    if (res->gas + (int64_t)res->mat_gas != e->gas) { /* VEC-4 */
        d++;
        if (out && res->mat_gas)
            fprintf(out, "%sgas: expected %" PRId64 " + #3 charges, got %" PRId64 " (%" PRIu64
                         " of it #3)\n",
                    prefix, e->gas, res->gas, res->mat_gas);
        else if (out)
            fprintf(out, "%sgas: expected %" PRId64 ", got %" PRId64 "\n", prefix, e->gas,
                    res->gas);
    }
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) {
        if (res->regs[i] == e->regs[i]) continue;
        d++;
        if (out)
            fprintf(out, "%sr%u: expected 0x%" PRIx64 " (%" PRIu64 "), got 0x%" PRIx64 " (%" PRIu64
                         ")\n",
                    prefix, i, e->regs[i], e->regs[i], res->regs[i], res->regs[i]);
    }
    if (e->status == JAVM_EXIT_PAGE_FAULT && res->status == JAVM_EXIT_PAGE_FAULT &&
        e->has_fault_address && res->fault_address != e->fault_address) {
        d++;
        if (out)
            fprintf(out, "%spage-fault address: expected 0x%x, got 0x%" PRIx64 "\n", prefix,
                    e->fault_address, res->fault_address);
    }
    d += compare_memory(e, s->vm, out, prefix);
    return d;
}

/* VEC-8 */
static int compare_block_costs(const jv_vec_session *s, FILE *out, const char *prefix) {
    const jv_vector *v = s->v;
    if (!v->n_block_costs) return 0;
    if (s->unloadable) {
        if (out)
            fprintf(out, "%sblock-gas-costs: the program does not decode (%s)\n", prefix,
                    s->load_error);
        return 1;
    }
    int d = 0;
    for (size_t i = 0; i < v->n_block_costs; i++) {
        uint64_t got;
        const jv_vec_block_cost *b = &v->block_costs[i];
        if (!block_cost_of(s->prog, b->pc, &got)) {
            if (out && d < 16)
                fprintf(out, "%sblock at pc %u: expected cost %" PRIu64 ", but it is not a block start\n",
                        prefix, b->pc, b->cost);
            d++;
        } else if (got != b->cost) {
            if (out && d < 16)
                fprintf(out, "%sblock at pc %u: expected cost %" PRIu64 ", got %" PRIu64 "\n", prefix,
                        b->pc, b->cost, got);
            d++;
        }
    }
    if (out && d > 16) fprintf(out, "%sblock-gas-costs: %d more differing blocks\n", prefix, d - 16);
    return d;
}

javm_status jv_vector_check(const jv_vector *v, const javm_load_options *lo,
                            const javm_config *cfg, FILE *out, const char *prefix, int *diffs) {
    *diffs = 0;
    if (!prefix) prefix = "";
    jv_vec_session s;
    javm_status r = jv_vec_session_start(&s, v, lo, cfg);
    if (r) return r;
    char sub[64];
    snprintf(sub, sizeof sub, "%s  ", prefix);
    jv_vec_result res;
    bool ran = false;
    size_t nth = 0;
    const jv_vec_step *st;
    while ((st = jv_vec_session_step(&s, &res, &r))) {
        if (st->kind == JV_VEC_RUN) ran = true;
        if (st->kind != JV_VEC_ASSERT) continue;
        nth++;
        if (!ran) {
            if (out) fprintf(out, "%s%s: no run before this assert\n", prefix, st->where);
            (*diffs)++;
            continue;
        }
        int d = jv_vec_compare(&s, &st->expect, &res, NULL, NULL);
        if (d && out) {
            if (v->n_asserts > 1)
                fprintf(out, "%sassert %zu of %zu (%s):\n", prefix, nth, v->n_asserts, st->where);
            jv_vec_compare(&s, &st->expect, &res, out, v->n_asserts > 1 ? sub : prefix);
        }
        *diffs += d;
    }
    if (!r) *diffs += compare_block_costs(&s, out, prefix);
    jv_vec_session_end(&s);
    return r;
}
