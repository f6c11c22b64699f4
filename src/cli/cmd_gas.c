/* javm gas — every basic block's start pc and gas cost, and a block's cycle chart under the
 * gp08 model (docs/GAS.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/tool.h"
#include "javm.h"
#include "pvm/pvm.h"
#include "vector/vector.h"

static const char usage_text[] =
    "usage: javm gas [options] FILE\n"
    "\n"
    "Prints the start pc and the gas cost of every basic block of FILE (a raw program blob, a\n"
    "conformance-vector JSON's \"program\", or with --spi a standard program container): the\n"
    "cost javm charges when a run enters the block (docs/GAS.md).\n"
    "\n"
    "options:\n"
    "  --isa gp07|gp08        the instruction-set dialect (default gp07; docs/ISA.md)\n"
    "  --gas-model gp07|gp08  instruction counts (gp07, default) or the GP 0.8 pipeline model\n"
    "  --json                 print {\"blocks\": [{\"pc\": N, \"cost\": N}, ...]}\n"
    "  --trace PC             print the cycle chart of the block starting at PC instead\n"
    "                         (needs --gas-model gp08)\n"
    "  --spi                  FILE is a standard program container or a JAM service blob\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 ok, 1 the program is malformed, 2 usage error.\n";

/* The chart of the block starting at pc (docs/GAS.md "Charts"). */
static int print_chart(const char *file, const javm_program *p, uint32_t pc) {
    uint32_t r = jv_pvm_op_at(p, pc);
    uint32_t gate = r == JV_PVM_NONE ? JV_PVM_NONE : jv_pvm_gate_of(p, r);
    if (gate == JV_PVM_NONE) {
        uint32_t g = r;
        while (g != JV_PVM_NONE && g > 0 && p->ops[g].iop != JV_I_GAS) g--;
        if (g != JV_PVM_NONE && p->ops[g].iop == JV_I_GAS)
            return jv_cli_usage("gas", "--trace %u: not a block start (the block containing it "
                                       "starts at %u)", pc, jv_pvm_op_pc(p, g));
        return jv_cli_usage("gas", "--trace %u: not an instruction of %s", pc, file);
    }
    uint64_t cost = 0;
    char *chart = jv_pvm_gas08_chart(p, gate, &cost);
    if (!chart) {
        fprintf(stderr, "javm gas: %s: out of memory for the chart of block %u\n", file, pc);
        return 1;
    }
    printf("Gas simulation at offset %u with total cost of %llu:\n\n%s", pc,
           (unsigned long long)cost, chart);
    free(chart);
    return 0;
}

static void print_blocks(const javm_program *p, int json) {
    uint32_t n = javm_program_block_count(p);
    if (json) fputs("{\"blocks\": [", stdout);
    else printf("%-10s %s\n", "pc", "cost");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pc = 0;
        uint64_t cost = 0;
        javm_program_block(p, i, &pc, &cost);
        if (json) printf("%s{\"pc\": %u, \"cost\": %llu}", i ? ", " : "", pc, (unsigned long long)cost);
        else printf("%-10u %llu\n", pc, (unsigned long long)cost);
    }
    if (json) fputs("]}\n", stdout);
}

int jv_cli_gas(int argc, char **argv) {
    const char *path = NULL;
    int json = 0, spi = 0, trace = 0;
    uint64_t trace_pc = 0;
    javm_load_options lo;
    javm_load_options_init(&lo);
    for (int i = 1, o; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if ((o = jv_cli_isa_option("gas", argc, argv, &i, &lo.isa, &lo.gas_model)) != 0) {
            if (o != 1) return o;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--spi")) {
            spi = 1;
        } else if (!strcmp(a, "--trace") || !strncmp(a, "--trace=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || jv_cli_parse_uint(v, UINT32_MAX, &trace_pc))
                return jv_cli_usage("gas", "--trace needs a pc (0 .. 2^32-1)");
            trace = 1;
        } else if (a[0] == '-' && a[1]) {
            return jv_cli_usage("gas", "unknown option '%s' (try `javm gas --help`)", a);
        } else if (path) {
            return jv_cli_usage("gas", "more than one program file ('%s' and '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path) return jv_cli_usage("gas", "no program file (try `javm gas --help`)");
    if (trace && lo.gas_model != JAVM_GAS_GP08)
        return jv_cli_usage("gas", "--trace charts the gp08 model: add --gas-model gp08");
    if (trace && json) return jv_cli_usage("gas", "--trace and --json do not combine");
    size_t len;
    uint8_t *buf = jv_cli_read_file("gas", path, &len);
    if (!buf) return 2;
    jv_vector vec = {0};
    const uint8_t *blob = buf;
    size_t blob_len = len;
    javm_program *p = NULL;
    javm_status s;
    if (spi) { /* a standard container, or a service blob (metadata, then the container) */
        jv_pvm_container c;
        const uint8_t *meta;
        size_t meta_len;
        if (jv_cli_spi_parse("gas", path, buf, len, &c, &meta, &meta_len)) {
            free(buf);
            return 1;
        }
        if (meta) {
            blob = meta + meta_len;
            blob_len = len - (size_t)(blob - buf);
        }
        s = javm_program_load_standard_ex(blob, blob_len, &lo, &p);
    } else {
        if (jv_vec_is_json(buf, len)) {
            if (jv_vector_parse((const char *)buf, len, path, &vec) != JAVM_OK) {
                fprintf(stderr, "javm gas: %s\n", javm_last_error());
                free(buf);
                return 1;
            }
            blob = vec.program;
            blob_len = vec.program_len;
        }
        s = javm_program_load_ex(blob, blob_len, &lo, &p);
    }
    jv_vector_free(&vec);
    free(buf);
    if (s != JAVM_OK) {
        fprintf(stderr, "javm gas: %s: %s\n", path, javm_last_error());
        return 1;
    }
    int rc = 0;
    if (trace) rc = print_chart(path, p, (uint32_t)trace_pc);
    else print_blocks(p, json);
    javm_program_free(p);
    return rc;
}
