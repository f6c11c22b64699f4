/* image — the Image: builder, validation (IMG-1), classification (IMG-2, IMG-3), costs
 * (IMG-4), the per-Image mem DataCaps and their memory snapshot. The SSZ codec and the content
 * hash are in image_ssz.c. */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/error.h"

#define BAD(...) jv_set_error(JAVM_ERR_BAD_IMAGE, __VA_ARGS__)

static uint64_t page_up(uint64_t x) { return (x + JV_PAGE_SIZE - 1) & ~(uint64_t)(JV_PAGE_SIZE - 1); }
static uint64_t div_up(uint64_t x, uint64_t d) { return x / d + (x % d != 0); }
static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }
static uint64_t sat_mul(uint64_t a, uint64_t b) {
    return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

javm_status jv_image_create(const uint8_t *blob, size_t len, javm_isa isa, javm_gas_model gas,
                            jv_image **out) {
    *out = NULL;
    if (!blob && len) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: code blob is NULL");
    if (len > JV_IMG_MAX_BLOB)
        return BAD("image: code blob of %zu bytes exceeds the limit %u", len, JV_IMG_MAX_BLOB);
    jv_image *img = calloc(1, sizeof(struct javm_image));
    if (!img) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory");
    img->blob = malloc(len ? len : 1);
    if (!img->blob) {
        free(img);
        return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory");
    }
    if (len) memcpy(img->blob, blob, len);
    img->blob_len = len;
    javm_status s = jv_pvm_program_create_ex(blob, len, isa, gas, true, &img->prog);
    if (s) {
        jv_image_destroy(img);
        return jv_set_error(JAVM_ERR_BAD_IMAGE, "image: code: %s", javm_last_error());
    }
    if (img->prog->code_len > JV_IMG_MAX_CODE_SIZE) {
        uint32_t n = img->prog->code_len;
        jv_image_destroy(img);
        return BAD("image: code of %u bytes does not fit below DATA_BASE (%u bytes)", n,
                   JV_IMG_MAX_CODE_SIZE);
    }
    *out = img;
    return JAVM_OK;
}

static void free_slots(jv_img_slot *s, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) jv_cap_data_destroy(s[i].data);
    free(s);
}

void jv_image_destroy(jv_image *img) {
    if (!img) return;
    jv_pvm_program_destroy(img->prog);
    free(img->blob);
    free(img->maps);
    free_slots(img->pinned, img->npinned);
    free_slots(img->initial, img->ninitial);
    free(img->eps);
    jv_cap_data_destroy(img->mem_root);
    jv_cap_data_destroy(img->mem_sub);
    jv_mem_snapshot_destroy(img->snap);
    free(img->snap_off);
    free(img);
}

static javm_status grow(void **p, uint32_t n, size_t elem, uint32_t limit, const char *what) {
    if (n >= limit) return BAD("image: more than %u %s", limit, what);
    void *q = realloc(*p, (size_t)(n + 1) * elem);
    if (!q) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory");
    *p = q;
    return JAVM_OK;
}

static javm_status check_open(const jv_image *img) {
    return img->valid ? jv_set_error(JAVM_ERR_STATE, "image: already sealed; it cannot change")
                      : JAVM_OK;
}

javm_status jv_image_add_mapping(jv_image *img, uint64_t start, uint64_t size,
                                 const uint32_t *source, unsigned source_len) {
    javm_status s = check_open(img);
    if (s) return s;
    if (source_len > JV_IMG_MAX_SOURCE_DEPTH)
        return BAD("image: mapping at 0x%llx: source path of %u steps exceeds %u",
                   (unsigned long long)start, source_len, JV_IMG_MAX_SOURCE_DEPTH);
    if (source_len && !source)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: mapping source is NULL");
    if ((s = grow((void **)&img->maps, img->nmaps, sizeof *img->maps, JV_IMG_MAX_MAPPINGS,
                  "mappings")))
        return s;
    jv_img_mapping *m = &img->maps[img->nmaps++];
    memset(m, 0, sizeof *m);
    m->start = start;
    m->size = size;
    m->source_len = (uint8_t)source_len;
    if (source_len) memcpy(m->source, source, source_len * sizeof *source);
    return JAVM_OK;
}

javm_status jv_image_add_slot(jv_image *img, bool pinned, uint32_t key, const jv_datacap *d) {
    javm_status s = check_open(img);
    if (s) return s;
    if (!d) return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "image: slot DataCap is NULL");
    if (!jv_cap_data_is_clean(d))
        return jv_set_error(JAVM_ERR_STATE, "image: slot %u: the DataCap has unflushed pages", key);
    jv_img_slot **arr = pinned ? &img->pinned : &img->initial;
    uint32_t *n = pinned ? &img->npinned : &img->ninitial;
    if ((s = grow((void **)arr, *n, sizeof **arr, JV_IMG_MAX_SLOTS,
                  pinned ? "pinned slots" : "initial slots")))
        return s;
    jv_datacap *c;
    if ((s = jv_cap_data_clone(d, &c))) return s;
    (*arr)[*n].key = key;
    (*arr)[*n].data = c;
    (*n)++;
    return JAVM_OK;
}

javm_status jv_image_add_endpoint(jv_image *img, uint32_t key, uint32_t entry_pc,
                                  unsigned arg_registers, const uint64_t regs[JV_PVM_NUM_REGS]) {
    javm_status s = check_open(img);
    if (s) return s;
    if ((s = grow((void **)&img->eps, img->neps, sizeof *img->eps, JV_IMG_MAX_ENDPOINTS,
                  "endpoints")))
        return s;
    jv_img_endpoint *e = &img->eps[img->neps++];
    memset(e, 0, sizeof *e);
    e->key = key;
    e->entry_pc = entry_pc;
    e->arg_registers = (uint8_t)(arg_registers > 255 ? 255 : arg_registers);
    if (regs) memcpy(e->regs, regs, sizeof e->regs);
    return JAVM_OK;
}

/* ---- Lookups and classification ------------------------------------------------------------ */
static const jv_img_slot *find_key(const jv_img_slot *s, uint32_t n, uint32_t key) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s[mid].key == key) return &s[mid];
        if (s[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const jv_img_slot *jv_image_find_slot(const jv_image *img, bool pinned, uint32_t key) {
    return pinned ? find_key(img->pinned, img->npinned, key)
                  : find_key(img->initial, img->ninitial, key);
}

const jv_img_endpoint *jv_image_find_endpoint(const jv_image *img, uint32_t key) {
    for (uint32_t i = 0; i < img->neps; i++)
        if (img->eps[i].key == key) return &img->eps[i];
    return NULL;
}

bool jv_image_mapping_is_pinned(const jv_image *img, uint64_t start) {
    for (uint32_t i = 0; i < img->nmaps; i++) {
        const jv_img_mapping *m = &img->maps[i];
        if (m->start == start && m->source_len && jv_image_find_slot(img, true, m->source[0]))
            return true;
    }
    return false;
}

jv_page_kind jv_image_mapping_kind(const jv_image *img, uint32_t i) {
    const jv_img_mapping *m = &img->maps[i];
    if (jv_image_mapping_is_pinned(img, m->start)) return JV_KIND_PINNED_CAP_RO;
    return m->source_len ? JV_KIND_UNPINNED_CAP_COW : JV_KIND_EPHEMERAL_ZERO;
}

const jv_datacap *jv_image_mapping_source(const jv_image *img, uint32_t i, bool root) {
    const jv_img_mapping *m = &img->maps[i];
    if (!m->source_len) return NULL;
    const jv_img_slot *s = jv_image_find_slot(img, true, m->source[0]);
    if (!s && root) s = jv_image_find_slot(img, false, m->source[0]);
    return s ? s->data : NULL;
}

bool jv_image_page_kind(const jv_image *img, uint32_t addr, bool root, jv_page_kind *out) {
    uint64_t code_top = JV_IMG_CODE_BASE + page_up(img->prog->code_len);
    if (addr >= JV_IMG_CODE_BASE && addr < code_top) {
        *out = JV_KIND_PINNED_CAP_RO;
        return true;
    }
    for (uint32_t i = 0; i < img->nmaps; i++) {
        const jv_img_mapping *m = &img->maps[i];
        if (addr < m->start || addr >= m->start + m->size) continue;
        jv_page_kind k = jv_image_mapping_kind(img, i);
        const jv_datacap *src = jv_image_mapping_source(img, i, root);
        if (k == JV_KIND_UNPINNED_CAP_COW &&
            (!src || addr - m->start >= jv_cap_data_size(src)))
            k = JV_KIND_EPHEMERAL_ZERO; /* no source for this instance, or the zero tail */
        *out = k;
        return true;
    }
    return false;
}

const char *jv_image_kind_name(jv_page_kind k) {
    switch (k) {
    case JV_KIND_PINNED_CAP_RO: return "PinnedCapRo";
    case JV_KIND_UNPINNED_CAP_COW: return "UnpinnedCapCow";
    case JV_KIND_EPHEMERAL_ZERO: return "EphemeralZero";
    }
    return "undeclared";
}

uint64_t jv_image_page_in_cost(uint64_t size) {
    return sat_mul(JV_PAGE_IN_COST, div_up(size, JV_IMG_UNIT_SIZE));
}

jv_img_cost jv_image_cost(const jv_image *img) {
    jv_img_cost c = {0};
    c.code_len = img->prog->code_len;
    c.code_pages = div_up(c.code_len, JV_PAGE_SIZE);
    c.code_units = div_up(c.code_len, JV_IMG_UNIT_SIZE);
    for (uint32_t i = 0; i < img->nmaps; i++)
        if (jv_image_mapping_is_pinned(img, img->maps[i].start))
            c.pinned_units = sat_add(c.pinned_units, div_up(img->maps[i].size, JV_IMG_UNIT_SIZE));
    c.ro_units = sat_add(c.code_units, c.pinned_units);
    c.call_frame_cost = jv_mat_call_frame_cost(c.code_len, c.ro_units);
    return c;
}

/* ---- Validation (IMG-1) -------------------------------------------------------------------- */
static javm_status check_slots(const jv_img_slot *s, uint32_t n, const char *what) {
    for (uint32_t i = 0; i < n; i++) {
        if (i && s[i].key <= s[i - 1].key)
            return BAD("image: %s: key %u follows key %u (keys must be strictly ascending)", what,
                       s[i].key, s[i - 1].key);
        uint64_t size = jv_cap_data_size(s[i].data);
        if (size > JV_GUEST_SPACE)
            return BAD("image: %s %u: size %llu exceeds the 4 GiB guest space", what, s[i].key,
                       (unsigned long long)size);
    }
    return JAVM_OK;
}

static javm_status check_mappings(const jv_image *img) {
    for (uint32_t i = 0; i < img->nmaps; i++) {
        const jv_img_mapping *m = &img->maps[i];
        unsigned long long st = m->start, sz = m->size;
        if (m->start % JV_PAGE_SIZE) return BAD("image: mapping at 0x%llx: start is not 4 KiB-aligned", st);
        if (m->size % JV_PAGE_SIZE || m->size == 0)
            return BAD("image: mapping at 0x%llx: size %llu is not a positive multiple of 4096", st, sz);
        if (m->start < JV_IMG_DATA_BASE)
            return BAD("image: mapping at 0x%llx: below DATA_BASE 0x%x (code and the null guard "
                       "live there)", st, JV_IMG_DATA_BASE);
        if (m->start > JV_GUEST_SPACE || m->size > JV_GUEST_SPACE - m->start)
            return BAD("image: mapping at 0x%llx: size %llu runs past 4 GiB", st, sz);
        if (i && m->start == img->maps[i - 1].start)
            return BAD("image: two mappings start at 0x%llx (at most one per start)", st);
        if (i && m->start < img->maps[i - 1].start)
            return BAD("image: mapping at 0x%llx follows 0x%llx (starts must be ascending)", st,
                       (unsigned long long)img->maps[i - 1].start);
        if (i && m->start < img->maps[i - 1].start + img->maps[i - 1].size)
            return BAD("image: mapping at 0x%llx overlaps the mapping at 0x%llx", st,
                       (unsigned long long)img->maps[i - 1].start);
        if (m->source_len > 1)
            return BAD("image: mapping at 0x%llx: source path of %u steps; this implementation "
                       "resolves one-step paths only (no nested cnodes)", st, m->source_len);
        if (!m->source_len) continue;
        uint32_t key = m->source[0];
        const jv_img_slot *p = jv_image_find_slot(img, true, key);
        const jv_img_slot *q = jv_image_find_slot(img, false, key);
        if (!p && !q)
            return BAD("image: mapping at 0x%llx: source slot %u is neither a pinned nor an "
                       "initial slot", st, key);
        uint64_t n = jv_cap_data_size(p ? p->data : q->data);
        if (n > m->size)
            return BAD("image: mapping at 0x%llx: source slot %u holds %llu bytes, more than the "
                       "mapping's %llu (N > S is rejected)", st, key, (unsigned long long)n, sz);
        if (!p) /* a read-write slot receives one mapping's bytes at HALT */
            for (uint32_t j = 0; j < i; j++)
                if (img->maps[j].source_len && img->maps[j].source[0] == key)
                    return BAD("image: initial slot %u backs two mappings (0x%llx and 0x%llx)",
                               key, (unsigned long long)img->maps[j].start, st);
    }
    return JAVM_OK;
}

static javm_status check_endpoints(const jv_image *img) {
    for (uint32_t i = 0; i < img->neps; i++) {
        const jv_img_endpoint *e = &img->eps[i];
        if (i && e->key <= img->eps[i - 1].key)
            return BAD("image: endpoint %u follows endpoint %u (keys must be strictly ascending)",
                       e->key, img->eps[i - 1].key);
        if (!jv_pvm_is_insn_start(img->prog, e->entry_pc))
            return BAD("image: endpoint %u: entry pc %u is not an instruction start of the code",
                       e->key, e->entry_pc);
        if (e->arg_registers > JV_IMG_MAX_ARG_REGS)
            return BAD("image: endpoint %u: %u argument registers exceed %u", e->key,
                       e->arg_registers, JV_IMG_MAX_ARG_REGS);
    }
    return JAVM_OK;
}

/* The mem of an instance (docs/IMAGE.md, Instances): an all-Empty cap of the extent with every sourced mapping's cap
 * placed at its offset (page references shared, no bytes copied). */
static javm_status build_mem(const jv_image *img, bool root, jv_datacap **out) {
    javm_status s = jv_cap_data_create_empty(img->extent, out);
    for (uint32_t i = 0; i < img->nmaps && !s; i++) {
        const jv_datacap *src = jv_image_mapping_source(img, i, root);
        if (src) s = jv_cap_data_place_shared(*out, img->maps[i].start - JV_IMG_DATA_BASE, src);
    }
    if (s) {
        jv_cap_data_destroy(*out);
        *out = NULL;
    }
    return s;
}

/* The memory snapshot every instance maps: the code pages, then the bytes of each sourced
 * mapping's cap (root view; a non-root instance skips the initial-sourced ones), each
 * page-rounded. snap_off[i] is mapping i's offset (code at 0). Laid out once per Image. */
static javm_status build_snapshot(jv_image *img) {
    uint64_t code_size = page_up(img->prog->code_len), total = code_size;
    img->snap_off = calloc(img->nmaps ? img->nmaps : 1, sizeof *img->snap_off);
    if (!img->snap_off) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory");
    for (uint32_t i = 0; i < img->nmaps; i++) {
        const jv_datacap *src = jv_image_mapping_source(img, i, true);
        img->snap_off[i] = total;
        if (src) total += jv_cap_data_size(src);
    }
    if (total > SIZE_MAX || total > 2 * JV_GUEST_SPACE)
        return BAD("image: %llu bytes of content is too large", (unsigned long long)total);
    uint8_t *buf = calloc(1, total ? (size_t)total : 1);
    if (!buf) return jv_set_error(JAVM_ERR_NO_MEMORY, "image: out of memory laying out memory");
    memcpy(buf, img->prog->code, img->prog->code_len);
    javm_status s = JAVM_OK;
    for (uint32_t i = 0; i < img->nmaps && !s; i++) {
        const jv_datacap *src = jv_image_mapping_source(img, i, true);
        if (!src) continue;
        /* read through mem_root: the one dense DataCap the instance memory is defined by */
        s = jv_cap_data_copy_into(img->mem_root, img->maps[i].start - JV_IMG_DATA_BASE,
                                  buf + img->snap_off[i], (size_t)jv_cap_data_size(src), NULL);
    }
    if (!s) s = jv_mem_snapshot_create(buf, (size_t)total, &img->snap);
    free(buf);
    return s;
}

javm_status jv_image_validate(jv_image *img) {
    javm_status s = check_open(img);
    if (s) return s;
    /* a failed earlier attempt may have built some of the derived state */
    jv_cap_data_destroy(img->mem_root);
    jv_cap_data_destroy(img->mem_sub);
    jv_mem_snapshot_destroy(img->snap);
    free(img->snap_off);
    img->mem_root = img->mem_sub = NULL;
    img->snap = NULL;
    img->snap_off = NULL;
    if ((s = check_slots(img->pinned, img->npinned, "pinned slot")) ||
        (s = check_slots(img->initial, img->ninitial, "initial slot")))
        return s;
    for (uint32_t i = 0; i < img->npinned; i++)
        if (jv_image_find_slot(img, false, img->pinned[i].key))
            return BAD("image: slot %u is both pinned and initial", img->pinned[i].key);
    if ((s = check_mappings(img)) || (s = check_endpoints(img))) return s;
    uint64_t top = JV_IMG_DATA_BASE;
    for (uint32_t i = 0; i < img->nmaps; i++)
        if (img->maps[i].start + img->maps[i].size > top)
            top = img->maps[i].start + img->maps[i].size;
    img->extent = page_up(top) - JV_IMG_DATA_BASE;
    if (img->extent < JV_PAGE_SIZE) img->extent = JV_PAGE_SIZE;
    if ((s = build_mem(img, true, &img->mem_root)) || (s = build_mem(img, false, &img->mem_sub)) ||
        (s = build_snapshot(img)) || (s = jv_image_hash(img, &img->content_hash)))
        return s;
    img->valid = true;
    return JAVM_OK;
}
