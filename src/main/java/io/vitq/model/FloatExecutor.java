package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Gemm;

/** Plain float32 execution with the Vector API kernels. Stateless; one shared instance. */
public class FloatExecutor implements Executor {
    public static final FloatExecutor INSTANCE = new FloatExecutor();

    @Override
    public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
        Gemm.gemm(x, 0, op.in(), m, op.packed(), y, 0, op.out(), op.bias(), act, accumulate, true);
    }

    @Override
    public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
        AttentionKernel.forward(op.spec(), qkv, groups, out, op.bias(), op.biasGroups(), null);
    }
}
