/* cli/tool.c — see tool.h. */
#include "cli/tool.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

int jv_cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "javm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

uint8_t *jv_cli_read_file(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap) break;
        uint8_t *q = realloc(buf, cap * 2 + 1);
        if (!q) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = q;
        cap *= 2;
    }
    int err = ferror(f) ? errno : 0;
    if (f != stdin) fclose(f);
    if (!buf) {
        errno = ENOMEM;
        return NULL;
    }
    if (err) {
        free(buf);
        errno = err ? err : EIO;
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int jv_cli_write_file(const char *path, const void *data, size_t len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
    if (!f) return -1;
    size_t k = fwrite(data, 1, len, f);
    int rc = k == len ? 0 : -1;
    if (f != stdout) {
        if (fclose(f)) rc = -1;
    } else if (fflush(f)) {
        rc = -1;
    }
    return rc;
}

int jv_cli_parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s) return -1;
    int neg = 0;
    if (*s == '-') neg = 1, s++;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) base = 2, s += 2;
    uint64_t v = 0;
    int digits = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s == '_' && digits) continue;
        if (isdigit((unsigned char)*s)) d = (unsigned)(*s - '0');
        else if (isalpha((unsigned char)*s)) d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
        else return -1;
        if (d >= base) return -1;
        if (v > (UINT64_MAX - d) / base) return -1;
        v = v * base + d;
        digits++;
    }
    if (!digits) return -1;
    if (neg && v > (1ull << 63)) return -1;
    *out = neg ? 0 - v : v;
    return 0;
}

int jv_cli_parse_uint(const char *s, uint64_t max, uint64_t *out) {
    uint64_t v;
    if (!s || s[0] == '-' || jv_cli_parse_u64(s, &v) || v > max) return -1;
    *out = v;
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int jv_cli_parse_hex(const char *s, uint8_t **out, size_t *len) {
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    uint8_t *buf = malloc(strlen(s) / 2 + 1);
    if (!buf) return -1;
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) continue;
        int v = hexval((unsigned char)*s);
        if (v < 0) {
            free(buf);
            return -1;
        }
        if (hi < 0) hi = v;
        else buf[n++] = (uint8_t)(hi << 4 | v), hi = -1;
    }
    if (hi >= 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

int jv_cli_is_json(const uint8_t *buf, size_t len) {
    size_t i = 0;
    while (i < len && isspace(buf[i])) i++;
    if (i == len || buf[i] != '{') return 0;
    /* A raw blob starts with '{' too when it has 123 jump-table entries; its next byte is then
     * the entry width z (0..4), a byte that never follows '{' in JSON text. */
    return !(i + 1 < len && buf[i + 1] <= 4);
}

int jv_cli_vector_program(const char *json, size_t json_len, uint8_t **blob, size_t *len, char *err,
                          size_t errlen) {
    if (json_len > (size_t)INT_MAX) return snprintf(err, errlen, "file too large"), -1;
    json_tokener *tok = json_tokener_new();
    if (!tok) return snprintf(err, errlen, "out of memory"), -1;
    json_object *root = json_tokener_parse_ex(tok, json, (int)json_len), *prog;
    size_t end = json_tokener_get_parse_end(tok);
    int ok = root && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    while (ok && end < json_len && isspace((unsigned char)json[end])) end++;
    if (!ok || end < json_len) { /* one JSON value: trailing data is malformed input */
        json_object_put(root);
        return snprintf(err, errlen, ok ? "not valid JSON: trailing data at byte %zu" : "not valid JSON",
                        end), -1;
    }
    if (!json_object_object_get_ex(root, "program", &prog) || !json_object_is_type(prog, json_type_array)) {
        json_object_put(root);
        return snprintf(err, errlen, "no \"program\" array"), -1;
    }
    size_t n = json_object_array_length(prog);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        json_object_put(root);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(prog, i);
        int64_t v = json_object_get_int64(e);
        if (!json_object_is_type(e, json_type_int) || v < 0 || v > 255) {
            free(b);
            json_object_put(root);
            return snprintf(err, errlen, "program[%zu] is not a byte", i), -1;
        }
        b[i] = (uint8_t)v;
    }
    json_object_put(root);
    *blob = b;
    *len = n;
    return 0;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 with *val set, 0 if it is another option,
 * 2 after a usage error. */
static int value_option(const char *cmd, const char *name, int argc, char **argv, int *i,
                        const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (!strcmp(a, name)) {
        if (++*i >= argc || !*argv[*i]) return jv_cli_usage(cmd, "%s needs a value", name);
        *val = argv[*i];
        return 1;
    }
    if (!strncmp(a, name, n) && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    return 0;
}

int jv_cli_isa_option(const char *cmd, int argc, char **argv, int *i, javm_isa *isa,
                      javm_gas_model *gas) {
    const char *v = NULL;
    int o = value_option(cmd, "--isa", argc, argv, i, &v);
    if (o == 1 && javm_isa_parse(v, isa) != JAVM_OK)
        return jv_cli_usage(cmd, "--isa: unknown instruction set '%s' (expected gp07 or gp08)", v);
    if (o || !gas) return o;
    o = value_option(cmd, "--gas-model", argc, argv, i, &v);
    if (o == 1 && javm_gas_model_parse(v, gas) != JAVM_OK)
        return jv_cli_usage(cmd, "--gas-model: unknown gas model '%s' (expected gp07 or gp08)", v);
    return o;
}

int jv_cli_output_option(const char *cmd, int argc, char **argv, int *i, const char **outp) {
    const char *a = argv[*i];
    if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
        if (++*i >= argc || !*argv[*i]) return jv_cli_usage(cmd, "%s needs a file name", a);
        *outp = argv[*i];
        return 1;
    }
    if (!strncmp(a, "--output=", 9)) {
        *outp = a + 9;
        if (!**outp) return jv_cli_usage(cmd, "--output= needs a file name");
        return 1;
    }
    return 0;
}
