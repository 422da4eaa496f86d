package io.vitq.model;

import io.vitq.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The randomized block Hadamard rotation {@code R} that a ViT with rotated inputs
 * ({@link ViTConfig#rotation()}) applies to the LayerNorm outputs that qkv and fc1 read, and with
 * {@link RotatedInputs#ALL} to the inputs of proj and fc2 too (docs/LOWBIT.md sections 2.1, 2.2). For a width {@code n}, {@code b} is the largest power of two that
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
 * <p>Applied to a row with the fast Walsh-Hadamard transform: {@code n log2 b} additions, on the
 * Vector API when a block holds at least one vector (the same floats as the scalar loop).
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
            if (b >= L) vectorRows(in, r0, r1, n, b, d, norm, out, back);
            else for (int r = r0; r < r1; r++) scalarRow(in, r * n, n, b, d, norm, out, back);
        });
    }

    /** One row in scalar Java: the definition the vector path computes bit for bit. */
    static void scalarRow(float[] in, int o, int n, int b, float[] d, float norm, float[] out, boolean back) {
        for (int i = 0; i < n; i++) out[o + i] = back ? in[o + i] : in[o + i] * d[i];
        for (int k = 0; k < n; k += b) hadamard(out, o + k, b);
        for (int i = 0; i < n; i++) out[o + i] *= back ? norm * d[i] : norm;
    }

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final int L = FS.length();
    /** For each butterfly distance h < L (1, 2, 4, 8): lane i's partner {@code i ^ h}, and +1 where lane i is its pair's first ({@code i & h == 0}), -1 where it is the second. */
    private static final int[][] PARTNER = new int[L][L];
    private static final float[][] SIDE = new float[L][L];

    static {
        for (int h = 1; h < L; h *= 2)
            for (int i = 0; i < L; i++) {
                PARTNER[h][i] = i ^ h;
                SIDE[h][i] = (i & h) == 0 ? 1f : -1f;
            }
    }

    /**
     * Rows {@code [r0, r1)} on the Vector API ({@code b >= L}): the butterflies of distance below L
     * inside each vector (lane i becomes {@code side_i x_i + x_(i^h)}: {@code u + v} at the pair's
     * first lane, {@code u - v} at its second, as {@link #hadamard} adds them), the wider ones between vectors; the
     * same additions in the same order as {@link #scalarRow}, so the same floats.
     */
    static void vectorRows(float[] in, int r0, int r1, int n, int b, float[] d, float norm, float[] out, boolean back) {
        // shuffles and sides built here, not held as static Vector values (ENGINE_NOTES: those box in loops)
        VectorShuffle<Float> p1 = VectorShuffle.fromArray(FS, PARTNER[1], 0), p2 = VectorShuffle.fromArray(FS, PARTNER[2], 0),
                p4 = VectorShuffle.fromArray(FS, PARTNER[4], 0), p8 = VectorShuffle.fromArray(FS, PARTNER[8], 0);
        FloatVector s1 = FloatVector.fromArray(FS, SIDE[1], 0), s2 = FloatVector.fromArray(FS, SIDE[2], 0),
                s4 = FloatVector.fromArray(FS, SIDE[4], 0), s8 = FloatVector.fromArray(FS, SIDE[8], 0);
        for (int r = r0; r < r1; r++) {
            int o = r * n;
            for (int i = 0; i < n; i += L) {
                FloatVector v = FloatVector.fromArray(FS, in, o + i);
                if (!back) v = v.mul(FloatVector.fromArray(FS, d, i));
                v = v.fma(s1, v.rearrange(p1));
                v = v.fma(s2, v.rearrange(p2));
                v = v.fma(s4, v.rearrange(p4));
                v = v.fma(s8, v.rearrange(p8));
                v.intoArray(out, o + i);
            }
            for (int h = L; h < b; h *= 2)
                for (int i = o; i < o + n; i += 2 * h)
                    for (int j = i; j < i + h; j += L) {
                        FloatVector u = FloatVector.fromArray(FS, out, j), w = FloatVector.fromArray(FS, out, j + h);
                        u.add(w).intoArray(out, j);
                        u.sub(w).intoArray(out, j + h);
                    }
            for (int i = 0; i < n; i += L) {
                FloatVector v = FloatVector.fromArray(FS, out, o + i);
                (back ? v.mul(FloatVector.fromArray(FS, d, i).mul(norm)) : v.mul(norm)).intoArray(out, o + i);
            }
        }
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
