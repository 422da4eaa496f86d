package io.vitq.calib;

import io.vitq.model.Linear;
import io.vitq.quant.AsymmetricOperand;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.ScaleGrid;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import io.vitq.tensor.Parallel;

import java.util.Arrays;
import java.util.Map;

/**
 * RepQ-ViT's calibration (docs/LOWBIT.md section 5.1), which searches nothing: every quantizer
 * takes, of the clipping ranges {@code [quantile(1 - p), quantile(p)]} for p in 0.999, 0.9999,
 * 0.99999 of its calibration values, the one of least mean squared quantization error
 * ({@link NormFolds#channel}, RepQ-ViT's {@code UniformQuantizer} initialisation). On vitq's
 * quantizer kinds:
 * <ul>
 *   <li>Linear inputs: asymmetric per tensor, as RepQ-ViT ([INFERRED] a zero point outside the
 *       code range, from a range that excludes zero, is clamped into it); the folded inputs of qkv
 *       and fc1 keep the fold's quantizer; the image entering the patch embedding stays float
 *       ([vitq]: RepQ-ViT quantizes it too).</li>
 *   <li>Weights: asymmetric per output channel below 8 bits, as RepQ-ViT, each row's step and
 *       zero point by the same percentile rule ([INFERRED] a zero point outside the codes is
 *       clamped into them). At 8 bits one symmetric scale per output channel, the range's larger
 *       end over {@code 2^(k-1) - 0.5} ({@link ScaleGrid#initScale}) ([vitq]: asymmetric codes
 *       relative to the zero point would not fit a signed byte; {@link UniformOperand#MAX_ASYMMETRIC_BITS}).</li>
 *   <li>q, k and v: one symmetric scale per tensor the same way ([vitq]: RepQ-ViT's are
 *       asymmetric; vitq's matmul operands carry no zero point).</li>
 *   <li>The softmax probabilities: log-sqrt2 with RepQ-ViT's δ ({@link LogSoftmaxFit}).</li>
 * </ul>
 */
final class RepqRule {
    static final String METRIC = "mse (RepQ-ViT's percentile rule, no search)";

    private RepqRule() {}

    static LinearQuant linear(Linear op, float[] x, int rows, CalibConfig cfg, OperandQuant fixedInput, boolean floatInput) {
        String id = op.id();
        int in = op.in(), out = op.out();
        float[] w = op.weight();
        int bits = cfg.weightBits(), top = (1 << bits) - 1;
        float[] scales = new float[out];
        int[] zeroPoints = bits <= UniformOperand.MAX_ASYMMETRIC_BITS ? new int[out] : null;
        Parallel.forEach(out, r -> {
            float[] row = Arrays.copyOfRange(w, r * in, (r + 1) * in);
            if (zeroPoints == null) {
                scales[r] = symmetricScale(id, row, bits);
            } else {
                NormFolds.ChannelQuant q = NormFolds.channel(id, r, row, bits);
                scales[r] = q.scale();
                zeroPoints[r] = Math.max(0, Math.min(top, q.zeroPoint()));
            }
        });
        UniformOperand weight = new UniformOperand(bits, Granularity.PER_OUTPUT_CHANNEL, scales, zeroPoints);
        OperandQuant input = floatInput ? null : fixedInput != null ? fixedInput
                : asymmetric(id, Arrays.copyOf(x, rows * in), cfg.activationBits());
        return new LinearQuant(weight, input, Map.of("rule", "percentile"));
    }

    static MatmulQuant matmul(String id, float[] a, int aLen, float[] b, int bLen, CalibConfig cfg) {
        int bits = cfg.activationBits();
        OperandQuant qa = id.endsWith(".matmul2") ? LogSoftmaxFit.repq(id, a, aLen, bits)
                : UniformOperand.perTensor(bits, symmetricScale(id, Arrays.copyOf(a, aLen), bits));
        OperandQuant qb = UniformOperand.perTensor(bits, symmetricScale(id, Arrays.copyOf(b, bLen), bits));
        return new MatmulQuant(qa, qb, Map.of("rule", "percentile"));
    }

    /** RepQ-ViT's asymmetric quantizer of the values (reordered in place). */
    static AsymmetricOperand asymmetric(String id, float[] v, int bits) {
        NormFolds.ChannelQuant q = NormFolds.channel(id, 0, v, bits);
        int z = Math.max(0, Math.min((1 << bits) - 1, q.zeroPoint()));
        return new AsymmetricOperand(bits, q.scale(), z);
    }

    /**
     * The symmetric scale of the candidate range of least squared error: for each percentile p,
     * {@code max(quantile(p), -quantile(1 - p))} over {@code 2^(k-1) - 0.5}. The values are sorted in place.
     */
    static float symmetricScale(String id, float[] v, int bits) {
        for (float f : v) if (!Float.isFinite(f)) throw new IllegalArgumentException(id + ": non-finite calibration value " + f);
        Arrays.sort(v);
        UniformQuantizer q = new UniformQuantizer(bits);
        float best = Float.NaN;
        double bestErr = Double.POSITIVE_INFINITY;
        for (double p : NormFolds.PERCENTILES) {
            float reach = (float) Math.max(NormFolds.quantile(v, p), -NormFolds.quantile(v, 1 - p));
            float s = ScaleGrid.initScale(id, Math.max(reach, 0f), bits);
            double err = 0;
            for (float x : v) {
                double d = x - q.fakeQuant(x, s);
                err += d * d;
            }
            if (err < bestErr) {
                bestErr = err;
                best = s;
            }
        }
        return best;
    }
}
