/* javm run — run a program (raw blob, standard container or conformance-vector JSON) and report
 * its exit, registers, gas, instruction count and speed; --json prints one exact JSON object,
 * --trace one line per instruction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "api/api.h"
#include "cli/cli.h"
#include "cli/tool.h"
#include "javm.h"
#include "vector/vector.h"

#define DEFAULT_GAS 10000000000ll

static const char usage_text[] =
    "usage: javm run [options] FILE\n"
    "\n"
    "Runs FILE until it exits (halt, panic, page fault, out of gas, or a host call, which stops\n"
    "the run and is reported with the id and the argument registers r7..r12 the host reads).\n"
    "FILE is a raw program blob, a standard program container or service blob (--spi), or a\n"
    "vector JSON in any format of docs/VECTORS.md (v0.4, steps, v0.5): its steps up to the first\n"
    "run set the initial state (an initial state alone, without expected-* fields, is enough),\n"
    "the options below override it, and a steps file's later steps and runs follow; asserts\n"
    "are not checked (javm test does). FILE may be - for standard input; input files are\n"
    "regular files of at most 128 MiB.\n"
    "Prints the exit, pc, gas used and left, registers, instructions executed, wall time and\n"
    "instructions per second (of the last run).\n"
    "\n"
    "options:\n"
    "  --spi               FILE is a standard program container (memory laid out, r0/r1/r7/r8 set)\n"
    "                      or a JAM service blob: the container behind E(|m|) ++ metadata m\n"
    "  --args HEX          the container's argument bytes, in hex (with --spi)\n"
    "  --gas N             initial gas (default: the vector's, else 10000000000)\n"
    "  --pc N              initial pc (default: the vector's, else 0)\n"
    "  --reg I=V           set register I (0..12) to V before the run; repeatable\n"
    "  --map ADDR:LEN:r|rw map LEN bytes at ADDR (page-aligned) read-only or read-write, zeroed;\n"
    "                      repeatable\n"
    "  --engine NAME       soft (default), paged or jit\n"
    "  --isa gp07|gp08     the instruction-set dialect (default gp07; docs/ISA.md)\n"
    "  --gas-model gp07|gp08  block costs: instruction counts (gp07, default) or the GP 0.8\n"
    "                      pipeline model (docs/GAS.md)\n"
    "  --mat               charge category-#3 materialization gas (copy-on-write per first write)\n"
    "  --cow-cost N        the #3 cost of one copy-on-write (default 256)\n"
    "  --trace             one line per instruction: pc, instruction, gas, changed registers\n"
    "                      (on stdout; on stderr with --json); bound long runs with --gas\n"
    "  --json              print one JSON object: status, pc, gas, gas_used, fault_address or\n"
    "                      host_call, next_pc and host_args (r7..r12), regs, instructions,\n"
    "                      wall_ns, memory (every mapped non-zero page, once, as {address,\n"
    "                      contents hex}), engine, stats\n"
    "  -h, --help          show this help\n"
    "\n"
    "Numbers are decimal, 0x-hex or 0b-binary; '_' separates digits; -N is two's complement.\n"
    "Exit status: 0 the program halted, 1 any other exit or an error, 2 usage error.\n";

/* ---- Trace -------------------------------------------------------------------------------- */

typedef struct tracer {
    FILE *out;
    const javm_program *prog;
    uint64_t regs[JAVM_NUM_REGS];
    int pending;
    uint32_t pc;
    int64_t gas;
    char text[160];
} tracer;

static void trace_flush(tracer *t, const javm_instance *vm) {
    if (!t->pending) return;
    fprintf(t->out, "%8u  %-40s gas %lld", t->pc, t->text, (long long)t->gas);
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) {
        uint64_t v = 0;
        (void)javm_reg_get(vm, i, &v); /* i < JAVM_NUM_REGS */
        if (v != t->regs[i]) fprintf(t->out, "  r%u=0x%llx", i, (unsigned long long)v);
        t->regs[i] = v;
    }
    fputc('\n', t->out);
    t->pending = 0;
}

static void trace_fn(void *user, const javm_instance *vm, uint32_t pc) {
    tracer *t = user;
    trace_flush(t, vm);
    if (!javm_program_disasm(t->prog, pc, t->text, sizeof t->text))
        snprintf(t->text, sizeof t->text, pc == javm_program_code_size(t->prog) ? "trap (end of code)" : "trap (not an instruction)");
    t->pc = pc;
    t->gas = javm_gas_get(vm);
    t->pending = 1;
}

/* ---- Output ------------------------------------------------------------------------------- */

typedef struct outcome {
    javm_exit_info exit;
    int64_t gas0;
    double seconds;
    const char *engine;
    javm_stats stats;
} outcome;

static const char hexd[] = "0123456789abcdef";

/* The stats object: one field per javm_stats counter. */
static json_object *stats_json(const javm_stats *s) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "first_touch_faults", json_object_new_uint64(s->first_touch_faults));
    json_object_object_add(o, "cow_pages", json_object_new_uint64(s->cow_pages));
    json_object_object_add(o, "ro_units", json_object_new_uint64(s->ro_units));
    json_object_object_add(o, "mat_gas", json_object_new_uint64(s->mat_gas));
    return o;
}

/* One {address, contents hex} entry per non-zero page (jv_vec_pages calls it in address order). */
static void page_add(void *user, uint32_t pg, const uint8_t *page) {
    static char hex[8193];
    for (size_t i = 0; i < 4096; i++) {
        hex[2 * i] = hexd[page[i] >> 4];
        hex[2 * i + 1] = hexd[page[i] & 15];
    }
    hex[8192] = 0;
    json_object *e = json_object_new_object();
    json_object_object_add(e, "address", json_object_new_uint64(pg));
    json_object_object_add(e, "contents", json_object_new_string(hex));
    json_object_array_add(user, e);
}

/* The registers a host reads for a host call: its arguments, φ7..φ12 (docs/VECTORS.md). */
#define HOST_ARG_FIRST 7
#define HOST_ARG_LAST 12

static void print_json(const outcome *o, const javm_instance *vm, const uint64_t *regs, int64_t gas) {
    json_object *root = json_object_new_object();
    json_object_object_add(root, "status", json_object_new_string(javm_exit_str(o->exit.kind)));
    json_object_object_add(root, "pc", json_object_new_uint64(o->exit.pc));
    json_object_object_add(root, "gas", json_object_new_int64(gas));
    json_object_object_add(root, "gas_used", json_object_new_int64(o->gas0 - gas));
    if (o->exit.kind == JAVM_EXIT_PAGE_FAULT)
        json_object_object_add(root, "fault_address", json_object_new_uint64(o->exit.arg));
    if (o->exit.kind == JAVM_EXIT_HOST_CALL) {
        json_object_object_add(root, "host_call", json_object_new_uint64(o->exit.arg));
        json_object_object_add(root, "next_pc", json_object_new_uint64(o->exit.next_pc));
        json_object *args = json_object_new_array();
        for (unsigned i = HOST_ARG_FIRST; i <= HOST_ARG_LAST; i++)
            json_object_array_add(args, json_object_new_uint64(regs[i]));
        json_object_object_add(root, "host_args", args);
    }
    json_object *r = json_object_new_array();
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) json_object_array_add(r, json_object_new_uint64(regs[i]));
    json_object_object_add(root, "regs", r);
    json_object_object_add(root, "instructions", json_object_new_uint64(o->stats.instructions));
    json_object_object_add(root, "wall_ns", json_object_new_uint64((uint64_t)(o->seconds * 1e9)));
    json_object *mem = json_object_new_array();
    jv_vec_pages(vm, page_add, mem);
    json_object_object_add(root, "memory", mem);
    json_object_object_add(root, "engine", json_object_new_string(o->engine));
    json_object_object_add(root, "stats", stats_json(&o->stats));
    puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
}

static void print_human(const outcome *o, const uint64_t *regs, int64_t gas) {
    printf("exit:         %s", javm_exit_str(o->exit.kind));
    if (o->exit.kind == JAVM_EXIT_PAGE_FAULT) printf(" at address 0x%llx", (unsigned long long)o->exit.arg);
    if (o->exit.kind == JAVM_EXIT_HOST_CALL)
        printf(" %llu (resumes at pc %u)", (unsigned long long)o->exit.arg, o->exit.next_pc);
    printf("\npc:           %u\n", o->exit.pc);
    if (o->exit.kind == JAVM_EXIT_HOST_CALL) {
        printf("host call:    id %llu; the host reads its arguments in", (unsigned long long)o->exit.arg);
        for (unsigned i = HOST_ARG_FIRST; i <= HOST_ARG_LAST; i++)
            printf(" r%u=0x%llx", i, (unsigned long long)regs[i]);
        printf("\n");
    }
    printf("gas:          %lld used, %lld left\n", (long long)(o->gas0 - gas), (long long)gas);
    printf("instructions: %llu\n", (unsigned long long)o->stats.instructions);
    double ips = o->seconds > 0 ? (double)o->stats.instructions / o->seconds : 0;
    printf("wall time:    %.6f s\n", o->seconds);
    if (ips >= 1e6) printf("speed:        %.1f million instructions/s\n", ips / 1e6);
    else printf("speed:        %.0f instructions/s\n", ips);
    printf("engine:       %s\n", o->engine);
    printf("memory:       %llu first touches, %llu copy-on-write pages, %llu read-only units, "
           "%llu #3 gas\n",
           (unsigned long long)o->stats.first_touch_faults, (unsigned long long)o->stats.cow_pages,
           (unsigned long long)o->stats.ro_units, (unsigned long long)o->stats.mat_gas);
    printf("registers:\n");
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++)
        printf("  r%-2u = 0x%016llx  %llu\n", i, (unsigned long long)regs[i], (unsigned long long)regs[i]);
}

/* ---- Options ------------------------------------------------------------------------------ */

#define MAX_SETS 64

typedef struct options {
    const char *file;
    int spi, json, trace, mat;
    const char *args_hex, *engine;
    javm_load_options load; /* --isa, --gas-model */
    int have_gas, have_pc, have_cow;
    uint64_t gas, pc, cow;
    unsigned nreg, nmap;
    struct {
        unsigned i;
        uint64_t v;
    } regs[MAX_SETS];
    struct {
        uint64_t addr, len;
        javm_access access;
        const char *text;
    } maps[MAX_SETS];
} options;

static int need_arg(int argc, char **argv, int *i, const char **val) {
    const char *a = argv[*i];
    const char *eq = strchr(a, '=');
    if (!strncmp(a, "--", 2) && eq && strncmp(a, "--reg", 5) != 0) {
        *val = eq + 1;
        return 0;
    }
    if (!strncmp(a, "--reg=", 6)) {
        *val = a + 6;
        return 0;
    }
    if (*i + 1 >= argc) return jv_cli_usage("run", "%s needs a value", a);
    *val = argv[++*i];
    return 0;
}

static int opt_is(const char *a, const char *name) {
    size_t n = strlen(name);
    return !strncmp(a, name, n) && (a[n] == 0 || a[n] == '=');
}

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    javm_load_options_init(&o->load);
    for (int i = 1, r; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 1;
        } else if (!strcmp(a, "--spi")) {
            o->spi = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--trace")) {
            o->trace = 1;
        } else if (!strcmp(a, "--mat")) {
            o->mat = 1;
        } else if ((r = jv_cli_isa_option("run", argc, argv, &i, &o->load.isa, &o->load.gas_model))) {
            if (r != 1) return r;
        } else if (opt_is(a, "--args")) {
            if (need_arg(argc, argv, &i, &v)) return 2;
            o->args_hex = v;
        } else if (opt_is(a, "--engine")) {
            if (need_arg(argc, argv, &i, &v)) return 2;
            o->engine = v;
        } else if (opt_is(a, "--gas")) {
            if (need_arg(argc, argv, &i, &v)) return 2;
            if (jv_cli_parse_uint(v, INT64_MAX, &o->gas))
                return jv_cli_usage("run", "bad number '%s' for --gas (0 .. 2^63-1)", v);
            o->have_gas = 1;
        } else if (opt_is(a, "--pc")) {
            if (need_arg(argc, argv, &i, &v)) return 2;
            if (jv_cli_parse_u64(v, &o->pc) || o->pc > 0xFFFFFFFFu)
                return jv_cli_usage("run", "bad number '%s' for --pc (0 .. 2^32-1)", v);
            o->have_pc = 1;
        } else if (opt_is(a, "--cow-cost")) {
            if (need_arg(argc, argv, &i, &v)) return 2;
            if (jv_cli_parse_uint(v, JAVM_MAX_COW_COST, &o->cow))
                return jv_cli_usage("run", "bad number '%s' for --cow-cost (0 to 2^40)", v);
            o->have_cow = 1;
        } else if (opt_is(a, "--reg")) {
            if (need_arg(argc, argv, &i, &v)) return 2;
            const char *eq = strchr(v, '=');
            char idx[16];
            uint64_t ri, rv;
            const char *num = v[0] == 'r' ? v + 1 : v;
            if (!eq || eq - num <= 0 || (size_t)(eq - num) >= sizeof idx)
                return jv_cli_usage("run", "bad --reg '%s' (expected I=V, e.g. 7=0x10)", v);
            memcpy(idx, num, (size_t)(eq - num));
            idx[eq - num] = 0;
            if (jv_cli_parse_u64(idx, &ri) || ri >= JAVM_NUM_REGS)
                return jv_cli_usage("run", "bad register '%s' in --reg (0..12)", idx);
            if (jv_cli_parse_u64(eq + 1, &rv)) return jv_cli_usage("run", "bad number '%s' in --reg", eq + 1);
            if (o->nreg >= MAX_SETS) return jv_cli_usage("run", "too many --reg options");
            o->regs[o->nreg].i = (unsigned)ri;
            o->regs[o->nreg++].v = rv;
        } else if (opt_is(a, "--map")) {
            if (need_arg(argc, argv, &i, &v)) return 2;
            char buf[128];
            if (strlen(v) >= sizeof buf) return jv_cli_usage("run", "bad --map '%s'", v);
            strcpy(buf, v);
            char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c1 || !c2) return jv_cli_usage("run", "bad --map '%s' (expected ADDR:LEN:r|rw)", v);
            *c1 = *c2 = 0;
            if (o->nmap >= MAX_SETS) return jv_cli_usage("run", "too many --map options");
            uint64_t ad, ln;
            if (jv_cli_parse_uint(buf, UINT32_MAX, &ad))
                return jv_cli_usage("run", "bad address '%s' in --map", buf);
            if (jv_cli_parse_uint(c1 + 1, 1ull << 32, &ln))
                return jv_cli_usage("run", "bad length '%s' in --map", c1 + 1);
            javm_access acc;
            if (!strcmp(c2 + 1, "r") || !strcmp(c2 + 1, "ro")) acc = JAVM_ACCESS_RO;
            else if (!strcmp(c2 + 1, "rw")) acc = JAVM_ACCESS_RW;
            else return jv_cli_usage("run", "bad access '%s' in --map (r or rw)", c2 + 1);
            o->maps[o->nmap].addr = ad;
            o->maps[o->nmap].len = ln;
            o->maps[o->nmap].access = acc;
            o->maps[o->nmap++].text = v;
        } else if (a[0] == '-' && a[1]) {
            return jv_cli_usage("run", "unknown option '%s' (try `javm run --help`)", a);
        } else if (o->file) {
            return jv_cli_usage("run", "more than one program file ('%s' and '%s')", o->file, a);
        } else {
            o->file = a;
        }
    }
    if (!o->file) return jv_cli_usage("run", "no program file (try `javm run --help`)");
    if (o->args_hex && !o->spi) return jv_cli_usage("run", "--args needs --spi");
    return 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int jv_cli_run(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;

    javm_config cfg;
    javm_config_init(&cfg);
    if (o.engine) {
        if (javm_engine_parse(o.engine, &cfg.engine) != JAVM_OK)
            return jv_cli_usage("run", "unknown engine '%s' (soft, paged or jit)", o.engine);
        if (!javm_engine_available(cfg.engine))
            return jv_cli_usage("run", "engine '%s' is not available on this system", o.engine);
        if (o.trace && cfg.engine == JAVM_ENGINE_JIT)
            return jv_cli_usage("run", "--trace is not available with the jit engine");
    }
    cfg.mat = o.mat;
    if (o.have_cow) cfg.cow_cost = o.cow;

    uint8_t *args = NULL;
    size_t args_len = 0;
    if (o.args_hex && jv_cli_parse_hex(o.args_hex, &args, &args_len))
        return jv_cli_usage("run", "bad hex '%s' for --args", o.args_hex);

    size_t len;
    uint8_t *buf = jv_cli_read_file("run", o.file, &len);
    if (!buf) {
        free(args);
        return 2;
    }

    javm_program *prog = NULL;
    javm_instance *vm = NULL;
    jv_vector vec;
    jv_vec_session ses;
    int is_vec = 0, ses_open = 0;
    int64_t gas0 = DEFAULT_GAS;
    javm_status s;
    rc = 1;
    if (!o.spi && jv_vec_is_json(buf, len)) {
        s = jv_vector_parse((const char *)buf, len, o.file, &vec);
        if (s != JAVM_OK) {
            fprintf(stderr, "javm run: %s\n", javm_last_error());
            goto out;
        }
        is_vec = 1;
        /* the vector's steps up to its first run set the initial state; an initial state
         * without expected-* fields (or asserts) is a complete input here */
        bool have_run;
        if ((s = jv_vec_session_start(&ses, &vec, &o.load, &cfg)) == JAVM_OK) {
            ses_open = 1;
            s = jv_vec_session_advance(&ses, &have_run);
        }
        if (s != JAVM_OK) {
            fprintf(stderr, "javm run: %s: %s\n", o.file, javm_last_error());
            goto out;
        }
        vm = ses.vm;
        if (vec.has_initial_gas) gas0 = vec.initial_gas;
    } else {
        const uint8_t *blob = buf, *meta;
        size_t blob_len = len, meta_len;
        jv_pvm_container c;
        if (o.spi) { /* a standard container, or a service blob: metadata, then the container */
            if (jv_cli_spi_parse("run", o.file, buf, len, &c, &meta, &meta_len)) goto out;
            if (meta) {
                blob = meta + meta_len;
                blob_len = len - (size_t)(blob - buf);
            }
        }
        s = o.spi ? javm_program_load_standard_ex(blob, blob_len, &o.load, &prog)
                  : javm_program_load_ex(blob, blob_len, &o.load, &prog);
        if (s == JAVM_OK) s = javm_instance_new(prog, &cfg, &vm);
        if (s == JAVM_OK && o.spi) s = javm_instance_init_standard(vm, args, args_len);
        if (s != JAVM_OK) {
            fprintf(stderr, "javm run: %s: %s: %s\n", o.file, javm_status_str(s), javm_last_error());
            goto out;
        }
    }
    for (unsigned i = 0; i < o.nmap; i++) {
        s = javm_map(vm, (uint32_t)o.maps[i].addr, o.maps[i].len, o.maps[i].access, NULL, 0);
        if (s != JAVM_OK) {
            rc = jv_cli_usage("run", "--map %s: %s (%s)", o.maps[i].text, javm_status_str(s), javm_last_error());
            goto out;
        }
    }
    for (unsigned i = 0; i < o.nreg; i++) javm_reg_set(vm, o.regs[i].i, o.regs[i].v);
    bool unloadable = ses_open && ses.unloadable;
    if (o.have_pc && !unloadable && (s = javm_pc_set(vm, (uint32_t)o.pc)) != JAVM_OK) {
        fprintf(stderr, "javm run: --pc %llu: %s\n", (unsigned long long)o.pc, javm_last_error());
        goto out;
    }
    if (o.have_gas) gas0 = (int64_t)o.gas;
    javm_gas_set(vm, gas0);

    outcome oc;
    memset(&oc, 0, sizeof oc);
    oc.exit.size = sizeof oc.exit;
    oc.stats.size = sizeof oc.stats;
    oc.gas0 = gas0;
    oc.engine = javm_engine_name(cfg.engine);
    if (unloadable) { /* VEC-2: it panics at its initial pc and changes nothing */
        if (!o.json)
            fprintf(stderr, "javm run: %s: the program does not decode (%s); it panics at start\n",
                    o.file, ses.load_error);
        oc.exit.kind = JAVM_EXIT_PANIC;
        oc.exit.pc = o.have_pc ? (uint32_t)o.pc : vec.initial_pc;
    } else {
        tracer tr;
        memset(&tr, 0, sizeof tr);
        if (o.trace) {
            tr.out = o.json ? stderr : stdout;
            tr.prog = ses_open ? ses.prog : prog;
            for (unsigned i = 0; i < JAVM_NUM_REGS; i++) (void)javm_reg_get(vm, i, &tr.regs[i]);
            javm_set_trace(vm, trace_fn, &tr);
        }
        /* a steps vector may run several times (e.g. map more memory after a page fault): its
         * steps between the runs apply, and the outcome is the last run's */
        for (bool again = true; again;) {
            double t0 = now();
            s = javm_run(vm, &oc.exit);
            oc.seconds += now() - t0;
            if (o.trace) trace_flush(&tr, vm);
            if (s != JAVM_OK) {
                fprintf(stderr, "javm run: %s: %s: %s\n", o.file, javm_status_str(s), javm_last_error());
                goto out;
            }
            again = false;
            if (ses_open && (s = jv_vec_session_advance(&ses, &again)) != JAVM_OK) {
                fprintf(stderr, "javm run: %s: %s\n", o.file, javm_last_error());
                goto out;
            }
        }
    }
    javm_stats_get(vm, &oc.stats);
    uint64_t regs[JAVM_NUM_REGS];
    for (unsigned i = 0; i < JAVM_NUM_REGS; i++) (void)javm_reg_get(vm, i, &regs[i]);
    if (o.json) print_json(&oc, vm, regs, javm_gas_get(vm));
    else print_human(&oc, regs, javm_gas_get(vm));
    rc = oc.exit.kind == JAVM_EXIT_HALT ? 0 : 1;
out:
    if (ses_open) {
        jv_vec_session_end(&ses);
    } else {
        if (vm) javm_instance_free(vm);
        if (prog) javm_program_free(prog);
    }
    if (is_vec) jv_vector_free(&vec);
    free(buf);
    free(args);
    fflush(stdout);
    return rc;
}
