package io.vitq.export;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.Linear;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

import static io.vitq.export.OnnxGraph.attr;

/**
 * timm's VisionTransformer (ViT, DeiT, DeiT distilled) as an ONNX graph: patch embedding, class
 * (and distillation) token and position embedding, pre-norm blocks, final norm of the class
 * token(s), head (distilled: the mean of both heads).
 */
final class VitGraph extends ModelGraph {
    private final VisionTransformer vit;
    private final ViTConfig cfg;

    VitGraph(VisionTransformer vit, QuantPlan plan, int opset) {
        super(vit, plan, opset);
        this.vit = vit;
        this.cfg = vit.config();
    }

    @Override
    int inChans() { return cfg.inChans(); }

    @Override
    int imgSize() { return cfg.imgSize(); }

    @Override
    String body(String images) {
        List<Linear> linears = vit.linears();
        String x = embed(images, linears.getFirst());
        VisionTransformer.Block[] blocks = vit.blocks();
        for (int i = 0; i < blocks.length; i++) x = block(blocks[i], x, "blocks." + i);
        int headIndex = 1 + 4 * blocks.length;
        String logits = classify(x, 0, linears.get(headIndex));
        if (cfg.distillationHead()) {
            String dist = classify(x, 1, linears.get(headIndex + 1));
            String sum = g.node("Add", "head_sum", List.of(logits, dist));
            logits = g.node("Div", "head_mean", List.of(sum, g.scalar(2f)));
        }
        return logits;
    }

    /** patch_embed, then the class/distillation token(s) and the position embedding: [N, T, D]. */
    private String embed(String images, Linear patch) {
        int D = cfg.dim(), pre = cfg.prefixTokens(), NP = cfg.numPatches();
        String tokens = patchEmbed(images, patch, cfg.patch());
        float[] e = embedRows();
        float[] prefix = Arrays.copyOfRange(e, 0, pre * D), patchPos = Arrays.copyOfRange(e, pre * D, (pre + NP) * D);
        String withPos = g.node("Add", "patch_embed/pos", List.of(tokens, g.floats("pos_embed.patches", patchPos, 1, NP, D)));
        String prefixTokens = g.floats(pre == 2 ? "cls_token+dist_token+pos_embed" : "cls_token+pos_embed", prefix, 1, pre, D);
        String shape = g.node("Shape", "batch/shape", images);
        String batch = g.node("Gather", "batch/size", List.of(shape, g.longs(new long[] {0}, 1)), attr("axis", 0L));
        String prefixShape = g.node("Concat", "prefix/shape", List.of(batch, g.longs(new long[] {pre, D}, 2)), attr("axis", 0L));
        String expanded = g.node("Expand", "prefix/tokens", List.of(prefixTokens, prefixShape));
        return g.node("Concat", "embed", List.of(expanded, withPos), attr("axis", 1L));
    }

    /**
     * The [T, D] rows the embedding adds to the patch embedding: row t &lt; prefix is the token
     * plus its position embedding, later rows are the position embedding. The model has no
     * accessor for cls_token and pos_embed, so they are read through its own forward (probe
     * {@code embed}) with the patch embedding left at zero: exactly the values vitq adds.
     */
    private float[] embedRows() {
        final class Stop extends RuntimeException {
            Stop() { super(null, null, false, false); }
        }
        int S = cfg.imgSize(), T = cfg.tokens(), D = cfg.dim();
        String patchId = vit.linears().getFirst().id();
        Executor zeroPatches = new Executor() {
            @Override
            public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
                if (!op.id().equals(patchId)) throw new IllegalStateException("forward went past the embedding");
                Arrays.fill(y, 0, m * op.out(), 0f);
            }

            @Override
            public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
                throw new IllegalStateException("forward went past the embedding");
            }
        };
        float[][] rows = new float[1][];
        try {
            vit.forward(Tensor.zeros(1, cfg.inChans(), S, S), zeroPatches, (name, data, shape) -> {
                if (name.equals("embed")) {
                    rows[0] = Arrays.copyOf(data, T * D);
                    throw new Stop();
                }
            });
        } catch (Stop expected) {
            // the embedding is all we need
        }
        if (rows[0] == null) throw new IllegalStateException(vit.name() + ": the forward reported no 'embed' tensor");
        return rows[0];
    }

    private String block(VisionTransformer.Block b, String x, String scope) {
        String h = layerNorm(x, b.norm1());
        String qkv = linear(h, b.qkv(), false);
        if (b.attn().bias() != null || b.attn().qPrescaled()) throw new IllegalStateException(b.attn().prefix() + ": not a ViT attention");
        String attn = attention(qkv, b.attn(), scope + ".attn", cfg.tokens());
        String proj = linear(attn, b.proj(), false);
        String x1 = g.node("Add", scope + ".residual1", List.of(x, proj));
        String h2 = layerNorm(x1, b.norm2());
        String fc1 = linear(h2, b.fc1(), true);
        String fc2 = linear(fc1, b.fc2(), false);
        return g.node("Add", scope, List.of(x1, fc2));
    }

    /** Final norm of prefix token {@code token}, then the classifier: [N, classes]. */
    private String classify(String x, int token, Linear head) {
        String t = g.node("Gather", token == 0 ? "cls" : "dist", List.of(x, g.longs(new long[] {token})), attr("axis", 1L));
        return linear(layerNorm(t, vit.norm()), head, false);
    }
}
