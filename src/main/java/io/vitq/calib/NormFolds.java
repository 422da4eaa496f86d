package io.vitq.calib;

import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.NormLinear;
import io.vitq.quant.NormFold;
import io.vitq.quant.OperandQuant;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RepQ-ViT's per-channel calibration of post-LayerNorm activations (docs/LOWBIT.md, section 2):
 * one float forward over the calibration images records each foldable Linear's input, and each
 * channel gets the asymmetric quantizer that RepQ-ViT's {@code UniformQuantizer} initialisation
 * chooses: of the clipping ranges {@code [quantile(1 - p), quantile(p)]} for p in 0.999, 0.9999,
 * 0.99999 (linear interpolation between order statistics, as {@code torch.quantile}), the one
 * whose fake quantization has the least mean squared error; step {@code (max - min) / (2^k - 1)},
 * zero point {@code round(-min / step)}.
 */
public final class NormFolds {
    private NormFolds() {}

    /** RepQ-ViT's clipping percentiles, tried in this order (the first of equal errors wins). */
    static final double[] PERCENTILES = {0.999, 0.9999, 0.99999};

    /**
     * The folds of {@code pairs} (from {@code io.Reparameterization.foldable}) for the calibration
     * images, with each Linear's activation bits from {@code cfg} (its {@code --op-bits} included).
     */
    public static List<NormFold> calibrate(Model model, Tensor images, CalibConfig cfg, List<NormLinear> pairs) {
        Map<String, NormLinear> byLinear = new HashMap<>();
        for (NormLinear p : pairs) byLinear.put(p.linear().id(), p);
        Map<String, NormFold> found = new LinkedHashMap<>();
        Executor recorder = new Executor() {
            @Override
            public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
                NormLinear p = byLinear.get(op.id());
                if (p != null) found.put(op.id(), fold(p, x, m, cfg.forOp(op.id()).activationBits()));
                FloatExecutor.INSTANCE.linear(op, x, m, y, act, accumulate);
            }

            @Override
            public void attention(io.vitq.model.AttentionOp op, float[] qkv, int groups, float[] out) {
                FloatExecutor.INSTANCE.attention(op, qkv, groups, out);
            }
        };
        model.forward(images, recorder);
        List<NormFold> folds = new ArrayList<>();
        for (NormLinear p : pairs) {
            NormFold f = found.get(p.linear().id());
            if (f == null) throw new IllegalStateException(p.linear().id() + ": no input arrived in the forward pass");
            folds.add(f);
        }
        return folds;
    }

    /** The fixed input quantizer of each folded Linear, for the searches. */
    static Map<String, OperandQuant> inputs(List<NormFold> folds) {
        Map<String, OperandQuant> m = new HashMap<>();
        for (NormFold f : folds) m.put(f.linear(), f.input());
        return m;
    }

    /** The fold of one pair from its Linear's input {@code x [rows, C]} at {@code bits} activation bits. */
    public static NormFold fold(NormLinear p, float[] x, int rows, int bits) {
        int channels = p.linear().in();
        float[] scales = new float[channels];
        int[] zeroPoints = new int[channels];
        Parallel.forEach(channels, c -> {
            float[] v = new float[rows];
            for (int r = 0; r < rows; r++) v[r] = x[r * channels + c];
            ChannelQuant q = channel(p.linear().id(), c, v, bits);
            scales[c] = q.scale;
            zeroPoints[c] = q.zeroPoint;
        });
        return new NormFold(p.norm().id(), p.linear().id(), bits, scales, zeroPoints);
    }

    record ChannelQuant(float scale, int zeroPoint) {}

    /** One channel's quantizer from its values (reordered in place). */
    static ChannelQuant channel(String opId, int c, float[] v, int bits) {
        for (float f : v)
            if (!Float.isFinite(f)) throw new IllegalArgumentException(opId + ": input channel " + c + " has a non-finite value " + f);
        Arrays.sort(v);
        int levels = (1 << bits) - 1;
        ChannelQuant best = null;
        double bestErr = Double.POSITIVE_INFINITY;
        for (double pct : PERCENTILES) {
            double hi = quantile(v, pct), lo = quantile(v, 1 - pct);
            ChannelQuant q = of(lo, hi, levels);
            double err = squaredError(v, q, levels);
            if (err < bestErr) {
                bestErr = err;
                best = q;
            }
        }
        return best;
    }

    /**
     * The quantizer of the range {@code [lo, hi]}: step {@code (hi - lo) / levels}, zero point
     * {@code round(-lo / step)}. A range of width zero (a constant channel) gets the step of
     * {@code [lo - 1, lo]} scaled to the value (any step represents the constant within half a step).
     */
    static ChannelQuant of(double lo, double hi, int levels) {
        double step = (hi - lo) / levels;
        if (!(step > Math.ulp((float) Math.max(Math.abs(lo), Math.abs(hi))) * 4)) {
            step = Math.max(Math.max(Math.abs(lo), Math.abs(hi)), 1e-6) / levels;
        }
        float s = (float) step;
        return new ChannelQuant(s, (int) Math.rint(-lo / s));
    }

    /** Sum over the values of {@code (x - Q(x))^2} with codes {@code clamp(rint(x / s) + z, 0, levels)}. */
    static double squaredError(float[] v, ChannelQuant q, int levels) {
        double sum = 0;
        for (float x : v) {
            double code = Math.min(Math.max(Math.rint(x / q.scale) + q.zeroPoint, 0), levels);
            double d = x - (code - q.zeroPoint) * q.scale;
            sum += d * d;
        }
        return sum;
    }

    /** {@code torch.quantile(v, p)} of sorted values: linear interpolation at position {@code p (n - 1)}. */
    static double quantile(float[] sorted, double p) {
        double pos = p * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        double frac = pos - lo;
        return sorted[lo] + frac * ((double) sorted[hi] - sorted[lo]);
    }
}
