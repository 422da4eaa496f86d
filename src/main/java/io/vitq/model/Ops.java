package io.vitq.model;

import io.vitq.tensor.Activation;

import java.util.List;

/**
 * The operations a model's forward is written in, once per architecture ({@link VisionTransformer},
 * {@link SwinTransformer}). Each execution mode implements them for its own kind of value:
 * <ul>
 *   <li>{@link Eager}: float buffers, the quantizable ops (Linear, attention) through an
 *       {@link Executor} (float, fake quantization, integer execution, calibration);</li>
 *   <li>{@link Tape}: float buffers, recording what each op's backward needs, so the activation
 *       backward ({@link Backward}) is one backward per op kind, none per architecture;</li>
 *   <li>the ONNX tracer ({@code io.vitq.export}): graph values, so export needs no builder per
 *       architecture.</li>
 * </ul>
 *
 * <p>Token tensors are row-major {@code [images x tokens, channels]}, image-major (timm's
 * {@code [B, N, C]} flattened); pooled tensors are {@code [images, channels]}. Ops return new
 * values except where the name says they add into their first argument (the residual
 * connection), which an implementation may update in place.
 *
 * @param <T> the value type
 */
public interface Ops<T> {

    // ---------------------------------------------------------------- embedding

    /**
     * A convolution with kernel = stride = {@code patch} as a Linear over im2col patches
     * ({@code proj}'s weight is the conv weight {@code [D, C, p, p]} flattened): images
     * {@code [B, C, S, S]} to tokens {@code [B x (S/p)^2, D]} in row-major grid order.
     */
    T patchEmbed(Linear proj, T images, int channels, int size, int patch);

    /**
     * Each of {@code tokens} (the class and distillation tokens, {@code [D]} each; possibly none) is
     * prepended to every image's tokens.
     */
    T prependTokens(T x, List<float[]> tokens);

    /** {@code x + posEmbed}, the position embedding {@code [tokens, D]} added to every image's tokens. */
    T addPosition(T x, float[] posEmbed);

    // ---------------------------------------------------------------- layers

    T layerNorm(LayerNorm ln, T x);

    /** {@code act(x . W^T + b)}; {@code act} is NONE or GELU (the MLP's fc1 and its activation). */
    T linear(Linear op, T x, Activation act);

    /** {@code residual + x . W^T + b}: a residual connection around a Linear (may update {@code residual} in place). */
    T addLinear(T residual, Linear op, T x);

    /** {@code residual + y} (may update {@code residual} in place). */
    T add(T residual, T y);

    /** {@code x * gamma}, per channel (timm's LayerScale). */
    T scale(T x, float[] gamma);

    /** {@code R x} per token: the {@link InputRotation} of the row width (a ViT's rotated Linear inputs, {@link RotatedInputs}). */
    T rotate(T x);

    /** The multi-head attention core {@code softmax(q k^T * scale + bias) v} on a fused qkv value. */
    T attention(AttentionOp op, T qkv);

    // ---------------------------------------------------------------- token layout

    /** Per image, row r of the result is row {@code order[r]} of x (Swin's roll and window partition). */
    T permuteRows(T x, int[] order);

    /**
     * Per image, {@code residual[order[r]] += y[r]} (Swin's window reverse, roll back and residual
     * add; may update {@code residual} in place).
     */
    T addPermuted(T residual, T y, int[] order);

    /**
     * Swin's patch merging gather: a {@code res x res} map of C channels to {@code (res/2)^2} rows of
     * 4C, the 2x2 neighbourhood in timm's order x0 = (0::2, 0::2), x1 = (1::2, 0::2), x2 = (0::2, 1::2),
     * x3 = (1::2, 1::2).
     */
    T mergePatches(T x, int res);

    /** Row {@code index} of every image's tokens: {@code [B x T, D]} to {@code [B, D]}. */
    T token(T x, int index);

    /** The mean over every image's tokens from {@code first} on (global average pooling): {@code [B, D]}. */
    T meanTokens(T x, int first);

    /** {@code (a + b) / 2} (DeiT's class and distillation heads). */
    T average(T a, T b);

    /** Reports a named intermediate value (golden tests); no effect on the result. */
    default void observe(String name, T x) {}

    /** Runs one segment of a forward; modes that work segment by segment (buffers, recording) override it. */
    default T segment(Segment s, T x) { return s.forward(x, this); }

    /** A whole forward: the model's segments in order. */
    static <T> T forward(Model m, T images, Ops<T> ops) {
        T x = images;
        for (Segment s : m.segments()) x = ops.segment(s, x);
        return x;
    }
}
