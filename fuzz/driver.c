/* Bounded fuzz driver used by `make test`: feeds a libFuzzer target every file of its seed
 * directory (fuzz/seeds/<target>/, if there is one: kept inputs and every crash ever found),
 * then seeded pseudo-random inputs (random lengths, random bytes, plus mutations of the previous
 * input) without needing clang's libFuzzer.
 * Usage: fuzz-smoke/<target> [-runs=N] [-seed=S] [-seeds=DIR]. Coverage-guided runs: `make fuzz`. */
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

/* Runs every regular file of dir (at most 1 MiB each) through the target; returns the count. */
static long run_seeds(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    long n = 0;
    struct dirent *e;
    static uint8_t in[1 << 20];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096 + 256 + 2];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t len = fread(in, 1, sizeof in, f);
        fclose(f);
        LLVMFuzzerTestOneInput(in, len);
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv) {
    long runs = 20000;
    uint64_t seed = 0x6a766d;
    char seeds[4096];
    const char *name = strrchr(argv[0], '/');
    snprintf(seeds, sizeof seeds, "fuzz/seeds/%s", name ? name + 1 : argv[0]);
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6)) runs = strtol(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-seed=", 6)) seed = strtoull(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-seeds=", 7)) snprintf(seeds, sizeof seeds, "%s", argv[i] + 7);
    }
    jv_fuzz_all_inputs = 1;
    long nseeds = run_seeds(seeds);
    jv_fuzz_all_inputs = 0;
    rng_state = seed;
    enum { MAX = 8192 };
    static uint8_t buf[MAX];
    size_t len = 0;
    for (long r = 0; r < runs; r++) {
        if (len == 0 || rng() % 4 == 0) { /* fresh input, mostly short */
            len = (rng() % 8 == 0) ? rng() % MAX : rng() % 96;
            for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rng();
            if (len && rng() % 2) buf[0] = (uint8_t)(rng() % 4); /* small leading counts parse further */
        } else { /* mutate the previous input */
            size_t n = 1 + rng() % 4;
            for (size_t k = 0; k < n && len; k++) buf[rng() % len] = (uint8_t)rng();
            if (rng() % 8 == 0 && len < MAX) buf[len++] = (uint8_t)rng();
            if (rng() % 8 == 0 && len) len--;
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("%ld seed files, %ld runs, seed %llu: 1 passed, 0 failed\n", nseeds, runs,
           (unsigned long long)seed);
    return 0;
}
