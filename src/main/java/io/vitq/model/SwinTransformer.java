package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * timm's {@code SwinTransformer} (v1), read top to bottom like {@code swin_transformer.py}:
 * {@code patch_embed} (4x4 conv as a GEMM over im2col patches, LayerNorm), stages {@code layers.s}
 * (patch merging at the start of stages s >= 1, then blocks with (shifted) window attention),
 * final {@code norm}, average pool over tokens, {@code head.fc}. The forward is written once,
 * against {@link Ops}, as segments: {@code patch_embed}, then per stage its {@code downsample} and
 * its blocks, then {@code head}.
 *
 * <p>Tokens stay in image order [B, H*W, C] (timm's [B, L, C]) in the residual stream. Each block
 * takes its normed tokens into window order (roll + window_partition as one row permutation), runs
 * qkv, attention and proj over all windows of all images at once, and adds proj's output back into
 * the residual in image order (window_reverse + roll back + residual add).
 *
 * <p>Names follow current timm: op ids {@code patch_embed.proj}, {@code layers.2.blocks.5.attn.qkv},
 * {@code layers.2.blocks.5.attn} (matmul prefix), {@code layers.1.downsample.reduction},
 * {@code head.fc}; checkpoints in timm 0.4.12 / Microsoft naming are mapped by {@link SwinCheckpoint}.
 */
public final class SwinTransformer implements Model {

    /** {@code patch_embed}: conv (kernel = stride = patch) as a Linear over patches, then LayerNorm. */
    public record PatchEmbed(Linear proj, LayerNorm norm, int patch, int inChans, int imgSize) implements Segment {
        @Override public String name() { return "patch_embed"; }

        @Override
        public <T> T forward(T images, Ops<T> ops) {
            T x = ops.layerNorm(norm, ops.patchEmbed(proj, images, inChans, imgSize, patch));
            ops.observe("patch_embed", x);
            return x;
        }
    }

    /**
     * {@code layers.s.downsample}: concatenate each 2x2 neighbourhood in timm's order
     * x0 = (0::2, 0::2), x1 = (1::2, 0::2), x2 = (0::2, 1::2), x3 = (1::2, 1::2), LayerNorm over 4C,
     * {@code reduction} 4C -> 2C without bias.
     */
    public record PatchMerging(String name, LayerNorm norm, Linear reduction, int inRes) implements Segment {
        @Override
        public <T> T forward(T x, Ops<T> ops) {
            x = ops.linear(reduction, ops.layerNorm(norm, ops.mergePatches(x, inRes)), Activation.NONE);
            ops.observe(name, x);
            return x;
        }
    }

    /**
     * {@code layers.s.blocks.b}: x = x + reverse(attn(partition(roll(norm1(x), -shift))), +shift);
     * x = x + mlp(norm2(x)). {@code windowOrder[r]} is the image token that window-ordered row r
     * reads ({@link SwinWindows#windowOrder}); the shift mask, when shifted, is folded into the
     * attention op's per-window bias. {@code stageEnd} names the stage whose output this block is
     * (its last block), for the probe.
     */
    public record Block(String name, LayerNorm norm1, Linear qkv, AttentionOp attn, Linear proj, LayerNorm norm2,
                        Linear fc1, Linear fc2, int window, int shift, int[] windowOrder, String stageEnd)
            implements Segment {

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
            return new Block(p, w.layerNorm(p + ".norm1", D, c.eps()), w.linear(p + ".attn.qkv", 3 * D, D, c.qkvBias()), attn,
                    w.linear(p + ".attn.proj", D, D, true), w.layerNorm(p + ".norm2", D, c.eps()),
                    w.linear(p + ".mlp.fc1", c.mlpHidden(s), D, true), w.linear(p + ".mlp.fc2", D, c.mlpHidden(s), true),
                    ws, shift, SwinWindows.windowOrder(res, ws, shift), b == c.depth(s) - 1 ? "layers." + s : null);
        }

        @Override
        public <T> T forward(T x, Ops<T> ops) {
            T windows = ops.permuteRows(ops.layerNorm(norm1, x), windowOrder);
            T a = ops.attention(attn, ops.linear(qkv, windows, Activation.NONE));
            x = ops.addPermuted(x, ops.linear(proj, a, Activation.NONE), windowOrder);
            x = ops.addLinear(x, fc2, ops.linear(fc1, ops.layerNorm(norm2, x), Activation.GELU));
            if (stageEnd != null) ops.observe(stageEnd, x);
            return x;
        }
    }

    /** {@code layers.s}: optional patch merging, then the blocks, on a {@code res x res} map of {@code dim} channels. */
    public record Stage(PatchMerging downsample, Block[] blocks, int res, int dim) {}

    private final ModelSpec spec;
    private final SwinConfig cfg;
    private final PatchEmbed patchEmbed;
    private final Stage[] stages;
    private final LayerNorm norm;
    private final Linear head;
    private final List<Segment> segments;
    private final Eager.Buffers buffers = new Eager.Buffers();

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
        List<Segment> seg = new ArrayList<>(List.of(patchEmbed));
        stages = new Stage[cfg.stages()];
        for (int s = 0; s < stages.length; s++) {
            PatchMerging down = null;
            if (s > 0) {
                String dp = "layers." + s + ".downsample";
                int in = 4 * cfg.dim(s - 1);
                down = new PatchMerging(dp, w.layerNorm(dp + ".norm", in, cfg.eps()),
                        w.linear(dp + ".reduction", cfg.dim(s), in, false), cfg.resolution(s - 1));
                seg.add(down);
            }
            Block[] blocks = new Block[cfg.depth(s)];
            for (int b = 0; b < blocks.length; b++) blocks[b] = Block.load(w, cfg, s, b);
            seg.addAll(List.of(blocks));
            stages[s] = new Stage(down, blocks, cfg.resolution(s), cfg.dim(s));
        }
        norm = w.layerNorm("norm", cfg.numFeatures(), cfg.eps());
        head = w.linear("head.fc", cfg.numClasses(), cfg.numFeatures(), true);
        seg.add(new Head());
        segments = List.copyOf(seg);
    }

    /** {@code head}: final norm over all tokens, mean over tokens, {@code head.fc}. */
    private final class Head implements Segment {
        @Override public String name() { return "head"; }

        @Override
        public <T> T forward(T x, Ops<T> ops) {
            T normed = ops.layerNorm(norm, x);
            ops.observe("norm", normed);
            T pooled = ops.meanTokens(normed, 0);
            ops.observe("pooled", pooled);
            return ops.linear(head, pooled, Activation.NONE);
        }
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

    @Override public List<Segment> segments() { return segments; }

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
            l.add(String.format(Locale.ROOT, "  layers.%d: %s%dx%d tokens, dim %d, %d blocks, %d heads, window %d (%d window%s), %s",
                    s, s > 0 ? "patch merging, " : "", cfg.resolution(s), cfg.resolution(s), cfg.dim(s), cfg.depth(s),
                    cfg.heads(s), ws, nw * nw, nw == 1 ? "" : "s", cfg.shiftAt(s) > 0 ? "shift " + cfg.shiftAt(s) + " on odd blocks" : "no shift"));
        }
        l.add(Model.flopsLine(cfg.flopsPerImage()));
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
    public List<NormLinear> normLinears() {
        List<NormLinear> l = new ArrayList<>();
        for (Stage st : stages) {
            if (st.downsample != null) l.add(new NormLinear(st.downsample.norm, st.downsample.reduction));
            for (Block b : st.blocks) l.addAll(List.of(new NormLinear(b.norm1, b.qkv), new NormLinear(b.norm2, b.fc1)));
        }
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
        return Eager.forward(this, buffers, images, ex, probe);
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
        if (!w.has("head.fc.weight")) throw ModelException.noClassifier(weights, "head.fc.weight (or head.weight)");
        int classes = w.shape("head.fc.weight")[0];
        int img = imgSize != null ? imgSize : window * p * (1 << (stages - 1));
        return new SwinConfig(img, p, C, D0, depths.stream().mapToInt(Integer::intValue).toArray(),
                heads.stream().mapToInt(Integer::intValue).toArray(), window, mlpRatio, classes, SwinConfig.EPS,
                w.has("layers.0.blocks.0.attn.qkv.bias"));
    }
}
