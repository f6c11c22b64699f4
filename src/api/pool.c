/* api — the instance pool (API-4): guest spaces laid out for a standard program, kept after
 * javm_instance_free so that the next instance of the same program skips reserving a window,
 * committing metadata and mapping its sections (every one a system call or a page fault).
 *
 * An entry is a whole jv_mem (window + side metadata) in exactly the state
 * javm_instance_init_standard leaves for its program, with the argument bytes it was laid out
 * with: the guest's writes were undone (jv_mem_reset_dirty: dirty pages get their snapshot or
 * zero bytes back, every page NotPresent, opened pages closed) and the host changed nothing
 * after the layout (MEM-9). Engine contexts are not pooled: every instance creates its own. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

typedef struct pool_entry {
    jv_mem mem;
    const javm_program *prog;
    jv_api_args args;
} pool_entry;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_entry g_pool[JAVM_INSTANCE_POOL_SIZE];
static unsigned g_count;
static unsigned g_capacity = JAVM_INSTANCE_POOL_SIZE;

bool jv_api_pool_take(const javm_program *p, jv_mem_mode mode, jv_mem *m, jv_api_args *args) {
    bool found = false;
    pthread_mutex_lock(&g_lock);
    for (unsigned i = g_count; i-- > 0;) { /* the most recently freed first: warm in cache */
        if (g_pool[i].prog != p || g_pool[i].mem.mode != mode) continue;
        *m = g_pool[i].mem;
        *args = g_pool[i].args;
        g_pool[i] = g_pool[--g_count];
        found = true;
        break;
    }
    pthread_mutex_unlock(&g_lock);
    return found;
}

bool jv_api_pool_put(const javm_program *p, jv_mem *m, const jv_api_args *args) {
    bool kept = false;
    pthread_mutex_lock(&g_lock);
    if (g_count < g_capacity) {
        g_pool[g_count++] = (pool_entry){*m, p, *args};
        kept = true;
    }
    pthread_mutex_unlock(&g_lock);
    return kept;
}

/* Entries are released outside the lock (munmap can take a while). */
static void release(pool_entry *e, unsigned n) {
    for (unsigned i = 0; i < n; i++) jv_mem_fini(&e[i].mem);
}

void jv_api_pool_purge(const javm_program *p) {
    pool_entry gone[JAVM_INSTANCE_POOL_SIZE];
    unsigned n = 0;
    pthread_mutex_lock(&g_lock);
    for (unsigned i = 0; i < g_count;) {
        if (p && g_pool[i].prog != p) {
            i++;
            continue;
        }
        gone[n++] = g_pool[i];
        g_pool[i] = g_pool[--g_count];
    }
    pthread_mutex_unlock(&g_lock);
    release(gone, n);
}

unsigned jv_api_pool_set_capacity(unsigned n) {
    if (n > JAVM_INSTANCE_POOL_SIZE) n = JAVM_INSTANCE_POOL_SIZE;
    pool_entry gone[JAVM_INSTANCE_POOL_SIZE];
    unsigned k = 0;
    pthread_mutex_lock(&g_lock);
    unsigned old = g_capacity;
    g_capacity = n;
    while (g_count > n) gone[k++] = g_pool[--g_count];
    pthread_mutex_unlock(&g_lock);
    release(gone, k);
    return old;
}

unsigned jv_api_pool_count(void) {
    pthread_mutex_lock(&g_lock);
    unsigned n = g_count;
    pthread_mutex_unlock(&g_lock);
    return n;
}
