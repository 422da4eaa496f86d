package io.vitq.tensor;

/**
 * C = A . B (+ bias) with an optional fused activation, for row-major float32 A and a packed B.
 * Placeholder scalar implementation with the final API; replaced by register-tiled Vector API kernels.
 */
public final class Gemm {
    private Gemm() {}

    /**
     * {@code C[i][j] (+)= act(sum_k A[i][k] B[k][j] + bias[j])} for i < m, j < B.n().
     *
     * @param accumulate if true, the result is added to C's existing values (residual add); the
     *                   activation must then be NONE
     * @param bias       length B.n(), or null
     * @param parallel   split rows over the thread pool (false when the caller already runs in parallel)
     */
    public static void gemm(float[] a, int aOff, int lda, int m, PackedB b,
                            float[] c, int cOff, int ldc, float[] bias, Activation act,
                            boolean accumulate, boolean parallel) {
        if (accumulate && act != Activation.NONE) {
            throw new IllegalArgumentException("accumulate with an activation is not supported");
        }
        int k = b.k, n = b.n;
        Parallel.RangeBody body = (r0, r1) -> {
            float[] row = new float[n];
            for (int i = r0; i < r1; i++) {
                java.util.Arrays.fill(row, 0f);
                for (int kk = 0; kk < k; kk++) {
                    float av = a[aOff + i * lda + kk];
                    for (int j = 0; j < n; j++) row[j] += av * b.data[kk * n + j];
                }
                for (int j = 0; j < n; j++) {
                    float v = row[j] + (bias != null ? bias[j] : 0f);
                    if (act == Activation.GELU) v = (float) MathOps.gelu(v);
                    int ci = cOff + i * ldc + j;
                    c[ci] = accumulate ? c[ci] + v : v;
                }
            }
        };
        if (parallel) Parallel.forRange(m, body); else body.run(0, m);
    }
}
