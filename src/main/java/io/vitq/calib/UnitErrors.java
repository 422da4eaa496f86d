package io.vitq.calib;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.tensor.Activation;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Measures, in one float forward, the squared output error {@code ||Ŷ_i - Y_i||²} of every VT-PTQ
 * unit (ALGORITHMS 9.6) when that unit alone runs quantized on its float input: the network runs
 * in float, and beside each unit a shadow copy runs the unit's ops fake-quantized (qkv → attention →
 * proj for the MSA unit, fc1 with GELU → fc2 for the MLP unit) from the unit's float input. The
 * unit output is proj's and fc2's own output, before the residual add.
 */
final class UnitErrors implements Executor {
    private final FakeQuantExecutor quantized;
    private final Map<String, Double> errors = new LinkedHashMap<>();
    private float[] shadowQkv, shadowAttn, shadowHidden;

    UnitErrors(FakeQuantExecutor quantized) { this.quantized = quantized; }

    /** Sum of squared errors per unit id ({@code <block>.attn}, {@code <block>.mlp}), over everything run so far. */
    Map<String, Double> errors() { return errors; }

    @Override
    public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
        String id = op.id();
        if (id.endsWith(".attn.qkv")) {
            shadowQkv = new float[m * op.out()];
            quantized.linear(op, x, m, shadowQkv, act, false);
        } else if (id.endsWith(".mlp.fc1")) {
            shadowHidden = new float[m * op.out()];
            quantized.linear(op, x, m, shadowHidden, act, false);
        } else if (id.endsWith(".attn.proj") || id.endsWith(".mlp.fc2")) {
            float[] shadowIn = id.endsWith(".attn.proj") ? shadowAttn : shadowHidden;
            float[] f = new float[m * op.out()], q = new float[m * op.out()];
            FloatExecutor.INSTANCE.linear(op, x, m, f, act, false);
            quantized.linear(op, shadowIn, m, q, act, false);
            double e = 0;
            for (int i = 0; i < f.length; i++) {
                double d = (double) q[i] - f[i];
                e += d * d;
            }
            String unit = id.substring(0, id.lastIndexOf('.'));
            errors.merge(unit, e, Double::sum);
        }
        FloatExecutor.INSTANCE.linear(op, x, m, y, act, accumulate);
    }

    @Override
    public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
        FloatExecutor.INSTANCE.attention(op, qkv, groups, out);
        shadowAttn = new float[out.length];
        quantized.attention(op, shadowQkv, groups, shadowAttn);
    }
}
