/* Fuzz target for the standard-container loader (javm_program_load_standard) and the standard
 * layout (javm_instance_init_standard): load, lay out, run, lay out again (the second layout
 * must start afresh), run again — on the soft, the paged and (where available) the jit engine in
 * lockstep, which must agree on every status, exit and, after each phase, on their whole state
 * (jv_diff_instances with the soft one). Then the instances are freed (their spaces go to the
 * instance pool, API-4) and made again, the jit before the paged one so that it takes the
 * space the paged instance left: laid out and run once more, they must agree again.
 *
 * Input: byte 0 selects the form. One in four inputs is handed to the loader as it is (after
 * byte 0): the parser must refuse bad containers cleanly and whatever loads must run. The others
 * describe a valid container: bytes 1..7 the sizes (read-only and read-write data up to 16 KiB,
 * heap pages, stack, arguments), bytes 8..15 the seed of a program from tests/diff_gen.h, and
 * the rest the data bytes (repeated). Cost: six instances per loaded input; the bounded smoke
 * run of `make test` checks one input in eight. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sample.h"
#include "../tests/diff_gen.h"

static dg_case g_case;

/* [0] soft (the reference), [1] paged, [2] jit; g_n of them run */
static const javm_engine g_engines[3] = {JAVM_ENGINE_SOFT, JAVM_ENGINE_PAGED, JAVM_ENGINE_JIT};
static int g_n, g_who;

static void disagree(const char *what) {
    fprintf(stderr, "fuzz_container: soft and %s disagree: %s\n",
            javm_engine_name(g_engines[g_who]), what);
    abort();
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Builds a container from the input's description (see above); NULL if it cannot. */
static uint8_t *build(const uint8_t *d, size_t size, size_t *out_len, uint8_t *args,
                      size_t *args_len) {
    if (size < 16) return NULL;
    uint32_t o = (d[1] | (uint32_t)(d[2] & 0x3F) << 8), w = (d[3] | (uint32_t)(d[4] & 0x3F) << 8);
    uint32_t z = d[5], s = (uint32_t)d[6] << 8, a = d[7] % 200;
    uint64_t seed = 0;
    for (int i = 8; i < 16; i++) seed = seed << 8 | d[i];
    dg_generate(seed, &g_case);
    uint8_t *code = NULL;
    size_t code_len = 0;
    if (jv_asm_assemble(g_case.src, g_case.len, &code, &code_len) != JAVM_OK) return NULL;
    const uint8_t *fill = d + 16;
    size_t nfill = size - 16;
    size_t n = 11 + (size_t)o + w + 4 + code_len;
    uint8_t *c = malloc(n);
    if (!c) abort();
    put_le(c, o, 3);
    put_le(c + 3, w, 3);
    put_le(c + 6, z, 2);
    put_le(c + 8, s, 3);
    size_t k = 11;
    for (uint32_t i = 0; i < o + w; i++) c[k++] = nfill ? fill[i % nfill] : (uint8_t)i;
    put_le(c + k, code_len, 4);
    memcpy(c + k + 4, code, code_len);
    free(code);
    for (uint32_t i = 0; i < a; i++) args[i] = nfill ? fill[(i * 7) % nfill] : (uint8_t)i;
    *args_len = a;
    *out_len = n;
    return c;
}

static void same_traces(const dg_trace *a, const dg_trace *b, const char *phase) {
    char why[128];
    if (a->last != b->last || a->n != b->n) {
        snprintf(why, sizeof why, "%s: %u exits (%s) vs %u (%s)", phase, a->n,
                 javm_status_str(a->last), b->n, javm_status_str(b->last));
        disagree(why);
    }
    for (unsigned i = 0; i < a->n; i++)
        if (a->ex[i].kind != b->ex[i].kind || a->ex[i].pc != b->ex[i].pc ||
            a->ex[i].arg != b->ex[i].arg) {
            snprintf(why, sizeof why, "%s: exit %u differs", phase, i);
            disagree(why);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || !javm_engine_available(JAVM_ENGINE_PAGED)) return 0;
    uint64_t h = fuzz_hash(data, size);
    if (!fuzz_sampled(h >> 32, 8)) return 0;
    uint8_t args[256];
    size_t args_len = 0;
    javm_program *p = NULL;
    if (data[0] % 4 == 0) {
        if (javm_program_load_standard(data + 1, size - 1, &p) != JAVM_OK) return 0;
        args_len = size > 9 ? 8 : 0;
        if (args_len) memcpy(args, data + 1, args_len);
    } else {
        size_t len = 0;
        uint8_t *c = build(data, size, &len, args, &args_len);
        if (!c) return 0;
        javm_status s = javm_program_load_standard(c, len, &p);
        free(c);
        if (s != JAVM_OK) { /* a valid container must load */
            fprintf(stderr, "fuzz_container: a valid container was refused: %s\n",
                    javm_last_error());
            abort();
        }
    }
    javm_instance *vm[3] = {NULL, NULL, NULL};
    g_n = javm_engine_available(JAVM_ENGINE_JIT) ? 3 : 2;
    static const int order[2][3] = {{0, 1, 2}, {0, 2, 1}}; /* creation order per round */
    static const char *const phases[3] = {"first layout", "second layout", "pooled layout"};
    for (int round = 0, phase = 0; round < 2; round++) {
        for (int i = 0; i < 3; i++) {
            int k = order[round][i];
            if (k >= g_n) continue;
            javm_config cfg;
            javm_config_init(&cfg);
            cfg.engine = g_engines[k];
            cfg.mat = data[0] >> 7;
            if (javm_instance_new(p, &cfg, &vm[k]) != JAVM_OK) {
                fprintf(stderr, "fuzz_container: instance: %s\n", javm_last_error());
                abort();
            }
        }
        bool ok = true;
        for (int rep = 0; rep < 2 - round && ok; rep++, phase++) {
            javm_status s[3] = {JAVM_OK, JAVM_OK, JAVM_OK};
            for (int k = 0; k < g_n; k++) s[k] = javm_instance_init_standard(vm[k], args, args_len);
            for (g_who = 1; g_who < g_n; g_who++)
                if (s[0] != s[g_who]) disagree("init_standard: statuses differ");
            if (s[0] != JAVM_OK) {
                ok = false;
                break;
            }
            dg_trace t[3];
            for (int k = 0; k < g_n; k++) {
                javm_gas_set(vm[k], 20000);
                dg_drive(vm[k], &t[k]);
            }
            char why[256];
            for (g_who = 1; g_who < g_n; g_who++) {
                same_traces(&t[0], &t[g_who], phases[phase]);
                if (jv_diff_instances(vm[0], vm[g_who], why, sizeof why)) disagree(why);
            }
        }
        /* the jit's space first, then the paged one's: the jit of the next round takes it */
        for (int k = g_n - 1; k >= 0; k--) javm_instance_free(vm[k]);
        if (!ok) break;
    }
    javm_program_free(p);
    return 0;
}
