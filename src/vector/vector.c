/* vector — reading input files and parsing the three vector formats into one model (vector.h). */
#include "vector/vector.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

/* ---- Input files (VEC-7) -------------------------------------------------------------------- */
javm_status jv_vec_read_input(const char *path, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    bool is_stdin = !strcmp(path, "-");
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused below (it
     * changes nothing for a regular file) */
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return jv_set_error(JAVM_ERR_OS, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb = {0}; /* read below even when fstat failed */
    javm_status s = JAVM_OK;
    if (fstat(fd, &sb) != 0)
        s = jv_set_error(JAVM_ERR_OS, "%s: cannot stat: %s", path, strerror(errno));
    /* standard input may be a pipe (read up to the limit); a named file must be a regular one */
    else if (!is_stdin && !S_ISREG(sb.st_mode))
        s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: not a regular file", path);
    else if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > JV_VEC_MAX_INPUT)
        s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                         "%s: %lld bytes is larger than the %zu-byte input limit", path,
                         (long long)sb.st_size, JV_VEC_MAX_INPUT);
    size_t cap = S_ISREG(sb.st_mode) ? (size_t)sb.st_size + 1 : (size_t)1 << 16, n = 0;
    uint8_t *buf = s ? NULL : malloc(cap + 1);
    if (!s && !buf) s = jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", path);
    while (!s) {
        if (n == cap) { /* a file that grew, or a pipe */
            if (cap > JV_VEC_MAX_INPUT) {
                s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                                 "%s: larger than the %zu-byte input limit", path,
                                 JV_VEC_MAX_INPUT);
                break;
            }
            size_t nc = cap * 2 > JV_VEC_MAX_INPUT + 1 ? JV_VEC_MAX_INPUT + 1 : cap * 2;
            uint8_t *q = realloc(buf, nc + 1);
            if (!q) {
                s = jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", path);
                break;
            }
            buf = q;
            cap = nc;
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) s = jv_set_error(JAVM_ERR_OS, "%s: read error: %s", path, strerror(errno));
        if (k <= 0) break;
        n += (size_t)k;
    }
    if (!is_stdin) close(fd);
    if (s) {
        free(buf);
        return s;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return JAVM_OK;
}

static size_t skip_bom(const uint8_t *b, size_t len) {
    return len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0;
}

static bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool jv_vec_is_json(const uint8_t *buf, size_t len) {
    size_t i = skip_bom(buf, len);
    if (i) return true; /* a blob never starts with a byte-order mark in practice: say why below */
    while (i < len && is_space(buf[i])) i++;
    if (i == len || (buf[i] != '{' && buf[i] != '[')) return false;
    /* A raw blob starts with '{' or '[' too when it has 123 or 91 jump-table entries; its next
     * byte is then the entry width z (0..4), a byte that never follows '{' or '[' in JSON. */
    return !(i + 1 < len && buf[i + 1] <= 4);
}

/* ---- JSON field helpers ------------------------------------------------------------------- */
/* snprintf for messages and field paths: a path longer than its buffer is cut, on purpose. */
static void pathf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *dst, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

typedef struct ctx {
    const char *name;
} ctx;

static javm_status bad(const ctx *c, const char *field, const char *msg) {
    return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: %s: %s", c->name, field, msg);
}

static javm_status oom(const ctx *c) {
    return jv_set_error(JAVM_ERR_NO_MEMORY, "%s: out of memory", c->name);
}

/* VEC-5: '-' and '_' are the same character in field names. */
static bool key_eq(const char *a, const char *b) {
    for (;; a++, b++) {
        char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;
        if (x != y) return false;
        if (!x) return true;
    }
}

static json_object *field(json_object *o, const char *key) {
    json_object_object_foreach(o, k, v) if (key_eq(k, key)) return v;
    return NULL;
}

/* Every key of o is one of allowed (NULL-terminated): a misspelt field is an error, not a
 * silently missing one. */
static javm_status known_keys(const ctx *c, const char *where, json_object *o,
                              const char *const *allowed) {
    json_object_object_foreach(o, k, v) {
        (void)v;
        size_t i = 0;
        while (allowed[i] && !key_eq(k, allowed[i])) i++;
        if (!allowed[i]) {
            char m[160];
            pathf(m, sizeof m, "unknown field '%.80s'", k);
            return bad(c, where, m);
        }
    }
    return JAVM_OK;
}

static javm_status as_object(const ctx *c, const char *fname, json_object *v) {
    if (!v) return bad(c, fname, "missing");
    if (!json_object_is_type(v, json_type_object)) return bad(c, fname, "not an object");
    return JAVM_OK;
}

/* An exact unsigned integer <= max (VEC-6: literals past 2^64 were found before, in parse). */
static javm_status as_uint(const ctx *c, const char *fname, json_object *v, uint64_t max,
                           uint64_t *out) {
    if (!v) return bad(c, fname, "missing");
    if (!json_object_is_type(v, json_type_int)) return bad(c, fname, "not an integer");
    if (json_object_get_int64(v) < 0) return bad(c, fname, "negative");
    uint64_t u = json_object_get_uint64(v);
    if (u > max) {
        char m[96];
        pathf(m, sizeof m, "%" PRIu64 " exceeds %" PRIu64, u, max);
        return bad(c, fname, m);
    }
    *out = u;
    return JAVM_OK;
}

static javm_status as_int64(const ctx *c, const char *fname, json_object *v, int64_t *out) {
    if (!v) return bad(c, fname, "missing");
    if (!json_object_is_type(v, json_type_int)) return bad(c, fname, "not an integer");
    int64_t i = json_object_get_int64(v);
    if (i >= 0 && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        return bad(c, fname, "exceeds the signed 64-bit range");
    *out = i;
    return JAVM_OK;
}

static javm_status as_u32(const ctx *c, const char *fname, json_object *v, uint32_t *out) {
    uint64_t u;
    javm_status s = as_uint(c, fname, v, UINT32_MAX, &u);
    if (!s) *out = (uint32_t)u;
    return s;
}

static javm_status as_bool(const ctx *c, const char *fname, json_object *v, bool *out) {
    if (!v) return bad(c, fname, "missing");
    if (!json_object_is_type(v, json_type_boolean)) return bad(c, fname, "not a boolean");
    *out = json_object_get_boolean(v);
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
        pathf(m, sizeof m, "has %zu entries, expected 13", n);
        return bad(c, fname, m);
    }
    for (size_t i = 0; i < n; i++) {
        char f[160];
        pathf(f, sizeof f, "%s[%zu]", fname, i);
        if ((s = as_uint(c, f, json_object_array_get_idx(v, i), UINT64_MAX, &regs[i]))) return s;
    }
    return JAVM_OK;
}

static javm_status bytes_of(const ctx *c, const char *fname, json_object *v, uint8_t **out,
                            size_t *len) {
    size_t n;
    javm_status s = as_array(c, fname, v, &n);
    if (s) return s;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) return oom(c);
    for (size_t i = 0; i < n; i++) {
        char f[180];
        pathf(f, sizeof f, "%s[%zu]", fname, i);
        uint64_t x;
        if ((s = as_uint(c, f, json_object_array_get_idx(v, i), 255, &x))) {
            free(b);
            return s;
        }
        b[i] = (uint8_t)x;
    }
    *out = b;
    *len = n;
    return JAVM_OK;
}

static const char *const chunk_keys[] = {"address", "contents", NULL};

/* {address, contents}; keys: check that no other field is there (a step checks its own). */
static javm_status chunk_of(const ctx *c, const char *f, json_object *e, bool keys,
                            jv_vec_chunk *ch) {
    javm_status s;
    char ff[200];
    if ((s = as_object(c, f, e)) || (keys && (s = known_keys(c, f, e, chunk_keys)))) return s;
    pathf(ff, sizeof ff, "%s.address", f);
    if ((s = as_u32(c, ff, field(e, "address"), &ch->address))) return s;
    pathf(ff, sizeof ff, "%s.contents", f);
    if ((s = bytes_of(c, ff, field(e, "contents"), &ch->contents, &ch->len))) return s;
    if (ch->len && ch->len - 1 > UINT32_MAX - ch->address) {
        pathf(ff, sizeof ff, "%s.contents", f);
        return bad(c, ff, "runs past the end of the 32-bit address space");
    }
    return JAVM_OK;
}

static void free_chunks(jv_vec_chunk *ch, size_t n) {
    if (!ch) return;
    for (size_t i = 0; i < n; i++) free(ch[i].contents);
    free(ch);
}

static javm_status chunks_of(const ctx *c, const char *fname, json_object *v, jv_vec_chunk **out,
                             size_t *count) {
    size_t n;
    javm_status s = as_array(c, fname, v, &n);
    if (s) return s;
    jv_vec_chunk *ch = calloc(n ? n : 1, sizeof *ch);
    if (!ch) return oom(c);
    *out = ch;
    *count = n;
    for (size_t i = 0; i < n; i++) {
        char f[160];
        pathf(f, sizeof f, "%s[%zu]", fname, i);
        if ((s = chunk_of(c, f, json_object_array_get_idx(v, i), true, &ch[i]))) return s;
    }
    return JAVM_OK;
}

static const char *const region_keys[] = {"address", "length", "is-writable", NULL};

/* {address, length, is-writable}: alignment is javm_map's to check, as for every map. */
static javm_status region_of(const ctx *c, const char *f, json_object *e, bool keys,
                             jv_vec_region *r) {
    javm_status s;
    char ff[200];
    if ((s = as_object(c, f, e)) || (keys && (s = known_keys(c, f, e, region_keys)))) return s;
    pathf(ff, sizeof ff, "%s.address", f);
    if ((s = as_u32(c, ff, field(e, "address"), &r->address))) return s;
    pathf(ff, sizeof ff, "%s.length", f);
    if ((s = as_uint(c, ff, field(e, "length"), (uint64_t)1 << 32, &r->length))) return s;
    pathf(ff, sizeof ff, "%s.is-writable", f);
    return as_bool(c, ff, field(e, "is-writable"), &r->writable);
}

bool jv_vec_status_parse(const char *s, javm_exit_kind *out) {
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

/* The expected state: status, regs, pc, gas, memory, and the fault address of a page fault.
 * prefix is "expected-" (v0.4, fields of the top level) or "" (an assert step). */
static javm_status expect_of(const ctx *c, const char *where, const char *prefix, json_object *o,
                             jv_vec_expect *e) {
    javm_status s;
    char f[200];
    pathf(f, sizeof f, "%s%sstatus", where, prefix);
    json_object *st = field(o, f + strlen(where));
    if (!st || !json_object_is_type(st, json_type_string))
        return bad(c, f, st ? "not a string" : "missing");
    if (!jv_vec_status_parse(json_object_get_string(st), &e->status)) {
        char m[128];
        pathf(m, sizeof m, "unknown status '%.60s'", json_object_get_string(st));
        return bad(c, f, m);
    }
    pathf(f, sizeof f, "%s%sregs", where, prefix);
    if ((s = regs_of(c, f, field(o, f + strlen(where)), e->regs))) return s;
    pathf(f, sizeof f, "%s%spc", where, prefix);
    if ((s = as_u32(c, f, field(o, f + strlen(where)), &e->pc))) return s;
    pathf(f, sizeof f, "%s%sgas", where, prefix);
    if ((s = as_int64(c, f, field(o, f + strlen(where)), &e->gas))) return s;
    pathf(f, sizeof f, "%s%smemory", where, prefix);
    if ((s = chunks_of(c, f, field(o, f + strlen(where)), &e->memory, &e->n_memory))) return s;
    pathf(f, sizeof f, "%s%spage-fault-address", where, prefix);
    json_object *fa = field(o, f + strlen(where));
    if (fa) {
        if ((s = as_u32(c, f, fa, &e->fault_address))) return s;
        e->has_fault_address = true;
    } else if (e->status == JAVM_EXIT_PAGE_FAULT) {
        return bad(c, f, "missing for a page-fault status");
    }
    return JAVM_OK;
}

/* Appends a zeroed step (the array grows by doubling). */
static jv_vec_step *push_step(jv_vector *v, size_t *cap) {
    if (v->n_steps == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        jv_vec_step *ns = realloc(v->steps, nc * sizeof *ns);
        if (!ns) return NULL;
        v->steps = ns;
        *cap = nc;
    }
    jv_vec_step *st = &v->steps[v->n_steps++];
    memset(st, 0, sizeof *st);
    return st;
}

static javm_status common_of(const ctx *c, json_object *root, jv_vector *v) {
    javm_status s;
    json_object *nm = field(root, "name");
    if (nm && !json_object_is_type(nm, json_type_string)) return bad(c, "name", "not a string");
    v->name = strdup(nm ? json_object_get_string(nm) : c->name);
    if (!v->name) return oom(c);
    if ((s = bytes_of(c, "program", field(root, "program"), &v->program, &v->program_len)))
        return s;
    json_object *pc = field(root, "initial-pc");
    if (pc && (s = as_u32(c, "initial-pc", pc, &v->initial_pc))) return s;
    json_object *gas = field(root, "initial-gas");
    if (gas) {
        if ((s = as_int64(c, "initial-gas", gas, &v->initial_gas))) return s;
        v->has_initial_gas = true;
    }
    return JAVM_OK;
}

/* v0.4: the initial state becomes steps (set-reg, map, write), then run and, when the file has
 * expected-* fields, one assert. Only "program" is required: a hand-written initial state may
 * leave out what is zero or empty. */
static javm_status parse_v04(const ctx *c, json_object *root, jv_vector *v) {
    static const char *const keys[] = {
        "name", "program", "initial-pc", "initial-gas", "initial-regs", "initial-page-map",
        "initial-memory", "expected-status", "expected-regs", "expected-pc", "expected-gas",
        "expected-memory", "expected-page-fault-address", NULL};
    javm_status s;
    size_t cap = 0, n;
    if ((s = known_keys(c, "top level", root, keys)) || (s = common_of(c, root, v))) return s;
    uint64_t regs[JAVM_NUM_REGS] = {0};
    json_object *r = field(root, "initial-regs");
    if (r && (s = regs_of(c, "initial-regs", r, regs))) return s;
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) {
        jv_vec_step *st = push_step(v, &cap);
        if (!st) return oom(c);
        st->kind = JV_VEC_SET_REG;
        pathf(st->where, sizeof st->where, "initial-regs[%u]", i);
        st->reg = i;
        st->value = regs[i];
    }
    json_object *pm = field(root, "initial-page-map");
    if (pm) {
        if ((s = as_array(c, "initial-page-map", pm, &n))) return s;
        for (size_t i = 0; i < n; i++) {
            char f[64];
            pathf(f, sizeof f, "initial-page-map[%zu]", i);
            jv_vec_step *st = push_step(v, &cap);
            if (!st) return oom(c);
            st->kind = JV_VEC_MAP;
            pathf(st->where, sizeof st->where, "%s", f);
            if ((s = region_of(c, f, json_object_array_get_idx(pm, i), true, &st->map))) return s;
        }
    }
    json_object *im = field(root, "initial-memory");
    if (im) {
        if ((s = as_array(c, "initial-memory", im, &n))) return s;
        for (size_t i = 0; i < n; i++) {
            char f[64];
            pathf(f, sizeof f, "initial-memory[%zu]", i);
            jv_vec_step *st = push_step(v, &cap);
            if (!st) return oom(c);
            st->kind = JV_VEC_WRITE;
            pathf(st->where, sizeof st->where, "%s", f);
            if ((s = chunk_of(c, f, json_object_array_get_idx(im, i), true, &st->write))) return s;
        }
    }
    jv_vec_step *run = push_step(v, &cap);
    if (!run) return oom(c);
    run->kind = JV_VEC_RUN;
    pathf(run->where, sizeof run->where, "the run");
    bool expects = false;
    json_object_object_foreach(root, k, val) {
        (void)val;
        if (!strncmp(k, "expected", 8)) expects = true;
    }
    if (!expects) return JAVM_OK;
    jv_vec_step *as = push_step(v, &cap);
    if (!as) return oom(c);
    as->kind = JV_VEC_ASSERT;
    pathf(as->where, sizeof as->where, "expected-*");
    v->n_asserts = 1;
    return expect_of(c, "", "expected-", root, &as->expect);
}

static const struct {
    const char *name;
    jv_vec_step_kind kind;
    const char *const keys[7]; /* the step's fields ("kind" is added for the steps format) */
} step_kinds[] = {
    {"map", JV_VEC_MAP, {"address", "length", "is-writable"}},
    {"write", JV_VEC_WRITE, {"address", "contents"}},
    {"set-reg", JV_VEC_SET_REG, {"reg", "value"}},
    {"run", JV_VEC_RUN, {0}},
    {"assert", JV_VEC_ASSERT, {"status", "gas", "pc", "regs", "memory", "page-fault-address"}},
};

static javm_status step_of(const ctx *c, const char *f, json_object *e, jv_vector *v,
                           jv_vec_step *st) {
    javm_status s;
    if ((s = as_object(c, f, e))) return s;
    json_object *kind = field(e, "kind"), *body = e;
    const char *kname = "";
    if (kind) { /* steps: {"kind": K, fields...} */
        if (!json_object_is_type(kind, json_type_string)) {
            char ff[200];
            pathf(ff, sizeof ff, "%s.kind", f);
            return bad(c, ff, "not a string");
        }
        kname = json_object_get_string(kind);
    } else { /* v0.5: {K: {fields...}} */
        if (json_object_object_length(e) != 1)
            return bad(c, f, "a step has a \"kind\" field or exactly one field named by its kind");
        json_object_object_foreach(e, k, val) {
            kname = k;
            body = val;
        }
        v->format = JV_VEC_V05;
    }
    size_t k = 0;
    while (k < sizeof step_kinds / sizeof step_kinds[0] && !key_eq(kname, step_kinds[k].name)) k++;
    if (k == sizeof step_kinds / sizeof step_kinds[0]) {
        char m[160];
        pathf(m, sizeof m, "unknown step kind '%.60s' (map, write, set-reg, run or assert)",
                 kname);
        return bad(c, f, m);
    }
    char where[200];
    pathf(where, sizeof where, "%s (%s)", f, step_kinds[k].name);
    if ((s = as_object(c, where, body))) return s;
    const char *keys[9] = {0};
    size_t nk = 0;
    if (kind) keys[nk++] = "kind";
    for (size_t i = 0; step_kinds[k].keys[i]; i++) keys[nk++] = step_kinds[k].keys[i];
    if ((s = known_keys(c, where, body, keys))) return s;
    st->kind = step_kinds[k].kind;
    pathf(st->where, sizeof st->where, "%s (%s)", f, step_kinds[k].name);
    char ff[240];
    switch (st->kind) {
    case JV_VEC_MAP:
        return region_of(c, where, body, false, &st->map);
    case JV_VEC_WRITE:
        return chunk_of(c, where, body, false, &st->write);
    case JV_VEC_SET_REG: {
        uint64_t r;
        pathf(ff, sizeof ff, "%s.reg", where);
        if ((s = as_uint(c, ff, field(body, "reg"), JAVM_NUM_REGS - 1, &r))) return s;
        st->reg = (unsigned)r;
        pathf(ff, sizeof ff, "%s.value", where);
        return as_uint(c, ff, field(body, "value"), UINT64_MAX, &st->value);
    }
    case JV_VEC_RUN:
        return JAVM_OK;
    case JV_VEC_ASSERT:
        v->n_asserts++;
        pathf(ff, sizeof ff, "%s.", where);
        return expect_of(c, ff, "", body, &st->expect);
    }
    return JAVM_OK;
}

/* block-gas-costs: {"pc": cost, ...} (steps) or [{"pc": N, "cost": N}, ...] (v0.5). */
static javm_status block_costs_of(const ctx *c, json_object *b, jv_vector *v) {
    javm_status s;
    bool obj = json_object_is_type(b, json_type_object);
    if (!obj && !json_object_is_type(b, json_type_array))
        return bad(c, "block-gas-costs", "neither an object nor an array");
    size_t n = obj ? (size_t)json_object_object_length(b) : json_object_array_length(b);
    v->block_costs = calloc(n ? n : 1, sizeof *v->block_costs);
    if (!v->block_costs) return oom(c);
    char f[160];
    if (obj) {
        json_object_object_foreach(b, k, val) {
            pathf(f, sizeof f, "block-gas-costs[\"%.40s\"]", k);
            /* the key is a pc in canonical decimal */
            char *end;
            errno = 0;
            unsigned long long pc = strtoull(k, &end, 10);
            if (!*k || *end || errno || pc > UINT32_MAX || (k[0] == '0' && k[1]) || k[0] == '-' ||
                k[0] == '+' || is_space(k[0]))
                return bad(c, f, "the key is not a pc (a decimal number below 2^32)");
            jv_vec_block_cost *bc = &v->block_costs[v->n_block_costs++];
            bc->pc = (uint32_t)pc;
            if ((s = as_uint(c, f, val, UINT64_MAX, &bc->cost))) return s;
        }
        return JAVM_OK;
    }
    static const char *const keys[] = {"pc", "cost", NULL};
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(b, i);
        pathf(f, sizeof f, "block-gas-costs[%zu]", i);
        if ((s = as_object(c, f, e)) || (s = known_keys(c, f, e, keys))) return s;
        jv_vec_block_cost *bc = &v->block_costs[v->n_block_costs++];
        char ff[200];
        pathf(ff, sizeof ff, "%s.pc", f);
        if ((s = as_u32(c, ff, field(e, "pc"), &bc->pc))) return s;
        pathf(ff, sizeof ff, "%s.cost", f);
        if ((s = as_uint(c, ff, field(e, "cost"), UINT64_MAX, &bc->cost))) return s;
    }
    return JAVM_OK;
}

static javm_status parse_steps(const ctx *c, json_object *root, jv_vector *v) {
    static const char *const keys[] = {"name",  "program",         "initial-pc", "initial-gas",
                                       "steps", "block-gas-costs", NULL};
    javm_status s;
    v->format = JV_VEC_STEPS;
    if ((s = known_keys(c, "top level", root, keys)) || (s = common_of(c, root, v))) return s;
    json_object *steps = field(root, "steps");
    size_t n = 0, cap = 0;
    if (steps && (s = as_array(c, "steps", steps, &n))) return s;
    for (size_t i = 0; i < n; i++) {
        char f[64];
        pathf(f, sizeof f, "steps[%zu]", i);
        jv_vec_step *st = push_step(v, &cap);
        if (!st) return oom(c);
        if ((s = step_of(c, f, json_object_array_get_idx(steps, i), v, st))) return s;
    }
    json_object *b = field(root, "block-gas-costs");
    return b ? block_costs_of(c, b, v) : JAVM_OK;
}

/* ---- VEC-6: integer literals past the 64-bit range ------------------------------------------ */
/* json-c clamps such a literal; the errno it sets while parsing does not survive the rest of the
 * parse, so the text is scanned (once, linearly): the ordinal of the first out-of-range integer
 * literal, then the same ordinal in a walk of the parsed tree in document order (json-c keeps
 * object fields in order) names the field. */
static bool literal_out_of_range(const char *p, size_t n, bool neg) {
    static const char umax[] = "18446744073709551615", imin[] = "9223372036854775808";
    const char *lim = neg ? imin : umax;
    size_t ln = strlen(lim);
    while (n > 1 && *p == '0') p++, n--;
    return n > ln || (n == ln && memcmp(p, lim, n) > 0);
}

/* The ordinal (among all number literals) of the first integer literal out of range, and its
 * byte offset; false if none. */
static bool find_overflow(const char *t, size_t len, size_t *ordinal, size_t *offset) {
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '"') {
            for (i++; i < len && t[i] != '"'; i++)
                if (t[i] == '\\') i++;
            continue;
        }
        if (t[i] != '-' && (t[i] < '0' || t[i] > '9')) continue;
        size_t start = i;
        bool neg = t[i] == '-', integer = true;
        if (neg) i++;
        size_t d0 = i;
        while (i < len && t[i] >= '0' && t[i] <= '9') i++;
        size_t d1 = i;
        while (i < len && (t[i] == '.' || t[i] == 'e' || t[i] == 'E' || t[i] == '+' ||
                           t[i] == '-' || (t[i] >= '0' && t[i] <= '9'))) {
            integer = false;
            i++;
        }
        if (integer && literal_out_of_range(t + d0, d1 - d0, neg)) {
            *ordinal = k;
            *offset = start;
            return true;
        }
        k++;
        i--;
    }
    return false;
}

/* Walks the tree in document order to the number literal with ordinal *left, writing its path. */
static bool path_of_number(json_object *o, size_t *left, char *path, size_t cap) {
    size_t used = strlen(path);
    switch (json_object_get_type(o)) {
    case json_type_int:
    case json_type_double:
        return (*left)-- == 0;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            pathf(path + used, cap - used, "[%zu]", i);
            if (path_of_number(json_object_array_get_idx(o, i), left, path, cap)) return true;
        }
        break;
    case json_type_object: {
        json_object_object_foreach(o, k, v) {
            pathf(path + used, cap - used, used ? ".%.60s" : "%.60s", k);
            if (path_of_number(v, left, path, cap)) return true;
        }
        break;
    }
    default:
        break;
    }
    path[used] = 0;
    return false;
}

static javm_status overflow_error(const ctx *c, json_object *root, const char *text, size_t len) {
    size_t ord, off;
    if (!find_overflow(text, len, &ord, &off)) return JAVM_OK;
    char lit[48];
    size_t n = 0;
    while (off + n < len && n + 1 < sizeof lit && text[off + n] != ',' && text[off + n] != ']' &&
           text[off + n] != '}' && !is_space(text[off + n])) {
        lit[n] = text[off + n];
        n++;
    }
    lit[n] = 0;
    char path[400] = "";
    size_t left = ord;
    char m[160];
    pathf(m, sizeof m, "%s%s is out of the 64-bit integer range", lit,
             n + 1 == sizeof lit ? "..." : "");
    if (path_of_number(root, &left, path, sizeof path) && path[0]) return bad(c, path, m);
    char at[64];
    pathf(at, sizeof at, "byte %zu", off);
    return bad(c, at, m);
}

/* ---- Parsing ------------------------------------------------------------------------------ */
javm_status jv_vector_parse(const char *text, size_t len, const char *name, jv_vector *out) {
    memset(out, 0, sizeof *out);
    ctx c = {name ? name : "vector"};
    if (len > JV_VEC_MAX_INPUT)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: larger than the %zu-byte input limit",
                            c.name, JV_VEC_MAX_INPUT);
    size_t bom = skip_bom((const uint8_t *)text, len); /* RFC 8259 lets a parser ignore it */
    text += bom;
    len -= bom;
    json_tokener *tok = json_tokener_new();
    if (!tok) return oom(&c);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    if (!root || err != json_tokener_success) {
        size_t k = 0;
        while (k < len && is_space(text[k])) k++;
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
    while (end < len && is_space(text[end])) end++;
    javm_status s = JAVM_OK;
    if (end < len) /* one JSON value per file: anything after it is malformed input */
        s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: invalid JSON: trailing data at byte %zu",
                         c.name, end + bom);
    if (!s) s = overflow_error(&c, root, text, len);
    if (!s && json_object_is_type(root, json_type_array))
        s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                         "%s: the top level is a JSON array; a vector is one JSON object per file",
                         c.name);
    if (!s && !json_object_is_type(root, json_type_object))
        s = jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "%s: the top level is not a JSON object", c.name);
    if (!s) /* VEC-5 */
        s = field(root, "steps") || field(root, "block-gas-costs") ? parse_steps(&c, root, out)
                                                                   : parse_v04(&c, root, out);
    json_object_put(root);
    if (s) jv_vector_free(out);
    return s;
}

javm_status jv_vector_load(const char *path, jv_vector *out) {
    memset(out, 0, sizeof *out);
    size_t len;
    uint8_t *buf;
    javm_status rs = jv_vec_read_input(path, &buf, &len);
    if (rs) return rs;
    const char *base = strrchr(path, '/');
    javm_status s = jv_vector_parse((const char *)buf, len, base ? base + 1 : path, out);
    free(buf);
    return s;
}

void jv_vector_free(jv_vector *v) {
    if (!v) return;
    free(v->name);
    free(v->program);
    for (size_t i = 0; v->steps && i < v->n_steps; i++) {
        free(v->steps[i].write.contents);
        free_chunks(v->steps[i].expect.memory, v->steps[i].expect.n_memory);
    }
    free(v->steps);
    free(v->block_costs);
    memset(v, 0, sizeof *v);
}
