package io.vitq.quant;

import java.util.Arrays;

/**
 * RepQ-ViT's scale reparameterisation of one LayerNorm → Linear pair (docs/LOWBIT.md, section 2):
 * the LayerNorm's output X, the Linear's input, is quantized per channel c with an asymmetric
 * quantizer of scale {@code s_c} and zero point {@code z_c}; the per-channel factors are then
 * folded into the LayerNorm's affine and the Linear's weight and bias, so that the folded model
 * quantizes X' with one scale {@code s~ = mean(s_c)} and one zero point {@code z~ = round(mean(z_c))}
 * (kept in the code range)
 * ({@link #input()}) and computes the same float function:
 * <pre>
 *   r_c = s_c / s~,  b_c = s~ (z~ - z_c)
 *   LayerNorm:  gamma'_c = gamma_c / r_c,  beta'_c = beta_c / r_c - b_c     so X'_c = X_c / r_c - b_c
 *   Linear:     W'_jc = W_jc r_c,           bias'_j = bias_j + sum_c W'_jc b_c
 * </pre>
 * Because {@code X'_c / s~ + z~ = X_c / s_c + z_c} and z~ is an integer, the folded per-tensor codes
 * equal the per-channel codes of X exactly (in real arithmetic; float rounding of the folded affine
 * can move a value sitting on a rounding boundary). RepQ-ViT keeps z~ unrounded, which makes its
 * codes non-integers; vitq rounds it so the folded quantizer has an integer form [INFERRED].
 *
 * @param norm       the LayerNorm's id ({@code blocks.0.norm1})
 * @param linear     the Linear that reads only its output ({@code blocks.0.attn.qkv})
 * @param bits       activation bits of the Linear's input
 * @param scales     {@code s_c}, one per channel
 * @param zeroPoints {@code z_c}, one per channel: any integer (a channel whose clipping range lies
 *                   above zero has a negative one; its codes {@code clamp(rint(x / s_c) + z_c, 0, 2^k - 1)}
 *                   still are the folded codes)
 */
public record NormFold(String norm, String linear, int bits, float[] scales, int[] zeroPoints) {
    public NormFold {
        if (norm == null || norm.isBlank() || linear == null || linear.isBlank())
            throw new IllegalArgumentException("fold: norm and linear ids are required");
        QuantChecks.bits(bits, "fold of " + norm);
        if (bits > 8) throw new IllegalArgumentException("fold of " + norm + ": " + bits + " bits (uint8 codes: at most 8)");
        if (scales == null || zeroPoints == null || scales.length == 0 || scales.length != zeroPoints.length)
            throw new IllegalArgumentException("fold of " + norm + ": scales and zero points must be non-empty and of one length");
        for (float s : scales) QuantChecks.scale("fold of " + norm + ": channel scale", s);
        for (int z : zeroPoints)
            if (Math.abs(z) > MAX_ZERO_POINT)
                throw new IllegalArgumentException("fold of " + norm + ": zero point " + z + " outside [-2^24, 2^24]");
        scales = scales.clone();
        zeroPoints = zeroPoints.clone();
    }

    /** Zero points beyond this are refused: no calibrated range is that far from zero in steps. */
    static final int MAX_ZERO_POINT = 1 << 24;

    public int channels() { return scales.length; }

    @Override
    public float[] scales() { return scales.clone(); }

    @Override
    public int[] zeroPoints() { return zeroPoints.clone(); }

    /** {@code s~}: the mean channel scale (RepQ-ViT's target scale). */
    public float targetScale() {
        double sum = 0;
        for (float s : scales) sum += s;
        return (float) (sum / scales.length);
    }

    /** {@code z~}: the mean channel zero point, rounded to an integer and kept in {@code [0, 2^k - 1]}. */
    public int targetZeroPoint() {
        long sum = 0;
        for (int z : zeroPoints) sum += z;
        long z = Math.round((double) sum / zeroPoints.length);
        return (int) Math.min(Math.max(z, 0), (1 << bits) - 1);
    }

    /** The folded Linear input's quantizer: per tensor, {@code s~} and {@code z~}. */
    public AsymmetricOperand input() { return new AsymmetricOperand(bits, targetScale(), targetZeroPoint()); }

    /** {@code r_c = s_c / s~}. */
    public float[] channelRatios() {
        float t = targetScale();
        float[] r = new float[scales.length];
        for (int c = 0; c < r.length; c++) r[c] = scales[c] / t;
        return r;
    }

    /** {@code b_c = s~ (z~ - z_c)}. */
    public float[] channelShifts() {
        float t = targetScale();
        int zt = targetZeroPoint();
        float[] b = new float[scales.length];
        for (int c = 0; c < b.length; c++) b[c] = t * (zt - zeroPoints[c]);
        return b;
    }

    /** The folded LayerNorm affine {@code {gamma', beta'}}. */
    public float[][] foldNorm(float[] gamma, float[] beta) {
        check("LayerNorm", gamma.length);
        float[] r = channelRatios(), b = channelShifts();
        float[] g = new float[gamma.length], be = new float[beta.length];
        for (int c = 0; c < g.length; c++) {
            g[c] = gamma[c] / r[c];
            be[c] = beta[c] / r[c] - b[c];
        }
        return new float[][] {g, be};
    }

    /**
     * The folded Linear {@code {W', bias'}} of a weight {@code [out, in]} and its bias (null: a zero
     * bias); the bias sums are taken in double.
     */
    public float[][] foldLinear(float[] weight, float[] bias, int out, int in) {
        check("Linear", in);
        float[] r = channelRatios(), b = channelShifts();
        float[] w = new float[out * in], nb = new float[out];
        for (int j = 0; j < out; j++) {
            double sum = bias == null ? 0 : bias[j];
            for (int c = 0; c < in; c++) {
                float v = weight[j * in + c] * r[c];
                w[j * in + c] = v;
                sum += (double) v * b[c];
            }
            nb[j] = (float) sum;
        }
        return new float[][] {w, nb};
    }

    private void check(String what, int n) {
        if (n != scales.length)
            throw new IllegalArgumentException("fold of " + norm + " into " + linear + ": " + what + " has " + n
                    + " channels, the fold " + scales.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NormFold f && f.norm.equals(norm) && f.linear.equals(linear) && f.bits == bits
                && Arrays.equals(f.scales, scales) && Arrays.equals(f.zeroPoints, zeroPoints);
    }

    @Override
    public int hashCode() { return (norm.hashCode() * 31 + linear.hashCode()) * 31 + Arrays.hashCode(scales); }

    @Override
    public String toString() { return "fold " + norm + " -> " + linear + " (" + scales.length + " channels, " + bits + " bits)"; }
}
