/* cli/vector — load, run and compare v0.4 PVM conformance vectors (see vector.h). */
#include "cli/vector.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/error.h"

/* ---- JSON field helpers --------------------------------------------------------------------- */
typedef struct ctx {
    const char *name;
} ctx;

static javm_status bad(const ctx *c, const char *field, const char *msg) {
    return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: %s: %s", c->name, field, msg);
}

static json_object *field(json_object *o, const char *key) {
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* An exact unsigned integer <= max. */
static javm_status as_uint(const ctx *c, const char *fname, json_object *v, uint64_t max,
                           uint64_t *out) {
    if (!v) return bad(c, fname, "missing");
    if (!json_object_is_type(v, json_type_int)) return bad(c, fname, "not an integer");
    if (json_object_get_int64(v) < 0) return bad(c, fname, "negative");
    errno = 0;
    uint64_t u = json_object_get_uint64(v);
    if (errno) return bad(c, fname, "out of the 64-bit range");
    if (u > max) {
        char m[96];
        snprintf(m, sizeof m, "%" PRIu64 " exceeds %" PRIu64, u, max);
        return bad(c, fname, m);
    }
    *out = u;
    return JAVM_OK;
}

static javm_status as_int64(const ctx *c, const char *fname, json_object *v, int64_t *out) {
    if (!v) return bad(c, fname, "missing");
    if (!json_object_is_type(v, json_type_int)) return bad(c, fname, "not an integer");
    int64_t i = json_object_get_int64(v);
    if (i >= 0) {
        errno = 0;
        uint64_t u = json_object_get_uint64(v);
        if (errno || u > (uint64_t)INT64_MAX) return bad(c, fname, "exceeds the signed 64-bit range");
    }
    *out = i;
    return JAVM_OK;
}

static javm_status as_array(const ctx *c, const char *fname, json_object *v, size_t *n) {
    if (!v) return bad(c, fname, "missing");
    if (!json_object_is_type(v, json_type_array)) return bad(c, fname, "not an array");
    *n = json_object_array_length(v);
    return JAVM_OK;
}

static javm_status regs_of(const ctx *c, const char *fname, json_object *v, uint64_t *regs) {
    size_t n;
    javm_status s = as_array(c, fname, v, &n);
    if (s) return s;
    if (n != JAVM_NUM_REGS) {
        char m[64];
        snprintf(m, sizeof m, "has %zu entries, expected 13", n);
        return bad(c, fname, m);
    }
    for (size_t i = 0; i < n; i++) {
        char f[64];
        snprintf(f, sizeof f, "%s[%zu]", fname, i);
        s = as_uint(c, f, json_object_array_get_idx(v, i), UINT64_MAX, &regs[i]);
        if (s) return s;
    }
    return JAVM_OK;
}

static javm_status bytes_of(const ctx *c, const char *fname, json_object *v, uint8_t **out,
                            size_t *len) {
    size_t n;
    javm_status s = as_array(c, fname, v, &n);
    if (s) return s;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", c->name);
    for (size_t i = 0; i < n; i++) {
        char f[80];
        snprintf(f, sizeof f, "%s[%zu]", fname, i);
        uint64_t x;
        s = as_uint(c, f, json_object_array_get_idx(v, i), 255, &x);
        if (s) {
            free(b);
            return s;
        }
        b[i] = (uint8_t)x;
    }
    *out = b;
    *len = n;
    return JAVM_OK;
}

static javm_status chunks_of(const ctx *c, const char *fname, json_object *v, jv_vec_chunk **out,
                             size_t *count) {
    size_t n;
    javm_status s = as_array(c, fname, v, &n);
    if (s) return s;
    jv_vec_chunk *ch = calloc(n ? n : 1, sizeof *ch);
    if (!ch) return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", c->name);
    *out = ch;
    *count = n;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char f[80];
        snprintf(f, sizeof f, "%s[%zu]", fname, i);
        if (!json_object_is_type(e, json_type_object)) return bad(c, f, "not an object");
        uint64_t addr;
        char ff[100];
        snprintf(ff, sizeof ff, "%s.address", f);
        s = as_uint(c, ff, field(e, "address"), UINT32_MAX, &addr);
        if (s) return s;
        ch[i].address = (uint32_t)addr;
        snprintf(ff, sizeof ff, "%s.contents", f);
        s = bytes_of(c, ff, field(e, "contents"), &ch[i].contents, &ch[i].len);
        if (s) return s;
    }
    return JAVM_OK;
}

bool jv_vector_status_parse(const char *s, javm_exit_kind *out) {
    static const struct {
        const char *name;
        javm_exit_kind kind;
    } t[] = {{"halt", JAVM_EXIT_HALT},
             {"panic", JAVM_EXIT_PANIC},
             {"page-fault", JAVM_EXIT_PAGE_FAULT},
             {"out-of-gas", JAVM_EXIT_OUT_OF_GAS},
             {"host-call", JAVM_EXIT_HOST_CALL}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) {
            *out = t[i].kind;
            return true;
        }
    return false;
}

static javm_status parse_obj(const ctx *c, json_object *root, jv_vector *v) {
    if (!json_object_is_type(root, json_type_object))
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: the top level is not an object",
                            c->name);
    javm_status s;
    json_object *nm = field(root, "name");
    const char *name = nm && json_object_is_type(nm, json_type_string)
                           ? json_object_get_string(nm)
                           : c->name;
    v->name = strdup(name);
    if (!v->name) return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", c->name);
    if ((s = regs_of(c, "initial-regs", field(root, "initial-regs"), v->initial_regs))) return s;
    uint64_t u;
    if ((s = as_uint(c, "initial-pc", field(root, "initial-pc"), UINT32_MAX, &u))) return s;
    v->initial_pc = (uint32_t)u;
    if ((s = as_int64(c, "initial-gas", field(root, "initial-gas"), &v->initial_gas))) return s;
    /* page map */
    json_object *pm = field(root, "initial-page-map");
    size_t n;
    if ((s = as_array(c, "initial-page-map", pm, &n))) return s;
    v->page_map = calloc(n ? n : 1, sizeof *v->page_map);
    if (!v->page_map) return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", c->name);
    v->n_page_map = n;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(pm, i);
        char f[96];
        snprintf(f, sizeof f, "initial-page-map[%zu]", i);
        if (!json_object_is_type(e, json_type_object)) return bad(c, f, "not an object");
        char ff[128];
        snprintf(ff, sizeof ff, "%s.address", f);
        if ((s = as_uint(c, ff, field(e, "address"), UINT32_MAX, &u))) return s;
        v->page_map[i].address = (uint32_t)u;
        snprintf(ff, sizeof ff, "%s.length", f);
        if ((s = as_uint(c, ff, field(e, "length"), UINT32_MAX, &u))) return s;
        v->page_map[i].length = (uint32_t)u;
        snprintf(ff, sizeof ff, "%s.is-writable", f);
        json_object *w = field(e, "is-writable");
        if (!w || !json_object_is_type(w, json_type_boolean))
            return bad(c, ff, w ? "not a boolean" : "missing");
        v->page_map[i].writable = json_object_get_boolean(w);
    }
    if ((s = chunks_of(c, "initial-memory", field(root, "initial-memory"), &v->initial_memory,
                       &v->n_initial_memory)))
        return s;
    if ((s = bytes_of(c, "program", field(root, "program"), &v->program, &v->program_len)))
        return s;
    json_object *st = field(root, "expected-status");
    if (!st || !json_object_is_type(st, json_type_string))
        return bad(c, "expected-status", st ? "not a string" : "missing");
    if (!jv_vector_status_parse(json_object_get_string(st), &v->expected_status)) {
        char m[128];
        snprintf(m, sizeof m, "unknown status '%.60s'", json_object_get_string(st));
        return bad(c, "expected-status", m);
    }
    if ((s = regs_of(c, "expected-regs", field(root, "expected-regs"), v->expected_regs)))
        return s;
    if ((s = as_uint(c, "expected-pc", field(root, "expected-pc"), UINT32_MAX, &u))) return s;
    v->expected_pc = (uint32_t)u;
    if ((s = as_int64(c, "expected-gas", field(root, "expected-gas"), &v->expected_gas)))
        return s;
    if ((s = chunks_of(c, "expected-memory", field(root, "expected-memory"), &v->expected_memory,
                       &v->n_expected_memory)))
        return s;
    json_object *fa = field(root, "expected-page-fault-address");
    if (fa) {
        if ((s = as_uint(c, "expected-page-fault-address", fa, UINT32_MAX, &u))) return s;
        v->has_fault_address = true;
        v->expected_fault_address = (uint32_t)u;
    } else if (v->expected_status == JAVM_EXIT_PAGE_FAULT) {
        return bad(c, "expected-page-fault-address", "missing for a page-fault status");
    }
    return JAVM_OK;
}

javm_status jv_vector_parse(const char *text, size_t len, const char *name, jv_vector *out) {
    memset(out, 0, sizeof *out);
    ctx c = {name ? name : "vector"};
    if (len > (size_t)INT_MAX)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: file too large", c.name);
    json_tokener *tok = json_tokener_new();
    if (!tok) return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", c.name);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    if (!root || err != json_tokener_success) {
        size_t k = 0;
        while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r'))
            k++;
        /* json-c reports a truncated text as "continue": say what that means */
        const char *why = k == len ? "the file is empty"
                          : (err == json_tokener_success || err == json_tokener_continue)
                              ? "unexpected end of file"
                              : json_tokener_error_desc(err);
        javm_status s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: invalid JSON: %s", c.name, why);
        json_tokener_free(tok);
        if (root) json_object_put(root);
        return s;
    }
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (end < len && (text[end] == ' ' || text[end] == '\t' || text[end] == '\n' ||
                         text[end] == '\r'))
        end++;
    if (end < len) { /* one JSON value per file: anything after it is malformed input */
        json_object_put(root);
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: invalid JSON: trailing data at byte %zu",
                            c.name, end);
    }
    javm_status s = parse_obj(&c, root, out);
    json_object_put(root);
    if (s) jv_vector_free(out);
    return s;
}

javm_status jv_vector_load(const char *path, jv_vector *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return jv_set_error(JAVM_ERR_OS, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap > (1u << 30)) {
                free(buf);
                fclose(f);
                return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: file too large", path);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int rerr = ferror(f), rerr_errno = errno;
    fclose(f);
    if (rerr) {
        free(buf);
        return jv_set_error(JAVM_ERR_OS, "%s: read error: %s", path, strerror(rerr_errno));
    }
    const char *base = strrchr(path, '/');
    javm_status s = jv_vector_parse(buf, len, base ? base + 1 : path, out);
    free(buf);
    return s;
}

static void free_chunks(jv_vec_chunk *c, size_t n) {
    if (!c) return;
    for (size_t i = 0; i < n; i++) free(c[i].contents);
    free(c);
}

void jv_vector_free(jv_vector *v) {
    if (!v) return;
    free(v->name);
    free(v->page_map);
    free_chunks(v->initial_memory, v->n_initial_memory);
    free(v->program);
    free_chunks(v->expected_memory, v->n_expected_memory);
    memset(v, 0, sizeof *v);
}

/* ---- Running -------------------------------------------------------------------------------- */
javm_status jv_vector_setup(const jv_vector *v, const javm_load_options *lo,
                            const javm_config *cfg, javm_program **prog, javm_instance **vm) {
    *prog = NULL;
    *vm = NULL;
    javm_status s = javm_program_load_ex(v->program, v->program_len, lo, prog);
    if (s) return s;
    s = javm_instance_new(*prog, cfg, vm);
    if (s) goto fail;
    for (size_t i = 0; i < v->n_page_map; i++) {
        const jv_vec_region *r = &v->page_map[i];
        s = javm_map(*vm, r->address, r->length, r->writable ? JAVM_ACCESS_RW : JAVM_ACCESS_RO,
                     NULL, 0);
        if (s) goto fail;
    }
    for (size_t i = 0; i < v->n_initial_memory; i++) { /* VEC-1 */
        s = javm_mem_write(*vm, v->initial_memory[i].address, v->initial_memory[i].contents,
                           v->initial_memory[i].len);
        if (s) goto fail;
    }
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) javm_reg_set(*vm, i, v->initial_regs[i]);
    javm_gas_set(*vm, v->initial_gas);
    javm_pc_set(*vm, v->initial_pc);
    return JAVM_OK;
fail:
    javm_instance_free(*vm);
    javm_program_free(*prog);
    *vm = NULL;
    *prog = NULL;
    return s;
}

void jv_vector_result_unloadable(const jv_vector *v, jv_vec_result *res) { /* VEC-2 */
    memset(res, 0, sizeof *res);
    res->status = JAVM_EXIT_PANIC;
    res->pc = v->initial_pc;
    res->gas = v->initial_gas;
    memcpy(res->regs, v->initial_regs, sizeof res->regs);
}

javm_status jv_vector_run(const jv_vector *v, const javm_load_options *lo,
                          const javm_config *cfg, jv_vec_result *res, javm_program **prog_out,
                          javm_instance **vm_out) {
    memset(res, 0, sizeof *res);
    javm_status s = jv_vector_setup(v, lo, cfg, prog_out, vm_out);
    if (s == JAVM_ERR_BAD_PROGRAM) {
        jv_vector_result_unloadable(v, res);
        return JAVM_OK;
    }
    if (s) return s;
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    s = javm_run(*vm_out, &ex);
    if (s) return s;
    res->status = ex.kind;
    res->pc = ex.pc;
    res->gas = javm_gas_get(*vm_out);
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) (void)javm_reg_get(*vm_out, i, &res->regs[i]);
    res->fault_address = ex.kind == JAVM_EXIT_PAGE_FAULT ? ex.arg : 0;
    javm_stats stats = JAVM_STATS_INIT;
    javm_stats_get(*vm_out, &stats);
    res->mat_gas = stats.mat_gas;
    res->vm = *vm_out;
    return JAVM_OK;
}

/* ---- Comparing ------------------------------------------------------------------------------ */
typedef struct cell {
    uint32_t addr;
    uint8_t val;
} cell;

typedef struct cells {
    cell *v;
    size_t n, cap;
} cells;

static bool cells_push(cells *c, uint32_t addr, uint8_t val) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        cell *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv) return false;
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n++] = (cell){addr, val};
    return true;
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

static bool collect_chunks(cells *c, const jv_vec_chunk *ch, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ch[i].len; j++)
            if (!cells_push(c, (uint32_t)(ch[i].address + j), ch[i].contents[j])) return false;
    return true;
}

static bool collect_vm(cells *c, const javm_instance *vm) {
    uint64_t from = 0;
    uint32_t page;
    uint8_t buf[JV_PAGE_SIZE];
    while (from < (1ull << 32) && jv_api_next_mapped(vm, from, &page)) {
        if (javm_mem_read(vm, page, buf, sizeof buf) == JAVM_OK)
            for (uint32_t i = 0; i < JV_PAGE_SIZE; i++)
                if (buf[i] && !cells_push(c, page + i, buf[i])) return false;
        from = (uint64_t)page + JV_PAGE_SIZE;
    }
    return true;
}

static bool accessible(const jv_vec_result *res, const jv_vector *v, uint32_t addr) {
    if (res->vm) return javm_page_access(res->vm, addr) != JAVM_ACCESS_NONE;
    for (size_t i = 0; i < v->n_page_map; i++)
        if (addr - v->page_map[i].address < v->page_map[i].length) return true;
    return false;
}

static void print_run(FILE *out, const char *prefix, const jv_vector *v, const jv_vec_result *res,
                      uint32_t lo, const uint8_t *exp, const uint8_t *got, size_t n) {
    if (!out) return;
    fprintf(out, "%smemory 0x%x..0x%x:", prefix, lo, (uint32_t)(lo + n));
    if (!accessible(res, v, lo)) fprintf(out, " (not accessible)");
    size_t show = n > 16 ? 16 : n;
    fprintf(out, " expected");
    for (size_t i = 0; i < show; i++) fprintf(out, " %02x", exp[i]);
    fprintf(out, "%s, got", n > show ? " ..." : "");
    for (size_t i = 0; i < show; i++) fprintf(out, " %02x", got[i]);
    fprintf(out, "%s\n", n > show ? " ..." : "");
}

static int compare_memory(const jv_vector *v, const jv_vec_result *res, FILE *out,
                          const char *prefix) {
    cells e = {0}, a = {0};
    bool ok = collect_chunks(&e, v->expected_memory, v->n_expected_memory);
    ok = ok && (res->vm ? collect_vm(&a, res->vm)
                        : collect_chunks(&a, v->initial_memory, v->n_initial_memory));
    ok = ok && cells_normalize(&e) && cells_normalize(&a);
    if (!ok) {
        if (out) fprintf(out, "%smemory: out of memory while comparing\n", prefix);
        free(e.v);
        free(a.v);
        return 1;
    }
    int diffs = 0, runs = 0;
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
        diffs++;
        if (rn && addr == rnext && rn < sizeof eb) {
            eb[rn] = ev;
            gb[rn] = av;
            rn++;
            rnext = addr + 1;
            continue;
        }
        if (rn && runs < 8) print_run(out, prefix, v, res, rlo, eb, gb, rn);
        if (rn) runs++;
        rlo = addr;
        rnext = addr + 1;
        eb[0] = ev;
        gb[0] = av;
        rn = 1;
    }
    if (rn && runs < 8) print_run(out, prefix, v, res, rlo, eb, gb, rn);
    if (rn) runs++;
    if (runs > 8 && out) fprintf(out, "%smemory: %d more differing runs\n", prefix, runs - 8);
    free(e.v);
    free(a.v);
    return diffs ? 1 : 0;
}

int jv_vector_compare(const jv_vector *v, const jv_vec_result *res, FILE *out,
                      const char *prefix) {
    int d = 0;
    if (!prefix) prefix = "";
    if (res->status != v->expected_status) {
        d++;
        if (out)
            fprintf(out, "%sstatus: expected %s, got %s\n", prefix,
                    javm_exit_str(v->expected_status), javm_exit_str(res->status));
    }
    if (res->pc != v->expected_pc) {
        d++;
        if (out) fprintf(out, "%spc: expected %u, got %u\n", prefix, v->expected_pc, res->pc);
    }
    /* VEC-4 */
    if (res->gas + (int64_t)res->mat_gas != v->expected_gas) {
        d++;
        if (out && res->mat_gas)
            fprintf(out, "%sgas: expected %" PRId64 " + #3 charges, got %" PRId64 " (%" PRIu64
                         " of it #3)\n",
                    prefix, v->expected_gas, res->gas, res->mat_gas);
        else if (out)
            fprintf(out, "%sgas: expected %" PRId64 ", got %" PRId64 "\n", prefix,
                    v->expected_gas, res->gas);
    }
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) {
        if (res->regs[i] == v->expected_regs[i]) continue;
        d++;
        if (out)
            fprintf(out, "%sr%u: expected 0x%" PRIx64 " (%" PRIu64 "), got 0x%" PRIx64 " (%" PRIu64
                         ")\n",
                    prefix, i, v->expected_regs[i], v->expected_regs[i], res->regs[i],
                    res->regs[i]);
    }
    if (v->expected_status == JAVM_EXIT_PAGE_FAULT && res->status == JAVM_EXIT_PAGE_FAULT &&
        v->has_fault_address && res->fault_address != v->expected_fault_address) {
        d++;
        if (out)
            fprintf(out, "%spage-fault address: expected 0x%x, got 0x%" PRIx64 "\n", prefix,
                    v->expected_fault_address, res->fault_address);
    }
    d += compare_memory(v, res, out, prefix);
    return d;
}
