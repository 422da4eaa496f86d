package io.vitq.calib;

import io.vitq.calib.mp.MpTarget;
import io.vitq.calib.mp.NuclearNorm;
import io.vitq.calib.mp.UnitPlan;
import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.tensor.Activation;
import org.junit.jupiter.api.Test;

import static io.vitq.testutil.TinyModels.IMAGES;
import static io.vitq.testutil.TinyModels.SWIN;
import static io.vitq.testutil.TinyModels.SWIN_CFG;
import static io.vitq.testutil.TinyModels.VIT;
import static io.vitq.testutil.TinyModels.VIT_CFG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mixed precision's inputs. The attention unit's nuclear norm is taken from the matrix each
 * {@code --mp-msa-norm} names: recomputed here from the fused qkv output of the first block
 * (captured in a float forward), per group (image or window) and head, and compared with what
 * the mixed-precision calibration measured; per-op bits are refused.
 */
class MixedPrecisionNormTest {

    /** Mean nuclear norms over groups and heads of q.k^T and of softmax(q.k^T / sqrt(d)) (no bias). */
    private record Norms(double scores, double maps) {}

    @Test
    void vitAttentionUnitNormComesFromTheNamedMatrix() {
        Norms n = recompute(VIT, "blocks.0.attn", VIT_CFG.heads(), VIT_CFG.dim());
        assertTrue(n.scores() > 5 * n.maps(), n + ": the test would not tell them apart");
        assertEquals(n.maps(), measured(VIT, "blocks.0.attn", MixedPrecisionCalibration.MsaNorm.SOFTMAX_MAPS), 1e-4 * n.maps());
        assertEquals(n.scores(), measured(VIT, "blocks.0.attn", MixedPrecisionCalibration.MsaNorm.SCORES), 1e-4 * n.scores());
    }

    /** Swin's matmul1 sees q already scaled (timm's order); the scores norm is still that of q.k^T. */
    @Test
    void swinScoresNormIsOfTheUnscaledScores() {
        String unit = "layers.0.blocks.0.attn"; // unshifted: its windows need no mask
        Norms n = recompute(SWIN, unit, SWIN_CFG.heads(0), SWIN_CFG.dim(0));
        assertEquals(n.scores(), measured(SWIN, unit, MixedPrecisionCalibration.MsaNorm.SCORES), 1e-4 * n.scores());
    }

    @Test
    void perOpBitsAreRefusedRatherThanDropped() {
        CalibConfig c = CalibConfig.vtptq(8, 8).withSearch(2, 1).withOpBits(java.util.List.of(new CalibConfig.OpBits("head", 8, 8)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MixedPrecisionCalibration.calibrate(
                VIT, IMAGES, null, c, MpTarget.MP8, null, MixedPrecisionCalibration.MsaNorm.SOFTMAX_MAPS, "test", null));
        assertTrue(e.getMessage().contains("head"), e.getMessage());
    }

    private static Norms recompute(Model model, String prefix, int heads, int c) {
        float[][] qkv = new float[1][];
        int[] groups = new int[1], tokens = new int[1];
        Executor capture = new Executor() {
            @Override
            public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
                FloatExecutor.INSTANCE.linear(op, x, m, y, act, accumulate);
            }

            @Override
            public void attention(AttentionOp op, float[] buf, int g, float[] out) {
                if (op.prefix().equals(prefix)) {
                    qkv[0] = buf.clone(); // may be a reused workspace, longer than this call's tokens
                    groups[0] = g;
                    tokens[0] = op.spec().tokens();
                }
                FloatExecutor.INSTANCE.attention(op, buf, g, out);
            }
        };
        model.forward(IMAGES, capture);
        int d = c / heads, t = tokens[0];
        double scoresNorm = 0, mapsNorm = 0;
        for (int g = 0; g < groups[0]; g++) {
            for (int h = 0; h < heads; h++) {
                float[] scores = new float[t * t], maps = new float[t * t];
                for (int i = 0; i < t; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    double[] row = new double[t];
                    for (int j = 0; j < t; j++) {
                        double s = 0; // timm's qkv layout per token: (q | k | v), each (head, d)
                        for (int e = 0; e < d; e++)
                            s += (double) qkv[0][(g * t + i) * 3 * c + h * d + e] * qkv[0][(g * t + j) * 3 * c + c + h * d + e];
                        scores[i * t + j] = (float) s;
                        row[j] = s / Math.sqrt(d);
                        max = Math.max(max, row[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) sum += row[j] = Math.exp(row[j] - max);
                    for (int j = 0; j < t; j++) maps[i * t + j] = (float) (row[j] / sum);
                }
                scoresNorm += NuclearNorm.of(scores, t, t);
                mapsNorm += NuclearNorm.of(maps, t, t);
            }
        }
        return new Norms(scoresNorm / (groups[0] * heads), mapsNorm / (groups[0] * heads));
    }

    /** The attention unit's nuclear norm as the mixed-precision calibration measured it. */
    private static double measured(Model model, String unit, MixedPrecisionCalibration.MsaNorm norm) {
        CalibConfig c = CalibConfig.vtptq(8, 8).withSearch(2, 10);
        MixedPrecisionCalibration.Result r = MixedPrecisionCalibration.calibrate(model, IMAGES, null, c, MpTarget.MP8, null,
                norm, "test", null);
        assertTrue(r.plan().info().options().get("mixed_precision").endsWith(norm.description()));
        return r.allocation().sensitivity().nuclearNorm(UnitPlan.of(model).indexOf(unit));
    }
}
