/* `javm cap root [--size BYTES] [--cap-hash] FILE` and `javm cap page-hash FILE`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap/cap.h"
#include "cli/cli.h"
#include "cli/cmd_cap.h"
#include "cli/tool.h"

static const char usage_text[] =
    "usage: javm cap root [--size BYTES] [--cap-hash] FILE\n"
    "       javm cap page-hash FILE\n"
    "\n"
    "  root       print the DataCap root of FILE's bytes as a DataCap (hex). The size defaults to\n"
    "             the file size rounded up to a page (4096 bytes), at least one page; --size sets\n"
    "             a larger logical size (rounded up to a page). --cap-hash prints the cap\n"
    "             identity instead (the root mixed with the Data selector 2).\n"
    "  page-hash  print the content hash (SSZ hash_tree_root of ByteVector[4096]) of one page:\n"
    "             FILE holds at most 4096 bytes and is zero-padded.\n"
    "\n"
    "FILE may be - for standard input.\n"
    "Exit status: 0 ok, 1 the bytes cannot be hashed, 2 usage error (bad option, missing or\n"
    "unreadable FILE, bad size, page-hash FILE larger than 4096 bytes).\n";

static int runtime_error(const char *what) {
    fprintf(stderr, "javm cap: %s: %s\n", what, javm_last_error());
    return 1;
}

static uint8_t *read_input(const char *path, size_t *len, int *rc) {
    uint8_t *buf = jv_cli_read_file(path, len);
    if (!buf) *rc = jv_cli_usage("cap", "cannot read '%s': %s", path, strerror(errno));
    return buf;
}

static int cmd_root(int argc, char **argv) {
    const char *path = NULL, *size_arg = NULL;
    int cap_hash = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--size")) {
            if (i + 1 >= argc) return jv_cli_usage("cap", "--size needs a value");
            size_arg = argv[++i];
        } else if (!strncmp(a, "--size=", 7)) {
            size_arg = a + 7;
        } else if (!strcmp(a, "--cap-hash")) {
            cap_hash = 1;
        } else if (a[0] == '-' && a[1]) {
            return jv_cli_usage("cap", "root: unknown option '%s'", a);
        } else if (path) {
            return jv_cli_usage("cap", "root: more than one FILE ('%s', '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path) return jv_cli_usage("cap", "root: missing FILE (try `javm cap --help`)");
    uint64_t size = 0;
    if (size_arg && jv_cli_parse_uint(size_arg, UINT64_MAX, &size))
        return jv_cli_usage("cap", "root: --size '%s' is not a byte count", size_arg);
    if (size_arg && size == 0) return jv_cli_usage("cap", "root: --size must be positive");
    if (size > JV_CAP_MAX_SIZE)
        return jv_cli_usage("cap", "root: --size %llu exceeds the largest DataCap (2^44 bytes)",
                            (unsigned long long)size);
    int rc = 0;
    size_t len;
    uint8_t *buf = read_input(path, &len, &rc);
    if (!buf) return rc;
    if (size_arg && size < len) {
        free(buf);
        return jv_cli_usage("cap", "root: --size %llu is smaller than the %zu bytes of '%s'",
                            (unsigned long long)size, len, path);
    }
    jv_datacap *d;
    javm_status st = jv_cap_data_create_sized(buf, len, size, &d);
    free(buf);
    if (st) return runtime_error("root");
    jv_hash32 h;
    st = cap_hash ? jv_cap_data_cap_hash(d, &h) : jv_cap_data_root(d, &h);
    jv_cap_data_destroy(d);
    if (st) return runtime_error("root");
    char hex[65];
    jv_cap_hash_hex(&h, hex);
    printf("%s\n", hex);
    return 0;
}

static int cmd_page_hash(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return jv_cli_usage("cap", "page-hash: unknown option '%s'", a);
        } else if (path) {
            return jv_cli_usage("cap", "page-hash: more than one FILE ('%s', '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path) return jv_cli_usage("cap", "page-hash: missing FILE (try `javm cap --help`)");
    int rc = 0;
    size_t len;
    uint8_t *buf = read_input(path, &len, &rc);
    if (!buf) return rc;
    if (len > JV_CAP_PAGE_SIZE) {
        free(buf);
        return jv_cli_usage("cap", "page-hash: '%s' has %zu bytes, a page holds at most 4096",
                            path, len);
    }
    jv_hash32 h;
    jv_cap_page_hash(buf, len, &h);
    free(buf);
    char hex[65];
    jv_cap_hash_hex(&h, hex);
    printf("%s\n", hex);
    return 0;
}

int jv_cli_cap(int argc, char **argv) {
    if (argc < 2) return jv_cli_usage("cap", "missing subcommand: root or page-hash (try `javm cap --help`)");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(sub, "root")) return cmd_root(argc - 1, argv + 1);
    if (!strcmp(sub, "page-hash")) return cmd_page_hash(argc - 1, argv + 1);
    return jv_cli_usage("cap", "unknown subcommand '%s' (root, page-hash)", sub);
}
