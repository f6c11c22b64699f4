/* javm — a JAM PVM engine on a deterministic, gas-metered, paged guest memory.
 *
 * The public C API. Everything is reached through opaque handles; every function that can fail
 * returns a javm_status, and javm_last_error() gives a one-line message naming the problem
 * (thread-local, valid until the next failing call on the same thread). Nothing aborts.
 *
 * Ownership and threading: a javm_program is immutable once loaded and may be shared by any
 * number of instances on any threads; it must outlive every instance made from it (free the
 * instances first). A javm_instance belongs to one thread at a time. A javm_snapshot may be freed
 * while instances still map it.
 *
 * ABI rules (what stays true from one release to the next; docs/API.md has the soname policy):
 *   - javm_status and javm_exit_kind values are explicit and append-only: a value never changes
 *     meaning, new values are added at the end. Treat values you do not know as errors/exits you
 *     do not handle (javm_status_str and javm_exit_str name them "unknown ...").
 *   - Caller-allocated structs (javm_config, javm_load_options, javm_stats, javm_exit_info)
 *     start with
 *     `uint32_t size`, which the caller sets to sizeof the struct it was compiled with: use
 *     javm_config_init(), javm_load_options_init(), JAVM_STATS_INIT / javm_stats_init() or JAVM_EXIT_INFO_INIT /
 *     javm_exit_info_init(). New fields are only ever
 *     appended, and the zero value of every javm_config field is its default, so a struct from
 *     an older header keeps working: the library reads and writes only the first `size` bytes
 *     (fields of javm_config past them take their defaults). A size below the first published
 *     layout (JAVM_*_SIZE_V1) is JAVM_ERR_INVALID_ARGUMENT. A javm_config larger than this
 *     library knows (a newer header than the library) is JAVM_ERR_UNSUPPORTED; an output struct
 *     larger than it knows gets its known fields filled and the rest left as they were.
 *
 * Typical embedding (see docs/API.md for a complete example):
 *
 *     javm_program *p;  javm_instance *vm;  javm_exit_info ex = JAVM_EXIT_INFO_INIT;
 *     javm_program_load(blob, len, &p);
 *     javm_instance_new(p, NULL, &vm);              // NULL = default configuration
 *     javm_map(vm, 0x20000, 4096, JAVM_ACCESS_RW, NULL, 0);
 *     javm_gas_set(vm, 100000);
 *     while (javm_run(vm, &ex) == JAVM_OK && ex.kind == JAVM_EXIT_HOST_CALL)
 *         handle_host_call(vm, ex.arg);             // then javm_run resumes after the ecalli
 *     javm_instance_free(vm);  javm_program_free(p);
 */
#ifndef JAVM_H
#define JAVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define JAVM_API __attribute__((visibility("default")))
#else
#define JAVM_API
#endif

/* The version: the only place it is written (the Makefile reads these three lines).
 * JAVM_VERSION_NUMBER is MAJOR * 1000000 + MINOR * 1000 + PATCH (0.2.0 = 2000), so releases
 * compare as integers; javm_version_number() is the library's at run time, JAVM_VERSION_NUMBER
 * the header's at compile time. */
#define JAVM_VERSION_MAJOR 0
#define JAVM_VERSION_MINOR 2
#define JAVM_VERSION_PATCH 0
#define JAVM_VERSION_NUMBER \
    (JAVM_VERSION_MAJOR * 1000000 + JAVM_VERSION_MINOR * 1000 + JAVM_VERSION_PATCH)
#define JAVM_STRINGIFY_(x) #x
#define JAVM_STRINGIFY(x) JAVM_STRINGIFY_(x)
#define JAVM_VERSION_STRING                                                                   \
    JAVM_STRINGIFY(JAVM_VERSION_MAJOR) "." JAVM_STRINGIFY(JAVM_VERSION_MINOR) "."             \
        JAVM_STRINGIFY(JAVM_VERSION_PATCH)
JAVM_API const char *javm_version(void); /* "0.2.0" */
JAVM_API int javm_version_number(void);  /* 2000 */

/* ---- Status codes (errors of the API, not guest exits) ---------------------------------- */
/* X(name, value, description). Values are fixed and append-only (see the ABI rules above). */
#define JAVM_STATUS_LIST(X)                                                                   \
    X(JAVM_OK, 0, "ok")                                                                       \
    X(JAVM_ERR_INVALID_ARGUMENT, 1, "invalid argument")                                       \
    X(JAVM_ERR_NO_MEMORY, 2, "out of memory")                                                 \
    X(JAVM_ERR_BAD_PROGRAM, 3, "malformed program blob")                                      \
    X(JAVM_ERR_BAD_CONTAINER, 4, "malformed standard program container")                      \
    X(JAVM_ERR_UNALIGNED, 5, "address or size is not page-aligned")                           \
    X(JAVM_ERR_OVERFLOW, 6, "range exceeds the 4 GiB guest address space")                    \
    X(JAVM_ERR_NOT_MAPPED, 7, "guest memory range is not mapped")                             \
    X(JAVM_ERR_STATE, 8, "operation not allowed in the instance's current state")             \
    X(JAVM_ERR_UNSUPPORTED, 9, "not supported by this engine or build")                       \
    X(JAVM_ERR_OS, 10, "operating-system call failed")                                        \
    X(JAVM_ERR_BAD_SSZ, 11, "malformed SSZ encoding")                                         \
    X(JAVM_ERR_MISSING_PAGE, 12, "page content is missing from the store")                    \
    X(JAVM_ERR_HASH_MISMATCH, 13, "page content does not match its hash")                     \
    X(JAVM_ERR_LIMIT, 14, "a documented limit was reached")                                   \
    X(JAVM_ERR_BAD_IMAGE, 15, "malformed or invalid Image")

typedef enum javm_status {
#define JAVM_X_ENUM(name, value, msg) name = value,
    JAVM_STATUS_LIST(JAVM_X_ENUM)
#undef JAVM_X_ENUM
} javm_status;

/* Static description of a status code ("malformed program blob"). */
JAVM_API const char *javm_status_str(javm_status s);
/* Detailed message of the last failing call on this thread ("program: code length 12 exceeds
 * the 7 bytes left at offset 3"); "" if none. */
JAVM_API const char *javm_last_error(void);

/* ---- Guest exits (results of running, not errors) --------------------------------------- */
/* Values are fixed and append-only (see the ABI rules above). */
typedef enum javm_exit_kind {
    JAVM_EXIT_HALT = 0,       /* dynamic jump to 0xFFFF0000 */
    JAVM_EXIT_PANIC = 1,      /* trap, invalid jump/branch, access below 64 KiB, write to RO */
    JAVM_EXIT_OUT_OF_GAS = 2, /* pc = start of the block that could not be paid; state unchanged */
    JAVM_EXIT_PAGE_FAULT = 3, /* arg = page base of the lowest inaccessible byte; nothing written */
    JAVM_EXIT_HOST_CALL = 4,  /* arg = ecalli id; javm_run resumes at next_pc */
} javm_exit_kind;

JAVM_API const char *javm_exit_str(javm_exit_kind k); /* "halt", "panic", "out-of-gas", ... */

typedef struct javm_exit_info {
    uint32_t size;    /* sizeof(javm_exit_info) as the caller compiled it: JAVM_EXIT_INFO_INIT */
    javm_exit_kind kind;
    uint32_t pc;      /* the exiting instruction's pc (vector convention) */
    uint32_t next_pc; /* for HOST_CALL: where execution resumes */
    uint64_t arg;     /* PAGE_FAULT: fault address; HOST_CALL: host-call id; else 0 */
} javm_exit_info;
/* The end of the last field of the first published layout (0.2.0). */
#define JAVM_EXIT_INFO_SIZE_V1 ((uint32_t)(offsetof(javm_exit_info, arg) + sizeof(uint64_t)))
/* For C; from C++ (or to re-initialise) use javm_exit_info_init(&ex). */
#define JAVM_EXIT_INFO_INIT {.size = (uint32_t)sizeof(javm_exit_info)}
static inline void javm_exit_info_init(javm_exit_info *ex) {
    if (!ex) return;
    for (size_t i = 0; i < sizeof *ex; i++) ((unsigned char *)ex)[i] = 0;
    ex->size = (uint32_t)sizeof *ex;
}

/* ---- Configuration ---------------------------------------------------------------------- */
typedef enum javm_engine {
    JAVM_ENGINE_SOFT = 0,  /* software-checked accesses (reference semantics, portable) */
    JAVM_ENGINE_PAGED = 1, /* hardware page faults drive first-touch accounting (Linux x86-64) */
    JAVM_ENGINE_JIT = 2,   /* the x86-64 recompiler on the paged window (Linux x86-64) */
} javm_engine;

typedef enum javm_gas_model {
    JAVM_GAS_GP07 = 0, /* cost of a basic block = its instruction count, charged at block entry */
    JAVM_GAS_GP08 = 1, /* cost of a basic block = the GP 0.8 pipeline simulation (docs/GAS.md) */
} javm_gas_model;

/* Instruction-set dialects (docs/ISA.md): GP 0.8 adds `unlikely` (opcode 2), drops sbrk and
 * numbers count_set_bits_64 .. reverse_bytes 101..110 instead of 102..111. */
typedef enum javm_isa {
    JAVM_ISA_GP07 = 0,
    JAVM_ISA_GP08 = 1,
} javm_isa;

/* "gp07" | "gp08" (a name error says what is expected). */
JAVM_API javm_status javm_isa_parse(const char *name, javm_isa *out);
JAVM_API const char *javm_isa_name(javm_isa isa);
JAVM_API javm_status javm_gas_model_parse(const char *name, javm_gas_model *out);
JAVM_API const char *javm_gas_model_name(javm_gas_model m);

/* Every field's zero value is its default, so javm_config_init() is "zero, then set size", and
 * fields appended later default to the behaviour of the releases before them. */
typedef struct javm_config {
    uint32_t size;         /* sizeof(javm_config) as the caller compiled it: javm_config_init */
    javm_engine engine;
    javm_gas_model gas_model; /* the gas model is the program's (javm_load_options): 0 (the
                                 default) means "the program's"; another value must equal it */
    int mat;               /* 1 = category-#3 materialization gas on (COW_COST per first write) */
    uint64_t cow_cost;     /* #3 cost of one copy-on-write; 0 = the default (256); at most
                              JAVM_MAX_COW_COST */
    int ro_write_faults;   /* 1 = a write to a read-only page is a page fault (GP text);
                              0 (default) = panic, as the conformance vectors expect */
} javm_config;

#define JAVM_CONFIG_SIZE_V1 ((uint32_t)(offsetof(javm_config, ro_write_faults) + sizeof(int)))
#define JAVM_MAX_COW_COST ((uint64_t)1 << 40) /* keeps every block's #3 reserve in 64 bits */

/* The defaults, with size set. Inline on purpose: it must use the caller's sizeof, never the
 * library's (a library function would write a newer, larger struct over an older caller's). */
static inline void javm_config_init(javm_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < sizeof *cfg; i++) ((unsigned char *)cfg)[i] = 0;
    cfg->size = (uint32_t)sizeof *cfg;
}
JAVM_API javm_status javm_engine_parse(const char *name, javm_engine *out); /* "soft"|"paged"|"jit" */
JAVM_API const char *javm_engine_name(javm_engine e);
JAVM_API int javm_engine_available(javm_engine e);

/* ---- Programs --------------------------------------------------------------------------- */
typedef struct javm_program javm_program;

/* A raw program blob: E(|j|) E1(z) E(|c|) jump-table code bitmask, fully validated. */
JAVM_API javm_status javm_program_load(const uint8_t *blob, size_t len, javm_program **out);

/* Load-time choices (caller-allocated, the ABI rules above: `size` first, zero = default). A
 * program is decoded in one dialect and its block costs are computed once for one gas model;
 * every instance of it runs in that dialect and model. */
typedef struct javm_load_options {
    uint32_t size;            /* sizeof(javm_load_options): javm_load_options_init */
    javm_isa isa;             /* default (0) JAVM_ISA_GP07 */
    javm_gas_model gas_model; /* default (0) JAVM_GAS_GP07 */
    int compile_jit;          /* 1 = compile the program for the jit engine at load (the load
                                 fails if it cannot be compiled); default (0): on first use by
                                 a jit instance. Ignored where the jit is not available. */
    int ecall_blocks;         /* 1 = every ecalli is its own block for gas (docs/GAS.md "Ecall
                                 blocks"): the block before it ends there, the ecalli itself
                                 costs 0 (its handler charges it), the instructions after it
                                 form a new block charged when javm_run resumes there. Jump
                                 targets stay as in the default (0): the usual GP blocks. */
} javm_load_options;

#define JAVM_LOAD_OPTIONS_SIZE_V1 \
    ((uint32_t)(offsetof(javm_load_options, gas_model) + sizeof(javm_gas_model)))
/* The defaults, with size set (inline: the caller's sizeof, as javm_config_init). */
static inline void javm_load_options_init(javm_load_options *o) {
    if (!o) return;
    for (size_t i = 0; i < sizeof *o; i++) ((unsigned char *)o)[i] = 0;
    o->size = (uint32_t)sizeof *o;
}
/* javm_program_load / _load_standard with options (NULL = the defaults). */
JAVM_API javm_status javm_program_load_ex(const uint8_t *blob, size_t len,
                                          const javm_load_options *o, javm_program **out);
JAVM_API javm_status javm_program_load_standard_ex(const uint8_t *blob, size_t len,
                                                   const javm_load_options *o,
                                                   javm_program **out);
JAVM_API javm_isa javm_program_isa(const javm_program *p);
JAVM_API javm_gas_model javm_program_gas_model(const javm_program *p);

/* The program's gas blocks in pc order: the basic-block starts, plus the block of the implicit
 * trap at pc = code size when the last instruction can continue into it (fallthrough or a
 * conditional branch). Entry i < javm_program_block_count: its start pc and its cost in the
 * program's gas model. JAVM_ERR_INVALID_ARGUMENT if i is out of range. */
JAVM_API uint32_t javm_program_block_count(const javm_program *p);
JAVM_API javm_status javm_program_block(const javm_program *p, uint32_t i, uint32_t *pc,
                                        uint64_t *cost);
/* A standard program container (GP "Y" function): read-only data, read-write data, heap and
 * stack sizes and the code blob. Instances of it are laid out with javm_instance_init_standard.
 * The two data sections are laid out once here as memory snapshots (see
 * javm_snapshot_new) owned by the program; nothing points into blob afterwards. */
JAVM_API javm_status javm_program_load_standard(const uint8_t *blob, size_t len,
                                                javm_program **out);
/* A JAM service blob: the standard container prefixed with free-form metadata (name, version,
 * authors), E(|m|) ++ m ++ container, where E is the GP natural-number varint (docs/API.md).
 * The metadata is skipped; a metadata length that runs past the end of the blob (or is not
 * canonical) is JAVM_ERR_BAD_CONTAINER, like any malformed container. o as for _load_ex. */
JAVM_API javm_status javm_program_load_service(const uint8_t *blob, size_t len,
                                               const javm_load_options *o, javm_program **out);
/* Free a program after the last instance made from it (instances point into it). */
JAVM_API void javm_program_free(javm_program *p);
JAVM_API uint32_t javm_program_code_size(const javm_program *p);
/* Disassemble the instruction at pc into buf ("add_32 r9, r7, r8"); returns its length in
 * bytes (1 + skip), or 0 if pc is not an instruction start. */
JAVM_API size_t javm_program_disasm(const javm_program *p, uint32_t pc, char *buf, size_t n);

/* ---- Instances -------------------------------------------------------------------------- */
typedef struct javm_instance javm_instance;

typedef enum javm_access {
    JAVM_ACCESS_NONE = 0,
    JAVM_ACCESS_RO = 1,
    JAVM_ACCESS_RW = 2,
} javm_access;

/* Limits. At most JAVM_MAX_PAGED_INSTANCES paged-engine instances are alive at once in a
 * process (each owns a guest window the fault handler knows); javm_instance_new fails with
 * JAVM_ERR_LIMIT past it. Soft-engine instances are limited by memory only.
 *
 * What each call does to an instance between runs. After an exit that javm_run resumes from
 * (host call, page fault, out of gas) the instance keeps its resume point:
 *   javm_map, javm_map_image, javm_unmap, javm_protect, javm_mem_write, javm_reg_set,
 *   javm_gas_set   change the state the resumed run sees, and keep the resume point (this is
 *                  how a host call or a page fault is served);
 *   javm_pc_set    drops the resume point: the next run starts afresh at that pc;
 *   javm_instance_init_standard, javm_instance_reset   drop it too and start over at pc 0;
 *   javm_set_trace takes effect at the next run; javm_instance_free discards everything.
 * While javm_run is executing, only the trace callback (on the running thread) may call in, and
 * only the functions taking a const javm_instance *; no other thread may use the instance.
 *
 * cfg may be NULL (defaults). The instance starts with no memory mapped, registers 0, gas 0,
 * pc 0. */
#define JAVM_MAX_PAGED_INSTANCES 4096
/* Instance pool. javm_instance_free keeps up to JAVM_INSTANCE_POOL_SIZE guest spaces of
 * standard-container programs per process (each a reserved 4 GiB window, its metadata and the
 * program's layout, restored to its initial bytes: a few tens of KiB resident), and the next
 * javm_instance_new + javm_instance_init_standard of the same program on an engine of the same
 * memory mode reuses one with no system call (docs/API.md, "Instance pool"). A pooled instance
 * behaves exactly like a fresh one. javm_program_free releases the program's spaces. */
#define JAVM_INSTANCE_POOL_SIZE 16
JAVM_API javm_status javm_instance_new(const javm_program *p, const javm_config *cfg,
                                       javm_instance **out);
JAVM_API void javm_instance_free(javm_instance *vm);
/* Standard-container programs: map read-only data at 0x10000, read-write data + heap, the stack
 * below 0xFEFE0000 and the arguments at 0xFEFF0000, and set r0/r1/r7/r8 and pc 0. The data
 * sections are mapped from the program's snapshots, not copied: the cost does not depend on their
 * size, writes stay private to the instance, and javm_instance_reset restores them. Calling it
 * again lays the layout out afresh: every region starts from its initial bytes, nothing of
 * earlier arguments remains past the new ones, pages sbrk added are unmapped and the heap top
 * goes back to its start. */
JAVM_API javm_status javm_instance_init_standard(javm_instance *vm, const uint8_t *args,
                                                 size_t args_len);

/* Page maps. start and size must be multiples of 4096; start + size <= 2^32. map: permission
 * set per page, init copied (truncated to size), the rest of newly mapped pages zero; remapping
 * a mapped page changes its permission and keeps its bytes. unmap discards contents. */
JAVM_API javm_status javm_map(javm_instance *vm, uint32_t start, uint64_t size,
                              javm_access access, const void *init, size_t init_len);
JAVM_API javm_status javm_unmap(javm_instance *vm, uint32_t start, uint64_t size);
JAVM_API javm_status javm_protect(javm_instance *vm, uint32_t start, uint64_t size,
                                  javm_access access);
JAVM_API javm_access javm_page_access(const javm_instance *vm, uint32_t addr);

/* Memory snapshots: shared initial memory. A snapshot lays its bytes out once (in a sealed
 * memfd); mapping it into an instance costs the same whatever its size, and the instance's pages
 * share the snapshot's memory until the guest first writes them (copy-on-write, per page). A
 * snapshot may be mapped into any number of instances on any threads; freeing it does not
 * affect them. */
typedef struct javm_snapshot javm_snapshot;
JAVM_API javm_status javm_snapshot_new(const void *data, size_t len, javm_snapshot **out);
JAVM_API void javm_snapshot_free(javm_snapshot *snap);
/* Like javm_map, with the range's bytes taken from the snapshot at `offset` (a multiple of
 * 4096); bytes past the end of the snapshot read zero. Replaces earlier contents of the range. */
JAVM_API javm_status javm_map_snapshot(javm_instance *vm, uint32_t start, uint64_t size,
                                       javm_access access, const javm_snapshot *snap,
                                       uint64_t offset);

/* Reset for reuse: every page the guest wrote since the instance was created (or last reset)
 * gets its initial bytes back — the snapshot's for javm_map_snapshot pages, zero for other pages —
 * touching only those pages; materialization state starts over (the next first write charges
 * COW_COST again); registers, gas and pc become 0. Mappings stay. Bytes written by the host
 * (javm_map's init, javm_mem_write) to pages the guest never wrote are kept; pages the guest
 * did write lose them, so give content that must survive a reset as a snapshot.
 * pages_restored (may be NULL) receives the number of pages restored. */
JAVM_API javm_status javm_instance_reset(javm_instance *vm, uint64_t *pages_restored);

/* Host access to guest memory: ignores read-only protection (the host may preload read-only
 * pages) but fails with JAVM_ERR_NOT_MAPPED if any byte is unmapped; addresses wrap mod 2^32. */
JAVM_API javm_status javm_mem_read(const javm_instance *vm, uint32_t addr, void *dst, size_t n);
JAVM_API javm_status javm_mem_write(javm_instance *vm, uint32_t addr, const void *src, size_t n);

/* Registers (13 of them), gas and pc. */
#define JAVM_NUM_REGS 13
/* i < JAVM_NUM_REGS, else JAVM_ERR_INVALID_ARGUMENT (and *out is left alone). */
JAVM_API javm_status javm_reg_get(const javm_instance *vm, unsigned i, uint64_t *out);
JAVM_API javm_status javm_reg_set(javm_instance *vm, unsigned i, uint64_t v);
JAVM_API int64_t javm_gas_get(const javm_instance *vm);
JAVM_API void javm_gas_set(javm_instance *vm, int64_t gas);
JAVM_API uint32_t javm_pc_get(const javm_instance *vm);
JAVM_API javm_status javm_pc_set(javm_instance *vm, uint32_t pc);

/* Run until an exit. After a HOST_CALL exit the next javm_run resumes at next_pc; after a
 * PAGE_FAULT exit (the host may have mapped the page) it retries the faulting instruction. A
 * resumed block is not charged again. Returns JAVM_OK whenever an exit was produced. */
JAVM_API javm_status javm_run(javm_instance *vm, javm_exit_info *exit);

/* Per-instance counters, accumulated across runs. */
typedef struct javm_stats {
    uint32_t size;               /* sizeof(javm_stats) as the caller compiled it: JAVM_STATS_INIT */
    uint64_t instructions;       /* instructions executed */
    uint64_t first_touch_faults; /* first touches of pages (paged engine: real faults) */
    uint64_t cow_pages;          /* pages that went to PresentRw */
    uint64_t ro_units;           /* read-only units mapped by fault-around (paged engine) */
    uint64_t mat_gas;            /* category-#3 gas charged */
} javm_stats;
#define JAVM_STATS_SIZE_V1 ((uint32_t)(offsetof(javm_stats, mat_gas) + sizeof(uint64_t)))
#define JAVM_STATS_INIT {.size = (uint32_t)sizeof(javm_stats)} /* or javm_stats_init(&st) */
static inline void javm_stats_init(javm_stats *st) {
    if (!st) return;
    for (size_t i = 0; i < sizeof *st; i++) ((unsigned char *)st)[i] = 0;
    st->size = (uint32_t)sizeof *st;
}
/* Fills the first out->size bytes (size itself is kept). */
JAVM_API javm_status javm_stats_get(const javm_instance *vm, javm_stats *out);

/* Optional per-instruction trace (slow path; for tools). Called before each instruction. */
typedef void (*javm_trace_fn)(void *user, const javm_instance *vm, uint32_t pc);
JAVM_API void javm_set_trace(javm_instance *vm, javm_trace_fn fn, void *user);

/* Paged engine and host signal handlers. The paged engines install a SIGSEGV and a SIGBUS
 * handler (once, on first use) that resolve faults inside guest windows and chain every other
 * SIGSEGV / SIGBUS to the handler that was installed before it (SIGBUS is how the first touch of
 * a fresh zero page arrives where userfaultfd is available). An application that installs its
 * own SIGSEGV or SIGBUS handler AFTER javm must call this first from that handler (forward
 * both signals), passing its arguments: it returns 1 if the
 * fault was a javm guest fault and has been resolved (return from your handler), 0 if it is
 * not javm's; for a fault that ends the guest run it does not return. See docs/ENGINE.md. */
JAVM_API int javm_handle_fault(int sig, void *siginfo, void *ucontext);


/* ---- DataCaps: the content-addressed page store (docs/IMAGE.md, docs/PAGESTORE.md) ---------
 * A DataCap is a logical byte size (a positive multiple of 4096) and one slot per 4096-byte
 * page: Empty (zeros, stored as nothing), Loaded (bytes + their content hash) or Missing (known
 * only by its hash). Its identity is an SSZ Merkle root over {size, page roots} (SHA-256).
 *
 * Thread rules: a DataCap is immutable once shared. A clone is O(1) (a reference to the same
 * pages); changing one handle (put_page, page_decode) never changes what another handle sees.
 * The read-only calls (size, read, root, cap_hash, clone, page_encode) may run on one handle
 * from several threads at once; a changing call needs the handle to itself. Freeing a handle
 * does not affect its clones, nor Images or instances built from it. */
typedef struct javm_datacap javm_datacap;
#define JAVM_PAGE_SIZE 4096u
#define JAVM_HASH_SIZE 32u
/* SSZ sizes (docs/IMAGE.md): PageBytes = hash, offset 36, 4096 bytes; a PageSlot is a selector
 * byte (0 Empty, 1 Loaded, 2 Missing) followed by nothing, a PageBytes, or a 32-byte hash. */
#define JAVM_PAGEBYTES_SSZ_SIZE 4132u
#define JAVM_PAGESLOT_SSZ_MAX 4133u

/* A DataCap holding data[0..len): size = max(size, len) rounded up to a page, at least one page;
 * all-zero pages are Empty. data may be NULL when len is 0 (an all-zero cap of that size). */
JAVM_API javm_status javm_datacap_new(const void *data, size_t len, uint64_t size,
                                      javm_datacap **out);
/* Page by page: page `index` (< size / 4096) becomes content[0..len) zero-padded (len <= 4096). */
JAVM_API javm_status javm_datacap_put_page(javm_datacap *d, uint64_t index, const void *content,
                                           size_t len);
JAVM_API javm_status javm_datacap_clone(const javm_datacap *d, javm_datacap **out);
JAVM_API void javm_datacap_free(javm_datacap *d); /* NULL is a no-op */
JAVM_API uint64_t javm_datacap_size(const javm_datacap *d);
/* Bytes [offset, offset + n) (within the size) into dst. A Missing page is an error
 * (JAVM_ERR_MISSING_PAGE), never zeros. */
JAVM_API javm_status javm_datacap_read(const javm_datacap *d, uint64_t offset, void *dst,
                                       size_t n);
/* The Merkle root, and the cap hash (the root mixed with the Data selector 2). */
JAVM_API javm_status javm_datacap_root(const javm_datacap *d, uint8_t out[JAVM_HASH_SIZE]);
JAVM_API javm_status javm_datacap_cap_hash(const javm_datacap *d, uint8_t out[JAVM_HASH_SIZE]);
/* The SSZ PageSlot of page `index` into buf (cap bytes; JAVM_PAGESLOT_SSZ_MAX always suffice);
 * *len receives its length (1, 4133 or 33). */
JAVM_API javm_status javm_datacap_page_encode(const javm_datacap *d, uint64_t index, uint8_t *buf,
                                              size_t cap, size_t *len);
/* Decodes exactly one SSZ PageSlot (buf[0..len)) into page `index`. A Loaded page's hash is
 * recomputed and must match (JAVM_ERR_HASH_MISMATCH) unless trusted is nonzero; an all-zero
 * Loaded page is stored as Empty. Malformed input: JAVM_ERR_BAD_SSZ naming the byte offset. */
JAVM_API javm_status javm_datacap_page_decode(javm_datacap *d, uint64_t index, const uint8_t *buf,
                                              size_t len, int trusted);
/* PageBytes of content[0..len) zero-padded (len <= 4096), hash computed. */
JAVM_API javm_status javm_pagebytes_encode(const void *content, size_t len,
                                           uint8_t out[JAVM_PAGEBYTES_SSZ_SIZE]);
/* Decodes exactly JAVM_PAGEBYTES_SSZ_SIZE bytes; the hash is verified against the bytes. */
JAVM_API javm_status javm_pagebytes_decode(const uint8_t *buf, size_t len,
                                           uint8_t content[JAVM_PAGE_SIZE],
                                           uint8_t hash[JAVM_HASH_SIZE]);


/* ---- Images (the javm profile; docs/IMAGE.md) ----------------------------------------------
 * An Image is a GP program blob (placed read-only at JAVM_IMAGE_CODE_BASE), memory mappings
 * {start, size, source slot} at or above JAVM_IMAGE_DATA_BASE, pinned slots (read-only forever)
 * and initial slots (copied on write, honoured for a root instance), each a DataCap under a u32
 * key, and endpoints (key -> entry pc, number of argument registers, 13 initial registers, the
 * stack top in φ1). Build one with javm_image_new + add calls (keys and starts ascending) +
 * javm_image_seal, or decode one; either way it is fully validated (JAVM_ERR_BAD_IMAGE naming
 * the field) and immutable afterwards, shareable by any number of instances on any threads. It
 * must outlive them. Mapping kinds follow from javm_image_mapping_is_pinned alone. */
typedef struct javm_image javm_image;
#define JAVM_IMAGE_CODE_BASE 0x00400000u
#define JAVM_IMAGE_DATA_BASE 0x10000000u

/* opts: the code's dialect and gas model (NULL = gp07, gp07), recorded in the Image. Its other
 * fields do not apply: Image code always has ecall blocks (every ecalli its own block, as the
 * Image personality requires; docs/IMAGE.md) whatever opts->ecall_blocks says, and
 * opts->compile_jit is not read (a jit instance compiles the code on first use). */
JAVM_API javm_status javm_image_new(const uint8_t *blob, size_t len, const javm_load_options *opts,
                                    javm_image **out);
/* source: a slot path of source_len (0 = no source: zeros; 1 = a slot key) steps. */
JAVM_API javm_status javm_image_add_mapping(javm_image *img, uint32_t start, uint64_t size,
                                            const uint32_t *source, unsigned source_len);
JAVM_API javm_status javm_image_add_slot(javm_image *img, int pinned, uint32_t key,
                                         const javm_datacap *d); /* d is cloned */
/* regs may be NULL (all zero). */
JAVM_API javm_status javm_image_add_endpoint(javm_image *img, uint32_t key, uint32_t entry_pc,
                                             unsigned arg_registers,
                                             const uint64_t regs[JAVM_NUM_REGS]);
JAVM_API javm_status javm_image_seal(javm_image *img);
JAVM_API javm_status javm_image_decode(const uint8_t *bytes, size_t len, javm_image **out);
/* The SSZ encoding into buf (cap bytes); *len receives its length. With buf NULL (or too small:
 * JAVM_ERR_INVALID_ARGUMENT) only *len is set. */
JAVM_API javm_status javm_image_encode(const javm_image *img, uint8_t *buf, size_t cap,
                                       size_t *len);
JAVM_API javm_status javm_image_content_hash(const javm_image *img, uint8_t out[JAVM_HASH_SIZE]);
JAVM_API int javm_image_mapping_is_pinned(const javm_image *img, uint32_t start);
/* MGMT_OP_COST is not included: a CALL's gate is 100 + this. */
JAVM_API uint64_t javm_image_call_frame_cost(const javm_image *img);
JAVM_API void javm_image_free(javm_image *img);

/* ---- Instances of Images, frames, CALL ------------------------------------------------------
 * An image instance is a javm instance (any engine, category-#3 gas always on) whose memory is
 * built from the Image (code, and each mapping from its source; shared, not copied), plus a
 * slot table (key -> DataCap or image instance) and a stack of frames. The host invokes an
 * endpoint with javm_image_call (a top-level invocation: no call_frame_cost) and resumes after
 * host calls and out-of-gas with javm_image_resume. Guests use ecalli:
 *   0        REPLY: end the frame like a halt (flush, return to the caller)
 *   1 COPY   φ7 = source slot, φ8 = destination slot (the cap is shared)
 *   2 MOVE   φ7 = source slot, φ8 = destination slot (the source becomes empty)
 *   3 DROP   φ7 = slot
 *   26 CALL  φ7 = slot holding an image instance, φ8 = endpoint key; the callee's φ7..φ10 get the
 *            caller's φ9..φ12 (as many as the endpoint declares); gate and charge
 *            MGMT_OP_COST + call_frame_cost(callee) before anything moves
 *   16-63 and 64+ (other than 26): host calls, gated at HOST_CALL_FLOOR (100) and charged it,
 *            reported to the host as JAVM_EXIT_HOST_CALL.
 * Management ops cost MGMT_OP_COST (100) plus PAGE_IN_COST per 2 MiB of a cap mapped into a
 * read-write mapping's slot (which evicts and re-sources that mapping). Results: φ7 = a
 * javm_image_result for management ops; after a CALL, φ7 = the callee's φ7 and φ8 = a
 * javm_image_result. A gate that fails leaves everything as it was and exits out-of-gas at the
 * ecalli (resuming after a top-up retries the whole operation). A halt (or REPLY) flushes each
 * read-write mapping into its slot (a new canonical DataCap); a panic or page fault in a callee
 * marks it faulted (CALLs to it fail) and returns to the caller. Gas is one budget: a callee
 * runs on what its caller has left. The registers, gas and memory calls below act on the
 * innermost running frame of the call stack started at the given instance. */
typedef struct javm_image_instance javm_image_instance;
typedef enum javm_image_result {
    JAVM_IMAGE_OK = 0,
    JAVM_IMAGE_CALLEE_PANIC = 1,      /* the callee panicked (it is now faulted) */
    JAVM_IMAGE_CALLEE_FAULT = 3,      /* the callee took a page fault (it is now faulted) */
    JAVM_IMAGE_NO_SLOT = 16,          /* the slot is empty or holds the wrong kind of cap */
    JAVM_IMAGE_NO_ENDPOINT = 17,      /* the callee's Image has no such endpoint */
    JAVM_IMAGE_BUSY = 18,             /* the instance is already on the call stack */
    JAVM_IMAGE_FAULTED = 19,          /* the callee faulted earlier */
    JAVM_IMAGE_PINNED = 20,           /* a pinned slot cannot change */
    JAVM_IMAGE_TOO_LARGE = 21,        /* the cap is larger than the mapping of its new slot */
    JAVM_IMAGE_UNSUPPORTED = 22,      /* a management op this implementation does not have */
} javm_image_result;
enum { JAVM_IMAGE_ROOT = 1 }; /* flags: honour the Image's initial slots (a root instance) */

JAVM_API javm_status javm_image_instance_new(const javm_image *img, const javm_config *cfg,
                                             unsigned flags, javm_image_instance **out);
/* Free children (instances placed in slots) after their parents' last use. */
JAVM_API void javm_image_instance_free(javm_image_instance *inst);
/* Place an image instance (borrowed: it must outlive inst's use of it) or a DataCap (cloned) in
 * slot key, replacing what was there. Not a pinned key, not a mapped key, not while running. */
JAVM_API javm_status javm_image_instance_set_child(javm_image_instance *inst, uint32_t key,
                                                   javm_image_instance *child);
JAVM_API javm_status javm_image_instance_set_slot(javm_image_instance *inst, uint32_t key,
                                                  const javm_datacap *d);
/* A clone of the DataCap in slot key (JAVM_ERR_INVALID_ARGUMENT if it holds none). */
JAVM_API javm_status javm_image_instance_slot(const javm_image_instance *inst, uint32_t key,
                                              javm_datacap **out);
/* Top-level invocation of endpoint key with the given gas (not running). */
JAVM_API javm_status javm_image_call(javm_image_instance *inst, uint32_t endpoint, int64_t gas,
                                     javm_exit_info *exit);
/* Continue after a HOST_CALL or OUT_OF_GAS exit. */
JAVM_API javm_status javm_image_resume(javm_image_instance *inst, javm_exit_info *exit);
JAVM_API int64_t javm_image_gas_get(const javm_image_instance *inst);
JAVM_API void javm_image_gas_set(javm_image_instance *inst, int64_t gas);
JAVM_API javm_status javm_image_reg_get(const javm_image_instance *inst, unsigned i,
                                        uint64_t *out);
JAVM_API javm_status javm_image_reg_set(javm_image_instance *inst, unsigned i, uint64_t v);
JAVM_API javm_status javm_image_mem_read(const javm_image_instance *inst, uint32_t addr,
                                         void *dst, size_t n);
/* A kernel-authored write into guest memory: COW_COST for every page it dirties that the frame
 * has not written yet, charged (all or nothing: JAVM_ERR_LIMIT if gas is short) before any byte
 * moves; pinned pages and code refuse it (JAVM_ERR_STATE). */
JAVM_API javm_status javm_image_mem_write(javm_image_instance *inst, uint32_t addr,
                                          const void *src, size_t n);
/* Counters of this instance over all its frames (javm_stats; mat_gas is the #3 gas). */
JAVM_API javm_status javm_image_stats(const javm_image_instance *inst, javm_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* JAVM_H */
