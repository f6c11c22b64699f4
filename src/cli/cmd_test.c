/* cli — `javm test`: run conformance vectors and report what differs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/tool.h"
#include "javm.h"
#include "vector/vector.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: javm test [--engine NAME] [--isa gp07|gp08] [--gas-model gp07|gp08] [--mat]\n"
            "                 [--cow-cost N] [--quiet] PATH...\n"
            "       javm test --list-engines\n"
            "\n"
            "Runs PVM conformance vectors (PATH is a file or a directory of *.json) in any of the\n"
            "formats of docs/VECTORS.md, detected per file: v0.4 (initial-*/expected-* fields),\n"
            "steps (map, write, set-reg, run, assert in order; block-gas-costs) and v0.5 (steps\n"
            "keyed by kind). Prints a line per difference of each failing vector (status, pc, gas,\n"
            "registers, page-fault address, memory bytes, block costs), then a final line\n"
            "\"N passed, N failed\". Input files are capped at 128 MiB and must be regular files.\n"
            "Exit status: 0 all passed, 1 a vector failed or could not be run, 2 usage error.\n"
            "\n"
            "  --engine NAME    soft (default), paged or jit\n"
            "  --isa gp07|gp08  the instruction-set dialect the programs are decoded in (default\n"
            "                   gp07; docs/ISA.md)\n"
            "  --gas-model gp07|gp08  block costs: instruction counts (gp07, default) or the\n"
            "                   GP 0.8 pipeline model (docs/GAS.md); block-gas-costs are\n"
            "                   compared with it\n"
            "  --mat            turn category-#3 materialization gas on; a vector then passes when\n"
            "                   gas left + #3 gas charged equals its expected gas\n"
            "  --cow-cost N     #3 cost of one copy-on-write (default 256)\n"
            "  --quiet          print only failures and the final line\n"
            "  --list-engines   print the engines available in this build, one per line\n"
            "  --help           this text\n");
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct paths {
    char **v;
    size_t n, cap;
} paths;

static int paths_add(paths *p, const char *s) {
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        char **nv = realloc(p->v, nc * sizeof *nv);
        if (!nv) return -1;
        p->v = nv;
        p->cap = nc;
    }
    p->v[p->n] = strdup(s);
    if (!p->v[p->n]) return -1;
    p->n++;
    return 0;
}

/* Expands a directory into its *.json files (sorted). Returns -1 with a message on error. */
static int expand(paths *out, const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        jv_cli_usage("test", "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(sb.st_mode)) return paths_add(out, path);
    if (!S_ISDIR(sb.st_mode)) { /* a device or a pipe would be read forever (VEC-7) */
        jv_cli_usage("test", "%s: not a regular file or a directory", path);
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        jv_cli_usage("test", "%s: %s", path, strerror(errno));
        return -1;
    }
    paths local = {0};
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
        char *full = malloc(strlen(path) + l + 2);
        if (!full) {
            rc = -1;
            break;
        }
        sprintf(full, "%s/%s", path, e->d_name);
        rc = paths_add(&local, full);
        free(full);
        if (rc) break;
    }
    closedir(d);
    if (!rc && !local.n) {
        jv_cli_usage("test", "%s: no *.json vector files in this directory", path);
        free(local.v);
        return -1;
    }
    if (local.n) qsort(local.v, local.n, sizeof *local.v, name_cmp);
    for (size_t i = 0; i < local.n; i++) {
        if (!rc) rc = paths_add(out, local.v[i]);
        free(local.v[i]);
    }
    free(local.v);
    if (rc) jv_cli_usage("test", "out of memory");
    return rc;
}

/* Parses argv into cfg, *quiet and the PATH arguments (pathv, *npaths). Returns -1 to go on,
 * else the exit status: 0 after --help / --list-engines, 2 after a usage error. */
static int parse_options(int argc, char **argv, javm_config *cfg, javm_load_options *lo,
                         int *quiet, char **pathv, int *npaths) {
    int only_paths = 0;
    for (int i = 1, o; i < argc; i++) {
        const char *a = argv[i];
        if (!only_paths && !strcmp(a, "--")) {
            only_paths = 1;
            continue;
        }
        if (only_paths || a[0] != '-' || !a[1]) {
            pathv[(*npaths)++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list-engines")) {
            for (int e = JAVM_ENGINE_SOFT; e <= JAVM_ENGINE_JIT; e++)
                if (javm_engine_available((javm_engine)e))
                    printf("%s\n", javm_engine_name((javm_engine)e));
            return 0;
        } else if (!strcmp(a, "--engine")) {
            if (i + 1 >= argc) return jv_cli_usage("test", "--engine needs a name");
            if (javm_engine_parse(argv[++i], &cfg->engine) != JAVM_OK)
                return jv_cli_usage("test", "unknown engine '%s' (expected soft, paged or jit)",
                                    argv[i]);
        } else if ((o = jv_cli_isa_option("test", argc, argv, &i, &lo->isa, &lo->gas_model))) {
            if (o != 1) return o;
        } else if (!strcmp(a, "--mat")) {
            cfg->mat = 1;
        } else if (!strcmp(a, "--cow-cost")) {
            uint64_t v;
            if (i + 1 >= argc || jv_cli_parse_uint(argv[i + 1], JAVM_MAX_COW_COST, &v))
                return jv_cli_usage("test", "--cow-cost needs a number from 0 to 2^40");
            cfg->cow_cost = v;
            i++;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            *quiet = 1;
        } else {
            return jv_cli_usage("test", "unknown option '%s' (try `javm test --help`)", a);
        }
    }
    if (*npaths == 0)
        return jv_cli_usage("test",
                            "no vector files or directories given (try `javm test --help`)");
    if (!javm_engine_available(cfg->engine))
        return jv_cli_usage("test", "the %s engine is not available in this build",
                            javm_engine_name(cfg->engine));
    return -1;
}

int jv_cli_test(int argc, char **argv) {
    javm_config cfg;
    javm_config_init(&cfg);
    javm_load_options lo;
    javm_load_options_init(&lo);
    int quiet = 0, npaths = 0;
    paths in = {0};
    char **pathv = calloc((size_t)argc + 1, sizeof *pathv);
    if (!pathv) return jv_cli_usage("test", "out of memory");
    int rc = parse_options(argc, argv, &cfg, &lo, &quiet, pathv, &npaths);
    for (int i = 0; rc < 0 && i < npaths; i++)
        if (expand(&in, pathv[i])) rc = 2;
    free(pathv);
    if (rc >= 0) {
        for (size_t k = 0; k < in.n; k++) free(in.v[k]);
        free(in.v);
        return rc;
    }
    int passed = 0, failed = 0;
    for (size_t k = 0; k < in.n; k++) {
        const char *path = in.v[k];
        jv_vector v;
        if (jv_vector_load(path, &v) != JAVM_OK) {
            printf("FAIL %s\n", javm_last_error()); /* the message starts with the file name */
            failed++;
            continue;
        }
        /* the differences go to a buffer first: the header line, with their count, comes first */
        char *diff_text = NULL;
        size_t diff_len = 0;
        FILE *diff_out = open_memstream(&diff_text, &diff_len);
        int d = 0;
        javm_status s = diff_out ? jv_vector_check(&v, &lo, &cfg, diff_out, "    ", &d) : JAVM_ERR_NO_MEMORY;
        if (diff_out) fclose(diff_out);
        if (s != JAVM_OK) {
            printf("FAIL %s: cannot run: %s\n", v.name, javm_last_error());
            failed++;
        } else if (d) {
            printf("FAIL %s (%d difference%s)\n%s", v.name, d, d == 1 ? "" : "s", diff_text ? diff_text : "");
            failed++;
        } else {
            if (!quiet) printf("ok   %s\n", v.name);
            passed++;
        }
        free(diff_text);
        jv_vector_free(&v);
    }
    for (size_t k = 0; k < in.n; k++) free(in.v[k]);
    free(in.v);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
