/* cli/vector — PVM conformance vectors (the flat v0.4 JSON format, pvm-program-format.md §4).
 *
 * Lifecycle: jv_vector_load (parse + validate every field, exact 64-bit integers) ->
 * jv_vector_setup (program + instance with the initial state applied through the public API) ->
 * javm_run -> jv_vector_compare (human-readable differences) -> jv_vector_free.
 *
 * Rules
 *   VEC-1  initial-memory is written with host writes after the page map (it may fill
 *          read-only pages).
 *   VEC-2  a program that fails to decode "panics at start": the result is status panic at the
 *          initial pc with the initial registers, gas and memory (jv_vector_result_unloadable).
 *   VEC-3  memory compare: the non-zero bytes of every accessible page at exit must equal the
 *          union of the expected chunks; inaccessible memory is not read (it counts as zero), so
 *          an expected non-zero byte there is a difference, reported as "(not accessible)".
 *   VEC-4  gas with category-#3 accounting on: #3 only adds charges, so the run passes when
 *          gas left + #3 gas charged equals the expected gas left (a reserve gate that runs
 *          out of gas where the vector did not is a real difference and fails).
 */
#ifndef JV_CLI_VECTOR_H
#define JV_CLI_VECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "javm.h"

typedef struct jv_vec_region {
    uint32_t address;
    uint32_t length;
    bool writable;
} jv_vec_region;

typedef struct jv_vec_chunk {
    uint32_t address;
    uint8_t *contents;
    size_t len;
} jv_vec_chunk;

typedef struct jv_vector {
    char *name;
    /* initial state */
    uint64_t initial_regs[JAVM_NUM_REGS];
    uint32_t initial_pc;
    int64_t initial_gas;
    jv_vec_region *page_map;
    size_t n_page_map;
    jv_vec_chunk *initial_memory;
    size_t n_initial_memory;
    uint8_t *program;
    size_t program_len;
    /* expected */
    javm_exit_kind expected_status;
    uint64_t expected_regs[JAVM_NUM_REGS];
    uint32_t expected_pc;
    int64_t expected_gas;
    jv_vec_chunk *expected_memory;
    size_t n_expected_memory;
    bool has_fault_address;
    uint32_t expected_fault_address;
} jv_vector;

/* Parses a vector file. On error returns JAVM_ERR_INVALID_ARGUMENT (or _NO_MEMORY / _OS) and
 * javm_last_error() names the file and the field ("x.json: expected-regs[3]: not a u64"). */
javm_status jv_vector_load(const char *path, jv_vector *out);
/* The same from a JSON text already in memory (name used in messages). */
javm_status jv_vector_parse(const char *text, size_t len, const char *name, jv_vector *out);
void jv_vector_free(jv_vector *v);

/* Loads the program (with the load options lo: dialect and gas model; NULL = the defaults) and
 * creates an instance with the vector's initial state (page map, memory, registers, gas, pc).
 * *prog / *vm are NULL on failure. A program that does not decode returns JAVM_ERR_BAD_PROGRAM
 * (VEC-2); other failures are harness errors. */
javm_status jv_vector_setup(const jv_vector *v, const javm_load_options *lo,
                            const javm_config *cfg, javm_program **prog, javm_instance **vm);

/* The observed outcome of a run, for comparison. */
typedef struct jv_vec_result {
    javm_exit_kind status;
    uint32_t pc;
    int64_t gas;
    uint64_t regs[JAVM_NUM_REGS];
    uint64_t fault_address; /* PAGE_FAULT only */
    uint64_t mat_gas;       /* category-#3 gas charged (0 unless the config turned it on) */
    const javm_instance *vm; /* memory source; NULL: compare against the initial memory (VEC-2) */
} jv_vec_result;

/* VEC-2: the outcome of a vector whose program does not decode (panic at the initial pc with
 * the initial registers and gas; vm = NULL, so memory compares against the initial memory). */
void jv_vector_result_unloadable(const jv_vector *v, jv_vec_result *res);

/* Runs the vector (setup + javm_run) on cfg and fills *res; *vm_out keeps the instance for the
 * memory compare (free it and *prog_out with javm_instance_free / javm_program_free). */
javm_status jv_vector_run(const jv_vector *v, const javm_load_options *lo,
                          const javm_config *cfg, jv_vec_result *res, javm_program **prog_out,
                          javm_instance **vm_out);

/* Compares and writes one line per difference to out (each prefixed with prefix), e.g.
 *   "  gas: expected 9998, got 9997"
 *   "  r7: expected 0x1 (1), got 0x2 (2)"
 *   "  memory 0x20000..0x20003: expected 12 34 00, got 12 00 00"
 * Returns the number of differences (0 = pass). out may be NULL. */
int jv_vector_compare(const jv_vector *v, const jv_vec_result *res, FILE *out,
                      const char *prefix);

/* "halt", "panic", "page-fault", "out-of-gas", "host-call" -> kind; false if unknown. */
bool jv_vector_status_parse(const char *s, javm_exit_kind *out);

#endif
