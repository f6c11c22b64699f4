/* The gp08 gas model's costs, in one run (ratios):
 *   1. computing block costs at load: a generated 2 MiB program of about 35k blocks, loaded with
 *      the gp07 model (instruction counts) and the gp08 model (the pipeline simulation); the
 *      difference is the time of the simulation, and `javm gas` needs load + listing;
 *   2. execution speed under gp08 (dialect and model) against gp07 on the bench workloads
 *      (bench/workloads/NAME.s) on every available engine: the costs live in the GAS ops, so the
 *      ratio should be 1 within noise;
 *   3. load memory: the peak resident memory added by loading a program of 9.4 MB of traps (the
 *      worst case: every byte an instruction and a block) and the generated program, per input
 *      byte. Runs first, before the other parts raise the process's peak. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "javm.h"
#include "pvm/asm.h"
#include "pvm/pvm.h"
#include "bench.h"

#define REPS 5

static uint64_t g_rng = 0x6761732d62656e63ull;
static uint64_t rnd(void) {
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A program of about `bytes` code bytes in gp08: blocks of 1..40 random non-terminator
 * instructions (every class, small immediates), each ended by a branch back to an earlier
 * block, a jump, a fallthrough or a trap. */
static uint8_t *gen_program(size_t bytes, size_t *out_len, uint32_t *nblocks) {
    uint8_t *code = malloc(bytes + 64), *mask = calloc(bytes / 8 + 16, 1);
    uint32_t *starts = malloc((bytes / 2 + 1) * sizeof *starts);
    unsigned body[JV_PVM_NUM_OPCODES], nbody = 0;
    for (unsigned i = 0; i < JV_PVM_NUM_OPCODES; i++) {
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of_iop(i);
        if (o->bytes[JAVM_ISA_GP08] >= 0 && !(o->flags & JV_OP_TERM) && i != JV_I_ecalli)
            body[nbody++] = i;
    }
    const unsigned ends[] = {JV_I_branch_eq_imm, JV_I_branch_ne, JV_I_branch_lt_u_imm, JV_I_jump,
                             JV_I_fallthrough, JV_I_trap, JV_I_branch_ge_s};
    size_t pc = 0;
    uint32_t nb = 0;
    while (pc + 64 < bytes) {
        starts[nb++] = (uint32_t)pc;
        unsigned k = 1 + (unsigned)(rnd() % 40);
        for (unsigned j = 0; j <= k; j++) {
            unsigned iop = j < k ? body[rnd() % nbody] : ends[rnd() % 7];
            jv_asm_insn in;
            memset(&in, 0, sizeof in);
            in.isa = JAVM_ISA_GP08;
            in.opcode = (uint8_t)jv_pvm_byte_of_iop(JAVM_ISA_GP08, iop);
            in.ra = (uint8_t)(rnd() % 13);
            in.rb = (uint8_t)(rnd() % 13);
            in.rd = (uint8_t)(rnd() % 13);
            in.x = rnd() % 300;
            in.y = rnd() % 300;
            in.lx = in.ly = -1;
            in.target = starts[rnd() % nb];
            size_t n = jv_asm_insn_encode(&in, (uint32_t)pc, code + pc, NULL);
            if (!n) { /* an operand that does not fit: a plain fallthrough instead */
                code[pc] = 1;
                n = 1;
            }
            mask[pc / 8] |= (uint8_t)(1u << (pc % 8));
            pc += n;
        }
    }
    uint8_t *blob = jv_pvm_blob_encode(NULL, 0, 0, code, (uint32_t)pc, mask, out_len);
    free(code);
    free(mask);
    free(starts);
    *nblocks = nb;
    return blob;
}

static double load_ms(const uint8_t *blob, size_t len, javm_isa isa, javm_gas_model gas,
                      uint32_t *blocks) {
    javm_load_options o;
    javm_load_options_init(&o);
    o.isa = isa;
    o.gas_model = gas;
    double r[REPS];
    for (int k = 0; k < REPS; k++) {
        javm_program *p = NULL;
        double t0 = now_ns();
        if (javm_program_load_ex(blob, len, &o, &p) != JAVM_OK) {
            fprintf(stderr, "bench: load: %s\n", javm_last_error());
            exit(1);
        }
        r[k] = (now_ns() - t0) / 1e6;
        if (blocks) *blocks = javm_program_block_count(p);
        javm_program_free(p);
    }
    return median(r, REPS);
}

/* ---- 2. workloads --------------------------------------------------------------------------- */
static double run_ms(const javm_program *p, javm_engine e, uint64_t maddr, uint64_t mlen,
                     uint64_t *r7) {
    javm_instance *vm = bench_new_instance(p, e, (uint32_t)maddr, mlen, "workload");
    double t = bench_run_to_halt(vm, e, "workload") / 1e6;
    (void)javm_reg_get(vm, 7, r7);
    javm_instance_free(vm);
    return t;
}

static long status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n)) v = strtol(line + n, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* The peak RSS added while loading blob (KiB), or -1 if /proc is unavailable; *held = the bytes
 * the loaded program holds (jv_pvm_program_bytes, deterministic). */
static long load_peak_kib(const uint8_t *blob, size_t len, javm_gas_model gas, size_t *held) {
    FILE *cr = fopen("/proc/self/clear_refs", "w"); /* "5" resets the peak (VmHWM) to now */
    if (cr) {
        fputs("5", cr);
        fclose(cr);
    }
    long before = status_kib("VmRSS:");
    javm_load_options o;
    javm_load_options_init(&o);
    o.isa = JAVM_ISA_GP08;
    o.gas_model = gas;
    javm_program *p = NULL;
    if (javm_program_load_ex(blob, len, &o, &p) != JAVM_OK) {
        fprintf(stderr, "bench: load: %s\n", javm_last_error());
        exit(1);
    }
    long peak = status_kib("VmHWM:");
    if (held) *held = jv_pvm_program_bytes(p);
    javm_program_free(p);
#ifdef __GLIBC__
    malloc_trim(0); /* give the freed pages back, so the next load's peak counts its own */
#endif
    return before < 0 || peak < 0 ? -1 : peak - before;
}

int main(void) {
    printf("bench_gas: the gp08 gas model at load and at run time (ratios from one run)\n\n");
    size_t len = 0;
    uint32_t gen_blocks = 0, blocks = 0;
    uint8_t *blob = gen_program(2u << 20, &len, &gen_blocks);
    /* 3, first: the process's peak is still low */
    {
        size_t tn = 9400000, tl = 0;
        uint8_t *code = calloc(tn, 1), *mask = malloc(tn / 8 + 1);
        memset(mask, 0xFF, tn / 8 + 1);
        if (tn % 8) mask[tn / 8] = (uint8_t)((1u << (tn % 8)) - 1);
        uint8_t *traps = jv_pvm_blob_encode(NULL, 0, 0, code, (uint32_t)tn, mask, &tl);
        free(code);
        free(mask);
        size_t ht = 0, hg = 0;
        long kt = load_peak_kib(traps, tl, JAVM_GAS_GP08, &ht);
        long kg = load_peak_kib(blob, len, JAVM_GAS_GP08, &hg);
        printf("load memory per input byte: peak resident memory added by loading; the bytes "
               "the program holds\n");
        printf("  %-34s %8zu bytes  %8.1f MiB  %6.1fx   held %6.1fx\n",
               "9.4 MB of traps (worst case)", tl, kt / 1024.0, kt * 1024.0 / (double)tl,
               (double)ht / (double)tl);
        printf("  %-34s %8zu bytes  %8.1f MiB  %6.1fx   held %6.1fx\n\n",
               "the generated program", len, kg / 1024.0, kg * 1024.0 / (double)len,
               (double)hg / (double)len);
        free(traps);
        fflush(stdout);
    }
    /* 1 */
    double t7 = load_ms(blob, len, JAVM_ISA_GP08, JAVM_GAS_GP07, NULL);
    double t8 = load_ms(blob, len, JAVM_ISA_GP08, JAVM_GAS_GP08, &blocks);
    printf("block costs of a generated program: %zu bytes, %u blocks (median of %d loads)\n", len,
           blocks, REPS);
    printf("  load, gp07 model (instruction counts)   %8.1f ms\n", t7);
    printf("  load, gp08 model (pipeline simulation)  %8.1f ms   = %.2fx gp07\n", t8, t8 / t7);
    printf("  the simulation alone                    %8.1f ms   = %.2f us per block\n\n",
           t8 - t7, (t8 - t7) * 1e3 / blocks);

    /* 2 */
    static const char *const names[] = {"compute", "memory", "branchy", "calls"};
    static const char *const engine_names[] = {"soft", "paged", "jit"};
    printf("execution, gp08 (dialect + model) vs gp07, best of 3 runs, ms\n");
    printf("  %-9s %-6s %9s %9s %8s\n", "workload", "engine", "gp07", "gp08", "gp08/gp07");
    double logsum = 0;
    int counted = 0, bad = 0;
    for (unsigned w = 0; w < 4; w++) {
        char path[256];
        snprintf(path, sizeof path, "bench/workloads/%s.s", names[w]);
        char *src = bench_read_file(path);
        if (!src) return 1;
        unsigned long long maddr = 0, mlen = 0;
        const char *m = strstr(src, "bench-map:");
        if (m) sscanf(m + 10, " %llx:%llx", &maddr, &mlen);
        javm_program *p[2] = {NULL, NULL};
        for (int d = 0; d < 2; d++) {
            uint8_t *b = NULL;
            size_t bl = 0;
            javm_load_options o;
            javm_load_options_init(&o);
            o.isa = d ? JAVM_ISA_GP08 : JAVM_ISA_GP07;
            o.gas_model = d ? JAVM_GAS_GP08 : JAVM_GAS_GP07;
            if (jv_asm_assemble_isa(o.isa, src, strlen(src), &b, &bl, NULL) != JAVM_OK ||
                javm_program_load_ex(b, bl, &o, &p[d]) != JAVM_OK) {
                fprintf(stderr, "bench: %s: %s\n", path, javm_last_error());
                return 1;
            }
            free(b);
        }
        for (unsigned e = 0; e < 3; e++) {
            javm_engine eng;
            if (javm_engine_parse(engine_names[e], &eng) != JAVM_OK || !javm_engine_available(eng))
                continue;
            double best[2] = {1e300, 1e300};
            uint64_t r7[2] = {0, 0};
            for (int rep = 0; rep < 3; rep++)
                for (int d = 0; d < 2; d++) {
                    double t = run_ms(p[d], eng, maddr, mlen, &r7[d]);
                    if (t < best[d]) best[d] = t;
                }
            if (r7[0] != r7[1]) bad = 1;
            printf("  %-9s %-6s %9.1f %9.1f %8.2f\n", names[w], engine_names[e], best[0], best[1],
                   best[1] / best[0]);
            if (e == 0) {
                logsum += __builtin_log(best[1] / best[0]);
                counted++;
            }
        }
        javm_program_free(p[0]);
        javm_program_free(p[1]);
        free(src);
    }
    printf("  geomean gp08/gp07 (soft engine): %.3f\n", __builtin_exp(logsum / counted));
    printf("  results: %s\n\n", bad ? "MISMATCH between gp07 and gp08" : "equal in both dialects");
    free(blob);
    return bad;
}
