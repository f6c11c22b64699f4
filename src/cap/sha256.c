/* SHA-256 for the page store (docs/PAGESTORE.md §11).
 *
 * Flat digests use OpenSSL's SHA256_Init/Update/Final. Merkle nodes are 64-byte messages: two
 * compressions each (the data block, then the constant padding block "80 00 .. 00 00 02 00").
 * Per-call overhead dominates them, so:
 *   - JV_SHA_AVX512 (preferred): batches of 16 nodes run the FIPS 180-4 rounds on the 16 lanes
 *     of AVX-512 registers (vprord rotates, vpternlogd for Ch / Maj / XOR3), the padding block
 *     again as precomputed W + K constants; the remainder of a level (< 16 nodes) goes to
 *     SHA-NI. About 25% faster per page root than SHA-NI alone on Zen 5.
 *   - JV_SHA_SHANI: our own compression with the x86 SHA extensions, two independent messages
 *     interleaved, the message schedule of the padding block precomputed (W + K as constants),
 *     so the second block costs only its 32 rnds2 instructions.
 *   Both are chosen at start-up by CPUID (and XGETBV for the AVX-512 register state) and are
 *   checked against OpenSSL before use.
 *   - JV_SHA_OPENSSL: SHA256_Transform on the data block and on a precomputed padding block,
 *     from a copied initial context (no Update/Final buffering).
 *
 * Why the deprecated low-level OpenSSL functions: OpenSSL 3 deprecates SHA256_Init/Update/
 * Final/Transform in favour of EVP, but EVP costs 15-18 us per page root against ~7 us here
 * (docs/PAGESTORE.md §11), needs heap contexts and can fail. They still exist in OpenSSL 3; the deprecation
 * warning is silenced only around their uses below.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "cap/cap.h"
#include "util/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JV_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define JV_HAVE_SHANI 0
#endif

#define DEPRECATED_BEGIN                                                                      \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define DEPRECATED_END _Pragma("GCC diagnostic pop")

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};
static const uint32_t IV256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* The second block of every 64-byte message: 0x80, zeros, bit length 512 big-endian. */
static uint8_t pad_block[64];
static uint32_t pad_wk[64]; /* W[t] + K[t] of the padding block */
static SHA256_CTX iv_ctx;   /* SHA256_Init state, copied per node */
static jv_hash32 zero_hashes[65];
static _Atomic int backend = JV_SHA_OPENSSL;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* ---- OpenSSL backend ---------------------------------------------------------------------- */
static void store_state(const SHA256_CTX *c, uint8_t *out) {
    for (int i = 0; i < 8; i++) {
        uint32_t v = __builtin_bswap32((uint32_t)c->h[i]); /* digest words are big-endian */
        memcpy(out + 4 * i, &v, 4);
    }
}

DEPRECATED_BEGIN
static void node_openssl(const uint8_t *in, uint8_t *out) {
    SHA256_CTX c = iv_ctx;
    SHA256_Transform(&c, in);
    SHA256_Transform(&c, pad_block);
    store_state(&c, out);
}

void jv_cap_sha256(const void *msg, size_t len, jv_hash32 *out) {
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, msg, len);
    SHA256_Final(out->b, &c);
}
DEPRECATED_END

/* ---- SHA-NI backend ----------------------------------------------------------------------- */
#if JV_HAVE_SHANI
#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

SHANI_TARGET static inline void rounds4(__m128i *abef, __m128i *cdgh, __m128i wk) {
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    wk = _mm_shuffle_epi32(wk, 0x0E);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, wk);
}

SHANI_TARGET static inline void schedule(const uint8_t *m, __m128i w[16]) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    for (int i = 0; i < 4; i++)
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(m + 16 * i)), bswap);
    for (int i = 4; i < 16; i++) {
        __m128i t = _mm_sha256msg1_epu32(w[i - 4], w[i - 3]);
        t = _mm_add_epi32(t, _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
        w[i] = _mm_sha256msg2_epu32(t, w[i - 1]);
    }
}

SHANI_TARGET static inline void store_abef(__m128i abef, __m128i cdgh, uint8_t *out) {
    const __m128i rev = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_unpackhi_epi64(cdgh, abef);
    __m128i efgh = _mm_unpacklo_epi64(cdgh, abef);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(abcd, rev));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(efgh, rev));
}

/* Two independent 64-byte messages; all input is read before any output is written. */
SHANI_TARGET static void nodes2_shani(const uint8_t *a, const uint8_t *b, uint8_t *oa,
                                      uint8_t *ob) {
    const __m128i iv0 = _mm_set_epi32((int)IV256[0], (int)IV256[1], (int)IV256[4], (int)IV256[5]);
    const __m128i iv1 = _mm_set_epi32((int)IV256[2], (int)IV256[3], (int)IV256[6], (int)IV256[7]);
    __m128i wa[16], wb[16];
    schedule(a, wa);
    schedule(b, wb);
    __m128i a0 = iv0, a1 = iv1, b0 = iv0, b1 = iv1;
    for (int i = 0; i < 16; i++) {
        __m128i k = _mm_loadu_si128((const __m128i *)(K256 + 4 * i));
        rounds4(&a0, &a1, _mm_add_epi32(wa[i], k));
        rounds4(&b0, &b1, _mm_add_epi32(wb[i], k));
    }
    a0 = _mm_add_epi32(a0, iv0);
    a1 = _mm_add_epi32(a1, iv1);
    b0 = _mm_add_epi32(b0, iv0);
    b1 = _mm_add_epi32(b1, iv1);
    __m128i sa0 = a0, sa1 = a1, sb0 = b0, sb1 = b1;
    for (int i = 0; i < 16; i++) {
        __m128i k = _mm_loadu_si128((const __m128i *)(pad_wk + 4 * i));
        rounds4(&a0, &a1, k);
        rounds4(&b0, &b1, k);
    }
    store_abef(_mm_add_epi32(a0, sa0), _mm_add_epi32(a1, sa1), oa);
    store_abef(_mm_add_epi32(b0, sb0), _mm_add_epi32(b1, sb1), ob);
}

SHANI_TARGET static void node_shani(const uint8_t *in, uint8_t *out) {
    const __m128i iv0 = _mm_set_epi32((int)IV256[0], (int)IV256[1], (int)IV256[4], (int)IV256[5]);
    const __m128i iv1 = _mm_set_epi32((int)IV256[2], (int)IV256[3], (int)IV256[6], (int)IV256[7]);
    __m128i w[16];
    schedule(in, w);
    __m128i s0 = iv0, s1 = iv1;
    for (int i = 0; i < 16; i++)
        rounds4(&s0, &s1, _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i *)(K256 + 4 * i))));
    s0 = _mm_add_epi32(s0, iv0);
    s1 = _mm_add_epi32(s1, iv1);
    __m128i t0 = s0, t1 = s1;
    for (int i = 0; i < 16; i++) rounds4(&s0, &s1, _mm_loadu_si128((const __m128i *)(pad_wk + 4 * i)));
    store_abef(_mm_add_epi32(s0, t0), _mm_add_epi32(s1, t1), out);
}

static bool cpu_has_shani(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    if (!(c & (1u << 9)) || !(c & (1u << 19))) return false; /* SSSE3, SSE4.1 */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b >> 29) & 1;
}

/* Compare the SHA-NI path with OpenSSL on a few messages (both lanes, odd and even). */
static bool shani_selftest(void) {
    uint8_t msg[4][64], got[4][32], want[32];
    for (int m = 0; m < 4; m++)
        for (int i = 0; i < 64; i++) msg[m][i] = (uint8_t)(m * 61 + i * 7 + (i >> 3));
    memset(msg[0], 0, 64);
    nodes2_shani(msg[0], msg[1], got[0], got[1]);
    nodes2_shani(msg[2], msg[3], got[2], got[3]);
    for (int m = 0; m < 4; m++) {
        node_openssl(msg[m], want);
        if (memcmp(got[m], want, 32)) return false;
        node_shani(msg[m], got[m]);
        if (memcmp(got[m], want, 32)) return false;
    }
    return true;
}

/* ---- AVX-512 backend: 16 independent nodes, one per 32-bit lane ------------------------------
 * The plain FIPS 180-4 rounds on 16 lanes: rotates are vprord, Ch / Maj / three-way XOR are one
 * vpternlogd each. Words are gathered (lane l reads message l) and the digests scattered back.
 * Levels with fewer than 16 nodes left go to the SHA-NI path. */
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw")))
#define ROR(x, n) _mm512_ror_epi32((x), (n))
#define XOR3(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0x96)

AVX512_TARGET static inline void round16(__m512i *s, __m512i kw) {
    __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    __m512i t1 = _mm512_add_epi32(_mm512_add_epi32(h, XOR3(ROR(e, 6), ROR(e, 11), ROR(e, 25))),
                                  _mm512_add_epi32(_mm512_ternarylogic_epi32(e, f, g, 0xCA), kw));
    __m512i t2 = _mm512_add_epi32(XOR3(ROR(a, 2), ROR(a, 13), ROR(a, 22)),
                                  _mm512_ternarylogic_epi32(a, b, c, 0xE8));
    s[7] = g;
    s[6] = f;
    s[5] = e;
    s[4] = _mm512_add_epi32(d, t1);
    s[3] = c;
    s[2] = b;
    s[1] = a;
    s[0] = _mm512_add_epi32(t1, t2);
}

/* NB groups of 16 messages of 64 bytes back to back -> NB * 16 digests of 32 bytes, the groups'
 * rounds interleaved. Reads all input before writing any output (out may alias in as in
 * jv_cap_sha256_pairs). Measured: NB = 2 is no faster than NB = 1 on Zen 5 (the vector units,
 * not the round chain's latency, are the limit), so only NB = 1 is used. */
AVX512_TARGET static inline __attribute__((always_inline)) void
nodes_avx512(const uint8_t *in, uint8_t *out, const int NB) {
    const __m512i bswap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    const __m512i gidx = _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176,
                                           192, 208, 224, 240);
    const __m512i sidx = _mm512_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104,
                                           112, 120);
    __m512i w[2][16], s[2][8], iv[2][8];
    for (int g = 0; g < NB; g++) {
        for (int t = 0; t < 16; t++)
            w[g][t] = _mm512_shuffle_epi8(
                _mm512_i32gather_epi32(gidx, (const void *)(in + 1024 * g + 4 * t), 4), bswap);
        for (int i = 0; i < 8; i++) s[g][i] = iv[g][i] = _mm512_set1_epi32((int)IV256[i]);
    }
    for (int t = 0; t < 64; t++) {
        __m512i k = _mm512_set1_epi32((int)K256[t]);
        for (int g = 0; g < NB; g++) {
            if (t >= 16) {
                __m512i w15 = w[g][(t - 15) & 15], w2 = w[g][(t - 2) & 15];
                __m512i s0 = XOR3(ROR(w15, 7), ROR(w15, 18), _mm512_srli_epi32(w15, 3));
                __m512i s1 = XOR3(ROR(w2, 17), ROR(w2, 19), _mm512_srli_epi32(w2, 10));
                w[g][t & 15] = _mm512_add_epi32(_mm512_add_epi32(w[g][t & 15], s0),
                                                _mm512_add_epi32(w[g][(t - 7) & 15], s1));
            }
            round16(s[g], _mm512_add_epi32(w[g][t & 15], k));
        }
    }
    for (int g = 0; g < NB; g++)
        for (int i = 0; i < 8; i++) s[g][i] = iv[g][i] = _mm512_add_epi32(s[g][i], iv[g][i]);
    for (int t = 0; t < 64; t++) {
        __m512i kw = _mm512_set1_epi32((int)pad_wk[t]);
        for (int g = 0; g < NB; g++) round16(s[g], kw);
    }
    for (int g = 0; g < NB; g++)
        for (int i = 0; i < 8; i++)
            _mm512_i32scatter_epi32((void *)(out + 512 * g + 4 * i), sidx,
                                    _mm512_shuffle_epi8(_mm512_add_epi32(s[g][i], iv[g][i]), bswap), 4);
}

AVX512_TARGET static void nodes16_avx512(const uint8_t *in, uint8_t *out) { nodes_avx512(in, out, 1); }

static bool cpu_has_avx512(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6) != 0xe6) return false; /* XMM, YMM, opmask, ZMM state enabled by the OS */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return ((b >> 16) & 1) && ((b >> 30) & 1); /* AVX512F, AVX512BW */
}

static bool avx512_selftest(void) {
    uint8_t msg[16 * 64], got[16 * 32], want[32];
    for (int i = 0; i < 16 * 64; i++) msg[i] = (uint8_t)(i * 151 + (i >> 6) * 7 + 3);
    memset(msg + 5 * 64, 0, 64);
    nodes16_avx512(msg, got);
    for (int m = 0; m < 16; m++) {
        node_openssl(msg + 64 * m, want);
        if (memcmp(got + 32 * m, want, 32)) return false;
    }
    return true;
}
#else
static bool cpu_has_shani(void) { return false; }
static bool shani_selftest(void) { return false; }
static bool cpu_has_avx512(void) { return false; }
static bool avx512_selftest(void) { return false; }
#endif

static bool usable(jv_sha_backend b) {
    switch (b) {
    case JV_SHA_OPENSSL: return true;
    case JV_SHA_SHANI: return cpu_has_shani() && shani_selftest();
    case JV_SHA_AVX512: return cpu_has_shani() && shani_selftest() && cpu_has_avx512() && avx512_selftest();
    default: return false;
    }
}

static int best_backend(void) {
    if (usable(JV_SHA_AVX512)) return JV_SHA_AVX512;
    if (usable(JV_SHA_SHANI)) return JV_SHA_SHANI;
    return JV_SHA_OPENSSL;
}

static void init_tables(void) {
    DEPRECATED_BEGIN
    SHA256_Init(&iv_ctx);
    DEPRECATED_END
    memset(pad_block, 0, sizeof pad_block);
    pad_block[0] = 0x80;
    pad_block[62] = 0x02; /* 512 bits */
    uint32_t w[64] = {0};
    w[0] = 0x80000000u;
    w[15] = 512;
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ror32(w[t - 15], 7) ^ ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ror32(w[t - 2], 17) ^ ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    for (int t = 0; t < 64; t++) pad_wk[t] = w[t] + K256[t];
    memset(&zero_hashes[0], 0, sizeof zero_hashes[0]);
    for (int d = 0; d < 64; d++) {
        uint8_t two[64];
        memcpy(two, zero_hashes[d].b, 32);
        memcpy(two + 32, zero_hashes[d].b, 32);
        jv_cap_sha256(two, 64, &zero_hashes[d + 1]);
    }
    atomic_store(&backend, best_backend());
    const char *env = getenv("JAVM_SHA256");
    if (env && !strcmp(env, "openssl")) atomic_store(&backend, JV_SHA_OPENSSL);
    else if (env && !strcmp(env, "shani") && usable(JV_SHA_SHANI)) atomic_store(&backend, JV_SHA_SHANI);
}

static inline void ensure_init(void) { pthread_once(&init_once, init_tables); }

javm_status jv_cap_sha256_set_backend(jv_sha_backend b) {
    ensure_init();
    if (b == JV_SHA_AUTO) {
        atomic_store(&backend, best_backend());
        return JAVM_OK;
    }
    if ((unsigned)b > JV_SHA_AVX512)
        return jv_set_error(JAVM_ERR_INVALID_ARGUMENT, "sha256: unknown backend %d", (int)b);
    if (!usable(b))
        return jv_set_error(JAVM_ERR_UNSUPPORTED, "sha256: backend %d is not usable on this CPU", (int)b);
    atomic_store(&backend, b);
    return JAVM_OK;
}

jv_sha_backend jv_cap_sha256_backend(void) {
    ensure_init();
    return (jv_sha_backend)atomic_load_explicit(&backend, memory_order_relaxed);
}

const char *jv_cap_sha256_backend_name(void) {
    switch (jv_cap_sha256_backend()) {
    case JV_SHA_AVX512: return "avx-512 x16 + sha-ni x2";
    case JV_SHA_SHANI: return "sha-ni x2";
    default: return "openssl blocks";
    }
}

const jv_hash32 *jv_cap_zero_hash(unsigned d) {
    ensure_init();
    return &zero_hashes[d > 64 ? 64 : d];
}

void jv_cap_sha256_pairs(const uint8_t *in, size_t n, uint8_t *out) {
    ensure_init();
#if JV_HAVE_SHANI
    int be = atomic_load_explicit(&backend, memory_order_relaxed);
    if (be == JV_SHA_AVX512 || be == JV_SHA_SHANI) {
        size_t i = 0;
        if (be == JV_SHA_AVX512) {
            for (; i + 16 <= n; i += 16) nodes16_avx512(in + 64 * i, out + 32 * i);
        }
        for (; i + 2 <= n; i += 2) nodes2_shani(in + 64 * i, in + 64 * (i + 1), out + 32 * i, out + 32 * (i + 1));
        if (i < n) node_shani(in + 64 * i, out + 32 * i);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        uint8_t tmp[64];
        memcpy(tmp, in + 64 * i, 64); /* out may alias in */
        node_openssl(tmp, out + 32 * i);
    }
}

void jv_cap_sha256_pair(const jv_hash32 *left, const jv_hash32 *right, jv_hash32 *out) {
    uint8_t buf[64];
    memcpy(buf, left->b, 32);
    memcpy(buf + 32, right->b, 32);
    jv_cap_sha256_pairs(buf, 1, out->b);
}
