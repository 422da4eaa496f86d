package io.vitq.runtime;

/**
 * The simple fallback for codes wider than 8 bits (mixed precision up to 16 bits): plain loops,
 * long accumulation, so every sum of products of 16-bit codes is exact. Not fast; the published
 * settings (8 bits and below) never use it.
 */
final class WideGemm {
    private WideGemm() {}

    /**
     * {@code c[i*ldc + j] = sum_k a[aOff + i*lda + k] * bT[j*ldb + k]} for i < m, j < n, k < K where
     * K = ldb (B given transposed, one row of K codes per output column).
     */
    static void rows(int[] a, int aOff, int lda, int m, int[] bT, int n, int ldb, long[] c, int ldc) {
        final int K = ldb;
        for (int i = 0; i < m; i++) {
            final int ar = aOff + i * lda;
            for (int j = 0; j < n; j++) {
                final int br = j * ldb;
                long s = 0;
                for (int k = 0; k < K; k++) s += (long) a[ar + k] * bT[br + k];
                c[i * ldc + j] = s;
            }
        }
    }
}
