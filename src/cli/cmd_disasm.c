/* javm disasm — disassemble a program blob into PVM assembly that re-assembles to the same
 * bytes (docs/ASSEMBLY.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/tool.h"
#include "javm.h"
#include "pvm/asm.h"

static const char usage_text[] =
    "usage: javm disasm [options] FILE\n"
    "\n"
    "Disassembles FILE into PVM assembly (docs/ASSEMBLY.md). FILE is a raw program blob, a\n"
    "conformance-vector JSON (its \"program\"), or with --spi a standard program container (its\n"
    "code blob; the data sections are summarised in a comment). `javm asm` turns the output back\n"
    "into exactly the same blob.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  write to FILE instead of stdout\n"
    "  --spi              FILE is a standard program container\n"
    "  --no-comments      omit the \"; pc: bytes\" comments\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 ok, 1 the program is malformed, 2 usage error.\n";

static uint32_t le(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* Locates the code blob inside a standard container (pvm-program-format.md §3.2). */
static int spi_code(const uint8_t *b, size_t len, size_t *off, size_t *clen, char *info, size_t n) {
    if (len < 11) return -1;
    uint64_t o = le(b, 3), w = le(b + 3, 3), z = le(b + 6, 2), s = le(b + 8, 3);
    if (11 + o + w + 4 > len) return -1;
    uint64_t c = le(b + 11 + o + w, 4);
    if (11 + o + w + 4 + c != len) return -1;
    *off = (size_t)(11 + o + w + 4);
    *clen = (size_t)c;
    snprintf(info, n,
             "; standard program container: %llu bytes read-only data, %llu bytes read-write data,\n"
             "; %llu heap pages, %llu bytes stack; the code blob follows\n",
             (unsigned long long)o, (unsigned long long)w, (unsigned long long)z, (unsigned long long)s);
    return 0;
}

int jv_cli_disasm(int argc, char **argv) {
    const char *path = NULL, *outp = "-";
    int spi = 0;
    unsigned flags = JV_ASM_DIS_COMMENTS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) return jv_cli_usage("disasm", "%s needs a file name", a);
            outp = argv[i];
        } else if (!strncmp(a, "--output=", 9)) {
            outp = a + 9;
        } else if (!strcmp(a, "--spi")) {
            spi = 1;
        } else if (!strcmp(a, "--no-comments")) {
            flags &= ~JV_ASM_DIS_COMMENTS;
        } else if (a[0] == '-' && a[1]) {
            return jv_cli_usage("disasm", "unknown option '%s' (try `javm disasm --help`)", a);
        } else if (path) {
            return jv_cli_usage("disasm", "more than one input file ('%s' and '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path) return jv_cli_usage("disasm", "no input file (try `javm disasm --help`)");
    size_t len;
    uint8_t *buf = jv_cli_read_file(path, &len);
    if (!buf) return jv_cli_usage("disasm", "cannot read '%s': %s", path, strerror(errno));
    uint8_t *blob = buf;
    size_t blob_len = len;
    uint8_t *owned = NULL;
    char info[512] = "", err[256];
    if (spi) {
        size_t off;
        if (spi_code(buf, len, &off, &blob_len, info, sizeof info)) {
            fprintf(stderr, "javm disasm: %s: not a standard program container (sizes do not add up)\n", path);
            free(buf);
            return 1;
        }
        blob = buf + off;
    } else if (jv_cli_is_json(buf, len)) {
        if (jv_cli_vector_program((const char *)buf, &owned, &blob_len, err, sizeof err)) {
            fprintf(stderr, "javm disasm: %s: %s\n", path, err);
            free(buf);
            return 1;
        }
        blob = owned;
    }
    char *text = NULL;
    javm_status s = jv_asm_disassemble(blob, blob_len, flags, &text);
    free(owned);
    free(buf);
    if (s != JAVM_OK) {
        fprintf(stderr, "javm disasm: %s: %s\n", path, javm_last_error());
        return 1;
    }
    size_t il = strlen(info);
    char *all = malloc(il + strlen(text) + 1);
    int rc = -1;
    if (all) {
        memcpy(all, info, il);
        strcpy(all + il, text);
        rc = jv_cli_write_file(outp, all, strlen(all));
    }
    free(all);
    free(text);
    if (rc) {
        fprintf(stderr, "javm disasm: cannot write '%s': %s\n", outp, strerror(errno ? errno : ENOMEM));
        return 1;
    }
    return 0;
}
