package io.vitq.model;

import io.vitq.tensor.Parallel;

/**
 * The randomized block Hadamard rotation {@code R} that a ViT with rotated inputs
 * ({@link ViTConfig#rotatedInputs()}) applies to the LayerNorm outputs that qkv and fc1 read
 * (docs/LOWBIT.md section 2.1). For a width {@code n}, {@code b} is the largest power of two that
 * divides n, and
 * <pre>
 *   R = diag(H_b, ..., H_b) D / sqrt(b),   (H_b)_ij = (-1)^popcount(i &amp; j),   D = diag(sign_0, ..., sign_n-1)
 * </pre>
 * with fixed pseudo-random signs that depend only on n and the channel, so a model file needs no
 * more than the fact that its inputs are rotated. R is orthogonal: with the weight stored as
 * {@code W R^T} the Linear computes {@code (W R^T)(R x) = W x}, the float function unchanged, while
 * its input quantizer sees {@code R x}, whose outlier channels are spread over their block, and its
 * weight rows are mixed in the same way.
 *
 * <p>Applied to a row with the fast Walsh-Hadamard transform: {@code n log2 b} additions.
 */
public final class InputRotation {
    private InputRotation() {}

    /** The Hadamard block size of width n: the largest power of two dividing it. */
    public static int block(int n) {
        if (n <= 0) throw new IllegalArgumentException("rotation width " + n);
        return Integer.lowestOneBit(n);
    }

    /**
     * {@code sign_i} of width n: +1 or -1, the low bit of a fixed integer mix of n and i. Changing it
     * breaks every stored rotated model: a file holds weights rotated with these signs, not the signs.
     */
    public static float sign(int n, int i) {
        long h = (i + 1L) * 0x9E3779B97F4A7C15L ^ n * 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 29;
        return (h & 1) == 0 ? 1f : -1f;
    }

    /** {@code y = R x} for each of {@code rows} rows of width n ({@code y} may be {@code x}). */
    public static void rotate(float[] x, int rows, int n, float[] y) { apply(x, rows, n, y, false); }

    /** {@code x = R^T y = D H y / sqrt(b)} for each of {@code rows} rows ({@code x} may be {@code y}). */
    public static void rotateBack(float[] y, int rows, int n, float[] x) { apply(y, rows, n, x, true); }

    /** R (signs first) or, {@code back}, R^T (signs last; H is symmetric) on each row of {@code in} into {@code out}. */
    private static void apply(float[] in, int rows, int n, float[] out, boolean back) {
        int b = block(n);
        float[] d = signs(n);
        float norm = (float) (1 / Math.sqrt(b));
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * n;
                for (int i = 0; i < n; i++) out[o + i] = back ? in[o + i] : in[o + i] * d[i];
                for (int k = 0; k < n; k += b) hadamard(out, o + k, b);
                for (int i = 0; i < n; i++) out[o + i] *= back ? norm * d[i] : norm;
            }
        });
    }

    /** R^T as a dense row-major {@code [n, n]} matrix: row i is {@code R e_i} (the ONNX export's constant). */
    public static float[] transposedMatrix(int n) {
        float[] identity = new float[n * n], rt = new float[n * n];
        for (int i = 0; i < n; i++) identity[i * n + i] = 1;
        rotate(identity, n, n, rt);
        return rt;
    }

    /**
     * {@code H_b / sqrt(b)} as a row-major {@code [b, b]} matrix (symmetric): R is this block on the
     * diagonal times D, so {@code x R^T} is the signed row cut into blocks of b, each times this matrix
     * (the ONNX export's form, b/n of the dense product's multiply-adds).
     */
    public static float[] normalizedBlock(int b) {
        if (b <= 0 || Integer.bitCount(b) != 1) throw new IllegalArgumentException("Hadamard block " + b);
        float[] h = new float[b * b];
        float norm = (float) (1 / Math.sqrt(b));
        for (int i = 0; i < b; i++) {
            h[i * b + i] = 1;
            hadamard(h, i * b, b);
            for (int j = 0; j < b; j++) h[i * b + j] *= norm;
        }
        return h;
    }

    /** R as a dense row-major {@code [n, n]} matrix (for tests). */
    public static float[] matrix(int n) {
        float[] rt = transposedMatrix(n), m = new float[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) m[i * n + j] = rt[j * n + i];
        return m;
    }

    /** {@code (sign_0, ..., sign_n-1)}: the diagonal of D. */
    public static float[] signs(int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = sign(n, i);
        return d;
    }

    /** The unnormalised Walsh-Hadamard transform of {@code a[off, off + b)} in place (Sylvester order). */
    private static void hadamard(float[] a, int off, int b) {
        for (int h = 1; h < b; h *= 2)
            for (int i = off; i < off + b; i += 2 * h)
                for (int j = i; j < i + h; j++) {
                    float u = a[j], v = a[j + h];
                    a[j] = u + v;
                    a[j + h] = u - v;
                }
    }
}
