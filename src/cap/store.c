/* Page resolution: the host callback contract and the default in-memory content-addressed
 * store (an open-addressing table of page references keyed by content hash, one mutex). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap/cap.h"
#include "util/error.h"

struct jv_cap_store {
    pthread_mutex_t lock;
    jv_cap_page **tab; /* NULL = free; capacity a power of two */
    size_t cap, count;
};

static size_t slot_of(const jv_hash32 *h, size_t cap) {
    uint64_t k;
    memcpy(&k, h->b, 8); /* content hashes are uniformly distributed */
    return (size_t)(k ^ (k >> 29)) & (cap - 1);
}

javm_status jv_cap_store_create(jv_cap_store **out) {
    jv_cap_store *st = calloc(1, sizeof *st);
    if (st) st->tab = calloc(64, sizeof *st->tab);
    if (!st || !st->tab) {
        free(st);
        *out = NULL;
        return jv_set_error(JAVM_ERR_NO_MEMORY, "cap store: out of memory");
    }
    st->cap = 64;
    pthread_mutex_init(&st->lock, NULL);
    *out = st;
    return JAVM_OK;
}

void jv_cap_store_destroy(jv_cap_store *st) {
    if (!st) return;
    for (size_t i = 0; i < st->cap; i++) jv_cap_page_unref(st->tab[i]);
    free(st->tab);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static jv_cap_page **find(jv_cap_store *st, const jv_hash32 *h) {
    size_t i = slot_of(h, st->cap);
    while (st->tab[i] && memcmp(st->tab[i]->hash.b, h->b, 32)) i = (i + 1) & (st->cap - 1);
    return &st->tab[i];
}

static bool grow(jv_cap_store *st) {
    size_t ncap = st->cap * 2;
    jv_cap_page **nt = calloc(ncap, sizeof *nt);
    if (!nt) return false;
    for (size_t i = 0; i < st->cap; i++) {
        jv_cap_page *p = st->tab[i];
        if (!p) continue;
        size_t j = slot_of(&p->hash, ncap);
        while (nt[j]) j = (j + 1) & (ncap - 1);
        nt[j] = p;
    }
    free(st->tab);
    st->tab = nt;
    st->cap = ncap;
    return true;
}

javm_status jv_cap_store_put(jv_cap_store *st, jv_cap_page *p) {
    jv_hash32 real;
    jv_cap_page_hash(p->bytes, JV_CAP_PAGE_SIZE, &real);
    if (memcmp(real.b, p->hash.b, 32)) {
        char a[65];
        jv_cap_hash_hex(&p->hash, a);
        return jv_set_error(JAVM_ERR_HASH_MISMATCH,
                            "cap store: page hash %s is not its content hash (unhashed page?)", a);
    }
    pthread_mutex_lock(&st->lock);
    javm_status rc = JAVM_OK;
    if ((st->count + 1) * 10 > st->cap * 7 && !grow(st)) {
        rc = jv_set_error(JAVM_ERR_NO_MEMORY, "cap store: out of memory growing the table");
    } else {
        jv_cap_page **e = find(st, &p->hash);
        if (!*e) {
            *e = jv_cap_page_ref(p);
            st->count++;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

javm_status jv_cap_store_get(jv_cap_store *st, const jv_hash32 *hash, jv_cap_page **out) {
    pthread_mutex_lock(&st->lock);
    jv_cap_page *p = *find(st, hash);
    if (p) jv_cap_page_ref(p);
    pthread_mutex_unlock(&st->lock);
    *out = p;
    if (!p) {
        char a[65];
        jv_cap_hash_hex(hash, a);
        return jv_set_error(JAVM_ERR_MISSING_PAGE, "cap store: no page with hash %s", a);
    }
    return JAVM_OK;
}

size_t jv_cap_store_count(jv_cap_store *st) {
    pthread_mutex_lock(&st->lock);
    size_t n = st->count;
    pthread_mutex_unlock(&st->lock);
    return n;
}

static javm_status store_resolve(void *ctx, const jv_hash32 *hash, uint8_t out[JV_CAP_PAGE_SIZE]) {
    jv_cap_page *p;
    javm_status st = jv_cap_store_get(ctx, hash, &p);
    if (st) return st;
    memcpy(out, p->bytes, JV_CAP_PAGE_SIZE);
    jv_cap_page_unref(p);
    return JAVM_OK;
}

jv_cap_resolver jv_cap_store_resolver(jv_cap_store *st) {
    jv_cap_resolver r = {store_resolve, st};
    return r;
}

javm_status jv_cap_resolve_page(const jv_cap_resolver *r, const jv_hash32 *hash,
                                jv_cap_page **out) {
    *out = NULL;
    char hx[65];
    jv_cap_hash_hex(hash, hx);
    if (!r || !r->fn)
        return jv_set_error(JAVM_ERR_MISSING_PAGE, "cap: page %s is Missing and no resolver is set", hx);
    jv_cap_page *p;
    javm_status st = jv_cap_page_create_unhashed(NULL, 0, &p);
    if (st) return st;
    jv_clear_error();
    st = r->fn(r->ctx, hash, p->bytes);
    if (st) {
        jv_cap_page_unref(p);
        const char *why = javm_last_error();
        if (!why[0]) why = javm_status_str(st);
        char msg[200];
        snprintf(msg, sizeof msg, "%s", why);
        return jv_set_error(st == JAVM_OK ? JAVM_ERR_MISSING_PAGE : st,
                            "cap: resolving page %s failed: %s", hx, msg);
    }
    jv_cap_page_hash(p->bytes, JV_CAP_PAGE_SIZE, &p->hash);
    if (memcmp(p->hash.b, hash->b, 32)) {
        char got[65];
        jv_cap_hash_hex(&p->hash, got);
        jv_cap_page_unref(p);
        return jv_set_error(JAVM_ERR_HASH_MISMATCH,
                            "cap: resolver returned content hashing to %s for page %s", got, hx);
    }
    *out = p;
    return JAVM_OK;
}
