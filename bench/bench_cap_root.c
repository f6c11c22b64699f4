/* bench_cap_root: `javm cap root` end to end on a 64 MiB file of random bytes (issue 12 §3):
 * wall time per page (process start, mapping, hashing, exit) with 1 and 2 hashing threads, the
 * user and system time, and the peak resident memory against the input size; compared in the
 * same run with the in-process page root (jv_cap_page_hash). The printed roots of every run must
 * equal the in-process DataCap root of the same bytes. Needs $JAVM_BIN (set by `make bench`). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "cap/cap.h"

#define MIB 64
#define PAGES ((size_t)MIB * 256)
#define RUNS 5

typedef struct run_result {
    double wall_ns, user_ns, sys_ns;
    long maxrss_kib;
    char out[80];
} run_result;

static double tv_ns(struct timeval t) { return t.tv_sec * 1e9 + t.tv_usec * 1e3; }

/* One `javm cap root --threads N FILE`, its stdout captured, resources from wait4. */
static int run_tool(const char *javm, const char *file, const char *threads, run_result *r) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    double t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(javm, javm, "cap", "root", "--threads", threads, file, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    ssize_t n = read(fd[0], r->out, sizeof r->out - 1);
    close(fd[0]);
    r->out[n > 0 ? n : 0] = 0;
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return -1;
    r->wall_ns = now_ns() - t0;
    r->user_ns = tv_ns(ru.ru_utime);
    r->sys_ns = tv_ns(ru.ru_stime);
    r->maxrss_kib = ru.ru_maxrss;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The file's bytes, read back in process: the root through a DataCap (the result the tool
 * must print) and the best per-page time of the page root alone. */
static int in_process(const char *file, size_t len, char want_hex[65], double *page_ns) {
    uint8_t *data = aligned_alloc(4096, len);
    int fd = open(file, O_RDONLY);
    if (!data || fd < 0 || read(fd, data, len) != (ssize_t)len) {
        perror("bench_cap_root: reading the file back");
        return -1;
    }
    close(fd);
    jv_datacap *d;
    jv_hash32 want;
    if (jv_cap_data_create_sized(data, len, 0, &d) || jv_cap_data_root(d, &want)) {
        fprintf(stderr, "bench_cap_root: %s\n", javm_last_error());
        return -1;
    }
    jv_cap_data_destroy(d);
    jv_cap_hash_hex(&want, want_hex);
    *page_ns = 1e300;
    for (int r = 0; r < RUNS; r++) {
        jv_hash32 h;
        double t0 = now_ns();
        for (size_t i = 0; i < PAGES; i++) jv_cap_page_hash(data + 4096 * i, 4096, &h);
        double t = (now_ns() - t0) / PAGES;
        if (t < *page_ns) *page_ns = t;
    }
    free(data);
    return 0;
}

int main(void) {
    const char *javm = getenv("JAVM_BIN");
    if (!javm || access(javm, X_OK) != 0) {
        fprintf(stderr, "bench_cap_root: set JAVM_BIN to the built tool (make bench does)\n");
        return 1;
    }
    /* Write the file in 1 MiB pieces and run the tool before anything big lives here: a forked
     * child's peak RSS includes what the parent had resident until the exec. */
    size_t len = PAGES * 4096;
    char file[] = "/tmp/javm-bench-cap-root-XXXXXX";
    int fd = mkstemp(file);
    uint8_t *piece = malloc(1 << 20);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t off = 0; fd >= 0 && piece && off < len; off += 1 << 20) {
        for (size_t i = 0; i < (1 << 20) / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(piece + 8 * i, &x, 8);
        }
        if (write(fd, piece, 1 << 20) != 1 << 20) {
            close(fd);
            fd = -1;
        }
    }
    free(piece);
    if (fd < 0) {
        perror("bench_cap_root: temporary file");
        unlink(file);
        return 1;
    }
    close(fd);

    int bad = 0;
    run_result best[2];
    for (int t = 0; t < 2 && !bad; t++) {
        char threads[4];
        snprintf(threads, sizeof threads, "%d", t + 1);
        best[t].wall_ns = 1e300;
        for (int r = 0; r < RUNS; r++) {
            run_result res;
            if (run_tool(javm, file, threads, &res) != 0) {
                fprintf(stderr, "bench_cap_root: %s cap root --threads %s failed\n", javm, threads);
                bad = 1;
                break;
            }
            if (res.wall_ns < best[t].wall_ns) best[t] = res;
        }
    }
    char want_hex[65];
    double page_ns;
    if (!bad && in_process(file, len, want_hex, &page_ns) != 0) bad = 1;
    unlink(file);
    if (bad) return 1;

    printf("javm cap root, %d MiB of random bytes (%zu pages), best of %d runs, one run\n", MIB,
           PAGES, RUNS);
    printf("  in-process page root (%s): %.2f us/page\n", jv_cap_sha256_backend_name(),
           page_ns / 1e3);
    for (int t = 0; t < 2; t++) {
        const run_result *b = &best[t];
        if (strncmp(b->out, want_hex, 64) != 0) {
            fprintf(stderr, "bench_cap_root: MISMATCH: tool printed %.64s, in-process %s\n",
                    b->out, want_hex);
            bad = 1;
        }
        printf("  end to end, %d thread%s: %.2f us/page = %.2fx page root; user %.2f + sys %.2f"
               " us/page; peak RSS %ld KiB = input + %ld KiB\n",
               t + 1, t ? "s" : " ", b->wall_ns / PAGES / 1e3, b->wall_ns / PAGES / page_ns,
               b->user_ns / PAGES / 1e3, b->sys_ns / PAGES / 1e3, b->maxrss_kib,
               b->maxrss_kib - (long)(len / 1024));
    }
    printf("  two threads vs one: %.2fx the wall time\n", best[1].wall_ns / best[0].wall_ns);
    return bad;
}
