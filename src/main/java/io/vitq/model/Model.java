package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.Tensor;

import java.util.List;

/** A classification model: images [B, 3, S, S] (normalised) to logits [B, classes]. */
public interface Model {
    /** What the model was built from: name, architecture, eval transform, class names. */
    ModelSpec spec();

    default String name() { return spec().name(); }

    default Preprocessing preprocessing() { return spec().preprocessing(); }

    default int numClasses() { return spec().architecture().numClasses(); }

    long parameterCount();

    /** Human-readable architecture lines for {@code vitq info}. */
    List<String> describe();

    /** {@link #describe}'s cost line: "1.26 GFLOPs per image", in MFLOPs below a tenth of a GFLOP (tiny test models). */
    static String flopsLine(double flops) {
        return (flops >= 1e8 ? String.format(java.util.Locale.ROOT, "%.2f GFLOPs", flops / 1e9)
                : String.format(java.util.Locale.ROOT, "%.2f MFLOPs", flops / 1e6)) + " per image (2 per multiply-add)";
    }

    /** Every Linear layer (quantizable weight) in forward order, with its op id. */
    List<Linear> linears();

    /**
     * The LayerNorm → Linear pairs in forward order whose LayerNorm output only that Linear reads
     * (each block's norm1 → attn.qkv and norm2 → mlp.fc1; Swin's downsample norm → reduction).
     */
    List<NormLinear> normLinears();

    /** Every attention module's matmul pair in forward order. */
    List<AttentionOp> attentionOps();

    /** The forward, in order: {@code Ops.forward(model, images, ops)} runs it in any execution mode. */
    List<Segment> segments();

    /** The logits {@code [B, classes]} of images {@code [B, C, S, S]}, the quantizable ops run by {@code ex}. */
    Tensor forward(Tensor images, Executor ex);

    default Tensor forward(Tensor images) { return forward(images, FloatExecutor.INSTANCE); }
}
