/* javm — run, trace, test, assemble and disassemble PVM programs; page-store utilities. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "javm.h"

static const struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"run", jv_cli_run, "run a program (raw blob, standard container, or test-vector JSON)"},
    {"test", jv_cli_test, "run conformance vectors and report what differs"},
    {"disasm", jv_cli_disasm, "disassemble a program blob"},
    {"asm", jv_cli_asm, "assemble a source file into a program blob"},
    {"gas", jv_cli_gas, "every basic block's gas cost; a block's gp08 cycle chart"},
    {"cap", jv_cli_cap, "page-store utilities: DataCap roots and page hashes"},
    {"image", jv_cli_image, "build, inspect and run Images (javm profile: mappings, slots, CALL)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: javm <command> [options] ...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`javm <command> --help` describes a command. `javm --version` prints the version.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "javm: missing command (try `javm --help`)\n");
        return 2;
    }
    if (!strcmp(argv[1], "help") && argc > 2) { /* `javm help run` = `javm run --help` */
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (strcmp(argv[2], commands[i].name)) continue;
            char *help_argv[] = {argv[2], "--help", NULL};
            return commands[i].fn(2, help_argv);
        }
        fprintf(stderr, "javm: unknown command '%s' (try `javm --help`)\n", argv[2]);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("javm %s\n", javm_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "javm: unknown %s '%s' (try `javm --help`)\n",
            argv[1][0] == '-' && argv[1][1] ? "option" : "command", argv[1]);
    return 2;
}
