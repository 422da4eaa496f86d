/*
 * vitq's optional native int8 GEMM: AVX-512 VNNI (vpdpbusd), called from Java through the FFM API
 * (io.vitq.runtime.NativeInt8). Built by scripts/build-native.sh when a C compiler is present; the
 * Java kernels run otherwise, and whenever vitq_int8_cpu_ok() says the CPU lacks VNNI.
 *
 * C[i][j] = sum_k A[i][k] * B[k][j] exactly in int32, A int8 codes (row-major), B int8 codes packed
 * once by vitq_int8_pack.
 *
 * vpdpbusd multiplies UNSIGNED bytes by SIGNED bytes. The packing stores B + 128 (B xor 0x80) as the
 * unsigned operand, A stays the signed one, and every row starts from -128 * sum_k A[i][k]:
 *   sum_k A[i][k] (B[k][j] + 128) - 128 sum_k A[i][k] = sum_k A[i][k] B[k][j].
 * Each product fits 16 bits (|a| <= 128, b + 128 <= 255), vpdpbusd adds in int32 with wraparound
 * (not the saturating vpdpbusds), so the int32 result is exact modulo 2^32, hence exact whenever the
 * true sum fits an int32: K * 128 * 128 <= 2^31 - 1 (PackedInt8.MAX_K), the Java kernels' bound.
 * Unsigned arithmetic below keeps C free of signed-overflow undefined behaviour.
 *
 * uint8 A (vitq_uint8_gemm: unsigned activation codes, 0..255, their zero point corrected by the
 * caller) is vpdpbusd's unsigned operand as it is, so B enters signed, unchanged: no correction.
 * Same panels holding B itself (B + 128 xor 0x80, padding 0: PackedInt8 derives it); each product
 * fits 16 bits (255 * -128 = -32640), so the sums are exact whenever K * 255 * 128 <= 2^31 - 1.
 *
 * Packed B: panels of 64 columns (the last one rounded up to 16, 32, 48 or 64), panel p of width wp
 * at byte p * k4 * 256, [k4][wp][4]: the 4 consecutive k of one column in one int32 lane.
 * k4 = ceil(K / 4); the padding (k >= K, columns >= N) holds 0x80 (B = 0) and A's missing k are
 * read as 0, so padding never contributes.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))
#define PANEL 64
#define MR 6
/* One vpdpbusd with A (broadcast) signed and B unsigned, or (ua, uint8 A) A unsigned and B signed. */
#define DP(acc, b, a) (ua ? _mm512_dpbusd_epi32(acc, a, b) : _mm512_dpbusd_epi32(acc, b, a))

/* Compiled without AVX-512 flags so it runs on any x86-64 (the kernels carry their own target). */
int vitq_int8_cpu_ok(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vnni");
}

/* Bumped when a signature or the packed layout changes (NativeInt8 checks it). */
int vitq_int8_version(void) { return 2; }

static int panel_width(int32_t n, int32_t col0) {
    int32_t rem = n - col0;
    return rem >= PANEL ? PANEL : ((rem + 15) / 16) * 16;
}

/* Bytes of a packed B of K x N. */
int64_t vitq_int8_packed_bytes(int32_t k, int32_t n) {
    int64_t k4 = (k + 3) / 4, cols = ((int64_t) n + 15) / 16 * 16;
    return k4 * 4 * cols;
}

/* B[kk][nn] = src[off + kk * rs + nn * cs] (a Linear weight [N][K]: rs = 1, cs = K; row-major: rs = ld, cs = 1).
 * Whole quads of existing k and columns are moved as 32-bit words (the attention heads repack k and v
 * for every head: byte by byte with a bounds test per byte this was 4 % of ViT-Ti's integer forward);
 * the rest, padding included, byte by byte. */
void vitq_int8_pack(const int8_t *src, int64_t off, int64_t rs, int64_t cs, int32_t k, int32_t n, uint8_t *dst) {
    const int32_t k4 = (k + 3) / 4, whole = k / 4; /* quads q < whole hold four existing k */
    const uint32_t flip = 0x80808080u;             /* B xor 0x80 per byte; 0x80808080 is also four zero B */
    for (int32_t col0 = 0; col0 < n; col0 += PANEL) {
        const int wp = panel_width(n, col0);
        uint8_t *panel = dst + (int64_t) col0 * k4 * 4;
        const int valid = n - col0 < wp ? n - col0 : wp;
        for (int32_t q = 0; q < k4; q++) {
            uint8_t *d = panel + (int64_t) q * wp * 4;
            const int8_t *s = src + off + (int64_t) (4 * q) * rs + (int64_t) col0 * cs;
            int j = 0;
            if (q < whole && rs == 1) { /* transposed source: a column's 4 k are contiguous */
                for (; j < valid; j++) {
                    uint32_t w;
                    memcpy(&w, s + (int64_t) j * cs, 4);
                    w ^= flip;
                    memcpy(d + 4 * j, &w, 4);
                }
            } else if (q < whole && cs == 1) { /* row-major source: 4 rows interleaved */
                const uint8_t *s0 = (const uint8_t *) s, *s1 = s0 + rs, *s2 = s1 + rs, *s3 = s2 + rs;
                for (; j < valid; j++) {
                    uint32_t w = (uint32_t) s0[j] | (uint32_t) s1[j] << 8 | (uint32_t) s2[j] << 16 | (uint32_t) s3[j] << 24;
                    w ^= flip;
                    memcpy(d + 4 * j, &w, 4);
                }
            }
            for (; j < wp; j++)
                for (int t = 0; t < 4; t++) {
                    int32_t kk = 4 * q + t;
                    d[j * 4 + t] = (j < valid && kk < k) ? (uint8_t) (s[(int64_t) t * rs + (int64_t) j * cs] ^ 0x80) : 0x80;
                }
        }
    }
}

/* Four bytes of A from k = 4q on, the missing ones (k >= K) as 0. */
INLINE int32_t a_quad(const int8_t *row, int32_t q, int32_t k) {
    int32_t x = 0;
    if (4 * q + 4 <= k) memcpy(&x, row + 4 * q, 4);
    else memcpy(&x, row + 4 * q, (size_t) (k - 4 * q));
    return x;
}

/* -128 * sum_k row[k], in unsigned (wrapping) arithmetic. */
VNNI INLINE uint32_t row_correction(const int8_t *row, int32_t k) {
    __m512i acc = _mm512_setzero_si512();
    const __m512i ones = _mm512_set1_epi8(1);
    int32_t kk = 0;
    for (; kk + 64 <= k; kk += 64) acc = _mm512_dpbusd_epi32(acc, ones, _mm512_loadu_si512(row + kk));
    if (kk < k) {
        __mmask64 m = ~0ULL >> (64 - (k - kk)); /* k - kk in 1..63 */
        acc = _mm512_dpbusd_epi32(acc, ones, _mm512_maskz_loadu_epi8(m, row + kk));
    }
    return (uint32_t) _mm512_reduce_add_epi32(acc) * 0xFFFFFF80u;
}

/* An mr x (nv * 16) tile: rows of A at a (stride lda), one panel of width wp, into c (stride ldc), ncols valid columns. */
VNNI INLINE void tile(const int ua, const int mr, const int nv, const int8_t *a, int64_t lda, const uint32_t *corr,
                      const uint8_t *panel, int wp, int32_t k, int32_t *c, int64_t ldc, int ncols) {
    __m512i acc[MR][4];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_set1_epi32((int32_t) corr[r]);
    const int32_t k4 = (k + 3) / 4, full = k / 4;
    for (int32_t q = 0; q < full; q++) {
        const uint8_t *bq = panel + (int64_t) q * wp * 4;
        __m512i b[4];
        for (int v = 0; v < nv; v++) b[v] = _mm512_loadu_si512(bq + v * 64);
        for (int r = 0; r < mr; r++) {
            int32_t x;
            memcpy(&x, a + r * lda + 4 * q, 4);
            const __m512i ar = _mm512_set1_epi32(x);
            for (int v = 0; v < nv; v++) acc[r][v] = DP(acc[r][v], b[v], ar);
        }
    }
    if (full < k4) { /* K not a multiple of 4 */
        const uint8_t *bq = panel + (int64_t) full * wp * 4;
        __m512i b[4];
        for (int v = 0; v < nv; v++) b[v] = _mm512_loadu_si512(bq + v * 64);
        for (int r = 0; r < mr; r++) {
            const __m512i ar = _mm512_set1_epi32(a_quad(a + r * lda, full, k));
            for (int v = 0; v < nv; v++) acc[r][v] = DP(acc[r][v], b[v], ar);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            const int left = ncols - 16 * v;
            if (left >= 16) _mm512_storeu_si512(c + r * ldc + 16 * v, acc[r][v]);
            else if (left > 0) _mm512_mask_storeu_epi32(c + r * ldc + 16 * v, (__mmask16) ((1u << left) - 1), acc[r][v]);
        }
}

/*
 * The full 6 x 64 tile with its 24 accumulators named, so that they stay in registers (gcc spills
 * the array form of tile() above when it is this large). Same arithmetic as tile(6, 4, ...).
 */
#define DECL_ROW(r) __m512i c##r##0 = _mm512_set1_epi32((int32_t) corr[r]), c##r##1 = c##r##0, c##r##2 = c##r##0, c##r##3 = c##r##0;
#define STEP_ROW(r, x) { const __m512i ar = _mm512_set1_epi32(x); \
        c##r##0 = DP(c##r##0, b0, ar); c##r##1 = DP(c##r##1, b1, ar); \
        c##r##2 = DP(c##r##2, b2, ar); c##r##3 = DP(c##r##3, b3, ar); }
#define LOAD_B(bq) const __m512i b0 = _mm512_loadu_si512(bq), b1 = _mm512_loadu_si512((bq) + 64), \
        b2 = _mm512_loadu_si512((bq) + 128), b3 = _mm512_loadu_si512((bq) + 192);
#define STORE_ROW(r) { int32_t *cr = c + r * ldc; _mm512_storeu_si512(cr, c##r##0); _mm512_storeu_si512(cr + 16, c##r##1); \
        _mm512_storeu_si512(cr + 32, c##r##2); _mm512_storeu_si512(cr + 48, c##r##3); }

VNNI INLINE void tile_6x64(const int ua, const int8_t *a, int64_t lda, const uint32_t *corr, const uint8_t *panel, int32_t k,
                           int32_t *c, int64_t ldc) {
    DECL_ROW(0) DECL_ROW(1) DECL_ROW(2) DECL_ROW(3) DECL_ROW(4) DECL_ROW(5)
    const int8_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
    const int32_t full = k / 4;
    for (int32_t q = 0; q < full; q++) {
        const uint8_t *bq = panel + (int64_t) q * 256;
        LOAD_B(bq)
        int32_t x0, x1, x2, x3, x4, x5;
        memcpy(&x0, a0 + 4 * q, 4); memcpy(&x1, a1 + 4 * q, 4); memcpy(&x2, a2 + 4 * q, 4);
        memcpy(&x3, a3 + 4 * q, 4); memcpy(&x4, a4 + 4 * q, 4); memcpy(&x5, a5 + 4 * q, 4);
        STEP_ROW(0, x0) STEP_ROW(1, x1) STEP_ROW(2, x2) STEP_ROW(3, x3) STEP_ROW(4, x4) STEP_ROW(5, x5)
    }
    if (4 * full < k) { /* K not a multiple of 4 */
        const uint8_t *bq = panel + (int64_t) full * 256;
        LOAD_B(bq)
        STEP_ROW(0, a_quad(a0, full, k)) STEP_ROW(1, a_quad(a1, full, k)) STEP_ROW(2, a_quad(a2, full, k))
        STEP_ROW(3, a_quad(a3, full, k)) STEP_ROW(4, a_quad(a4, full, k)) STEP_ROW(5, a_quad(a5, full, k))
    }
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
}

/* The 6 x 64 tile for each operand order, each its own function (ua constant: one vpdpbusd form each). */
VNNI __attribute__((noinline)) static void tile_6x64_s8(const int8_t *a, int64_t lda, const uint32_t *corr, const uint8_t *panel,
                                                      int32_t k, int32_t *c, int64_t ldc) {
    tile_6x64(0, a, lda, corr, panel, k, c, ldc);
}

VNNI __attribute__((noinline)) static void tile_6x64_u8(const int8_t *a, int64_t lda, const uint32_t *corr, const uint8_t *panel,
                                                      int32_t k, int32_t *c, int64_t ldc) {
    tile_6x64(1, a, lda, corr, panel, k, c, ldc);
}

#define TILE(MRV, NV) tile(ua, MRV, NV, a, lda, corr, panel, wp, k, c, ldc, ncols)
#define ROWS(NV) switch (mr) { \
        case 1: TILE(1, NV); break; case 2: TILE(2, NV); break; case 3: TILE(3, NV); break; \
        case 4: TILE(4, NV); break; case 5: TILE(5, NV); break; default: TILE(6, NV); break; }

VNNI INLINE void tile_any(const int ua, int mr, int nv, const int8_t *a, int64_t lda, const uint32_t *corr, const uint8_t *panel,
                          int wp, int32_t k, int32_t *c, int64_t ldc, int ncols) {
    if (mr == MR && nv == 4 && ncols == PANEL) {
        if (ua) tile_6x64_u8(a, lda, corr, panel, k, c, ldc);
        else tile_6x64_s8(a, lda, corr, panel, k, c, ldc);
        return;
    }
    switch (nv) {
        case 1: ROWS(1) break;
        case 2: ROWS(2) break;
        case 3: ROWS(3) break;
        default: ROWS(4) break;
    }
}

/* Both GEMMs; ua: A uint8 and B packed signed (no correction), else A int8 and B packed + 128. */
VNNI INLINE void gemm(const int ua, const int8_t *a, int64_t aOff, int32_t lda, int32_t m, const uint8_t *b, int32_t k,
                      int32_t n, int32_t *c, int64_t cOff, int32_t ldc) {
    const int32_t k4 = (k + 3) / 4;
    a += aOff;
    c += cOff;
    for (int32_t i = 0; i < m; i += MR) {
        const int mr = m - i < MR ? m - i : MR;
        const int8_t *ai = a + (int64_t) i * lda;
        uint32_t corr[MR];
        for (int r = 0; r < mr; r++) corr[r] = ua ? 0 : row_correction(ai + (int64_t) r * lda, k);
        for (int32_t col0 = 0; col0 < n; col0 += PANEL) {
            const int wp = panel_width(n, col0);
            const int ncols = n - col0 < PANEL ? n - col0 : PANEL;
            tile_any(ua, mr, wp / 16, ai, lda, corr, b + (int64_t) col0 * k4 * 4, wp, k, c + (int64_t) i * ldc + col0, ldc, ncols);
        }
    }
}

/*
 * C[i][j] = sum_k A[i][k] B[k][j] for i < m, j < n: A int8 at a + aOff (row stride lda), B packed
 * by vitq_int8_pack (K x N), C at c + cOff (row stride ldc); only the n columns are written.
 */
VNNI void vitq_int8_gemm(const int8_t *a, int64_t aOff, int32_t lda, int32_t m, const uint8_t *b, int32_t k,
                         int32_t n, int32_t *c, int64_t cOff, int32_t ldc) {
    gemm(0, a, aOff, lda, m, b, k, n, c, cOff, ldc);
}

/* The same for uint8 A, B in the signed layout (vitq_int8_pack's bytes xor 0x80). */
VNNI void vitq_uint8_gemm(const uint8_t *a, int64_t aOff, int32_t lda, int32_t m, const int8_t *b, int32_t k,
                          int32_t n, int32_t *c, int64_t cOff, int32_t ldc) {
    gemm(1, (const int8_t *) a, aOff, lda, m, (const uint8_t *) b, k, n, c, cOff, ldc);
}

/*
 * Peak probe for the benchmark notes: `iters` rounds of the 6 x 64 tile's 24 vpdpbusd on register
 * operands (B and A loads left out), independent chains; returns a value so the loop stays.
 * Operations = iters * 24 * 64 multiply-adds * 2.
 */
#define PEAK_ROW(r) c##r##0 = _mm512_dpbusd_epi32(c##r##0, b0, x); c##r##1 = _mm512_dpbusd_epi32(c##r##1, b1, x); \
        c##r##2 = _mm512_dpbusd_epi32(c##r##2, b2, x); c##r##3 = _mm512_dpbusd_epi32(c##r##3, b3, x);

VNNI int64_t vitq_int8_peak(int64_t iters) {
    const uint32_t corr[MR] = {1, 2, 3, 4, 5, 6};
    DECL_ROW(0) DECL_ROW(1) DECL_ROW(2) DECL_ROW(3) DECL_ROW(4) DECL_ROW(5)
    __m512i b0 = _mm512_set1_epi8(3), b1 = _mm512_set1_epi8(5), b2 = _mm512_set1_epi8(7), b3 = _mm512_set1_epi8(9);
    __m512i x = _mm512_set1_epi8(-3);
    for (int64_t it = 0; it < iters; it++) {
        __asm__ volatile("" : "+v"(b0), "+v"(b1), "+v"(b2), "+v"(b3), "+v"(x));
        PEAK_ROW(0) PEAK_ROW(1) PEAK_ROW(2) PEAK_ROW(3) PEAK_ROW(4) PEAK_ROW(5)
    }
    __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c00, c01), _mm512_add_epi32(c02, c03)),
                                 _mm512_add_epi32(_mm512_add_epi32(c10, c11), _mm512_add_epi32(c12, c13)));
    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c20, c21), _mm512_add_epi32(c22, c23)));
    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c30, c31), _mm512_add_epi32(c32, c33)));
    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c40, c41), _mm512_add_epi32(c42, c43)));
    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c50, c51), _mm512_add_epi32(c52, c53)));
    return _mm512_reduce_add_epi32(s);
}
