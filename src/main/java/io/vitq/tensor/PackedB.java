package io.vitq.tensor;

/**
 * The right-hand operand B[K][N] of a GEMM, packed once into the layout the micro-kernels read.
 * For a Linear layer B = W^T with W in PyTorch's [out, in] = [N, K] layout.
 * Instances can be re-packed in place (attention packs K and V per head into a reused buffer).
 */
public final class PackedB {
    // Placeholder layout: plain row-major [K][N]. The GEMM kernels replace this with panels.
    float[] data;
    int k, n;

    private PackedB() {}

    public int k() { return k; }

    public int n() { return n; }

    /** B[kk][nn] = src[off + nn*ld + kk] (e.g. nn.Linear weight [N,K] with ld = K, or the K matrix in Q.K^T). */
    public static PackedB packTransposed(float[] src, int off, int ld, int n, int k) {
        PackedB p = new PackedB();
        p.repackTransposed(src, off, ld, n, k);
        return p;
    }

    /** B[kk][nn] = src[off + kk*ld + nn] (row-major B, e.g. V in P.V). */
    public static PackedB pack(float[] src, int off, int ld, int k, int n) {
        PackedB p = new PackedB();
        p.repack(src, off, ld, k, n);
        return p;
    }

    /** An empty buffer for repeated in-place packing. */
    public static PackedB buffer() { return new PackedB(); }

    public void repackTransposed(float[] src, int off, int ld, int n, int k) {
        ensure(k, n);
        for (int kk = 0; kk < k; kk++)
            for (int nn = 0; nn < n; nn++) data[kk * n + nn] = src[off + nn * ld + kk];
    }

    public void repack(float[] src, int off, int ld, int k, int n) {
        ensure(k, n);
        for (int kk = 0; kk < k; kk++) System.arraycopy(src, off + kk * ld, data, kk * n, n);
    }

    private void ensure(int k, int n) {
        this.k = k;
        this.n = n;
        if (data == null || data.length < k * n) data = new float[k * n];
    }
}
