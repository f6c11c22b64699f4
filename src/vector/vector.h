/* vector — the conformance-vector library (docs/VECTORS.md): reads the three JSON vector formats
 * into one model, runs it through the public API and compares what javm did with what the
 * vector expects. The javm tool (src/cli), the tests and the fuzz targets link it as
 * libjavm-vector.a; libjavm itself does not (it needs no json-c).
 *
 * One model for every format: a vector is a program, an initial pc and gas, and a list of
 * steps run in order (map, write, set-reg, run, assert).
 *   v0.4   the flat format (initial-regs, initial-page-map, initial-memory, expected-*): read
 *          as set-reg x13, map per page-map entry, write per initial-memory chunk, run, and one
 *          assert when the file has expected-* fields (a file with none only runs: `javm run`).
 *   steps  {"steps": [{"kind": "map", ...}, ...], "block-gas-costs": {"pc": cost, ...}}.
 *   v0.5   {"steps": [{"map": {...}}, {"run": {}}, ...], "block-gas-costs": [{pc, cost}, ...]}.
 * The format is detected from the file (VEC-5).
 *
 * Lifecycle: jv_vector_load / jv_vector_parse -> jv_vector_check (the whole vector: every
 * assert and every block cost) or, for a tool that runs it itself, jv_vec_session_start ->
 * jv_vec_session_advance (steps up to the next run) -> javm_run -> jv_vec_session_record ->
 * ... -> jv_vec_session_end; jv_vector_free.
 *
 * Rules
 *   VEC-1  write steps (and v0.4 initial-memory) are host writes: they may fill read-only pages.
 *   VEC-2  a program that does not decode "panics at start": every run ends in panic at the
 *          initial pc with the state the steps set (registers, gas, pages, memory), which the
 *          session keeps without an instance.
 *   VEC-3  memory compare: the non-zero bytes of every accessible page must equal the union of
 *          the expected chunks; inaccessible memory counts as zero, so an expected non-zero
 *          byte there is a difference, reported as "(not accessible)".
 *   VEC-4  gas with category-#3 accounting on: #3 only adds charges, so an assert passes when
 *          gas left + #3 gas charged equals the expected gas left.
 *   VEC-5  format: a top-level object with "steps" is the steps format, v0.5 when its steps
 *          are keyed by kind ({"run": {}}) instead of {"kind": "run"}; otherwise v0.4. Field
 *          names are read with '-' and '_' as the same character (the origin mixes them).
 *   VEC-6  integers are exact: a literal outside its field's range (including past 2^64 or
 *          below -2^63, which json-c would clamp) is an error naming the field.
 *   VEC-7  input files are read through jv_vec_read_input: regular files (or "-") of at most
 *          JV_VEC_MAX_INPUT bytes; anything else is refused before it is read.
 *   VEC-8  block-gas-costs: every listed block's cost must equal javm's cost of the gas block
 *          starting at that pc (javm_program_block) in the program's gas model; a listed pc
 *          where no gas block starts is a difference too.
 */
#ifndef JV_VECTOR_H
#define JV_VECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "javm.h"

/* The largest input file any javm command reads (VEC-7): 128 MiB. The largest JAM service code
 * is a few MiB, and a JSON vector spends about four bytes per program byte. */
#define JV_VEC_MAX_INPUT ((size_t)128 << 20)

/* Reads a whole input file ("-" = standard input) into a malloc'd buffer with a NUL after the
 * data (VEC-7). On failure *out is NULL and javm_last_error() says why ("x.bin: not a regular
 * file", "x.json: ... larger than the 134217728-byte input limit", "x.bin: cannot open: ..."):
 * JAVM_ERR_INVALID_ARGUMENT for a refused input, JAVM_ERR_OS / _NO_MEMORY otherwise. */
javm_status jv_vec_read_input(const char *path, uint8_t **out, size_t *len);

/* True when the input looks like JSON text rather than a program blob: its first non-space byte
 * (after an optional UTF-8 byte-order mark) is '{' or '[' and the next is not a blob's
 * jump-table width byte (0..4). */
bool jv_vec_is_json(const uint8_t *buf, size_t len);

typedef enum jv_vec_format { JV_VEC_V04, JV_VEC_STEPS, JV_VEC_V05 } jv_vec_format;

typedef struct jv_vec_region {
    uint32_t address;
    uint64_t length; /* at most 2^32 */
    bool writable;
} jv_vec_region;

typedef struct jv_vec_chunk {
    uint32_t address;
    uint8_t *contents;
    size_t len;
} jv_vec_chunk;

typedef struct jv_vec_expect {
    javm_exit_kind status;
    uint32_t pc;
    int64_t gas;
    uint64_t regs[JAVM_NUM_REGS];
    jv_vec_chunk *memory;
    size_t n_memory;
    bool has_fault_address;
    uint32_t fault_address;
} jv_vec_expect;

typedef enum jv_vec_step_kind {
    JV_VEC_MAP,
    JV_VEC_WRITE,
    JV_VEC_SET_REG,
    JV_VEC_RUN,
    JV_VEC_ASSERT,
} jv_vec_step_kind;

typedef struct jv_vec_step {
    jv_vec_step_kind kind;
    char where[40];       /* where the file says it, for messages ("steps[3]", "initial-page-map[0]") */
    jv_vec_region map;    /* MAP */
    jv_vec_chunk write;   /* WRITE */
    unsigned reg;         /* SET_REG */
    uint64_t value;       /* SET_REG */
    jv_vec_expect expect; /* ASSERT */
} jv_vec_step;

typedef struct jv_vec_block_cost {
    uint32_t pc;
    uint64_t cost;
} jv_vec_block_cost;

typedef struct jv_vector {
    char *name;
    jv_vec_format format;
    uint8_t *program;
    size_t program_len;
    uint32_t initial_pc;
    bool has_initial_gas; /* false: a v0.4 file without initial-gas (the tool picks one) */
    int64_t initial_gas;
    jv_vec_step *steps;
    size_t n_steps;
    size_t n_asserts;
    jv_vec_block_cost *block_costs;
    size_t n_block_costs;
} jv_vector;

/* Parses a vector file (read with jv_vec_read_input). On error returns JAVM_ERR_INVALID_ARGUMENT
 * (or _NO_MEMORY / _OS) and javm_last_error() names the file and the field ("x.json:
 * steps[3].value: 18446744073709551616 is out of the 64-bit range"). */
javm_status jv_vector_load(const char *path, jv_vector *out);
/* The same from a text already in memory (name used in messages). */
javm_status jv_vector_parse(const char *text, size_t len, const char *name, jv_vector *out);
void jv_vector_free(jv_vector *v);

/* "halt", "panic", "page-fault", "out-of-gas", "host-call" -> kind; false if unknown. */
bool jv_vec_status_parse(const char *s, javm_exit_kind *out);

/* The program of a vector loaded with the load options lo (dialect and gas model; NULL = the
 * defaults): the one place the vector library loads programs. */
javm_status jv_vec_load_program(const jv_vector *v, const javm_load_options *lo,
                                javm_program **out);

/* The observed state after a run. */
typedef struct jv_vec_result {
    javm_exit_kind status;
    uint32_t pc;
    int64_t gas;
    uint64_t regs[JAVM_NUM_REGS];
    uint64_t fault_address; /* PAGE_FAULT only */
    uint32_t next_pc;       /* HOST_CALL only */
    uint64_t host_call;     /* HOST_CALL only: the id */
    uint64_t mat_gas;       /* category-#3 gas charged so far (0 unless the config turned it on) */
} jv_vec_result;

/* A vector being run: its program and instance. When the program does not decode (VEC-2) the
 * instance is one of an empty program: it holds the pages, memory, registers and gas the steps
 * set (through the same API calls, with the same checks), and it is never run. */
typedef struct jv_vec_session {
    const jv_vector *v;
    javm_program *prog;
    javm_instance *vm;
    bool unloadable;      /* VEC-2 */
    char load_error[256]; /* why the program did not decode */
    size_t next;          /* the next step to run */
} jv_vec_session;

/* Loads the program (load options lo, may be NULL) and creates the instance on cfg (may be
 * NULL), pc and gas set to the vector's. A program that does not decode is not an error (VEC-2:
 * s->unloadable); other failures are. */
javm_status jv_vec_session_start(jv_vec_session *s, const jv_vector *v,
                                 const javm_load_options *lo, const javm_config *cfg);
/* Applies the steps up to the next run step (skipping asserts) and moves past it. Returns
 * JAVM_OK and *have_run = true when a run is due, *have_run = false at the end of the steps;
 * an error when a step fails (the message names the step: "steps[2] (map): ..."). */
javm_status jv_vec_session_advance(jv_vec_session *s, bool *have_run);
/* Executes the next step: applies a map, write or set-reg; runs a run (filling *res); leaves an
 * assert to the caller (compare it with the last *res). Returns the step, NULL at the end or
 * on failure (*err says which: JAVM_OK at the end). */
const jv_vec_step *jv_vec_session_step(jv_vec_session *s, jv_vec_result *res, javm_status *err);
/* Runs once (javm_run, or the VEC-2 panic) and fills *res. */
javm_status jv_vec_session_run(jv_vec_session *s, jv_vec_result *res);
/* Fills *res from an exit of javm_run the caller made itself on s->vm. */
void jv_vec_session_record(const jv_vec_session *s, const javm_exit_info *ex, jv_vec_result *res);
void jv_vec_session_end(jv_vec_session *s);

/* Compares a result with an assert and writes one line per difference to out (each prefixed
 * with prefix), e.g. "gas: expected 9998, got 9997", "r7: expected 0x1 (1), got 0x2 (2)",
 * "memory 0x20000..0x20003: expected 12 34 00, got 12 00 00". Returns the number of
 * differences (0 = pass). out may be NULL. */
int jv_vec_compare(const jv_vec_session *s, const jv_vec_expect *e, const jv_vec_result *res,
                   FILE *out, const char *prefix);

/* Runs the whole vector on cfg: every step in order, every assert compared with the state of
 * the run before it, then every block cost (VEC-8). Writes the differences to out (may be NULL)
 * prefixed with prefix, each assert's after an "assert N:" line when the vector has several.
 * Returns JAVM_OK with *diffs = the number of differences, or an error when the vector could
 * not be run (javm_last_error() says why). */
javm_status jv_vector_check(const jv_vector *v, const javm_load_options *lo,
                            const javm_config *cfg, FILE *out, const char *prefix, int *diffs);

/* Every accessible page of the instance that is not all zero, in address order, each page
 * once: fn(user, page base, its 4096 bytes). Linear in the pages mapped. */
void jv_vec_pages(const javm_instance *vm,
                  void (*fn)(void *user, uint32_t page, const uint8_t *bytes), void *user);

#endif
