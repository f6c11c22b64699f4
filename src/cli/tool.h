/* cli/tool.h — helpers shared by the javm commands: reading files, parsing numbers, and the
 * one-line usage error of cli.h ("javm <cmd>: ...", exit status 2). */
#ifndef JV_CLI_TOOL_H
#define JV_CLI_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "javm.h"
#include "pvm/pvm.h"

/* Prints "javm <cmd>: <message>" on stderr and returns 2 (for `return jv_cli_usage(...)`). */
int jv_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The -o FILE / --output FILE / --output=FILE option at argv[*i]: returns 1 when it is one
 * (*outp set, *i advanced past its argument), 0 when argv[*i] is something else, and 2 after
 * reporting a usage error (a missing or empty file name). */
int jv_cli_output_option(const char *cmd, int argc, char **argv, int *i, const char **outp);

/* The --isa gp07|gp08 option (and, when gas is not NULL, --gas-model gp07|gp08), also in the
 * --opt=VALUE form, at argv[*i]: the same return values as jv_cli_output_option. */
int jv_cli_isa_option(const char *cmd, int argc, char **argv, int *i, javm_isa *isa,
                      javm_gas_model *gas);

/* Reads a whole input file ("-" = stdin) into a malloc'd buffer with a NUL after the data, with
 * the size cap and checks of every javm input (jv_vec_read_input, docs/VECTORS.md). On failure
 * prints "javm <cmd>: <why>" and returns NULL. */
uint8_t *jv_cli_read_file(const char *cmd, const char *path, size_t *len);

/* --spi input: a standard program container, or a JAM service blob (the container behind
 * E(|m|) ++ m metadata, PVM-SV1). Sets *c to the container's parts and *meta / *meta_len to the
 * metadata (NULL / 0 for a plain container). On failure prints one line "javm <cmd>: <path>:
 * ..." naming what is wrong with it either way, and returns 1. */
int jv_cli_spi_parse(const char *cmd, const char *path, const uint8_t *buf, size_t len,
                     jv_pvm_container *c, const uint8_t **meta, size_t *meta_len);

/* Prints the metadata of a service blob as one "; " comment line per 64 bytes (printable ASCII
 * as is, other bytes as \xNN). */
void jv_cli_print_meta(FILE *f, const uint8_t *meta, size_t len);

/* Writes len bytes to path ("-" = stdout); 0 on success, -1 with errno set. */
int jv_cli_write_file(const char *path, const void *data, size_t len);

/* Parses a decimal, 0x-hex or 0b-binary number with optional '_' separators; a leading '-'
 * gives the two's complement. 0 on success, -1 if s is not a number or does not fit 64 bits. */
int jv_cli_parse_u64(const char *s, uint64_t *out);

/* The same for a count or an address: no sign ('-' is rejected) and at most max. */
int jv_cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Parses hex digits ("" allowed, optional 0x prefix, whitespace ignored) into a malloc'd buffer. */
int jv_cli_parse_hex(const char *s, uint8_t **out, size_t *len);


#endif
