package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * timm's {@code VisionTransformer} (ViT, DeiT, DeiT distilled), read top to bottom like the
 * Python: patch embedding as a GEMM over im2col patches, class (and distillation) token plus
 * position embedding, pre-norm blocks, final norm, head on the class token. Field and op names are
 * the checkpoint keys.
 */
public final class VisionTransformer implements Model {

    /** {@code blocks.i}: x = x + attn(norm1(x)); x = x + mlp(norm2(x)). */
    public record Block(LayerNorm norm1, Linear qkv, AttentionOp attn, Linear proj,
                        LayerNorm norm2, Linear fc1, Linear fc2) {

        static Block load(Weights w, int i, ViTConfig c) {
            String p = "blocks." + i;
            int D = c.dim();
            var spec = new AttentionKernel.Spec(c.tokens(), c.heads(), c.headDim(),
                    (float) Math.pow(c.headDim(), -0.5));
            return new Block(LayerNorm.load(w, p + ".norm1", D, c.eps()),
                    Linear.load(w, p + ".attn.qkv", 3 * D, D, c.qkvBias(), "the model's qkv layers have no bias"),
                    new AttentionOp(p + ".attn", spec, null, 1, false),
                    Linear.load(w, p + ".attn.proj", D, D),
                    LayerNorm.load(w, p + ".norm2", D, c.eps()),
                    Linear.load(w, p + ".mlp.fc1", c.mlpHidden(), D),
                    Linear.load(w, p + ".mlp.fc2", D, c.mlpHidden()));
        }

        /** One block on x [B*T, D] in place; {@code s} holds reusable buffers. */
        void forward(float[] x, int batch, Buffers s, Executor ex) {
            int M = s.rows;
            norm1.apply(x, s.ln, M);
            ex.linear(qkv, s.ln, M, s.qkv, Activation.NONE, false);
            ex.attention(attn, s.qkv, batch, s.attnOut);
            ex.linear(proj, s.attnOut, M, x, Activation.NONE, true);
            norm2.apply(x, s.ln, M);
            ex.linear(fc1, s.ln, M, s.hidden, Activation.GELU, false);
            ex.linear(fc2, s.hidden, M, x, Activation.NONE, true);
        }
    }

    /** Activation buffers shared by all blocks of one forward. */
    static final class Buffers {
        final int rows;
        final float[] ln, qkv, attnOut, hidden;

        Buffers(int rows, ViTConfig c) {
            this.rows = rows;
            ln = new float[rows * c.dim()];
            qkv = new float[rows * 3 * c.dim()];
            attnOut = new float[rows * c.dim()];
            hidden = new float[rows * c.mlpHidden()];
        }
    }

    private final ModelSpec spec;
    private final ViTConfig cfg;
    private final Linear patchEmbed;      // patch_embed.proj as [D, C*p*p] over im2col patches
    private final float[] clsToken, distToken, posEmbed;
    private final Block[] blocks;
    private final LayerNorm norm;
    private final Linear head, headDist;

    private VisionTransformer(ModelSpec spec, Weights w) {
        this.spec = spec;
        this.cfg = (ViTConfig) spec.architecture();
        int D = cfg.dim(), p = cfg.patch(), C = cfg.inChans();
        float[] pw = w.data("patch_embed.proj.weight", D, C, p, p);
        patchEmbed = new Linear("patch_embed.proj", pw, w.data("patch_embed.proj.bias", D), D, C * p * p);
        clsToken = w.data("cls_token", 1, 1, D);
        distToken = cfg.distilled() ? w.data("dist_token", 1, 1, D) : null;
        posEmbed = w.data("pos_embed", 1, cfg.tokens(), D);
        blocks = new Block[cfg.depth()];
        for (int i = 0; i < blocks.length; i++) blocks[i] = Block.load(w, i, cfg);
        norm = LayerNorm.load(w, "norm", D, cfg.eps());
        head = Linear.load(w, "head", cfg.numClasses(), D);
        headDist = cfg.distillationHead() ? Linear.load(w, "head_dist", cfg.numClasses(), D) : null;
    }

    public static VisionTransformer load(String name, ViTConfig cfg, Preprocessing preprocessing, Weights w) {
        return load(new ModelSpec(name, cfg, preprocessing), w);
    }

    /** The model of {@code spec} (a {@link ViTConfig} architecture) from {@code w}. */
    public static VisionTransformer load(ModelSpec spec, Weights w) {
        if (!(spec.architecture() instanceof ViTConfig)) throw new IllegalArgumentException(spec.name() + ": not a ViT");
        return new VisionTransformer(spec, w);
    }

    public ViTConfig config() { return cfg; }

    public Block[] blocks() { return blocks.clone(); }

    /** The final LayerNorm ({@code norm}). */
    public LayerNorm norm() { return norm; }

    @Override public ModelSpec spec() { return spec; }

    @Override
    public long parameterCount() {
        long n = patchEmbed.parameterCount() + clsToken.length + posEmbed.length
                + (distToken == null ? 0 : distToken.length) + 2L * cfg.dim();
        for (Block b : blocks) {
            n += 4L * cfg.dim() + b.qkv.parameterCount() + b.proj.parameterCount()
                    + b.fc1.parameterCount() + b.fc2.parameterCount();
        }
        return n + head.parameterCount() + (headDist == null ? 0 : headDist.parameterCount());
    }

    @Override
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        l.add(String.format(Locale.ROOT, "VisionTransformer%s: patch %d, image %d, embed dim %d, depth %d, heads %d (head dim %d), MLP %d, tokens %d, classes %d, LayerNorm eps %.0e%s",
                cfg.distillationHead() ? " (DeiT distilled: class + distillation token, heads averaged)"
                        : cfg.distilled() ? " (DeiT: class + distillation token, head on the class token)" : "",
                cfg.patch(), cfg.imgSize(), cfg.dim(), cfg.depth(), cfg.heads(), cfg.headDim(), cfg.mlpHidden(),
                cfg.tokens(), cfg.numClasses(), cfg.eps(), cfg.qkvBias() ? "" : ", no qkv bias"));
        l.add(String.format(Locale.ROOT, "%.2f GFLOPs per image (2 per multiply-add)", cfg.flopsPerImage() / 1e9));
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

    @Override
    public List<AttentionOp> attentionOps() {
        List<AttentionOp> l = new ArrayList<>();
        for (Block b : blocks) l.add(b.attn);
        return l;
    }

    @Override
    public Tensor forward(Tensor images, Executor ex) {
        return forward(images, ex, Probe.NONE);
    }

    /**
     * The forward with named intermediate tensors reported to {@code probe}: {@code embed} (after
     * the position embedding), {@code blocks.i} (each block's output) and {@code norm} (the final
     * norm of the class token, [B, D]).
     */
    public Tensor forward(Tensor images, Executor ex, Probe probe) {
        int S = cfg.imgSize();
        if (images.rank() != 4 || images.dim(1) != cfg.inChans() || images.dim(2) != S || images.dim(3) != S) {
            throw new IllegalArgumentException(name() + " expects images [B, " + cfg.inChans() + ", " + S + ", " + S
                    + "], got " + images.shapeString());
        }
        int B = images.dim(0), T = cfg.tokens(), D = cfg.dim();
        float[] x = embed(images.data(), B, ex);
        probe.observe("embed", x, B, T, D);
        Buffers buf = new Buffers(B * T, cfg);
        for (int i = 0; i < blocks.length; i++) {
            blocks[i].forward(x, B, buf, ex);
            probe.observe("blocks." + i, x, B, T, D);
        }
        return headForward(x, B, ex, probe);
    }

    /** patch_embed, prepend class (and distillation) token, add pos_embed: x [B*T, D]. */
    float[] embed(float[] img, int B, Executor ex) {
        int D = cfg.dim(), T = cfg.tokens(), NP = cfg.numPatches(), pre = cfg.prefixTokens();
        float[] patches = im2col(img, B);
        float[] pe = new float[B * NP * D];
        ex.linear(patchEmbed, patches, B * NP, pe, Activation.NONE, false);
        float[] x = new float[B * T * D];
        for (int b = 0; b < B; b++) {
            int xo = b * T * D;
            for (int j = 0; j < D; j++) x[xo + j] = clsToken[j] + posEmbed[j];
            if (distToken != null) for (int j = 0; j < D; j++) x[xo + D + j] = distToken[j] + posEmbed[D + j];
            for (int t = 0; t < NP; t++) {
                int so = (b * NP + t) * D, to = xo + (pre + t) * D, po = (pre + t) * D;
                for (int j = 0; j < D; j++) x[to + j] = pe[so + j] + posEmbed[po + j];
            }
        }
        return x;
    }

    /** Rows (b, gy, gx), columns (c, ky, kx): the conv with kernel = stride = patch as a GEMM. */
    private float[] im2col(float[] img, int B) {
        int C = cfg.inChans(), p = cfg.patch(), S = cfg.imgSize(), G = cfg.gridSize(), K = C * p * p;
        float[] out = new float[B * G * G * K];
        Parallel.forRange(B * G, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int b = r / G, gy = r % G;
                for (int gx = 0; gx < G; gx++) {
                    int o = ((b * G + gy) * G + gx) * K;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < p; ky++) {
                            int src = ((b * C + c) * S + gy * p + ky) * S + gx * p;
                            System.arraycopy(img, src, out, o + (c * p + ky) * p, p);
                        }
                }
            }
        });
        return out;
    }

    /** Final norm on the prefix tokens only (LayerNorm is per token), then the head(s). */
    private Tensor headForward(float[] x, int B, Executor ex, Probe probe) {
        int D = cfg.dim(), T = cfg.tokens(), NC = cfg.numClasses();
        float[] cls = new float[B * D];
        for (int b = 0; b < B; b++) {
            io.vitq.tensor.LayerNormKernel.forward(x, b * T * D, D, cls, b * D, D, 1, D,
                    norm.weight(), norm.bias(), norm.eps(), false);
        }
        probe.observe("norm", cls, B, D);
        float[] logits = new float[B * NC];
        ex.linear(head, cls, B, logits, Activation.NONE, false);
        if (headDist != null) {
            float[] dist = new float[B * D];
            for (int b = 0; b < B; b++) {
                io.vitq.tensor.LayerNormKernel.forward(x, (b * T + 1) * D, D, dist, b * D, D, 1, D,
                        norm.weight(), norm.bias(), norm.eps(), false);
            }
            float[] l2 = new float[B * NC];
            ex.linear(headDist, dist, B, l2, Activation.NONE, false);
            for (int i = 0; i < logits.length; i++) logits[i] = (logits[i] + l2[i]) / 2;
        }
        return new Tensor(logits, B, NC);
    }

    /**
     * The architecture that timm-named tensors determine: everything but the head count, which no
     * tensor stores, so the caller gives it (from a zoo name, a config or {@code --heads}). LayerNorm
     * eps is timm's 1e-6; qkv bias and the distillation head are read from block 0 and the tensors present.
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
        int prefix = w.has("dist_token") ? 2 : 1;
        int T = w.shape("pos_embed")[1];
        int grid = (int) Math.round(Math.sqrt(T - prefix));
        if (grid * grid != T - prefix) {
            throw new ModelException(w.source() + ": pos_embed has " + T + " tokens, not a square grid plus "
                    + prefix + " prefix token(s)");
        }
        int hidden = w.shape("blocks.0.mlp.fc1.weight")[0];
        int classes = w.shape("head.weight")[0];
        var pooling = prefix == 2 && w.has("head_dist.weight") ? ViTConfig.Pooling.CLASS_AND_DISTILLATION
                : ViTConfig.Pooling.CLASS_TOKEN;
        return new ViTConfig(grid * p, p, C, D, depth, heads, hidden, classes, prefix, 1e-6f,
                w.has("blocks.0.attn.qkv.bias"), pooling);
    }
}
