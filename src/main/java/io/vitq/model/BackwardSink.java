package io.vitq.model;

import io.vitq.tensor.Tensor;

import java.util.Map;

/**
 * Receives, from one float forward + backward ({@link Backward#run}),
 * each quantizable op's float input(s), float output and output gradient {@code G = dL/dO}: what
 * the calibration's metrics need (PTQ4ViT's Hessian-guided metric weights the output error by G^2).
 *
 * <p>Arrays are live work buffers, valid during the call only: copy what you keep, never modify
 * them. They may be longer than the op's tensors (Swin's buffers are sized for the largest
 * stage): the op's values are the leading {@code rows x out} (or {@code G x H x m x n}) elements.
 * When {@link #wantsForward()} is false, the forward tensors ({@code x}, {@code out}, {@code a},
 * {@code b}) are passed as null and the extra work to materialise them is skipped.
 *
 * <p>Calls arrive in backward order: {@code head} (DeiT distilled: {@code head_dist}, then {@code head}), then for each block
 * from the last to the first {@code mlp.fc2, mlp.fc1, attn.proj, attn.matmul2, attn.matmul1,
 * attn.qkv}, and {@code patch_embed.proj} last; for Swin, {@code head.fc}, then per stage from
 * the last its blocks as above followed by the stage's {@code downsample.reduction}, and
 * {@code patch_embed.proj} last. Calls come from the calling thread, one at a time.
 */
public interface BackwardSink {

    /** False: only gradients are wanted (inputs and outputs are passed as null). */
    default boolean wantsForward() { return true; }

    /**
     * A Linear op: {@code out = x . W^T + b}, all row-major.
     *
     * @param x       the op's input {@code [rows, op.in()]} (patch embedding: the im2col patches,
     *                rows (b, gy, gx), columns (c, ky, kx); head: the final-normed class token [B, D],
     *                Swin: the average-pooled final norm; Swin's qkv and proj rows are in window
     *                order, image by image, window by window, token by token: timm's {@code window_partition})
     * @param out     the op's own output {@code [rows, op.out()]}: pre-activation for {@code fc1}
     *                (GELU is a separate module, as in timm), without the residual for
     *                {@code proj} and {@code fc2}, before the distilled heads are averaged
     * @param gradOut {@code dL/d out}, same shape
     */
    void onLinear(Linear op, float[] x, float[] out, float[] gradOut, int rows);

    /**
     * An attention matmul, per group g (an image; for Swin a window of an image, image-major) and
     * head h: {@code out[g,h] = a[g,h] . b[g,h]}, with {@code a [G, H, m, k]}, {@code b [G, H, k, n]},
     * {@code out} and {@code gradOut [G, H, m, n]}, all contiguous. For {@code matmul1}: a = q,
     * b = k^T ([G,H,d,T]), out = the raw scores q.k^T before {@code * scale} (ViT); for Swin,
     * whose q is scaled before the product, a = q * scale and out = the scaled scores, before the
     * relative-position bias and shift mask are added. For {@code matmul2}: a = the softmax
     * probabilities, b = v, out = attn . v (head-major, before the transpose back to tokens).
     *
     * @param id {@code blocks.i.attn.matmul1} or {@code blocks.i.attn.matmul2} (Swin:
     *           {@code layers.s.blocks.i.attn.matmul1}, ...)
     */
    void onMatmul(String id, float[] a, float[] b, float[] out, float[] gradOut,
                  int groups, int heads, int m, int k, int n);

    /**
     * A sink that copies every op's output gradient into {@code into}, keyed by op id, as tensors
     * {@code [rows, out]} (Linear) or {@code [G, H, m, n]} (matmul). Memory: one output-sized
     * tensor per op, so use it on small models or small batches.
     */
    static BackwardSink gradients(Map<String, Tensor> into) {
        return new BackwardSink() {
            @Override public boolean wantsForward() { return false; }

            @Override
            public void onLinear(Linear op, float[] x, float[] out, float[] gradOut, int rows) {
                into.put(op.id(), new Tensor(java.util.Arrays.copyOf(gradOut, rows * op.out()), rows, op.out()));
            }

            @Override
            public void onMatmul(String id, float[] a, float[] b, float[] out, float[] gradOut,
                                 int groups, int heads, int m, int k, int n) {
                into.put(id, new Tensor(java.util.Arrays.copyOf(gradOut, groups * heads * m * n), groups, heads, m, n));
            }
        };
    }
}
