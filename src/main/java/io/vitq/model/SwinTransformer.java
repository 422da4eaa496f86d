package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.LayerNormKernel;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.lang.ref.SoftReference;

/**
 * timm's {@code SwinTransformer} (v1), read top to bottom like {@code swin_transformer.py}:
 * {@code patch_embed} (4x4 conv as a GEMM over im2col patches, LayerNorm), stages {@code layers.s}
 * (patch merging at the start of stages s >= 1, then blocks with (shifted) window attention),
 * final {@code norm}, average pool over tokens, {@code head.fc}.
 *
 * <p>Tokens stay in image order [B, H*W, C] (timm's [B, L, C]) in the residual stream. Each block
 * gathers its normed tokens into window order (norm1 + roll + window_partition in one pass), runs
 * qkv, attention and proj over all windows of all images at once, and scatter-adds proj's output
 * back into the residual (window_reverse + roll back + residual add in one pass).
 *
 * <p>Names follow current timm: op ids {@code patch_embed.proj}, {@code layers.2.blocks.5.attn.qkv},
 * {@code layers.2.blocks.5.attn} (matmul prefix), {@code layers.1.downsample.reduction},
 * {@code head.fc}; checkpoints in timm 0.4.12 / Microsoft naming are mapped by {@link SwinCheckpoint}.
 */
public final class SwinTransformer implements Model {

    /** {@code patch_embed}: conv (kernel = stride = patch) as a Linear over patches, then LayerNorm. */
    public record PatchEmbed(Linear proj, LayerNorm norm, int patch, int inChans, int imgSize) {

        /**
         * images [B, C, S, S] to tokens [B * G * G, D] in row-major grid order (timm's
         * flatten(2).transpose(1, 2)); {@code patches} is scratch for the im2col rows.
         */
        float[] forward(float[] img, int B, float[] patches, Executor ex) {
            int G = imgSize / patch, M = B * G * G;
            float[] x = new float[M * proj.out()];
            im2col(img, B, patches);
            ex.linear(proj, patches, M, x, Activation.NONE, false);
            norm.apply(x, x, M);
            return x;
        }

        /** Rows (b, gy, gx), columns (c, ky, kx): the order of the conv weight [D, C, p, p]. */
        private void im2col(float[] img, int B, float[] out) {
            int C = inChans, p = patch, S = imgSize, G = S / p, K = C * p * p;
            Parallel.forRange(B * G, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int b = r / G, gy = r % G;
                    for (int gx = 0; gx < G; gx++) {
                        int o = ((b * G + gy) * G + gx) * K;
                        for (int c = 0; c < C; c++)
                            for (int ky = 0; ky < p; ky++) {
                                System.arraycopy(img, ((b * C + c) * S + gy * p + ky) * S + gx * p, out, o + (c * p + ky) * p, p);
                            }
                    }
                }
            });
        }
    }

    /**
     * {@code layers.s.downsample}: concatenate each 2x2 neighbourhood in timm's order
     * x0 = (0::2, 0::2), x1 = (1::2, 0::2), x2 = (0::2, 1::2), x3 = (1::2, 1::2), LayerNorm over 4C,
     * {@code reduction} 4C -> 2C without bias.
     */
    public record PatchMerging(LayerNorm norm, Linear reduction, int inRes) {

        /** x [B, R*R, C] to a new [B, (R/2)^2, 2C]; {@code buf} holds the gathered [B, (R/2)^2, 4C]. */
        float[] forward(float[] x, int B, float[] buf, Executor ex) {
            int r = inRes / 2, L = r * r, C4 = norm.dim(), C = C4 / 4;
            float[] g = norm.weight(), be = norm.bias();
            float eps = norm.eps();
            Parallel.forRange(B * L, 64, (o0, o1) -> {
                for (int o = o0; o < o1; o++) {
                    int dst = o * C4;
                    for (int k = 0; k < 4; k++) System.arraycopy(x, source(o, k) * C, buf, dst + k * C, C);
                    LayerNormKernel.forward(buf, dst, C4, buf, dst, C4, 1, C4, g, be, eps, false);
                }
            });
            float[] y = new float[B * L * reduction.out()];
            ex.linear(reduction, buf, B * L, y, Activation.NONE, false);
            return y;
        }

        /**
         * The input row (image b's token (2i + dy, 2j + dx)) that part k of output row o = (b, i, j)
         * reads, with k = 2 dx + dy as timm concatenates.
         */
        int source(int o, int k) {
            int R = inRes, r = R / 2, L = r * r, b = o / L, i = o % L / r, j = o % r, dy = k & 1, dx = k >> 1;
            return (b * R + 2 * i + dy) * R + 2 * j + dx;
        }
    }

    /**
     * {@code layers.s.blocks.b}: x = x + reverse(attn(partition(roll(norm1(x), -shift))), +shift);
     * x = x + mlp(norm2(x)). {@code windowOrder[r]} is the image token that window-ordered row r
     * reads ({@link SwinWindows#windowOrder}); the shift mask, when shifted, is folded into the
     * attention op's per-window bias.
     */
    public record Block(LayerNorm norm1, Linear qkv, AttentionOp attn, Linear proj, LayerNorm norm2,
                        Linear fc1, Linear fc2, int window, int shift, int[] windowOrder) {

        static Block load(SwinCheckpoint w, SwinConfig c, int s, int b) {
            String p = "layers." + s + ".blocks." + b;
            int D = c.dim(s), H = c.heads(s), ws = c.windowAt(s), res = c.resolution(s);
            int shift = b % 2 == 1 ? c.shiftAt(s) : 0;
            String tk = p + ".attn.relative_position_bias_table";
            int rows = (2 * ws - 1) * (2 * ws - 1);
            if (!Arrays.equals(w.shape(tk), new int[]{rows, H})) {
                throw new ModelException(w.weights().source() + ": tensor '" + w.key(tk) + "' has shape "
                        + Arrays.toString(w.shape(tk)) + ", expected [" + rows + ", " + H + "] (window " + ws
                        + " on stage " + s + "'s " + res + "x" + res + " feature map at image size " + c.imgSize()
                        + "; wrong image size or window?)");
            }
            float[] bias = SwinWindows.attentionBias(w.data(tk, rows, H), H, ws,
                    shift > 0 ? SwinWindows.shiftMask(res, ws, shift) : null);
            w.ignoreBuffer(p + ".attn.relative_position_index");
            w.ignoreBuffer(p + ".attn_mask");
            int T = ws * ws, nW = (res / ws) * (res / ws);
            var spec = new AttentionKernel.Spec(T, H, D / H, (float) Math.pow(D / H, -0.5));
            // q is scaled before q.k^T in Swin (qPrescaled); the float kernel folds the scale into softmax
            var attn = new AttentionOp(p + ".attn", spec, bias, shift > 0 ? nW : 1, true);
            return new Block(w.layerNorm(p + ".norm1", D, c.eps()), w.linear(p + ".attn.qkv", 3 * D, D, c.qkvBias()), attn,
                    w.linear(p + ".attn.proj", D, D, true), w.layerNorm(p + ".norm2", D, c.eps()),
                    w.linear(p + ".mlp.fc1", c.mlpHidden(s), D, true), w.linear(p + ".mlp.fc2", D, c.mlpHidden(s), true),
                    ws, shift, SwinWindows.windowOrder(res, ws, shift));
        }

        /** One block on x [B * L, D] in place. */
        void forward(float[] x, int B, Buffers s, Executor ex) {
            int M = B * windowOrder.length, T = window * window;
            gatherNorm1(x, B, s.ln);
            ex.linear(qkv, s.ln, M, s.qkv, Activation.NONE, false);
            ex.attention(attn, s.qkv, M / T, s.attnOut);
            ex.linear(proj, s.attnOut, M, s.ln, Activation.NONE, false);
            scatterAdd(s.ln, x, B);
            norm2.apply(x, s.ln, M);
            ex.linear(fc1, s.ln, M, s.hidden, Activation.GELU, false);
            ex.linear(fc2, s.hidden, M, x, Activation.NONE, true);
        }

        /** y[window row r] = norm1(x[token windowOrder[r]]): norm, roll and window_partition in one pass. */
        void gatherNorm1(float[] x, int B, float[] y) {
            int L = windowOrder.length, D = norm1.dim();
            float[] g = norm1.weight(), be = norm1.bias();
            float eps = norm1.eps();
            Parallel.forRange(B * L, 64, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int src = r / L * L + windowOrder[r % L];
                    LayerNormKernel.forward(x, src * D, D, y, r * D, D, 1, D, g, be, eps, false);
                }
            });
        }

        /** x[token windowOrder[r]] += y[window row r]: window_reverse, roll back and residual add. */
        void scatterAdd(float[] y, float[] x, int B) {
            int L = windowOrder.length, D = norm1.dim();
            Parallel.forRange(B * L, 64, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int dst = (r / L * L + windowOrder[r % L]) * D, src = r * D;
                    for (int c = 0; c < D; c++) x[dst + c] += y[src + c];
                }
            });
        }
    }

    /** {@code layers.s}: optional patch merging, then the blocks, on a {@code res x res} map of {@code dim} channels. */
    public record Stage(PatchMerging downsample, Block[] blocks, int res, int dim) {}

    /**
     * Scratch buffers shared by all blocks of one forward, sized for the largest stage (and the
     * im2col patches), kept between forwards: at batch 32 they are ~350 MB for Swin-T, and
     * re-allocating them per forward costs zeroing and long GC pauses.
     */
    static final class Buffers {
        final int batch;
        final float[] ln, qkv, attnOut, hidden;

        Buffers(int B, SwinConfig c) {
            batch = B;
            long ln = 0, qkv = 0, hid = (long) B * c.tokens(0) * c.inChans() * c.patch() * c.patch();
            for (int s = 0; s < c.stages(); s++) {
                long rows = (long) B * c.tokens(s);
                ln = Math.max(ln, rows * c.dim(s));   // also holds the merging gather of stage s + 1
                qkv = Math.max(qkv, rows * 3 * c.dim(s));
                hid = Math.max(hid, rows * c.mlpHidden(s));
            }
            if (Math.max(qkv, hid) > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("batch " + B + " too large for one Swin forward; split it");
            }
            this.ln = new float[(int) ln];
            this.qkv = new float[(int) qkv];
            this.attnOut = new float[(int) ln];
            this.hidden = new float[(int) hid];
        }
    }

    private final ModelSpec spec;
    private final SwinConfig cfg;
    private final PatchEmbed patchEmbed;
    private final Stage[] stages;
    private final LayerNorm norm;
    private final Linear head;
    /** Buffers of the last forward, reused by the next one that fits (taken atomically: forwards may run concurrently). */
    private final AtomicReference<SoftReference<Buffers>> spare = new AtomicReference<>();

    private SwinTransformer(ModelSpec spec, Weights weights) {
        this.spec = spec;
        this.cfg = (SwinConfig) spec.architecture();
        SwinCheckpoint w = SwinCheckpoint.of(weights);
        if (w.has("absolute_pos_embed")) {
            throw new ModelException(weights.source() + ": Swin with an absolute position embedding (ape=True) is not supported");
        }
        int D0 = cfg.embedDim(), p = cfg.patch(), C = cfg.inChans();
        patchEmbed = new PatchEmbed(new Linear("patch_embed.proj", w.data("patch_embed.proj.weight", D0, C, p, p),
                w.data("patch_embed.proj.bias", D0), D0, C * p * p),
                w.layerNorm("patch_embed.norm", D0, cfg.eps()), p, C, cfg.imgSize());
        stages = new Stage[cfg.stages()];
        for (int s = 0; s < stages.length; s++) {
            PatchMerging down = null;
            if (s > 0) {
                String dp = "layers." + s + ".downsample";
                int in = 4 * cfg.dim(s - 1);
                down = new PatchMerging(w.layerNorm(dp + ".norm", in, cfg.eps()), w.linear(dp + ".reduction", cfg.dim(s), in, false),
                        cfg.resolution(s - 1));
            }
            Block[] blocks = new Block[cfg.depth(s)];
            for (int b = 0; b < blocks.length; b++) blocks[b] = Block.load(w, cfg, s, b);
            stages[s] = new Stage(down, blocks, cfg.resolution(s), cfg.dim(s));
        }
        norm = w.layerNorm("norm", cfg.numFeatures(), cfg.eps());
        head = w.linear("head.fc", cfg.numClasses(), cfg.numFeatures(), true);
    }

    public static SwinTransformer load(String name, SwinConfig cfg, Preprocessing preprocessing, Weights w) {
        return load(new ModelSpec(name, cfg, preprocessing), w);
    }

    /** The model of {@code spec} (a {@link SwinConfig} architecture) from {@code w}. */
    public static SwinTransformer load(ModelSpec spec, Weights w) {
        if (!(spec.architecture() instanceof SwinConfig)) throw new IllegalArgumentException(spec.name() + ": not a Swin");
        return new SwinTransformer(spec, w);
    }

    public SwinConfig config() { return cfg; }

    public Stage[] stages() { return stages.clone(); }

    public PatchEmbed patchEmbed() { return patchEmbed; }

    /** The final norm, before the average pool. */
    public LayerNorm norm() { return norm; }

    /** {@code head.fc}. */
    public Linear head() { return head; }

    @Override public ModelSpec spec() { return spec; }

    @Override
    public long parameterCount() {
        long n = patchEmbed.proj.parameterCount() + 2L * patchEmbed.norm.dim();
        for (Stage st : stages) {
            if (st.downsample != null) n += 2L * st.downsample.norm.dim() + st.downsample.reduction.parameterCount();
            for (Block b : st.blocks) {
                int ws = b.window;
                n += 4L * st.dim + (long) (2 * ws - 1) * (2 * ws - 1) * b.attn.spec().heads() + b.qkv.parameterCount()
                        + b.proj.parameterCount() + b.fc1.parameterCount() + b.fc2.parameterCount();
            }
        }
        return n + 2L * norm.dim() + head.parameterCount();
    }

    @Override
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        l.add(String.format(Locale.ROOT, "SwinTransformer: patch %d, image %d, embed dim %d, depths %s, heads %s, window %d, MLP ratio %.1f, classes %d, LayerNorm eps %.0e",
                cfg.patch(), cfg.imgSize(), cfg.embedDim(), Arrays.toString(cfg.depths()), Arrays.toString(cfg.heads()),
                cfg.window(), cfg.mlpRatio(), cfg.numClasses(), cfg.eps()));
        for (int s = 0; s < stages.length; s++) {
            int ws = cfg.windowAt(s), nw = cfg.resolution(s) / ws;
            l.add(String.format(Locale.ROOT, "  layers.%d: %s%dx%d tokens, dim %d, %d blocks, %d heads, window %d (%d windows), %s",
                    s, s > 0 ? "patch merging, " : "", cfg.resolution(s), cfg.resolution(s), cfg.dim(s), cfg.depth(s),
                    cfg.heads(s), ws, nw * nw, cfg.shiftAt(s) > 0 ? "shift " + cfg.shiftAt(s) + " on odd blocks" : "no shift"));
        }
        l.add(String.format(Locale.ROOT, "%.2f GFLOPs per image (2 per multiply-add)", cfg.flopsPerImage() / 1e9));
        return l;
    }

    @Override
    public List<Linear> linears() {
        List<Linear> l = new ArrayList<>();
        l.add(patchEmbed.proj);
        for (Stage st : stages) {
            if (st.downsample != null) l.add(st.downsample.reduction);
            for (Block b : st.blocks) l.addAll(List.of(b.qkv, b.proj, b.fc1, b.fc2));
        }
        l.add(head);
        return l;
    }

    @Override
    public List<AttentionOp> attentionOps() {
        List<AttentionOp> l = new ArrayList<>();
        for (Stage st : stages) for (Block b : st.blocks) l.add(b.attn);
        return l;
    }

    @Override
    public Tensor forward(Tensor images, Executor ex) {
        return forward(images, ex, Probe.NONE);
    }

    /**
     * The forward with named intermediates reported to {@code probe}, all [B, L, C] in image token
     * order: {@code patch_embed} (after its norm), {@code layers.s.downsample} (output of stage s's
     * patch merging, s >= 1), {@code layers.s} (stage output), {@code norm} (final norm), and
     * {@code pooled} [B, C]. timm 0.4.12's {@code layers[i]} output (blocks of stage i, then the
     * merging it stored at its end) is {@code layers.{i+1}.downsample}, and {@code layers.3} for the last.
     */
    public Tensor forward(Tensor images, Executor ex, Probe probe) {
        int S = cfg.imgSize(), C = cfg.inChans();
        if (images.rank() != 4 || images.dim(1) != C || images.dim(2) != S || images.dim(3) != S) {
            throw new IllegalArgumentException(name() + " expects images [B, " + C + ", " + S + ", " + S + "], got "
                    + images.shapeString());
        }
        int B = images.dim(0);
        SoftReference<Buffers> ref = spare.getAndSet(null);
        Buffers buf = ref == null ? null : ref.get();
        if (buf == null || buf.batch < B) buf = new Buffers(B, cfg);
        float[] x = patchEmbed.forward(images.data(), B, buf.hidden, ex);
        probe.observe("patch_embed", x, B, cfg.tokens(0), cfg.dim(0));
        for (int s = 0; s < stages.length; s++) {
            Stage st = stages[s];
            int L = st.res * st.res;
            if (st.downsample != null) {
                x = st.downsample.forward(x, B, buf.ln, ex);
                probe.observe("layers." + s + ".downsample", x, B, L, st.dim);
            }
            for (Block b : st.blocks) b.forward(x, B, buf, ex);
            probe.observe("layers." + s, x, B, L, st.dim);
        }
        spare.set(new SoftReference<>(buf));
        return headForward(x, B, ex, probe);
    }

    /** Final norm over all tokens, mean over tokens, head.fc. */
    private Tensor headForward(float[] x, int B, Executor ex, Probe probe) {
        int last = stages.length - 1, L = cfg.tokens(last), D = cfg.numFeatures(), NC = cfg.numClasses();
        float[] xn = new float[B * L * D];
        norm.apply(x, xn, B * L);
        probe.observe("norm", xn, B, L, D);
        float[] pooled = new float[B * D];
        double[] acc = new double[D];
        for (int b = 0; b < B; b++) {
            Arrays.fill(acc, 0);
            for (int t = 0; t < L; t++) for (int c = 0; c < D; c++) acc[c] += xn[(b * L + t) * D + c];
            for (int c = 0; c < D; c++) pooled[b * D + c] = (float) (acc[c] / L);
        }
        probe.observe("pooled", pooled, B, D);
        float[] logits = new float[B * NC];
        ex.linear(head, pooled, B, logits, Activation.NONE, false);
        return new Tensor(logits, B, NC);
    }

    // ---- checkpoint recognition and the zoo ----

    /** True when the tensors look like a Swin (v1) checkpoint in either timm naming. */
    public static boolean looksLikeSwin(Weights w) {
        return w.has("patch_embed.proj.weight") && w.has("layers.0.blocks.0.attn.relative_position_bias_table");
    }

    /**
     * The architecture from tensor shapes: embed dim and patch from {@code patch_embed.proj.weight},
     * depths from the blocks present, heads from each stage's {@code relative_position_bias_table}
     * [(2W-1)^2, heads], window W from stage 0's table, MLP ratio from {@code fc1}, classes from the
     * head, qkv bias from block 0. The image size is not stored in any tensor, so the caller gives it
     * (a zoo name, a config or {@code --img-size}).
     */
    public static SwinConfig inferConfig(Weights weights, int imgSize) {
        return inferConfig(weights, (Integer) imgSize);
    }

    /**
     * The shapes alone, for comparing a checkpoint with an architecture: the image size (which no
     * tensor stores) is set to window x patch x 2^(stages - 1), a size at which every stage's feature
     * map divides into windows. Never build a model from it.
     */
    public static SwinConfig inferShapes(Weights weights) {
        return inferConfig(weights, null);
    }

    private static SwinConfig inferConfig(Weights weights, Integer imgSize) {
        SwinCheckpoint w = SwinCheckpoint.of(weights);
        String src = weights.source();
        if (!looksLikeSwin(weights)) {
            throw new ModelException(src + ": no 'patch_embed.proj.weight' and 'layers.0.blocks.0.attn.relative_position_bias_table': not a Swin checkpoint");
        }
        int[] pe = w.shape("patch_embed.proj.weight");
        if (pe.length != 4 || pe[2] != pe[3]) {
            throw new ModelException(src + ": tensor 'patch_embed.proj.weight' has shape " + Arrays.toString(pe)
                    + ", expected [dim, channels, patch, patch]");
        }
        int D0 = pe[0], C = pe[1], p = pe[2];
        List<Integer> depths = new ArrayList<>(), heads = new ArrayList<>();
        for (int s = 0; w.has("layers." + s + ".blocks.0.norm1.weight"); s++) {
            int d = 0;
            while (w.has("layers." + s + ".blocks." + d + ".norm1.weight")) d++;
            depths.add(d);
            int[] t = w.shape("layers." + s + ".blocks.0.attn.relative_position_bias_table");
            if (t.length != 2) throw new ModelException(src + ": relative_position_bias_table of stage " + s + " is not 2-D");
            heads.add(t[1]);
            int dim = w.shape("layers." + s + ".blocks.0.norm1.weight")[0];
            if (dim != D0 << s) {
                throw new ModelException(src + ": stage " + s + " has dim " + dim + ", expected " + (D0 << s)
                        + " (embed dim " + D0 + " doubled per stage)");
            }
        }
        int rows = w.shape("layers.0.blocks.0.attn.relative_position_bias_table")[0];
        int side = (int) Math.round(Math.sqrt(rows));
        if (side * side != rows || side % 2 == 0) {
            throw new ModelException(src + ": relative_position_bias_table of stage 0 has " + rows
                    + " rows, not (2W-1)^2 for a window W");
        }
        int window = (side + 1) / 2, stages = depths.size();
        double mlpRatio = (double) w.shape("layers.0.blocks.0.mlp.fc1.weight")[0] / D0;
        int classes = w.shape("head.fc.weight")[0];
        int img = imgSize != null ? imgSize : window * p * (1 << (stages - 1));
        return new SwinConfig(img, p, C, D0, depths.stream().mapToInt(Integer::intValue).toArray(),
                heads.stream().mapToInt(Integer::intValue).toArray(), window, mlpRatio, classes, SwinConfig.EPS,
                w.has("layers.0.blocks.0.attn.qkv.bias"));
    }
}
