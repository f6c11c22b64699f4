/* mem — the process-wide userfaultfd behind armed pages (MEM-11, docs/MEMORY.md §12): opened
 * lazily, refused silently (any error means "not available"), forgotten in a fork child. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "mem/mem.h"

#if defined(__linux__)
#include <linux/userfaultfd.h>
#include <sys/syscall.h>
#endif

#if defined(__linux__) && defined(SYS_userfaultfd) && defined(UFFD_FEATURE_SIGBUS)
#define JV_HAVE_UFFD 1
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define JV_PR_GET_MEMORY_MERGE 68 /* prctl(2), Linux 6.4; older kernels answer EINVAL */

/* g_fd: -2 not looked at yet, -1 unavailable or switched off, else the descriptor. */
static _Atomic int g_fd = -2;
static _Atomic bool g_forced_off;
static _Atomic unsigned g_epoch = 1;
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
/* The source of UFFDIO_COPY: a page of zeros. */
static const uint8_t g_zero_page[JV_PAGE_SIZE] __attribute__((aligned(JV_PAGE_SIZE)));

/* A child's memory is not registered with the parent's descriptor (the kernel drops the
 * registration of every range at fork), and an ioctl on that descriptor would act on the
 * parent's memory: the child forgets it, and spaces created before the fork see a new epoch. */
static _Atomic int g_pagemap_fd = -2; /* MEM-12; -2 not opened yet, -1 unavailable */

static void uffd_atfork_child(void) {
    int fd = atomic_exchange(&g_fd, -2);
    if (fd >= 0) close(fd);
    /* /proc/self/pagemap opened by the parent reads the parent's page tables */
    fd = atomic_exchange(&g_pagemap_fd, -2);
    if (fd >= 0) close(fd);
    atomic_fetch_add(&g_epoch, 1);
    pthread_mutex_init(&g_open_lock, NULL);
}
static void uffd_atfork_register(void) { pthread_atfork(NULL, NULL, uffd_atfork_child); }

static int uffd_open(void) {
    const char *env = getenv("JAVM_UFFD");
    if (env && strcmp(env, "0") == 0) return -1;
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && (errno == EPERM || errno == EINVAL))
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0) return -1;
    struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_SIGBUS};
    if (ioctl(fd, UFFDIO_API, &api) != 0 || !(api.features & UFFD_FEATURE_SIGBUS) ||
        !(api.ioctls & (1ull << _UFFDIO_REGISTER))) {
        close(fd);
        return -1;
    }
    return fd;
}

int jv_uffd_fd(void) {
    if (atomic_load_explicit(&g_forced_off, memory_order_relaxed)) return -1;
    int fd = atomic_load_explicit(&g_fd, memory_order_acquire);
    if (fd != -2) return fd;
    pthread_once(&g_atfork_once, uffd_atfork_register);
    pthread_mutex_lock(&g_open_lock);
    fd = atomic_load(&g_fd);
    if (fd == -2) {
        fd = uffd_open();
        atomic_store_explicit(&g_fd, fd, memory_order_release);
    }
    pthread_mutex_unlock(&g_open_lock);
    return fd;
}

unsigned jv_uffd_epoch(void) { return atomic_load_explicit(&g_epoch, memory_order_relaxed); }

void jv_uffd_force_off(bool off) { atomic_store(&g_forced_off, off); }

int jv_uffd_register(void *addr, size_t len) {
    int fd = jv_uffd_fd();
    if (fd < 0) return -ENOSYS;
    struct uffdio_register r = {.range = {(uintptr_t)addr, len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    if (ioctl(fd, UFFDIO_REGISTER, &r) != 0) return -errno;
    /* without the two fills the registration is of no use */
    const uint64_t need = (1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_ZEROPAGE);
    if ((r.ioctls & need) != need) {
        struct uffdio_range u = {(uintptr_t)addr, len};
        ioctl(fd, UFFDIO_UNREGISTER, &u);
        return -ENOTSUP;
    }
    return 0;
}

int jv_uffd_unregister(void *addr, size_t len) {
    int fd = atomic_load(&g_fd);
    if (fd < 0) return 0; /* nothing is registered with a descriptor this process does not hold */
    struct uffdio_range u = {(uintptr_t)addr, len};
    return ioctl(fd, UFFDIO_UNREGISTER, &u) != 0 ? -errno : 0;
}

/* EEXIST: the page is present already (what the fill wanted); ENOENT / EINVAL: the range is not
 * registered (a memory snapshot's file mapping), so it can never raise a missing-page SIGBUS. */
static int fill_result(int rc) {
    if (rc == 0) return 0;
    int e = errno;
    return (e == EEXIST || e == ENOENT || e == EINVAL) ? 0 : -e;
}

static _Atomic long g_inject_skip, g_inject_fail;

void jv_uffd_inject_fill_failures(long skip, long fail) {
    atomic_store(&g_inject_skip, skip);
    atomic_store(&g_inject_fail, fail);
}

int jv_uffd_fill_zero(void *page, bool writable) {
    int fd = atomic_load_explicit(&g_fd, memory_order_relaxed);
    if (fd < 0) return -ENOSYS;
    if (atomic_load_explicit(&g_inject_fail, memory_order_relaxed) > 0) { /* tests (MEM-8) */
        if (atomic_load(&g_inject_skip) > 0) {
            atomic_fetch_sub(&g_inject_skip, 1);
        } else {
            atomic_fetch_sub(&g_inject_fail, 1);
            return -ENOMEM;
        }
    }
    if (writable) {
        struct uffdio_copy c = {.dst = (uintptr_t)page, .src = (uintptr_t)g_zero_page,
                                .len = JV_PAGE_SIZE, .mode = 0};
        return fill_result(ioctl(fd, UFFDIO_COPY, &c));
    }
    struct uffdio_zeropage z = {.range = {(uintptr_t)page, JV_PAGE_SIZE}, .mode = 0};
    return fill_result(ioctl(fd, UFFDIO_ZEROPAGE, &z));
}

int jv_uffd_fill_zero_range(void *addr, size_t len) {
    int fd = atomic_load_explicit(&g_fd, memory_order_relaxed);
    if (fd < 0) return -ENOSYS;
    uintptr_t a = (uintptr_t)addr, end = a + len;
    while (a < end) { /* a present page stops the fill: step over it and go on */
        struct uffdio_zeropage z = {.range = {a, end - a}, .mode = 0};
        if (ioctl(fd, UFFDIO_ZEROPAGE, &z) == 0) return 0;
        int e = errno;
        if (e == EAGAIN && z.zeropage > 0) {
            a += (uintptr_t)z.zeropage;
            continue;
        }
        if (e != EEXIST && e != ENOENT && e != EINVAL) return -e;
        a += (z.zeropage > 0 ? (uintptr_t)z.zeropage : 0) + JV_PAGE_SIZE;
    }
    return 0;
}

/* ---- MEM-12: write-ahead batches ---------------------------------------------------------- */
static _Atomic bool g_ahead_off;
static _Atomic long g_inject_read_fail;

bool jv_mem_ahead_enabled(void) {
    if (atomic_load_explicit(&g_ahead_off, memory_order_relaxed)) return false;
    int fd = atomic_load_explicit(&g_pagemap_fd, memory_order_acquire);
    if (fd != -2) return fd >= 0;
    pthread_once(&g_atfork_once, uffd_atfork_register);
    pthread_mutex_lock(&g_open_lock);
    fd = atomic_load(&g_pagemap_fd);
    if (fd == -2) {
        const char *env = getenv("JAVM_AHEAD");
        /* with process-wide KSM a written page may be merged (no longer exclusive, or the zero
         * page) before the settle reads it: no batches then */
        bool ksm = prctl(JV_PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1;
        fd = (env && strcmp(env, "0") == 0) || ksm
                 ? -1
                 : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (fd < 0) fd = -1;
        atomic_store_explicit(&g_pagemap_fd, fd, memory_order_release);
    }
    pthread_mutex_unlock(&g_open_lock);
    return fd >= 0;
}

bool jv_mem_ahead_ready(void) {
    return !atomic_load_explicit(&g_ahead_off, memory_order_relaxed) &&
           atomic_load_explicit(&g_pagemap_fd, memory_order_acquire) >= 0;
}

void jv_mem_ahead_force_off(bool off) { atomic_store(&g_ahead_off, off); }

void jv_mem_ahead_inject_read_failures(long fail) { atomic_store(&g_inject_read_fail, fail); }

/* The pagemap entries (8 bytes each) of n host pages from addr, in one read. */
int jv_uffd_pagemap_read(const void *addr, uint32_t n, uint64_t *out) {
    int fd = atomic_load_explicit(&g_pagemap_fd, memory_order_acquire);
    if (fd < 0) return -ENOSYS;
    if (atomic_load_explicit(&g_inject_read_fail, memory_order_relaxed) > 0) {
        atomic_fetch_sub(&g_inject_read_fail, 1);
        return -EIO;
    }
    off_t at = (off_t)((uintptr_t)addr / JV_PAGE_SIZE * 8);
    size_t len = (size_t)n * 8, got = 0;
    while (got < len) {
        ssize_t k = pread(fd, (uint8_t *)out + got, len - got, at + (off_t)got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? -errno : -EIO;
        got += (size_t)k;
    }
    return 0;
}

#else /* no userfaultfd: armed pages never exist */
int jv_uffd_fd(void) { return -1; }
unsigned jv_uffd_epoch(void) { return 1; }
void jv_uffd_force_off(bool off) { (void)off; }
int jv_uffd_register(void *addr, size_t len) {
    (void)addr;
    (void)len;
    return -ENOSYS;
}
int jv_uffd_unregister(void *addr, size_t len) {
    (void)addr;
    (void)len;
    return 0;
}
void jv_uffd_inject_fill_failures(long skip, long fail) {
    (void)skip;
    (void)fail;
}
int jv_uffd_fill_zero(void *page, bool writable) {
    (void)page;
    (void)writable;
    return -ENOSYS;
}
int jv_uffd_fill_zero_range(void *addr, size_t len) {
    (void)addr;
    (void)len;
    return -ENOSYS;
}
bool jv_mem_ahead_enabled(void) { return false; }
bool jv_mem_ahead_ready(void) { return false; }
void jv_mem_ahead_force_off(bool off) { (void)off; }
void jv_mem_ahead_inject_read_failures(long fail) { (void)fail; }
int jv_uffd_pagemap_read(const void *addr, uint32_t n, uint64_t *out) {
    (void)addr;
    (void)n;
    (void)out;
    return -ENOSYS;
}
#endif
