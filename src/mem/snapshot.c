/* mem — memory snapshots: bytes laid out once in a sealed memfd, mapped copy-on-write into any
 * number of guest spaces (MEM-6). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/mem.h"
#include "util/error.h"

struct jv_mem_snapshot {
    int fd;
    uint64_t size; /* page-rounded */
};

javm_status jv_mem_snapshot_create(const void *data, size_t len, jv_mem_snapshot **out) {
    *out = NULL;
    if (!data && len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "snapshot: data is NULL");
    if (len > JV_GUEST_SPACE)
        return jv_set_error(JAVM_ERR_OVERFLOW, "snapshot: %zu bytes exceed the 4 GiB guest space",
                            len);
    jv_mem_snapshot *snap = calloc(1, sizeof *snap);
    if (!snap) return jv_set_error(JAVM_ERR_NO_MEMORY, "snapshot: out of memory");
    snap->size = ((uint64_t)len + JV_PAGE_SIZE - 1) & ~(uint64_t)(JV_PAGE_SIZE - 1);
    snap->fd = memfd_create("javm-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (snap->fd < 0) {
        int e = errno;
        free(snap);
        return jv_set_error(JAVM_ERR_OS, "snapshot: memfd_create: %s", strerror(e));
    }
    if (ftruncate(snap->fd, (off_t)snap->size) != 0) goto os_error;
    for (size_t done = 0; done < len;) {
        ssize_t k = pwrite(snap->fd, (const uint8_t *)data + done, len - done, (off_t)done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) goto os_error;
        done += (size_t)k;
    }
    /* Sealed: nobody can change a snapshot that spaces map. */
    if (fcntl(snap->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
        goto os_error;
    *out = snap;
    return JAVM_OK;
os_error: {
    int e = errno;
    close(snap->fd);
    free(snap);
    return jv_set_error(JAVM_ERR_OS, "snapshot: building the memfd failed: %s", strerror(e));
}
}

void jv_mem_snapshot_destroy(jv_mem_snapshot *snap) {
    if (!snap) return;
    close(snap->fd); /* mappings keep the memory alive */
    free(snap);
}

javm_status jv_mem_map_snapshot(jv_mem *m, uint64_t start, uint64_t size, javm_access access,
                                const jv_mem_snapshot *snap, uint64_t offset) {
    if (!snap) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "map snapshot: snapshot is NULL");
    if (offset % JV_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_UNALIGNED, "map snapshot: offset 0x%llx is not a multiple of 4096",
                            (unsigned long long)offset);
    if (offset > snap->size)
        return jv_set_error(JAVM_ERR_OVERFLOW, "map snapshot: offset 0x%llx is past the snapshot end",
                            (unsigned long long)offset);
    /* Checked before anything is unmapped: a failing call leaves the range as it was. */
    if (access != JAVM_ACCESS_RO && access != JAVM_ACCESS_RW)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "map snapshot: access must be read-only or read-write");
    /* Drop the range's old contents and metadata if anything is mapped there, then declare
     * it (jv_mem_map checks start/size and gives the pages their host protection). */
    uint32_t first;
    if (start < JV_GUEST_SPACE && jv_mem_next_mapped(m, start, &first) && first < start + size) {
        javm_status s = jv_mem_unmap(m, start, size);
        if (s != JAVM_OK) return s;
    }
    javm_status s = jv_mem_map(m, start, size, access, NULL, 0);
    if (s != JAVM_OK || size == 0) return s;
    uint64_t n = snap->size - offset < size ? snap->size - offset : size;
    /* The part the snapshot covers comes from the memfd, private: the kernel copies a page on its
     * first write. The rest (N < S, docs/MEMORY.md §11) stays anonymous zero memory. The fresh pages share
     * one page byte, hence one protection (none in paged mode, read-write in soft mode). */
    /* MEM-11: the file's pages are not zero-backed: none of them stays armed (the file mapping
     * is not registered either; only the anonymous tail may be armed). */
    uint32_t fp = (uint32_t)(start >> JV_PAGE_SHIFT);
    for (uint64_t i = 0; i < (n + JV_PAGE_SIZE - 1) / JV_PAGE_SIZE; i++) jv_bit_clear(m->armed, fp + i);
    int prot = jv_mem_page_prot(m, fp);
    if (n && mmap(m->base + start, n, prot, MAP_PRIVATE | MAP_FIXED, snap->fd, (off_t)offset) ==
                 MAP_FAILED) {
        m->prot_stale = true; /* the pages may keep the armed protection: MEM-8 */
        return jv_set_error(JAVM_ERR_OS, "map snapshot: mmap failed: %s", strerror(errno));
    }
    return JAVM_OK;
}
