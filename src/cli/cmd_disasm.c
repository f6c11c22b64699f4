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
#include "pvm/pvm.h"
#include "vector/vector.h"

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
    "  --spi              FILE is a standard program container, or a JAM service blob (its\n"
    "                     metadata is shown as comments first)\n"
    "  --isa gp07|gp08    the instruction-set dialect (default gp07; docs/ISA.md)\n"
    "  --no-comments      omit the \"; pc: bytes\" comments\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 ok, 1 the program is malformed, 2 usage error.\n";

int jv_cli_disasm(int argc, char **argv) {
    const char *path = NULL, *outp = "-";
    int spi = 0;
    javm_isa isa = JAVM_ISA_GP07;
    unsigned flags = JV_ASM_DIS_COMMENTS;
    for (int i = 1, o; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if ((o = jv_cli_output_option("disasm", argc, argv, &i, &outp)) != 0) {
            if (o != 1) return o;
        } else if ((o = jv_cli_isa_option("disasm", argc, argv, &i, &isa, NULL)) != 0) {
            if (o != 1) return o;
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
    uint8_t *buf = jv_cli_read_file("disasm", path, &len);
    if (!buf) return 2;
    const uint8_t *blob = buf;
    size_t blob_len = len;
    jv_vector vec = {0};
    char *info = NULL;
    size_t info_len = 0;
    if (spi) { /* a standard container, or a service blob: its metadata is shown first */
        jv_pvm_container c;
        const uint8_t *meta;
        size_t meta_len;
        if (jv_cli_spi_parse("disasm", path, buf, len, &c, &meta, &meta_len)) {
            free(buf);
            return 1;
        }
        FILE *f = open_memstream(&info, &info_len);
        if (!f) {
            free(buf);
            return jv_cli_usage("disasm", "out of memory");
        }
        if (meta) {
            fprintf(f, "; service blob: %zu bytes of metadata, then the standard container\n",
                    meta_len);
            jv_cli_print_meta(f, meta, meta_len);
        }
        fprintf(f,
                "; standard program container: %u bytes read-only data, %u bytes read-write data,\n"
                "; %u heap pages, %u bytes stack; the code blob follows\n",
                c.ro_len, c.rw_len, c.heap_pages, c.stack_size);
        fclose(f);
        blob = c.code;
        blob_len = c.code_len;
    } else if (jv_vec_is_json(buf, len)) {
        if (jv_vector_parse((const char *)buf, len, path, &vec) != JAVM_OK) {
            fprintf(stderr, "javm disasm: %s\n", javm_last_error());
            free(buf);
            return 1;
        }
        blob = vec.program;
        blob_len = vec.program_len;
    }
    char *text = NULL;
    javm_status s = jv_asm_disassemble_isa(isa, blob, blob_len, flags, &text);
    jv_vector_free(&vec);
    free(buf);
    if (s != JAVM_OK) {
        fprintf(stderr, "javm disasm: %s: %s\n", path, javm_last_error());
        free(info);
        return 1;
    }
    size_t il = info ? info_len : 0;
    char *all = malloc(il + strlen(text) + 1);
    int rc = -1;
    if (all) {
        if (il) memcpy(all, info, il);
        strcpy(all + il, text);
        rc = jv_cli_write_file(outp, all, strlen(all));
    }
    free(all);
    free(info);
    free(text);
    if (rc) {
        fprintf(stderr, "javm disasm: cannot write '%s': %s\n", outp, strerror(errno ? errno : ENOMEM));
        return 1;
    }
    return 0;
}
