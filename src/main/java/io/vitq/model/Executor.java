package io.vitq.model;

import io.vitq.tensor.Activation;

/**
 * How a model's quantizable operations run. The model definitions call only these methods for
 * their Linear layers and attention matmuls, so one forward serves every execution mode: float
 * ({@link FloatExecutor}), recording, fake quantization and integer execution.
 */
public interface Executor {
    /**
     * {@code y[m][out] (+)= act(x[m][in] . W^T + b)}.
     *
     * @param accumulate add into y (the residual connection), activation NONE
     */
    void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate);

    /**
     * Attention core for {@code groups} independent groups (images or windows):
     * {@code out = softmax(q k^T * scale + bias) v} per head, from the fused qkv buffer.
     */
    void attention(AttentionOp op, float[] qkv, int groups, float[] out);
}
