package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * timm's {@code VisionTransformer} (ViT, DeiT, DeiT distilled, DeiT-3's LayerScale, average-pooled
 * ViTs, the CLIP fine-tunes' norm_pre), read top to bottom like the Python: patch embedding, class
 * (and distillation) token and position embedding, pre-norm blocks, final norm, pooling and head. Field and op names are the
 * checkpoint keys. The forward is written once, against {@link Ops}, as segments: {@code embed},
 * {@code blocks.0} ... {@code blocks.N-1}, {@code head}.
 */
public final class VisionTransformer implements Model {

    /**
     * {@code blocks.i}: x = x + ls1(proj(attn(qkv(norm1(x))))); x = x + ls2(fc2(gelu(fc1(norm2(x))))),
     * with {@code ls1}, {@code ls2} the LayerScale gammas (DeiT-3) or absent, and the inputs of the
     * Linears that {@code rotation} names read through {@link InputRotation}: norm1's and norm2's
     * outputs on their way into qkv and fc1, the attention's output into proj and the GELU's into fc2.
     */
    public record Block(String name, LayerNorm norm1, Linear qkv, AttentionOp attn, Linear proj,
                        LayerNorm norm2, Linear fc1, Linear fc2, float[] ls1, float[] ls2, RotatedInputs rotation)
            implements Segment {

        static Block load(Weights w, int i, ViTConfig c) {
            String p = "blocks." + i;
            int D = c.dim();
            var spec = new AttentionKernel.Spec(c.tokens(), c.heads(), c.headDim(), (float) Math.pow(c.headDim(), -0.5));
            return new Block(p, LayerNorm.load(w, p + ".norm1", D, c.eps()),
                    Linear.load(w, p + ".attn.qkv", 3 * D, D, c.qkvBias(), "the model's qkv layers have no bias"),
                    new AttentionOp(p + ".attn", spec, null, 1, false),
                    Linear.load(w, p + ".attn.proj", D, D),
                    LayerNorm.load(w, p + ".norm2", D, c.eps()),
                    Linear.load(w, p + ".mlp.fc1", c.mlpHidden(), D),
                    Linear.load(w, p + ".mlp.fc2", D, c.mlpHidden()),
                    c.layerScale() ? w.data(p + ".ls1.gamma", D) : null,
                    c.layerScale() ? w.data(p + ".ls2.gamma", D) : null,
                    c.rotation());
        }

        @Override
        public <T> T forward(T x, Ops<T> ops) {
            T a = ops.attention(attn, ops.linear(qkv, normed(norm1, x, ops), Activation.NONE));
            if (rotation.proj()) a = ops.rotate(a);
            x = ls1 == null ? ops.addLinear(x, proj, a) : ops.add(x, ops.scale(ops.linear(proj, a, Activation.NONE), ls1));
            T h = ops.linear(fc1, normed(norm2, x, ops), Activation.GELU);
            if (rotation.fc2()) h = ops.rotate(h);
            x = ls2 == null ? ops.addLinear(x, fc2, h) : ops.add(x, ops.scale(ops.linear(fc2, h, Activation.NONE), ls2));
            ops.observe(name, x);
            return x;
        }

        /** A LayerNorm's output as qkv and fc1 read it: rotated when the inputs are. */
        private <T> T normed(LayerNorm norm, T x, Ops<T> ops) {
            T y = ops.layerNorm(norm, x);
            return rotation.normed() ? ops.rotate(y) : y;
        }
    }

    private final ModelSpec spec;
    private final ViTConfig cfg;
    private final Linear patchEmbed;      // patch_embed.proj as [D, C*p*p] over im2col patches
    private final List<float[]> prefixTokens;
    private final float[] posEmbed;
    private final LayerNorm normPre;      // norm_pre (timm's pre_norm, the CLIP fine-tunes), or null
    private final Block[] blocks;
    private final LayerNorm norm;         // norm, or fc_norm when the config says so
    private final Linear head, headDist;
    private final List<Segment> segments;
    private final Eager.Buffers buffers = new Eager.Buffers();

    private VisionTransformer(ModelSpec spec, Weights w) {
        this.spec = spec;
        this.cfg = (ViTConfig) spec.architecture();
        int D = cfg.dim(), p = cfg.patch(), C = cfg.inChans();
        float[] pw = w.data("patch_embed.proj.weight", D, C, p, p);
        // timm's pre_norm drops the patch embedding's bias (CLIP)
        patchEmbed = new Linear("patch_embed.proj", pw, cfg.preNorm() ? null : w.data("patch_embed.proj.bias", D), D, C * p * p);
        List<float[]> tokens = new ArrayList<>();
        if (cfg.prefixTokens() >= 1) tokens.add(w.data("cls_token", 1, 1, D));
        if (cfg.prefixTokens() == 2) tokens.add(w.data("dist_token", 1, 1, D));
        prefixTokens = List.copyOf(tokens);
        posEmbed = w.data("pos_embed", 1, cfg.posEmbedPrefix() ? cfg.tokens() : cfg.numPatches(), D);
        normPre = cfg.preNorm() ? LayerNorm.load(w, "norm_pre", D, cfg.eps()) : null;
        blocks = new Block[cfg.depth()];
        for (int i = 0; i < blocks.length; i++) blocks[i] = Block.load(w, i, cfg);
        norm = LayerNorm.load(w, cfg.fcNorm() ? "fc_norm" : "norm", D, cfg.eps());
        head = Linear.load(w, "head", cfg.numClasses(), D);
        headDist = cfg.distillationHead() ? Linear.load(w, "head_dist", cfg.numClasses(), D) : null;
        List<Segment> s = new ArrayList<>();
        s.add(new Embed());
        s.addAll(List.of(blocks));
        s.add(new Head());
        segments = List.copyOf(s);
    }

    public static VisionTransformer load(String name, ViTConfig cfg, Preprocessing preprocessing, Weights w) {
        return load(new ModelSpec(name, cfg, preprocessing), w);
    }

    /** The model of {@code spec} (a {@link ViTConfig} architecture) from {@code w}. */
    public static VisionTransformer load(ModelSpec spec, Weights w) {
        if (!(spec.architecture() instanceof ViTConfig)) throw new IllegalArgumentException(spec.name() + ": not a ViT");
        return new VisionTransformer(spec, w);
    }

    /**
     * {@code embed}: patch embedding, then timm's {@code _pos_embed}: the prefix tokens are prepended
     * and the position embedding added, or (DeiT-3, {@code no_embed_class}) added to the patch tokens first;
     * then {@code norm_pre} when the model has one (timm's {@code pre_norm}, the CLIP fine-tunes).
     */
    private final class Embed implements Segment {
        @Override public String name() { return "embed"; }

        @Override
        public <T> T forward(T images, Ops<T> ops) {
            T x = ops.patchEmbed(patchEmbed, images, cfg.inChans(), cfg.imgSize(), cfg.patch());
            x = cfg.posEmbedPrefix() ? ops.addPosition(ops.prependTokens(x, prefixTokens), posEmbed)
                    : ops.prependTokens(ops.addPosition(x, posEmbed), prefixTokens);
            if (normPre != null) x = ops.layerNorm(normPre, x);
            ops.observe("embed", x);
            return x;
        }
    }

    /**
     * {@code head}: the class token (and distillation token, heads averaged) through the final norm,
     * or the mean of the patch tokens through {@code norm} before it or {@code fc_norm} after it.
     */
    private final class Head implements Segment {
        @Override public String name() { return "head"; }

        @Override
        public <T> T forward(T x, Ops<T> ops) {
            T pooled = switch (cfg.pooling()) {
                case CLASS_TOKEN, CLASS_AND_DISTILLATION -> ops.layerNorm(norm, ops.token(x, 0));
                case AVERAGE -> cfg.fcNorm() ? ops.layerNorm(norm, ops.meanTokens(x, cfg.prefixTokens()))
                        : ops.meanTokens(ops.layerNorm(norm, x), cfg.prefixTokens());
            };
            ops.observe("norm", pooled);
            T logits = ops.linear(head, pooled, Activation.NONE);
            if (headDist == null) return logits;
            return ops.average(logits, ops.linear(headDist, ops.layerNorm(norm, ops.token(x, 1)), Activation.NONE));
        }
    }

    public ViTConfig config() { return cfg; }

    public Block[] blocks() { return blocks.clone(); }

    /** The final LayerNorm ({@code norm}, or {@code fc_norm}). */
    public LayerNorm norm() { return norm; }

    @Override public ModelSpec spec() { return spec; }

    @Override public List<Segment> segments() { return segments; }

    @Override
    public Tensor forward(Tensor images, Executor ex) { return forward(images, ex, Probe.NONE); }

    /**
     * The forward with named intermediate tensors reported to {@code probe}: {@code embed} (after
     * the position embedding), {@code blocks.i} (each block's output) and {@code norm} (the final
     * norm of the pooled token(s), [B, D]).
     */
    public Tensor forward(Tensor images, Executor ex, Probe probe) {
        return Eager.forward(this, buffers, images, ex, probe);
    }

    @Override
    public long parameterCount() {
        long n = patchEmbed.parameterCount() + posEmbed.length + 2L * cfg.dim() + (normPre == null ? 0 : 2L * cfg.dim());
        for (float[] t : prefixTokens) n += t.length;
        for (Block b : blocks) {
            n += 4L * cfg.dim() + b.qkv.parameterCount() + b.proj.parameterCount()
                    + b.fc1.parameterCount() + b.fc2.parameterCount() + (b.ls1 == null ? 0 : 2L * cfg.dim());
        }
        return n + head.parameterCount() + (headDist == null ? 0 : headDist.parameterCount());
    }

    @Override
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        String kind = cfg.distillationHead() ? " (DeiT distilled: class + distillation token, heads averaged)"
                : cfg.distilled() ? " (DeiT: class + distillation token, head on the class token)" : "";
        List<String> variant = new ArrayList<>();
        if (!cfg.qkvBias()) variant.add("no qkv bias");
        if (cfg.layerScale()) variant.add("LayerScale");
        if (cfg.preNorm()) variant.add("norm_pre after the position embedding, no patch-embedding bias (CLIP)");
        if (cfg.rotatedInputs()) variant.add(cfg.rotation().linears() + " inputs rotated");
        if (!cfg.posEmbedPrefix()) variant.add("position embedding on the patch tokens only");
        if (cfg.pooling() == ViTConfig.Pooling.AVERAGE) {
            variant.add((cfg.prefixTokens() == 0 ? "no class token, " : "") + "average pooling, " + (cfg.fcNorm() ? "fc_norm" : "norm before pooling"));
        }
        l.add(String.format(Locale.ROOT, "VisionTransformer%s: patch %d, image %d, embed dim %d, depth %d, heads %d (head dim %d), MLP %d, tokens %d, classes %d, LayerNorm eps %.0e%s",
                kind, cfg.patch(), cfg.imgSize(), cfg.dim(), cfg.depth(), cfg.heads(), cfg.headDim(), cfg.mlpHidden(),
                cfg.tokens(), cfg.numClasses(), cfg.eps(), variant.isEmpty() ? "" : ", " + String.join(", ", variant)));
        l.add(Model.flopsLine(cfg.flopsPerImage()));
        return l;
    }

    @Override
    public List<Linear> linears() {
        List<Linear> l = new ArrayList<>();
        l.add(patchEmbed);
        for (Block b : blocks) l.addAll(List.of(b.qkv, b.proj, b.fc1, b.fc2));
        l.add(head);
        if (headDist != null) l.add(headDist);
        return l;
    }

    /** The Linears whose inputs {@code r} rotates, in forward order. */
    public List<Linear> rotatedLinears(RotatedInputs r) {
        List<Linear> l = new ArrayList<>();
        for (Block b : blocks) {
            if (r.normed()) l.add(b.qkv);
            if (r.proj()) l.add(b.proj);
            if (r.normed()) l.add(b.fc1);
            if (r.fc2()) l.add(b.fc2);
        }
        return l;
    }

    @Override
    public List<NormLinear> normLinears() {
        if (cfg.rotatedInputs()) return List.of(); // a rotation sits between each LayerNorm and its Linear
        List<NormLinear> l = new ArrayList<>();
        for (Block b : blocks) l.addAll(List.of(new NormLinear(b.norm1, b.qkv), new NormLinear(b.norm2, b.fc1)));
        return l;
    }

    @Override
    public List<AttentionOp> attentionOps() {
        List<AttentionOp> l = new ArrayList<>();
        for (Block b : blocks) l.add(b.attn);
        return l;
    }

    /**
     * The architecture that timm-named tensors determine: everything but the head count, which no
     * tensor stores, so the caller gives it (from a zoo name, a config or {@code --heads}). LayerNorm
     * eps is timm's 1e-6, or 1e-5 with {@code norm_pre} (pre_norm: timm's CLIP models, all at 1e-5). qkv bias, LayerScale, the distillation head and whether the position
     * embedding covers the prefix tokens are read from the tensors present; the pooling is timm's
     * default for them: average without a class token or with {@code fc_norm}, else the class token
     * (a checkpoint does not say when a model with a class token and {@code norm} pools by average:
     * its config or zoo name must).
     */
    public static ViTConfig inferConfig(Weights w, int heads) {
        int[] pe = w.shape("patch_embed.proj.weight");
        if (pe.length != 4 || pe[2] != pe[3]) {
            throw new ModelException(w.source() + ": tensor 'patch_embed.proj.weight' has shape "
                    + java.util.Arrays.toString(pe) + ", expected [dim, channels, patch, patch]");
        }
        int D = pe[0], C = pe[1], p = pe[2];
        int depth = 0;
        while (w.has("blocks." + depth + ".norm1.weight")) depth++;
        if (depth == 0) throw new ModelException(w.source() + ": no 'blocks.0.*' tensors: not a ViT/DeiT checkpoint");
        int prefix = !w.has("cls_token") ? 0 : w.has("dist_token") ? 2 : 1;
        int T = w.shape("pos_embed")[1];
        boolean posPrefix;
        int grid = (int) Math.round(Math.sqrt(T - prefix));
        if (grid * grid == T - prefix) {
            posPrefix = true;
        } else {
            grid = (int) Math.round(Math.sqrt(T));
            if (grid * grid != T) {
                throw new ModelException(w.source() + ": pos_embed has " + T + " tokens, not a square grid (plus "
                        + prefix + " prefix token(s))");
            }
            posPrefix = false;
        }
        int hidden = w.shape("blocks.0.mlp.fc1.weight")[0];
        boolean preNorm = w.has("norm_pre.weight");
        if (!w.has("head.weight")) throw ModelException.noClassifier(w, "head.weight");
        int classes = w.shape("head.weight")[0];
        boolean fcNorm = w.has("fc_norm.weight");
        var pooling = prefix == 0 || fcNorm ? ViTConfig.Pooling.AVERAGE
                : prefix == 2 && w.has("head_dist.weight") ? ViTConfig.Pooling.CLASS_AND_DISTILLATION
                : ViTConfig.Pooling.CLASS_TOKEN;
        return new ViTConfig(grid * p, p, C, D, depth, heads, hidden, classes, prefix, 1e-6f,
                w.has("blocks.0.attn.qkv.bias"), pooling, fcNorm, posPrefix, w.has("blocks.0.ls1.gamma"))
                .withPreNorm(preNorm).withEps(preNorm ? 1e-5f : 1e-6f); // timm's pre_norm ViTs (CLIP) all use eps 1e-5
    }
}
