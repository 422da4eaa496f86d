package io.vitq.export;

import io.vitq.model.SwinConfig;
import io.vitq.model.SwinTransformer;
import io.vitq.quant.QuantPlan;

import java.util.List;

import static io.vitq.export.OnnxGraph.attr;
import static io.vitq.export.OnnxGraph.attrInts;

/**
 * timm's SwinTransformer (v1) as an ONNX graph. Tokens stay [N, L, C] in image order as in vitq's
 * forward; each block's roll + window partition is one Gather of the normed tokens by the block's
 * window order, and window reverse + roll back one Gather by its inverse before the residual add.
 * The attention runs over [N·nW, H, T, T] with the relative-position bias (and, in shifted blocks,
 * the shift mask) added per window position; q is multiplied by the scale before it is quantized,
 * as timm's Swin does. Patch merging is a Gather of the four 2x2 neighbours in timm's order, a
 * LayerNorm over 4C and the reduction Linear; the head reads the mean over tokens of the final norm.
 */
final class SwinGraph extends ModelGraph {
    private final SwinTransformer swin;
    private final SwinConfig cfg;

    SwinGraph(SwinTransformer swin, QuantPlan plan, int opset) {
        super(swin, plan, opset);
        this.swin = swin;
        this.cfg = swin.config();
    }

    @Override
    int inChans() { return cfg.inChans(); }

    @Override
    int imgSize() { return cfg.imgSize(); }

    @Override
    String body(String images) {
        SwinTransformer.PatchEmbed pe = swin.patchEmbed();
        String x = layerNorm(patchEmbed(images, pe.proj(), pe.patch()), pe.norm());
        SwinTransformer.Stage[] stages = swin.stages();
        for (int s = 0; s < stages.length; s++) {
            SwinTransformer.Stage st = stages[s];
            if (st.downsample() != null) x = merge(x, st.downsample(), "layers." + s + ".downsample");
            SwinTransformer.Block[] blocks = st.blocks();
            for (int b = 0; b < blocks.length; b++) x = block(x, blocks[b], st.res() * st.res(), "layers." + s + ".blocks." + b);
        }
        String normed = layerNorm(x, swin.norm());
        // ReduceMean takes its axes as an attribute up to opset 17, as an input from 18 on
        String pooled = opset >= 18
                ? g.node("ReduceMean", "pool", List.of(normed, g.longs(new long[] {1}, 1)), attr("keepdims", 0L))
                : g.node("ReduceMean", "pool", normed, attrInts("axes", 1), attr("keepdims", 0L));
        return linear(pooled, swin.head(), false);
    }

    private String block(String x, SwinTransformer.Block b, int L, String scope) {
        int[] order = b.windowOrder(), inverse = new int[order.length];
        for (int r = 0; r < order.length; r++) inverse[order[r]] = r;
        String h = layerNorm(x, b.norm1());
        String windows = g.node("Gather", scope + "/partition", List.of(h, indices(scope + ".window_order", order)), attr("axis", 1L));
        String qkv = linear(windows, b.qkv(), false);
        String attn = attention(qkv, b.attn(), scope + ".attn", L);
        String proj = linear(attn, b.proj(), false);
        String back = g.node("Gather", scope + "/reverse", List.of(proj, indices(scope + ".window_reverse", inverse)), attr("axis", 1L));
        String x1 = g.node("Add", scope + ".residual1", List.of(x, back));
        String fc1 = linear(layerNorm(x1, b.norm2()), b.fc1(), true);
        return g.node("Add", scope, List.of(x1, linear(fc1, b.fc2(), false)));
    }

    /** x [N, R*R, C] → [N, (R/2)^2, 2C]: gather the 2x2 neighbours (parts k = 2 dx + dy), LayerNorm(4C), reduction. */
    private String merge(String x, SwinTransformer.PatchMerging m, String scope) {
        int R = m.inRes(), r = R / 2, L = r * r, C4 = m.norm().dim();
        int[] src = new int[4 * L];
        // timm's x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2], x3 = x[1::2, 1::2]: part k = 2 dx + dy
        for (int o = 0; o < L; o++)
            for (int k = 0; k < 4; k++) src[o * 4 + k] = (2 * (o / r) + (k & 1)) * R + 2 * (o % r) + (k >> 1);
        String gathered = g.node("Gather", scope + "/gather", List.of(x, indices(scope + ".neighbours", src)), attr("axis", 1L));
        String merged = g.node("Reshape", scope + "/concat", List.of(gathered, g.longs(new long[] {-1, L, C4}, 3)));
        return linear(layerNorm(merged, m.norm()), m.reduction(), false);
    }
}
