/* Bounded fuzz driver used by `make test`: feeds a libFuzzer target every file of its seed
 * directories (default fuzz/seeds/<target>/, if there is one: kept inputs from the vectors and
 * examples, and every crash ever found; `make test` passes those of scripts/fuzz-seeds.sh),
 * then seeded pseudo-random inputs without needing clang's libFuzzer: half the fresh inputs
 * start from a seed (when there are seeds), the others are random bytes (random lengths, mostly
 * short); every input after a fresh one mutates the previous input (a few bytes changed — a
 * digit often to another digit, so text seeds such as JSON vectors and assembly keep parsing
 * while their numbers change — a byte added or removed).
 * Usage: fuzz-smoke/<target> [-runs=N] [-seed=S] [-seeds=DIR]... (every DIR named).
 * Coverage-guided runs: `make fuzz`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nonzero while seed files run: targets that check only a sample of inputs (to bound the smoke
 * run) check every seed (they declare it weak: libFuzzer builds have no driver). */
int jv_fuzz_all_inputs;

static uint64_t rng_state;
static uint64_t rng(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

enum { MAX = 8192, MAX_SEED = 1 << 20, MAX_SEEDS = 512 };

typedef struct seed {
    uint8_t *bytes;
    size_t len;
} seed;

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the regular files of dir (at most room <= MAX_SEEDS of at most MAX_SEED bytes each, sorted by
 * name so a run is reproducible). Returns the number read. */
static size_t load_seeds(const char *dir, seed *out, size_t room) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    static char *names[MAX_SEEDS];
    size_t n = 0;
    struct dirent *e;
    while (n < room && (e = readdir(d)))
        if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name))) n++;
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096 + 256 + 2];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        uint8_t *b = malloc(MAX_SEED);
        size_t len = b ? fread(b, 1, MAX_SEED, f) : 0;
        fclose(f);
        if (!b) continue;
        out[k].bytes = b;
        out[k++].len = len;
    }
    return k;
}

int main(int argc, char **argv) {
    long runs = 20000;
    uint64_t seed_value = 0x6a766d;
    char dir[4096];
    const char *name = strrchr(argv[0], '/');
    snprintf(dir, sizeof dir, "fuzz/seeds/%s", name ? name + 1 : argv[0]);
    static seed seeds[MAX_SEEDS];
    size_t nseeds = 0;
    int given = 0; /* -seeds= may repeat: the seeds of every directory named */
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6)) runs = strtol(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-seed=", 6)) seed_value = strtoull(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-seeds=", 7)) {
            given = 1;
            nseeds += load_seeds(argv[i] + 7, seeds + nseeds, MAX_SEEDS - nseeds);
        }
    }
    if (!given) nseeds = load_seeds(dir, seeds, MAX_SEEDS);
    jv_fuzz_all_inputs = 1;
    for (size_t i = 0; i < nseeds; i++) LLVMFuzzerTestOneInput(seeds[i].bytes, seeds[i].len);
    jv_fuzz_all_inputs = 0;
    rng_state = seed_value;
    size_t cap = MAX;
    for (size_t i = 0; i < nseeds; i++)
        if (seeds[i].len + 64 > cap) cap = seeds[i].len + 64;
    uint8_t *buf = malloc(cap);
    if (!buf) return 1;
    size_t len = 0;
    for (long r = 0; r < runs; r++) {
        if (len == 0 || rng() % 4 == 0) { /* a fresh input */
            if (nseeds && rng() % 2) {
                const seed *s = &seeds[rng() % nseeds];
                memcpy(buf, s->bytes, s->len);
                len = s->len;
            } else { /* random, mostly short */
                len = (rng() % 8 == 0) ? rng() % MAX : rng() % 96;
                for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rng();
                if (len && rng() % 2) buf[0] = (uint8_t)(rng() % 4); /* small leading counts parse further */
            }
        } else { /* mutate the previous input */
            size_t n = 1 + rng() % 4;
            for (size_t k = 0; k < n && len; k++) {
                size_t at = rng() % len;
                if (buf[at] >= '0' && buf[at] <= '9' && rng() % 2) buf[at] = (uint8_t)('0' + rng() % 10);
                else buf[at] = (uint8_t)rng();
            }
            if (rng() % 8 == 0 && len < cap) buf[len++] = (uint8_t)rng();
            if (rng() % 8 == 0 && len) len--;
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("%zu seed files, %ld runs, seed %llu: 1 passed, 0 failed\n", nseeds, runs,
           (unsigned long long)seed_value);
    for (size_t i = 0; i < nseeds; i++) free(seeds[i].bytes);
    free(buf);
    return 0;
}
