/* `javm cap root [--size BYTES] [--cap-hash] [--threads N] FILE` and `javm cap page-hash FILE`.
 * cap root hashes a regular file through a read-only mapping, straight from the page cache (no
 * page is copied), on two threads when the input is large; other inputs are read into memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap/cap.h"
#include "cli/cli.h"
#include "cli/cmd_cap.h"
#include "cli/tool.h"

static const char usage_text[] =
    "usage: javm cap root [--size BYTES] [--cap-hash] [--threads N] FILE\n"
    "       javm cap page-hash FILE\n"
    "\n"
    "  root       print the DataCap root of FILE's bytes as a DataCap (hex). The size defaults to\n"
    "             the file size rounded up to a page (4096 bytes), at least one page; --size sets\n"
    "             a larger logical size (rounded up to a page). --cap-hash prints the cap\n"
    "             identity instead (the root mixed with the Data selector 2). --threads sets\n"
    "             the number of hashing threads (1-8; default 2 for inputs of 4 MiB or more\n"
    "             when two CPUs are online, else 1); the result does not depend on it.\n"
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
    uint8_t *buf = jv_cli_read_file("cap", path, len);
    if (!buf) *rc = 2;
    return buf;
}

/* The bytes of FILE: a read-only mapping of a regular file (populated up front, so the hashing
 * threads do not take page faults one by one), else (stdin, pipes) read into memory. */
typedef struct input {
    uint8_t *p;
    size_t len;
    int mapped; /* 1: munmap p; 0: free p (NULL for an empty regular file) */
} input;

static int open_input(const char *path, input *in) {
    memset(in, 0, sizeof *in);
    if (strcmp(path, "-") != 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return jv_cli_usage("cap", "cannot read '%s': %s", path, strerror(errno));
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (sb.st_size == 0) {
                close(fd);
                return 0;
            }
            if ((uint64_t)sb.st_size > SIZE_MAX) {
                close(fd);
                return jv_cli_usage("cap", "cannot read '%s': too large for this machine", path);
            }
            void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
            close(fd);
            if (m == MAP_FAILED)
                return jv_cli_usage("cap", "cannot read '%s': %s", path, strerror(errno));
            in->p = m;
            in->len = (size_t)sb.st_size;
            in->mapped = 1;
            return 0;
        }
        close(fd);
    }
    int rc = 0;
    in->p = read_input(path, &in->len, &rc);
    return in->p ? 0 : rc;
}

static void close_input(input *in) {
    if (in->mapped) munmap(in->p, in->len);
    else free(in->p);
}

static int cmd_root(int argc, char **argv) {
    const char *path = NULL, *size_arg = NULL, *threads_arg = NULL;
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
        } else if (!strcmp(a, "--threads")) {
            if (i + 1 >= argc) return jv_cli_usage("cap", "--threads needs a value");
            threads_arg = argv[++i];
        } else if (!strncmp(a, "--threads=", 10)) {
            threads_arg = a + 10;
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
    uint64_t threads = 0;
    if (threads_arg && (jv_cli_parse_uint(threads_arg, JV_CAP_ROOT_MAX_THREADS, &threads) ||
                        threads == 0))
        return jv_cli_usage("cap", "root: --threads '%s' is not a number from 1 to %d",
                            threads_arg, JV_CAP_ROOT_MAX_THREADS);
    input in;
    int rc = open_input(path, &in);
    if (rc) return rc;
    if (size_arg && size < in.len) {
        close_input(&in);
        return jv_cli_usage("cap", "root: --size %llu is smaller than the %zu bytes of '%s'",
                            (unsigned long long)size, in.len, path);
    }
    if (!threads) threads = in.len >= ((size_t)4 << 20) && sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
    jv_hash32 h;
    javm_status st = jv_cap_data_root_of_bytes(in.p, in.len, size, (unsigned)threads, &h);
    close_input(&in);
    if (st) return runtime_error("root");
    if (cap_hash) {
        jv_hash32 root = h;
        jv_ssz_mix_in_selector(&root, JV_CAP_SEL_DATA, &h);
    }
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
