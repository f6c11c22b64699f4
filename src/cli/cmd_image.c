/* `javm image build MANIFEST.json -o FILE`, `javm image info [--json] FILE`,
 * `javm image run [--endpoint K] [--gas N] [--engine E] [--json] FILE` (docs/IMAGE.md). The
 * manifest is read with json-c, strictly: unknown fields and bad values are usage errors that
 * name the field. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/tool.h"
#include "image/image.h"
#include "util/error.h"

static const char usage_text[] =
    "usage: javm image build MANIFEST.json -o FILE\n"
    "       javm image info [--json] FILE\n"
    "       javm image run [--endpoint K] [--gas N] [--engine E] [--json] FILE\n"
    "\n"
    "  build  encode the Image a JSON manifest describes (docs/IMAGE.md \"Manifest\"): the code\n"
    "         file (a program blob), the mappings, the files holding pinned and initial slot\n"
    "         contents, and the endpoints. File names are relative to the manifest.\n"
    "  info   the mappings with their kinds, the slots with their DataCap roots, the endpoints,\n"
    "         the content hash and call_frame_cost with its parts.\n"
    "  run    instantiate the Image as a root instance and invoke an endpoint (default: the\n"
    "         first) with N gas (default 10000000) on engine E (default soft); prints the exit,\n"
    "         gas left, #3 gas, CoW pages and, for every read-write slot, the root of its\n"
    "         DataCap (flushed at a halt). A host call ends the run (it is reported).\n"
    "\n"
    "Exit status: 0 ok (run: whatever the guest's exit), 1 runtime error, 2 usage error (bad\n"
    "option, unreadable file, invalid manifest or Image).\n";

#define CMD "image"

static void hexs(const uint8_t h[32], char out[65]) {
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", h[i]);
}

/* ---- build ----------------------------------------------------------------------------------- */
typedef struct mf_ctx {
    char dir[4096];
    char err[512];
    int reported; /* the error line was printed already (by jv_cli_read_file) */
} mf_ctx;

static int mf_fail(mf_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mf_fail(mf_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* A non-negative integer: a JSON integer or a string (decimal, 0x hex, 0b binary, '_'). */
static int mf_uint(mf_ctx *c, json_object *v, uint64_t max, uint64_t *out, const char *what) {
    if (json_object_is_type(v, json_type_int)) {
        int64_t x = json_object_get_int64(v);
        if (x < 0 || (uint64_t)x > max) return mf_fail(c, "%s: %lld is out of range", what, (long long)x);
        *out = (uint64_t)x;
        return 0;
    }
    if (json_object_is_type(v, json_type_string) &&
        jv_cli_parse_uint(json_object_get_string(v), max, out) == 0)
        return 0;
    return mf_fail(c, "%s: expected a non-negative number (at most %llu)", what,
                   (unsigned long long)max);
}

static int mf_fields(mf_ctx *c, json_object *o, const char *what, const char *const *allowed) {
    if (!json_object_is_type(o, json_type_object)) return mf_fail(c, "%s: expected an object", what);
    json_object_object_foreach(o, k, v) {
        (void)v;
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= !strcmp(*a, k);
        if (!ok) return mf_fail(c, "%s: unknown field '%s'", what, k);
    }
    return 0;
}

static uint8_t *mf_file(mf_ctx *c, const char *name, size_t *len, const char *what) {
    char path[8192];
    if (name[0] == '/') snprintf(path, sizeof path, "%s", name);
    else snprintf(path, sizeof path, "%s/%s", c->dir, name);
    uint8_t *b = jv_cli_read_file(CMD, path, len);
    if (!b) {
        c->reported = 1;
        mf_fail(c, "%s: cannot read '%s'", what, path);
    }
    return b;
}

static json_object *mf_array(mf_ctx *c, json_object *root, const char *key) {
    json_object *a;
    if (!json_object_object_get_ex(root, key, &a)) return json_object_new_array(); /* absent */
    if (!json_object_is_type(a, json_type_array)) {
        mf_fail(c, "%s: expected an array", key);
        return NULL;
    }
    return json_object_get(a);
}

/* Sorts an array's objects by an integer field (the builder takes ascending keys). */
static const char *g_sort_key;
static int by_key(const void *a, const void *b) {
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *vx, *vy;
    uint64_t kx = 0, ky = 0;
    mf_ctx c;
    if (json_object_object_get_ex(x, g_sort_key, &vx)) mf_uint(&c, vx, UINT64_MAX, &kx, "");
    if (json_object_object_get_ex(y, g_sort_key, &vy)) mf_uint(&c, vy, UINT64_MAX, &ky, "");
    return kx < ky ? -1 : kx > ky;
}
static void sort_by(json_object *arr, const char *key) {
    g_sort_key = key;
    json_object_array_sort(arr, by_key);
}

static int mf_slots(mf_ctx *c, javm_image *img, json_object *root, int pinned) {
    const char *what = pinned ? "pinned_slots" : "initial_slots";
    json_object *a = mf_array(c, root, what);
    if (!a) return -1;
    static const char *const fields[] = {"key", "file", "size", NULL};
    int rc = 0;
    for (size_t i = 0; i < json_object_array_length(a) && !rc; i++)
        if (mf_fields(c, json_object_array_get_idx(a, i), what, fields)) rc = -1;
    if (!rc) sort_by(a, "key");
    for (size_t i = 0; i < json_object_array_length(a) && !rc; i++) {
        json_object *s = json_object_array_get_idx(a, i), *v;
        uint64_t key, size = 0;
        char w[64];
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        if (!json_object_object_get_ex(s, "key", &v)) {
            rc = mf_fail(c, "%s: missing 'key'", w);
            break;
        }
        if (mf_uint(c, v, UINT32_MAX, &key, w)) return -1;
        if (json_object_object_get_ex(s, "size", &v) && mf_uint(c, v, 1ull << 32, &size, w)) return -1;
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (json_object_object_get_ex(s, "file", &v)) {
            if (!json_object_is_type(v, json_type_string)) return mf_fail(c, "%s: file: expected a string", w);
            if (!(bytes = mf_file(c, json_object_get_string(v), &len, w))) return -1;
        }
        if (size && len > size) {
            free(bytes);
            return mf_fail(c, "%s: the file's %zu bytes exceed its size %llu", w, len,
                           (unsigned long long)size);
        }
        javm_datacap *d;
        javm_status st = javm_datacap_new(bytes, len, size, &d);
        free(bytes);
        if (!st) {
            st = javm_image_add_slot(img, pinned, (uint32_t)key, d);
            javm_datacap_free(d);
        }
        if (st) rc = mf_fail(c, "%s: %s", w, javm_last_error());
    }
    json_object_put(a);
    return rc;
}

static int mf_mappings(mf_ctx *c, javm_image *img, json_object *root) {
    json_object *a = mf_array(c, root, "mappings");
    if (!a) return -1;
    static const char *const fields[] = {"start", "size", "source", NULL};
    int rc = 0;
    for (size_t i = 0; i < json_object_array_length(a) && !rc; i++)
        if (mf_fields(c, json_object_array_get_idx(a, i), "mappings", fields)) rc = -1;
    if (!rc) sort_by(a, "start");
    for (size_t i = 0; i < json_object_array_length(a) && !rc; i++) {
        json_object *m = json_object_array_get_idx(a, i), *v;
        char w[64];
        snprintf(w, sizeof w, "mappings[%zu]", i);
        uint64_t start, size, key;
        if (!json_object_object_get_ex(m, "start", &v) || mf_uint(c, v, UINT32_MAX, &start, w) ||
            !json_object_object_get_ex(m, "size", &v) || mf_uint(c, v, 1ull << 32, &size, w)) {
            rc = c->err[0] ? -1 : mf_fail(c, "%s: needs 'start' and 'size'", w);
            break;
        }
        uint32_t src = 0;
        unsigned n = 0;
        if (json_object_object_get_ex(m, "source", &v) && !json_object_is_type(v, json_type_null)) {
            if (mf_uint(c, v, UINT32_MAX, &key, w)) return -1;
            src = (uint32_t)key;
            n = 1;
        }
        if (javm_image_add_mapping(img, (uint32_t)start, size, &src, n))
            rc = mf_fail(c, "%s: %s", w, javm_last_error());
    }
    json_object_put(a);
    return rc;
}

static int mf_endpoints(mf_ctx *c, javm_image *img, json_object *root) {
    json_object *a = mf_array(c, root, "endpoints");
    if (!a) return -1;
    static const char *const fields[] = {"key", "pc", "args", "regs", NULL};
    int rc = 0;
    for (size_t i = 0; i < json_object_array_length(a) && !rc; i++)
        if (mf_fields(c, json_object_array_get_idx(a, i), "endpoints", fields)) rc = -1;
    if (!rc) sort_by(a, "key");
    for (size_t i = 0; i < json_object_array_length(a) && !rc; i++) {
        json_object *e = json_object_array_get_idx(a, i), *v;
        char w[64];
        snprintf(w, sizeof w, "endpoints[%zu]", i);
        uint64_t key = 0, pc = 0, args = 0, regs[JAVM_NUM_REGS] = {0};
        if (!json_object_object_get_ex(e, "key", &v)) {
            rc = mf_fail(c, "%s: missing 'key'", w);
            break;
        }
        if (mf_uint(c, v, UINT32_MAX, &key, w)) return -1;
        if (json_object_object_get_ex(e, "pc", &v) && mf_uint(c, v, UINT32_MAX, &pc, w)) return -1;
        if (json_object_object_get_ex(e, "args", &v) && mf_uint(c, v, 255, &args, w)) return -1;
        if (json_object_object_get_ex(e, "regs", &v)) {
            if (!json_object_is_type(v, json_type_object))
                return mf_fail(c, "%s: regs: expected an object {\"0\": value, ...}", w);
            json_object_object_foreach(v, rk, rv) {
                uint64_t r;
                if (jv_cli_parse_uint(rk, JAVM_NUM_REGS - 1, &r))
                    return mf_fail(c, "%s: regs: '%s' is not a register number 0..12", w, rk);
                if (mf_uint(c, rv, UINT64_MAX, &regs[r], w)) return -1;
            }
        }
        if (javm_image_add_endpoint(img, (uint32_t)key, (uint32_t)pc, (unsigned)args, regs))
            rc = mf_fail(c, "%s: %s", w, javm_last_error());
    }
    json_object_put(a);
    return rc;
}

static int cmd_build(int argc, char **argv) {
    const char *in = NULL, *outp = NULL;
    for (int i = 1; i < argc; i++) {
        int r = jv_cli_output_option(CMD, argc, argv, &i, &outp);
        if (r == 2) return 2;
        if (r == 1) continue;
        if (argv[i][0] == '-' && argv[i][1]) return jv_cli_usage(CMD, "build: unknown option '%s'", argv[i]);
        if (in) return jv_cli_usage(CMD, "build: more than one manifest");
        in = argv[i];
    }
    if (!in) return jv_cli_usage(CMD, "build: missing MANIFEST.json");
    if (!outp) return jv_cli_usage(CMD, "build: missing -o FILE");
    size_t len;
    char *text = (char *)jv_cli_read_file(CMD, in, &len);
    if (!text) return 2;
    enum json_tokener_error jerr;
    json_tokener *tok = json_tokener_new();
    json_object *root = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    jerr = tok ? json_tokener_get_error(tok) : json_tokener_error_depth;
    size_t used = tok ? json_tokener_get_parse_end(tok) : 0;
    json_tokener_free(tok);
    while (root && used < len && (text[used] == ' ' || text[used] == '\n' || text[used] == '\t' || text[used] == '\r')) used++;
    free(text);
    if (!root || jerr != json_tokener_success || used != len) {
        json_object_put(root);
        return jv_cli_usage(CMD, "%s: not one JSON value: %s", in,
                            jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                         : "trailing bytes");
    }
    mf_ctx c = {{0}, {0}, 0};
    const char *slash = strrchr(in, '/');
    if (slash) snprintf(c.dir, sizeof c.dir, "%.*s", (int)(slash - in), in);
    else snprintf(c.dir, sizeof c.dir, ".");
    static const char *const top[] = {"code", "isa", "gas_model", "mappings", "pinned_slots",
                                      "initial_slots", "endpoints", NULL};
    json_object *v;
    javm_image *img = NULL;
    int rc = mf_fields(&c, root, "manifest", top);
    if (!rc && (!json_object_object_get_ex(root, "code", &v) || !json_object_is_type(v, json_type_string)))
        rc = mf_fail(&c, "manifest: 'code' must name the program blob file");
    javm_load_options lo;
    javm_load_options_init(&lo);
    json_object *d;
    if (!rc && json_object_object_get_ex(root, "isa", &d) &&
        (!json_object_is_type(d, json_type_string) ||
         javm_isa_parse(json_object_get_string(d), &lo.isa)))
        rc = mf_fail(&c, "manifest: isa: expected \"gp07\" or \"gp08\"");
    if (!rc && json_object_object_get_ex(root, "gas_model", &d) &&
        (!json_object_is_type(d, json_type_string) ||
         javm_gas_model_parse(json_object_get_string(d), &lo.gas_model)))
        rc = mf_fail(&c, "manifest: gas_model: expected \"gp07\" or \"gp08\"");
    if (!rc) {
        size_t blen;
        uint8_t *blob = mf_file(&c, json_object_get_string(v), &blen, "code");
        if (!blob) rc = -1;
        else if (javm_image_new(blob, blen, &lo, &img)) rc = mf_fail(&c, "%s", javm_last_error());
        free(blob);
    }
    if (!rc) rc = mf_slots(&c, img, root, 1);
    if (!rc) rc = mf_slots(&c, img, root, 0);
    if (!rc) rc = mf_mappings(&c, img, root);
    if (!rc) rc = mf_endpoints(&c, img, root);
    if (!rc && javm_image_seal(img)) rc = mf_fail(&c, "%s", javm_last_error());
    json_object_put(root);
    if (rc) {
        javm_image_free(img);
        return c.reported ? 2 : jv_cli_usage(CMD, "%s: %s", in, c.err);
    }
    size_t n;
    uint8_t *buf = NULL;
    javm_status st = javm_image_encode(img, NULL, 0, &n);
    if (!st && !(buf = malloc(n ? n : 1))) st = JAVM_ERR_NO_MEMORY;
    if (!st) st = javm_image_encode(img, buf, n, &n);
    javm_image_free(img);
    if (st) {
        free(buf);
        fprintf(stderr, "javm image: build: %s\n", javm_last_error());
        return 1;
    }
    int w = jv_cli_write_file(outp, buf, n);
    free(buf);
    if (w) return jv_cli_usage(CMD, "cannot write '%s': %s", outp, strerror(errno));
    return 0;
}

/* ---- info / run ------------------------------------------------------------------------------ */
static int load_image(const char *path, javm_image **img) {
    size_t len;
    uint8_t *b = jv_cli_read_file(CMD, path, &len);
    if (!b) return 2;
    javm_status s = javm_image_decode(b, len, img);
    free(b);
    if (s) return jv_cli_usage(CMD, "%s: %s", path, javm_last_error());
    return 0;
}

static json_object *hex_obj(const jv_hash32 *h) {
    char x[65];
    jv_cap_hash_hex(h, x);
    return json_object_new_string(x);
}

static json_object *slots_json(const jv_img_slot *s, uint32_t n) {
    json_object *a = json_object_new_array();
    for (uint32_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        jv_hash32 r;
        jv_cap_data_root(s[i].data, &r);
        json_object_object_add(o, "slot", json_object_new_uint64(s[i].key));
        json_object_object_add(o, "size", json_object_new_uint64(jv_cap_data_size(s[i].data)));
        json_object_object_add(o, "root", hex_obj(&r));
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *info_json(const jv_image *img) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "content_hash", hex_obj(&img->content_hash));
    json_object_object_add(o, "code_len", json_object_new_uint64(img->prog->code_len));
    json_object_object_add(o, "isa", json_object_new_string(javm_isa_name(img->prog->isa)));
    json_object_object_add(o, "gas_model",
                           json_object_new_string(javm_gas_model_name(img->prog->gas_model)));
    json_object *maps = json_object_new_array();
    for (uint32_t i = 0; i < img->nmaps; i++) {
        const jv_img_mapping *m = &img->maps[i];
        json_object *x = json_object_new_object();
        json_object_object_add(x, "start", json_object_new_uint64(m->start));
        json_object_object_add(x, "size", json_object_new_uint64(m->size));
        json_object_object_add(x, "source", m->source_len ? json_object_new_uint64(m->source[0]) : NULL);
        json_object_object_add(x, "kind", json_object_new_string(jv_image_kind_name(jv_image_mapping_kind(img, i))));
        json_object_object_add(x, "pinned", json_object_new_boolean(jv_image_mapping_is_pinned(img, m->start)));
        json_object_array_add(maps, x);
    }
    json_object_object_add(o, "mappings", maps);
    json_object_object_add(o, "pinned_slots", slots_json(img->pinned, img->npinned));
    json_object_object_add(o, "initial_slots", slots_json(img->initial, img->ninitial));
    json_object *eps = json_object_new_array();
    for (uint32_t i = 0; i < img->neps; i++) {
        json_object *x = json_object_new_object();
        json_object_object_add(x, "key", json_object_new_uint64(img->eps[i].key));
        json_object_object_add(x, "pc", json_object_new_uint64(img->eps[i].entry_pc));
        json_object_object_add(x, "args", json_object_new_uint64(img->eps[i].arg_registers));
        json_object_array_add(eps, x);
    }
    json_object_object_add(o, "endpoints", eps);
    jv_img_cost c = jv_image_cost(img);
    json_object *cf = json_object_new_object();
    json_object_object_add(cf, "total", json_object_new_uint64(c.call_frame_cost));
    json_object_object_add(cf, "base", json_object_new_uint64(JV_CALL_FRAME_COST));
    json_object_object_add(cf, "code_pages", json_object_new_uint64(c.code_pages));
    json_object_object_add(cf, "compile", json_object_new_uint64(c.code_pages * JV_COMPILE_COST_PER_PAGE));
    json_object_object_add(cf, "code_units", json_object_new_uint64(c.code_units));
    json_object_object_add(cf, "pinned_units", json_object_new_uint64(c.pinned_units));
    json_object_object_add(cf, "page_in", json_object_new_uint64(c.ro_units * JV_PAGE_IN_COST));
    json_object_object_add(cf, "call_gate", json_object_new_uint64(c.call_frame_cost + JV_MGMT_OP_COST));
    json_object_object_add(o, "call_frame_cost", cf);
    return o;
}

static void info_text(const jv_image *img) {
    char x[65];
    jv_cap_hash_hex(&img->content_hash, x);
    printf("content hash  %s\ncode          %u bytes at 0x%08x (isa %s, gas model %s)\n", x,
           img->prog->code_len, JV_IMG_CODE_BASE, javm_isa_name(img->prog->isa),
           javm_gas_model_name(img->prog->gas_model));
    printf("mappings      %u\n", img->nmaps);
    for (uint32_t i = 0; i < img->nmaps; i++) {
        const jv_img_mapping *m = &img->maps[i];
        char src[32] = "none";
        if (m->source_len) snprintf(src, sizeof src, "slot %u", m->source[0]);
        printf("  0x%08llx +0x%llx  %-9s  %s\n", (unsigned long long)m->start,
               (unsigned long long)m->size, src, jv_image_kind_name(jv_image_mapping_kind(img, i)));
    }
    for (int p = 1; p >= 0; p--) {
        const jv_img_slot *s = p ? img->pinned : img->initial;
        uint32_t n = p ? img->npinned : img->ninitial;
        printf("%s %u\n", p ? "pinned slots " : "initial slots", n);
        for (uint32_t i = 0; i < n; i++) {
            jv_hash32 r;
            jv_cap_data_root(s[i].data, &r);
            jv_cap_hash_hex(&r, x);
            printf("  %u  %llu bytes  root %s\n", s[i].key,
                   (unsigned long long)jv_cap_data_size(s[i].data), x);
        }
    }
    printf("endpoints     %u\n", img->neps);
    for (uint32_t i = 0; i < img->neps; i++)
        printf("  %u  pc %u  args %u  stack top 0x%llx\n", img->eps[i].key, img->eps[i].entry_pc,
               img->eps[i].arg_registers, (unsigned long long)img->eps[i].regs[1]);
    jv_img_cost c = jv_image_cost(img);
    printf("call_frame_cost %llu = %u + %llu code pages x %u + %llu ro units (%llu code + %llu "
           "pinned) x %u; CALL gate %llu\n",
           (unsigned long long)c.call_frame_cost, JV_CALL_FRAME_COST,
           (unsigned long long)c.code_pages, JV_COMPILE_COST_PER_PAGE,
           (unsigned long long)c.ro_units, (unsigned long long)c.code_units,
           (unsigned long long)c.pinned_units, JV_PAGE_IN_COST,
           (unsigned long long)(c.call_frame_cost + JV_MGMT_OP_COST));
}

static int cmd_info(int argc, char **argv) {
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return jv_cli_usage(CMD, "info: unknown option '%s'", argv[i]);
        else if (path) return jv_cli_usage(CMD, "info: more than one FILE");
        else path = argv[i];
    }
    if (!path) return jv_cli_usage(CMD, "info: missing FILE");
    javm_image *img;
    int rc = load_image(path, &img);
    if (rc) return rc;
    if (json) {
        json_object *o = info_json(&img->img);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        info_text(&img->img);
    }
    javm_image_free(img);
    return 0;
}

static int cmd_run(int argc, char **argv) {
    int json = 0;
    const char *path = NULL;
    uint64_t ep = UINT64_MAX, gas = 10000000;
    javm_engine engine = JAVM_ENGINE_SOFT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--endpoint") || !strcmp(a, "--gas") || !strcmp(a, "--engine")) {
            if (i + 1 >= argc) return jv_cli_usage(CMD, "run: %s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--endpoint") && jv_cli_parse_uint(v, UINT32_MAX, &ep))
                return jv_cli_usage(CMD, "run: bad endpoint '%s' (0 .. 2^32-1)", v);
            if (!strcmp(a, "--gas") && jv_cli_parse_uint(v, INT64_MAX, &gas))
                return jv_cli_usage(CMD, "run: bad number '%s' for --gas (0 .. 2^63-1)", v);
            if (!strcmp(a, "--engine") && javm_engine_parse(v, &engine))
                return jv_cli_usage(CMD, "run: %s", javm_last_error());
        } else if (a[0] == '-' && a[1]) return jv_cli_usage(CMD, "run: unknown option '%s'", a);
        else if (path) return jv_cli_usage(CMD, "run: more than one FILE");
        else path = a;
    }
    if (!path) return jv_cli_usage(CMD, "run: missing FILE");
    if (!javm_engine_available(engine))
        return jv_cli_usage(CMD, "run: the %s engine is not available here", javm_engine_name(engine));
    javm_image *img;
    int rc = load_image(path, &img);
    if (rc) return rc;
    const jv_image *im = &img->img;
    if (ep == UINT64_MAX) {
        if (!im->neps) {
            javm_image_free(img);
            return jv_cli_usage(CMD, "run: %s has no endpoints", path);
        }
        ep = im->eps[0].key;
    }
    if (!jv_image_find_endpoint(im, (uint32_t)ep)) {
        javm_image_free(img);
        return jv_cli_usage(CMD, "run: %s has no endpoint %llu", path, (unsigned long long)ep);
    }
    javm_config cfg;
    javm_config_init(&cfg);
    cfg.engine = engine;
    javm_image_instance *in = NULL;
    javm_exit_info ex = JAVM_EXIT_INFO_INIT;
    javm_status st = javm_image_instance_new(img, &cfg, JAVM_IMAGE_ROOT, &in);
    if (!st) st = javm_image_call(in, (uint32_t)ep, (int64_t)gas, &ex);
    if (st) {
        fprintf(stderr, "javm image: run: %s\n", javm_last_error());
        javm_image_instance_free(in);
        javm_image_free(img);
        return 1;
    }
    javm_stats sts = JAVM_STATS_INIT;
    javm_image_stats(in, &sts);
    int64_t left = javm_image_gas_get(in);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "exit", json_object_new_string(javm_exit_str(ex.kind)));
    json_object_object_add(o, "pc", json_object_new_uint64(ex.pc));
    if (ex.kind == JAVM_EXIT_PAGE_FAULT || ex.kind == JAVM_EXIT_HOST_CALL)
        json_object_object_add(o, ex.kind == JAVM_EXIT_PAGE_FAULT ? "address" : "host_call",
                               json_object_new_uint64(ex.arg));
    json_object_object_add(o, "gas", json_object_new_int64(left));
    json_object_object_add(o, "gas_used", json_object_new_int64((int64_t)gas - left));
    json_object_object_add(o, "mat_gas", json_object_new_uint64(sts.mat_gas));
    json_object_object_add(o, "cow_pages", json_object_new_uint64(sts.cow_pages));
    json_object *regs = json_object_new_array();
    for (unsigned r = 0; r < JAVM_NUM_REGS; r++) {
        uint64_t v = 0;
        javm_image_reg_get(in, r, &v);
        json_object_array_add(regs, json_object_new_uint64(v));
    }
    json_object_object_add(o, "regs", regs);
    json_object *slots = json_object_new_array();
    for (uint32_t i = 0; i < im->nmaps; i++) {
        const jv_img_mapping *m = &im->maps[i];
        if (!m->source_len || jv_image_mapping_is_pinned(im, m->start)) continue;
        javm_datacap *d;
        if (javm_image_instance_slot(in, m->source[0], &d)) continue; /* never filled */
        uint8_t r[32];
        char x[65];
        javm_datacap_root(d, r);
        hexs(r, x);
        json_object *s = json_object_new_object();
        json_object_object_add(s, "slot", json_object_new_uint64(m->source[0]));
        json_object_object_add(s, "root", json_object_new_string(x));
        json_object_array_add(slots, s);
        javm_datacap_free(d);
    }
    json_object_object_add(o, "slots", slots);
    if (json) {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    } else {
        printf("exit      %s at pc %u", javm_exit_str(ex.kind), ex.pc);
        if (ex.kind == JAVM_EXIT_PAGE_FAULT) printf(" (address 0x%08llx)", (unsigned long long)ex.arg);
        if (ex.kind == JAVM_EXIT_HOST_CALL) printf(" (ecalli %llu)", (unsigned long long)ex.arg);
        printf("\ngas       %lld left, %lld used\n#3 gas    %llu\ncow pages %llu\n",
               (long long)left, (long long)((int64_t)gas - left), (unsigned long long)sts.mat_gas,
               (unsigned long long)sts.cow_pages);
        for (size_t i = 0; i < json_object_array_length(slots); i++) {
            json_object *s = json_object_array_get_idx(slots, i), *k, *r;
            json_object_object_get_ex(s, "slot", &k);
            json_object_object_get_ex(s, "root", &r);
            printf("slot %llu   %s\n", (unsigned long long)json_object_get_uint64(k),
                   json_object_get_string(r));
        }
    }
    json_object_put(o);
    javm_image_instance_free(in);
    javm_image_free(img);
    return 0;
}

int jv_cli_image(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc < 2) return jv_cli_usage(CMD, "missing subcommand (build, info or run; try --help)");
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
    if (!strcmp(argv[1], "build")) return cmd_build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 1, argv + 1);
    return jv_cli_usage(CMD, "unknown subcommand '%s' (build, info or run)", argv[1]);
}
