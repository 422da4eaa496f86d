package io.vitq.tensor;

/**
 * Multi-head attention core over a fused qkv buffer, where a group is one image (ViT) or one window
 * of one image (Swin): parallel over groups, each group's rows copied before its heads run, when
 * there are enough groups and a group fits {@link #GROUP_COPY_MAX}; else over (group x head).
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

    /**
     * The largest group (T x 3D floats, here 512 kB) copied before its heads run: a head's q, k and v
     * are column blocks of rows 3D floats apart, read faster from a copy in L2 than strided from
     * memory (Swin-T's windows, ViT-Ti's images). ViT-S's 908 kB images gained nothing from the copy.
     */
    private static final int GROUP_COPY_MAX = 128 * 1024;

    private static final class Scratch {
        float[] group = new float[0];
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
        final int T = s.tokens(), H = s.heads(), D = s.dim(), groupSize = T * 3 * D;
        if (groups >= Parallel.threads() && groupSize <= GROUP_COPY_MAX) {
            // one task per group: its rows copied in one sequential pass, then its heads read the copy
            Parallel.forEach(groups, g -> {
                Scratch sc = SCRATCH.get();
                if (sc.group.length < groupSize) sc.group = new float[groupSize];
                System.arraycopy(qkv, g * groupSize, sc.group, 0, groupSize);
                for (int h = 0; h < H; h++) head(s, sc.group, 0, g, h, out, bias, biasGroups, probs);
            });
        } else {
            Parallel.forEach(groups * H, task -> head(s, qkv, task / H * groupSize, task / H, task % H, out, bias, biasGroups, probs));
        }
    }

    /** Group g's head h, its qkv rows at {@code rows} in {@code qkv}. */
    private static void head(Spec s, float[] qkv, int rows, int g, int h, float[] out,
                             float[] bias, int biasGroups, ProbabilityHook probs) {
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D;
        Scratch sc = SCRATCH.get();
        if (sc.scores.length < T * T) sc.scores = new float[T * T];
        float[] S = sc.scores;
        // S = q . k^T (scale applied inside the softmax pass)
        sc.kT.repackTransposed(qkv, rows + D + h * d, ld, T, d);
        Gemm.gemm(qkv, rows + h * d, ld, T, sc.kT, S, 0, T, null, Activation.NONE, false, false);
        int bOff = bias == null ? 0 : ((g % biasGroups) * H + h) * T * T;
        for (int i = 0; i < T; i++) {
            SoftmaxKernel.row(S, i * T, T, s.scale(), bias, bOff + i * T);
            if (probs != null) probs.apply(g, h, S, i * T, T);
        }
        // out = P . v
        sc.v.repack(qkv, rows + 2 * D + h * d, ld, T, d);
        Gemm.gemm(S, 0, T, T, sc.v, out, g * T * D + h * d, D, null, Activation.NONE, false, false);
    }
}
