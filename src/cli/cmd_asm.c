/* javm asm — assemble a source file into a program blob (syntax: docs/ASSEMBLY.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/tool.h"
#include "javm.h"
#include "pvm/asm.h"

static const char usage_text[] =
    "usage: javm asm [options] SOURCE -o FILE\n"
    "\n"
    "Assembles SOURCE (PVM assembly, see docs/ASSEMBLY.md; \"-\" reads stdin) into a raw program\n"
    "blob: E(|j|) E1(z) E(|c|) jump-table code bitmask. Encodings are minimal unless a width is\n"
    "given (value:N); labels resolve branch targets and jump-table entries.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  write the blob to FILE (\"-\" = stdout)\n"
    "  --isa gp07|gp08    the instruction-set dialect (default gp07; docs/ISA.md)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Warnings (\"SOURCE:LINE: warning: ...\" on stderr) point out labels used as jump targets\n"
    "that are not basic-block starts: such jumps panic at run time.\n"
    "\n"
    "Exit status: 0 assembled, 1 the source has an error (\"SOURCE:LINE: message\" on stderr),\n"
    "2 usage error.\n";

int jv_cli_asm(int argc, char **argv) {
    const char *src = NULL, *outp = NULL;
    javm_isa isa = JAVM_ISA_GP07;
    for (int i = 1, o; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if ((o = jv_cli_output_option("asm", argc, argv, &i, &outp)) != 0) {
            if (o != 1) return o;
        } else if ((o = jv_cli_isa_option("asm", argc, argv, &i, &isa, NULL)) != 0) {
            if (o != 1) return o;
        } else if (a[0] == '-' && a[1]) {
            return jv_cli_usage("asm", "unknown option '%s' (try `javm asm --help`)", a);
        } else if (src) {
            return jv_cli_usage("asm", "more than one source file ('%s' and '%s')", src, a);
        } else {
            src = a;
        }
    }
    if (!src) return jv_cli_usage("asm", "no source file (try `javm asm --help`)");
    if (!outp) return jv_cli_usage("asm", "no output file: give -o FILE");
    size_t len;
    uint8_t *text = jv_cli_read_file("asm", src, &len);
    if (!text) return 2;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    char *warnings = NULL;
    javm_status s = jv_asm_assemble_isa(isa, (const char *)text, len, &blob, &blob_len,
                                        &warnings);
    free(text);
    for (char *w = warnings; w && *w;) { /* "line N: warning: ..." -> "javm asm: SOURCE:N: warning: ..." */
        char *nl = strchr(w, '\n');
        if (nl) *nl = 0;
        fprintf(stderr, "javm asm: %s:%s\n", src, strncmp(w, "line ", 5) ? w : w + 5);
        w = nl ? nl + 1 : w + strlen(w);
    }
    free(warnings);
    if (s != JAVM_OK) {
        const char *msg = javm_last_error();
        if (!strncmp(msg, "line ", 5)) fprintf(stderr, "javm asm: %s:%s\n", src, msg + 5);
        else fprintf(stderr, "javm asm: %s: %s\n", src, msg);
        return 1;
    }
    int rc = jv_cli_write_file(outp, blob, blob_len);
    free(blob);
    if (rc) {
        fprintf(stderr, "javm asm: cannot write '%s': %s\n", outp, strerror(errno));
        return 1;
    }
    return 0;
}
