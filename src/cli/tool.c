/* cli/tool.c — see tool.h. */
#include "cli/tool.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "javm.h"
#include "vector/vector.h"

int jv_cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "javm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

uint8_t *jv_cli_read_file(const char *cmd, const char *path, size_t *len) {
    uint8_t *buf;
    if (jv_vec_read_input(path, &buf, len)) {
        fprintf(stderr, "javm %s: %s\n", cmd, javm_last_error());
        return NULL;
    }
    return buf;
}

int jv_cli_spi_parse(const char *cmd, const char *path, const uint8_t *buf, size_t len,
                     jv_pvm_container *c, const uint8_t **meta, size_t *meta_len) {
    *meta = NULL;
    *meta_len = 0;
    if (jv_pvm_container_parse(buf, len, c) == JAVM_OK) return 0;
    char plain[512];
    snprintf(plain, sizeof plain, "%s", javm_last_error());
    const uint8_t *m, *rest;
    size_t ml, rl;
    if (jv_pvm_service_split(buf, len, &m, &ml, &rest, &rl) == JAVM_OK &&
        jv_pvm_container_parse(rest, rl, c) == JAVM_OK) {
        *meta = m;
        *meta_len = ml;
        return 0;
    }
    fprintf(stderr, "javm %s: %s: neither a standard container (%s) nor a service blob (%s)\n", cmd,
            path, plain, javm_last_error());
    return 1;
}

void jv_cli_print_meta(FILE *f, const uint8_t *meta, size_t len) {
    for (size_t i = 0; i < len; i += 64) {
        fputs("; ", f);
        for (size_t j = i; j < len && j < i + 64; j++) {
            if (meta[j] >= 0x20 && meta[j] < 0x7f && meta[j] != '\\') fputc(meta[j], f);
            else fprintf(f, "\\x%02x", meta[j]);
        }
        fputc('\n', f);
    }
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
