/* DataCap: a shared immutable backing plus a private copy-on-write overlay (docs/PAGESTORE.md §2, §3, §5). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cap/cap.h"
#include "cap/cap_internal.h"
#include "util/error.h"

/* ---- Backing (two-level, groups shared by refcount) --------------------------------------- */
static void group_unref(jv_cap_group *c) {
    if (!c) return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        for (unsigned k = 0; k < JV_CAP_GROUP; k++) jv_cap_slot_release(&c->slots[k]);
        free(c);
    }
}

static jv_cap_backing *backing_new(uint64_t size) {
    jv_cap_backing *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->size = size;
    return b;
}

static void backing_unref(jv_cap_backing *b) {
    if (!b) return;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        for (uint32_t c = 0; c < b->ngroups; c++) group_unref(b->groups[c]);
        free(b->groups);
        free(b);
    }
}

static inline const jv_cap_slot *backing_slot(const jv_cap_backing *b, uint64_t i) {
    if (i >= b->len) return &jv_cap_slot_empty;
    const jv_cap_group *c = b->groups[i >> JV_CAP_GROUP_SHIFT];
    return c ? &c->slots[i & (JV_CAP_GROUP - 1)] : &jv_cap_slot_empty;
}

/* A copy of b sharing all of its groups (refcount increments, O(pages / 64)). */
static jv_cap_backing *backing_copy(const jv_cap_backing *old) {
    jv_cap_backing *b = backing_new(old->size);
    if (!b) return NULL;
    if (old->ngroups) {
        b->groups = malloc((size_t)old->ngroups * sizeof *b->groups);
        if (!b->groups) {
            free(b);
            return NULL;
        }
        for (uint32_t c = 0; c < old->ngroups; c++) {
            b->groups[c] = old->groups[c];
            if (b->groups[c]) atomic_fetch_add_explicit(&b->groups[c]->refs, 1, memory_order_relaxed);
        }
    }
    b->ngroups = old->ngroups;
    b->len = old->len;
    return b;
}

static void backing_trim(jv_cap_backing *b) {
    while (b->len) {
        uint64_t i = b->len - 1;
        const jv_cap_group *c = b->groups[i >> JV_CAP_GROUP_SHIFT];
        if (!c) {
            b->len = i & ~(JV_CAP_GROUP - 1); /* skip a whole Empty group */
            continue;
        }
        if (c->slots[i & (JV_CAP_GROUP - 1)].kind != JV_SLOT_EMPTY) break;
        b->len = i;
    }
}

/* The group holding slot i of a unique backing, made unique itself (allocated if NULL, copied
 * if shared). NULL on allocation failure. The group table must already cover i. */
static jv_cap_group *group_unique(jv_cap_backing *b, uint64_t i) {
    jv_cap_group **cp = &b->groups[i >> JV_CAP_GROUP_SHIFT], *c = *cp;
    if (c && atomic_load_explicit(&c->refs, memory_order_acquire) == 1) return c;
    jv_cap_group *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    atomic_init(&n->refs, 1);
    if (c) {
        for (unsigned k = 0; k < JV_CAP_GROUP; k++) n->slots[k] = jv_cap_slot_copy(&c->slots[k]);
        group_unref(c);
    }
    *cp = n;
    return n;
}

static bool groups_cover(jv_cap_backing *b, uint64_t i) {
    uint64_t need = (i >> JV_CAP_GROUP_SHIFT) + 1;
    if (need <= b->ngroups) return true;
    uint64_t ncap = b->ngroups ? b->ngroups : 1;
    while (ncap < need) ncap *= 2;
    uint64_t maxc = ((b->size >> JV_CAP_PAGE_SHIFT) + JV_CAP_GROUP - 1) >> JV_CAP_GROUP_SHIFT;
    if (ncap > maxc) ncap = maxc;
    if (ncap < need) return false;
    jv_cap_group **nc = realloc(b->groups, (size_t)ncap * sizeof *nc);
    if (!nc) return false;
    memset(nc + b->ngroups, 0, (size_t)(ncap - b->ngroups) * sizeof *nc);
    b->groups = nc;
    b->ngroups = (uint32_t)ncap;
    return true;
}

/* CAP-2: give d a backing it alone references (copying the group table, refcounts only). */
static javm_status make_unique(jv_datacap *d) {
    jv_cap_backing *old = d->backing;
    if (atomic_load_explicit(&old->refs, memory_order_acquire) == 1) return JAVM_OK;
    jv_cap_backing *b = backing_copy(old);
    if (!b) return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory copying a backing");
    d->backing = b;
    backing_unref(old);
    return JAVM_OK;
}

/* Store slot (owned) at index i of a unique backing. Does not trim. */
static javm_status backing_set(jv_cap_backing *b, uint64_t i, jv_cap_slot slot) {
    if (slot.kind == JV_SLOT_EMPTY) {
        if (backing_slot(b, i)->kind == JV_SLOT_EMPTY) return JAVM_OK;
    } else if (!groups_cover(b, i)) {
        jv_cap_slot_release(&slot);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory growing to %llu slots",
                            (unsigned long long)(i + 1));
    }
    jv_cap_group *c = group_unique(b, i);
    if (!c) {
        jv_cap_slot_release(&slot);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory copying a slot group");
    }
    jv_cap_slot *s = &c->slots[i & (JV_CAP_GROUP - 1)];
    jv_cap_slot_release(s);
    *s = slot;
    if (slot.kind != JV_SLOT_EMPTY && i >= b->len) b->len = i + 1;
    return JAVM_OK;
}

/* ---- Lifetime ----------------------------------------------------------------------------- */
static javm_status check_size(uint64_t size) {
    if (size == 0 || size % JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "datacap: size %llu is not a positive multiple of 4096",
                            (unsigned long long)size);
    if (size > JV_CAP_MAX_SIZE)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: size %llu exceeds 2^44 bytes",
                            (unsigned long long)size);
    return JAVM_OK;
}

static javm_status wrap(jv_cap_backing *b, jv_datacap **out) {
    jv_datacap *d = calloc(1, sizeof *d);
    if (!d) {
        backing_unref(b);
        *out = NULL;
        return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory");
    }
    d->backing = b;
    *out = d;
    return JAVM_OK;
}

javm_status jv_cap_data_create_empty(uint64_t size, jv_datacap **out) {
    *out = NULL;
    javm_status st = check_size(size);
    if (st) return st;
    jv_cap_backing *b = backing_new(size);
    if (!b) return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory");
    return wrap(b, out);
}

/* The size of a DataCap of len content bytes grown to target (the larger, rounded up to
 * whole pages, at least one page) and the number of pages the content fills. */
static javm_status sized(size_t len, uint64_t target, uint64_t *size, uint64_t *npages) {
    uint64_t want = target > len ? target : len;
    if (want > JV_CAP_MAX_SIZE)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: size %llu exceeds 2^44 bytes",
                            (unsigned long long)want);
    *size = (want + JV_CAP_PAGE_SIZE - 1) & ~(uint64_t)(JV_CAP_PAGE_SIZE - 1);
    if (*size == 0) *size = JV_CAP_PAGE_SIZE;
    *npages = (len + JV_CAP_PAGE_SIZE - 1) / JV_CAP_PAGE_SIZE;
    return JAVM_OK;
}

javm_status jv_cap_data_create_sized(const uint8_t *content, size_t len, uint64_t target,
                                     jv_datacap **out) {
    *out = NULL;
    uint64_t size = 0, npages = 0;
    javm_status bad = sized(len, target, &size, &npages);
    if (bad != JAVM_OK) return bad;
    jv_cap_backing *b = backing_new(size);
    if (!b) return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory");
    for (uint64_t i = 0; i < npages; i++) {
        size_t o = (size_t)(i * JV_CAP_PAGE_SIZE), n = len - o < JV_CAP_PAGE_SIZE ? len - o : JV_CAP_PAGE_SIZE;
        if (jv_cap_is_zero(content + o, n)) continue; /* CAP-3: zero pages are Empty */
        jv_cap_page *p;
        javm_status st = jv_cap_page_create(content + o, n, &p);
        if (!st) st = backing_set(b, i, jv_cap_slot_loaded(p));
        if (st) {
            backing_unref(b);
            return st;
        }
    }
    return wrap(b, out);
}

javm_status jv_cap_data_clone(const jv_datacap *d, jv_datacap **out) {
    *out = NULL;
    jv_datacap *c = calloc(1, sizeof *c);
    if (!c) return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory cloning");
    if (d->ov_len) {
        c->ov = malloc((size_t)d->ov_len * sizeof *c->ov);
        if (!c->ov) {
            free(c);
            return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory cloning the overlay");
        }
        for (uint32_t i = 0; i < d->ov_len; i++) {
            c->ov[i].index = d->ov[i].index;
            c->ov[i].slot = jv_cap_slot_copy(&d->ov[i].slot);
        }
        c->ov_len = c->ov_cap = d->ov_len;
    }
    atomic_fetch_add_explicit(&d->backing->refs, 1, memory_order_relaxed);
    c->backing = d->backing;
    *out = c;
    return JAVM_OK;
}

void jv_cap_data_destroy(jv_datacap *d) {
    if (!d) return;
    for (uint32_t i = 0; i < d->ov_len; i++) jv_cap_slot_release(&d->ov[i].slot);
    free(d->ov);
    backing_unref(d->backing);
    free(d);
}

/* ---- Lookup ------------------------------------------------------------------------------- */
uint64_t jv_cap_data_size(const jv_datacap *d) { return d->backing->size; }
uint64_t jv_cap_data_page_count(const jv_datacap *d) { return d->backing->size >> JV_CAP_PAGE_SHIFT; }
uint64_t jv_cap_data_backing_len(const jv_datacap *d) { return d->backing->len; }
unsigned jv_cap_data_backing_refs(const jv_datacap *d) {
    return atomic_load_explicit(&d->backing->refs, memory_order_relaxed);
}

const jv_cap_slot *jv_cap_data_backing_slot(const jv_datacap *d, uint64_t i) {
    return backing_slot(d->backing, i);
}

/* Position of index i in the overlay (or where it would be inserted). */
static uint32_t ov_find(const jv_datacap *d, uint64_t i, bool *found) {
    uint32_t lo = 0, hi = d->ov_len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (d->ov[mid].index < i) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < d->ov_len && d->ov[lo].index == i;
    return lo;
}

static const jv_cap_slot *ov_dirty_slot(const jv_datacap *d, uint64_t i) {
    if (!d->ov_len) return NULL;
    bool found;
    uint32_t k = ov_find(d, i, &found);
    if (found && d->ov[k].slot.kind != JV_SLOT_EMPTY) return &d->ov[k].slot;
    return NULL;
}

const jv_cap_slot *jv_cap_data_slot(const jv_datacap *d, uint64_t i) {
    const jv_cap_slot *s = ov_dirty_slot(d, i);
    return s ? s : jv_cap_data_backing_slot(d, i);
}

bool jv_cap_data_is_dirty(const jv_datacap *d, uint64_t i) { return ov_dirty_slot(d, i) != NULL; }

javm_status jv_cap_data_page_at(const jv_datacap *d, uint64_t off, jv_cap_view *out) {
    if (off >= d->backing->size)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: offset %llu is past the size %llu",
                            (unsigned long long)off, (unsigned long long)d->backing->size);
    const jv_cap_slot *s = jv_cap_data_slot(d, off >> JV_CAP_PAGE_SHIFT);
    memset(out, 0, sizeof *out);
    out->kind = (jv_cap_view_kind)s->kind;
    if (s->kind == JV_SLOT_LOADED) out->bytes = s->u.page->bytes;
    else if (s->kind == JV_SLOT_MISSING) out->hash = s->u.hash;
    return JAVM_OK;
}

static javm_status missing_error(uint64_t i, const jv_hash32 *h, const char *op) {
    char hx[65];
    jv_cap_hash_hex(h, hx);
    return jv_set_error(JAVM_ERR_MISSING_PAGE, "datacap: %s: page %llu is Missing (hash %s)", op,
                        (unsigned long long)i, hx);
}

javm_status jv_cap_data_copy_into(const jv_datacap *d, uint64_t start, void *out, size_t n,
                                  const jv_cap_resolver *r) {
    uint64_t size = d->backing->size;
    if (start > size || n > size - start)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT,
                            "datacap: read of %zu bytes at %llu runs past the size %llu", n,
                            (unsigned long long)start, (unsigned long long)size);
    uint8_t *o = out;
    while (n) {
        uint64_t i = start >> JV_CAP_PAGE_SHIFT;
        size_t in_page = (size_t)(start & (JV_CAP_PAGE_SIZE - 1));
        size_t k = JV_CAP_PAGE_SIZE - in_page < n ? JV_CAP_PAGE_SIZE - in_page : n;
        const jv_cap_slot *s = jv_cap_data_slot(d, i);
        if (s->kind == JV_SLOT_LOADED) {
            memcpy(o, s->u.page->bytes + in_page, k);
        } else if (s->kind == JV_SLOT_EMPTY) {
            memset(o, 0, k);
        } else {
            if (!r) return missing_error(i, &s->u.hash, "copy_into");
            jv_cap_page *p;
            javm_status st = jv_cap_resolve_page(r, &s->u.hash, &p);
            if (st) return st;
            memcpy(o, p->bytes + in_page, k);
            jv_cap_page_unref(p);
        }
        o += k;
        start += k;
        n -= k;
    }
    return JAVM_OK;
}

/* ---- Mutation ----------------------------------------------------------------------------- */
static javm_status check_page_off(const jv_datacap *d, uint64_t off, size_t len, const char *op) {
    if (off % JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_UNALIGNED, "datacap: %s: offset %llu is not page-aligned", op,
                            (unsigned long long)off);
    if (off >= d->backing->size)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: %s: offset %llu is past the size %llu",
                            op, (unsigned long long)off, (unsigned long long)d->backing->size);
    if (len > JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: %s: %zu bytes exceed a page", op, len);
    return JAVM_OK;
}

javm_status jv_cap_data_put_page(jv_datacap *d, uint64_t off, const uint8_t *content, size_t len) {
    javm_status st = check_page_off(d, off, len, "put_page");
    if (st) return st;
    st = make_unique(d);
    if (st) return st;
    jv_cap_slot slot = jv_cap_slot_empty;
    if (!jv_cap_is_zero(content, len)) {
        jv_cap_page *p;
        st = jv_cap_page_create(content, len, &p);
        if (st) return st;
        slot = jv_cap_slot_loaded(p);
    }
    st = backing_set(d->backing, off >> JV_CAP_PAGE_SHIFT, slot);
    backing_trim(d->backing);
    return st;
}

javm_status jv_cap_data_put_slot(jv_datacap *d, uint64_t i, jv_cap_slot slot) {
    if (i >= jv_cap_data_page_count(d)) {
        jv_cap_slot_release(&slot);
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: put_slot: page %llu is past the %llu pages",
                            (unsigned long long)i, (unsigned long long)jv_cap_data_page_count(d));
    }
    javm_status st = make_unique(d);
    if (st) {
        jv_cap_slot_release(&slot);
        return st;
    }
    st = backing_set(d->backing, i, slot);
    backing_trim(d->backing);
    return st;
}

javm_status jv_cap_data_insert_overlay_page(jv_datacap *d, uint64_t i, jv_cap_slot slot) {
    if (i >= jv_cap_data_page_count(d)) {
        jv_cap_slot_release(&slot);
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "datacap: overlay page %llu is past the %llu pages",
                            (unsigned long long)i, (unsigned long long)jv_cap_data_page_count(d));
    }
    bool found;
    uint32_t k = ov_find(d, i, &found);
    if (found) {
        jv_cap_slot_release(&d->ov[k].slot);
        d->ov[k].slot = slot;
        return JAVM_OK;
    }
    if (d->ov_len == d->ov_cap) {
        uint32_t ncap = d->ov_cap ? d->ov_cap * 2 : 8;
        jv_cap_overlay_entry *nv = realloc(d->ov, (size_t)ncap * sizeof *nv);
        if (!nv) {
            jv_cap_slot_release(&slot);
            return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: out of memory growing the overlay");
        }
        d->ov = nv;
        d->ov_cap = ncap;
    }
    memmove(&d->ov[k + 1], &d->ov[k], (size_t)(d->ov_len - k) * sizeof *d->ov);
    d->ov[k].index = (uint32_t)i;
    d->ov[k].slot = slot;
    d->ov_len++;
    return JAVM_OK;
}

javm_status jv_cap_data_write_page(jv_datacap *d, uint64_t off, const uint8_t *content, size_t len) {
    javm_status st = check_page_off(d, off, len, "write_page");
    if (st) return st;
    jv_cap_page *p;
    st = jv_cap_page_create_unhashed(content, len, &p);
    if (st) return st;
    return jv_cap_data_insert_overlay_page(d, off >> JV_CAP_PAGE_SHIFT, jv_cap_slot_loaded(p));
}

javm_status jv_cap_data_place_shared(jv_datacap *d, uint64_t dst_off, const jv_datacap *src) {
    if (src->ov_len)
        return jv_set_error(JAVM_ERR_STATE, "datacap: place_shared: the source has %u overlay pages "
                            "(flush it first)", src->ov_len);
    if (dst_off % JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_UNALIGNED, "datacap: place_shared: offset %llu is not page-aligned",
                            (unsigned long long)dst_off);
    uint64_t dst_pages = jv_cap_data_page_count(d), at = dst_off >> JV_CAP_PAGE_SHIFT;
    if (at >= dst_pages) return JAVM_OK; /* clamped to nothing */
    uint64_t count = jv_cap_data_page_count(src);
    if (count > dst_pages - at) count = dst_pages - at;
    jv_cap_backing *sb = src->backing; /* held across make_unique (src may be d) */
    atomic_fetch_add_explicit(&sb->refs, 1, memory_order_relaxed);
    javm_status st = make_unique(d);
    if (st) goto out;
    jv_cap_backing *b = d->backing;
    for (uint64_t k = 0; k < count && !st; k++) {
        uint64_t i = at + k;
        /* whole aligned groups are shared as groups: one refcount increment for 64 slots */
        if ((i & (JV_CAP_GROUP - 1)) == 0 && (k & (JV_CAP_GROUP - 1)) == 0 && count - k >= JV_CAP_GROUP &&
            k + JV_CAP_GROUP <= (uint64_t)sb->ngroups * JV_CAP_GROUP && groups_cover(b, i)) {
            jv_cap_group *c = sb->groups[k >> JV_CAP_GROUP_SHIFT], **dst = &b->groups[i >> JV_CAP_GROUP_SHIFT];
            if (c) atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
            group_unref(*dst);
            *dst = c;
            if (c && i + JV_CAP_GROUP > b->len) b->len = i + JV_CAP_GROUP;
            k += JV_CAP_GROUP - 1;
            continue;
        }
        if (k >= sb->len && i >= b->len) break; /* only Empty over Empty is left */
        st = backing_set(b, i, jv_cap_slot_copy(backing_slot(sb, k)));
    }
    backing_trim(b);
out:
    backing_unref(sb);
    return st;
}

/* Put a page found in the overlay into a unique backing: rehash, zero -> Empty (CAP-3/4). A page
 * whose hash is already right is shared rather than copied. */
static javm_status flush_put(jv_cap_backing *b, uint64_t i, jv_cap_page *p) {
    if (jv_cap_is_zero(p->bytes, JV_CAP_PAGE_SIZE)) return backing_set(b, i, jv_cap_slot_empty);
    jv_hash32 h;
    jv_cap_page_hash(p->bytes, JV_CAP_PAGE_SIZE, &h);
    jv_cap_page *q;
    if (!memcmp(h.b, p->hash.b, 32)) {
        q = jv_cap_page_ref(p);
    } else {
        javm_status st = jv_cap_page_create_with_hash(p->bytes, JV_CAP_PAGE_SIZE, &h, &q);
        if (st) return st;
    }
    return backing_set(b, i, jv_cap_slot_loaded(q));
}

javm_status jv_cap_data_flush(const jv_datacap *d, const jv_cap_resolver *r, jv_datacap **out) {
    *out = NULL;
    if (!d->ov_len) return jv_cap_data_clone(d, out);
    jv_cap_backing *old = d->backing;
    jv_cap_backing *b = backing_copy(old); /* O(pages / 64): groups are shared */
    if (!b) return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: flush: out of memory");
    javm_status st = JAVM_OK;
    for (uint32_t k = 0; k < d->ov_len && !st; k++) { /* ascending index order */
        const jv_cap_overlay_entry *e = &d->ov[k];
        if (e->slot.kind == JV_SLOT_LOADED) {
            st = flush_put(b, e->index, e->slot.u.page);
        } else if (e->slot.kind == JV_SLOT_MISSING) {
            if (!r) {
                st = missing_error(e->index, &e->slot.u.hash, "flush");
                break;
            }
            jv_cap_page *p;
            st = jv_cap_resolve_page(r, &e->slot.u.hash, &p);
            if (st) break;
            st = flush_put(b, e->index, p);
            jv_cap_page_unref(p);
        }
    }
    if (st) {
        backing_unref(b);
        return st;
    }
    backing_trim(b);
    return wrap(b, out);
}

javm_status jv_cap_data_resolve(jv_datacap *d, const jv_cap_resolver *r) {
    bool any = false;
    for (uint64_t i = 0; i < d->backing->len && !any; i++) any = backing_slot(d->backing, i)->kind == JV_SLOT_MISSING;
    if (any) {
        javm_status st = make_unique(d);
        if (st) return st;
        jv_cap_backing *b = d->backing;
        for (uint64_t i = 0; i < b->len; i++) {
            const jv_cap_slot *s = backing_slot(b, i);
            if (s->kind != JV_SLOT_MISSING) continue;
            jv_cap_page *p;
            st = jv_cap_resolve_page(r, &s->u.hash, &p);
            if (!st) st = backing_set(b, i, jv_cap_slot_loaded(p)); /* same root: p->hash == h */
            if (st) return st;
        }
    }
    for (uint32_t k = 0; k < d->ov_len; k++) {
        jv_cap_slot *s = &d->ov[k].slot;
        if (s->kind != JV_SLOT_MISSING) continue;
        jv_cap_page *p;
        javm_status st = jv_cap_resolve_page(r, &s->u.hash, &p);
        if (st) return st;
        *s = jv_cap_slot_loaded(p);
    }
    return JAVM_OK;
}

/* ---- Identity ----------------------------------------------------------------------------- */
javm_status jv_cap_data_root(const jv_datacap *d, jv_hash32 *out) {
    if (d->ov_len)
        return jv_set_error(JAVM_ERR_STATE, "datacap: root of a cap with %u overlay pages (flush first)",
                            d->ov_len);
    const jv_cap_backing *b = d->backing;
    uint64_t pages = b->size >> JV_CAP_PAGE_SHIFT;
    jv_hash32 pages_root;
    uint8_t *leaves = NULL;
    if (b->len) {
        leaves = malloc((size_t)b->len * 32);
        if (!leaves) return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: root: out of memory");
        for (uint64_t i = 0; i < b->len; i++) jv_cap_slot_root(backing_slot(b, i), (jv_hash32 *)(leaves + 32 * (size_t)i));
    }
    javm_status st = jv_cap_merkle_bytes(leaves, (size_t)b->len * 32, jv_cap_ceil_log2(pages ? pages : 1), &pages_root);
    free(leaves);
    if (st) return st;
    jv_hash32 size_chunk;
    jv_ssz_htr_uint(b->size, &size_chunk);
    jv_cap_sha256_pair(&size_chunk, &pages_root, out);
    return JAVM_OK;
}

/* Slot roots of pages [first, end) of content straight from the bytes: 0^32 for an all-zero
 * page (it would be Empty, CAP-3), else its content hash; the last page may be partial. */
typedef struct leaf_job {
    const uint8_t *content;
    size_t len;
    uint64_t first, end;
    uint8_t *leaves;
} leaf_job;

static void *leaf_roots(void *arg) {
    const leaf_job *j = arg;
    for (uint64_t i = j->first; i < j->end; i++) {
        size_t o = (size_t)(i * JV_CAP_PAGE_SIZE);
        size_t n = j->len - o < JV_CAP_PAGE_SIZE ? j->len - o : JV_CAP_PAGE_SIZE;
        uint8_t *leaf = j->leaves + 32 * (size_t)i;
        if (jv_cap_is_zero(j->content + o, n)) memset(leaf, 0, 32);
        else (void)jv_cap_merkle_bytes(j->content + o, n, JV_CAP_PAGE_DEPTH, (jv_hash32 *)leaf);
    }
    return NULL;
}

javm_status jv_cap_data_root_of_bytes(const uint8_t *content, size_t len, uint64_t target,
                                      unsigned threads, jv_hash32 *out) {
    uint64_t size = 0, npages = 0;
    javm_status bad = sized(len, target, &size, &npages);
    if (bad != JAVM_OK) return bad;
    uint8_t *leaves = NULL;
    if (npages) {
        leaves = malloc((size_t)npages * 32);
        if (!leaves) return jv_set_error(JAVM_ERR_NO_MEMORY, "datacap: root: out of memory");
    }
    /* Contiguous shares of the pages, one per thread; the calling thread takes the first. */
    if (threads < 1) threads = 1;
    if (threads > JV_CAP_ROOT_MAX_THREADS) threads = JV_CAP_ROOT_MAX_THREADS;
    if (threads > npages) threads = npages ? (unsigned)npages : 1;
    leaf_job jobs[JV_CAP_ROOT_MAX_THREADS];
    pthread_t tid[JV_CAP_ROOT_MAX_THREADS];
    bool started[JV_CAP_ROOT_MAX_THREADS] = {false};
    for (unsigned t = 0; t < threads; t++)
        jobs[t] = (leaf_job){content, len, npages * t / threads, npages * (t + 1) / threads, leaves};
    for (unsigned t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, leaf_roots, &jobs[t]) == 0;
    leaf_roots(&jobs[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else leaf_roots(&jobs[t]); /* no thread: do its share here */
    }
    /* Trailing zero leaves equal the merkleization's zero padding: leave them out (CAP-3 trim). */
    uint64_t used = npages;
    while (used && jv_cap_is_zero(leaves + 32 * (size_t)(used - 1), 32)) used--;
    uint64_t pages = size >> JV_CAP_PAGE_SHIFT;
    jv_hash32 pages_root, size_chunk;
    javm_status st = jv_cap_merkle_bytes(leaves, (size_t)used * 32, jv_cap_ceil_log2(pages), &pages_root);
    free(leaves);
    if (st) return st;
    jv_ssz_htr_uint(size, &size_chunk);
    jv_cap_sha256_pair(&size_chunk, &pages_root, out);
    return JAVM_OK;
}

javm_status jv_cap_data_cap_hash(const jv_datacap *d, jv_hash32 *out) {
    jv_hash32 r;
    javm_status st = jv_cap_data_root(d, &r);
    if (st) return st;
    jv_ssz_mix_in_selector(&r, JV_CAP_SEL_DATA, out);
    return JAVM_OK;
}

javm_status jv_cap_data_check(const jv_datacap *d, bool canonical, bool check_hashes) {
    const jv_cap_backing *b = d->backing;
    uint64_t pages = b->size >> JV_CAP_PAGE_SHIFT;
    if (!b->size || b->size % JV_CAP_PAGE_SIZE)
        return jv_set_error(JAVM_ERR_STATE, "datacap check: size %llu", (unsigned long long)b->size);
    if (b->len > pages || b->len > (uint64_t)b->ngroups * JV_CAP_GROUP)
        return jv_set_error(JAVM_ERR_STATE, "datacap check: %llu slots for %llu pages", (unsigned long long)b->len,
                            (unsigned long long)pages);
    if (canonical && b->len && backing_slot(b, b->len - 1)->kind == JV_SLOT_EMPTY)
        return jv_set_error(JAVM_ERR_STATE, "datacap check (CAP-3): trailing Empty slot %llu",
                            (unsigned long long)(b->len - 1));
    for (uint64_t i = 0; i < b->len; i++) {
        const jv_cap_slot *s = backing_slot(b, i);
        if (s->kind > JV_SLOT_MISSING)
            return jv_set_error(JAVM_ERR_STATE, "datacap check: slot %llu has kind %u", (unsigned long long)i, s->kind);
        if (s->kind != JV_SLOT_LOADED) continue;
        const jv_cap_page *p = s->u.page;
        if ((uintptr_t)p->bytes % JV_CAP_PAGE_SIZE)
            return jv_set_error(JAVM_ERR_STATE, "datacap check (CAP-1): slab of page %llu unaligned", (unsigned long long)i);
        if (jv_cap_page_refcount(p) == 0)
            return jv_set_error(JAVM_ERR_STATE, "datacap check: page %llu has refcount 0", (unsigned long long)i);
        if (canonical && jv_cap_is_zero(p->bytes, JV_CAP_PAGE_SIZE))
            return jv_set_error(JAVM_ERR_STATE, "datacap check (CAP-3): page %llu is a Loaded zero page", (unsigned long long)i);
        if (check_hashes) {
            jv_hash32 h;
            jv_cap_page_hash(p->bytes, JV_CAP_PAGE_SIZE, &h);
            if (memcmp(h.b, p->hash.b, 32))
                return jv_set_error(JAVM_ERR_STATE, "datacap check (CAP-4): page %llu hash is stale", (unsigned long long)i);
        }
    }
    /* slots at or past len are Empty (groups are shared whole, so this is load-bearing) */
    for (uint64_t i = b->len; i < (uint64_t)b->ngroups * JV_CAP_GROUP; i++) {
        const jv_cap_group *c = b->groups[i >> JV_CAP_GROUP_SHIFT];
        if (!c) {
            i |= JV_CAP_GROUP - 1;
            continue;
        }
        if (c->slots[i & (JV_CAP_GROUP - 1)].kind != JV_SLOT_EMPTY)
            return jv_set_error(JAVM_ERR_STATE, "datacap check: slot %llu past len %llu is not Empty",
                                (unsigned long long)i, (unsigned long long)b->len);
    }
    for (uint32_t k = 0; k < d->ov_len; k++) {
        if (d->ov[k].index >= pages)
            return jv_set_error(JAVM_ERR_STATE, "datacap check: overlay index %u past %llu pages",
                                d->ov[k].index, (unsigned long long)pages);
        if (k && d->ov[k].index <= d->ov[k - 1].index)
            return jv_set_error(JAVM_ERR_STATE, "datacap check: overlay not strictly ascending at %u", k);
        const jv_cap_slot *s = &d->ov[k].slot;
        if (s->kind == JV_SLOT_LOADED && (uintptr_t)s->u.page->bytes % JV_CAP_PAGE_SIZE)
            return jv_set_error(JAVM_ERR_STATE, "datacap check (CAP-1): overlay slab unaligned");
    }
    return JAVM_OK;
}
