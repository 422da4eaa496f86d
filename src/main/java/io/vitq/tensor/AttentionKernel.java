package io.vitq.tensor;

/**
 * Multi-head attention core over a fused qkv buffer, parallel over (group x head), where a group
 * is one image (ViT) or one window of one image (Swin).
 *
 * <p>Layout as timm's {@code qkv(x).reshape(B, N, 3, H, d)}: row {@code g*T + t} of {@code qkv}
 * holds q (columns {@code [0, D)}), k ({@code [D, 2D)}) and v ({@code [2D, 3D)}), head h at
 * columns {@code h*d .. h*d+d-1} of each part. The output row {@code g*T + t} gets head h at
 * columns {@code h*d ..}, i.e. timm's {@code (attn @ v).transpose(1, 2).reshape(B, N, D)}.
 */
public final class AttentionKernel {
    /** Called on each row of attention probabilities before they multiply V (e.g. fake quantization). */
    @FunctionalInterface
    public interface ProbabilityHook {
        void apply(int group, int head, float[] p, int off, int n);
    }

    /** Shape and scaling of one attention call. */
    public record Spec(int tokens, int heads, int headDim, float scale) {
        public int dim() { return heads * headDim; }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] scores = new float[0];
        final PackedB kT = PackedB.buffer();
        final PackedB v = PackedB.buffer();
    }

    private AttentionKernel() {}

    /**
     * @param bias        additive score bias laid out {@code [biasGroups][H][T][T]}, group g uses
     *                    {@code g % biasGroups} (Swin: relative-position bias plus shift mask per
     *                    window position); null for none
     * @param probs       optional hook on the probability rows; null for plain float execution
     */
    public static void forward(Spec s, float[] qkv, int groups, float[] out,
                               float[] bias, int biasGroups, ProbabilityHook probs) {
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D;
        Parallel.forEach(groups * H, task -> {
            int g = task / H, h = task % H;
            Scratch sc = SCRATCH.get();
            if (sc.scores.length < T * T) sc.scores = new float[T * T];
            float[] S = sc.scores;
            int rowBase = g * T * ld;
            // S = q . k^T (scale applied inside the softmax pass)
            sc.kT.repackTransposed(qkv, rowBase + D + h * d, ld, T, d);
            Gemm.gemm(qkv, rowBase + h * d, ld, T, sc.kT, S, 0, T, null, Activation.NONE, false, false);
            int bOff = bias == null ? 0 : ((g % biasGroups) * H + h) * T * T;
            for (int i = 0; i < T; i++) {
                SoftmaxKernel.row(S, i * T, T, s.scale(), bias, bOff + i * T);
                if (probs != null) probs.apply(g, h, S, i * T, T);
            }
            // out = P . v
            sc.v.repack(qkv, rowBase + 2 * D + h * d, ld, T, d);
            Gemm.gemm(S, 0, T, T, sc.v, out, g * T * D + h * d, D, null, Activation.NONE, false, false);
        });
    }
}
