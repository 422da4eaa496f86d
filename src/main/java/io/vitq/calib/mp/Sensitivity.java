package io.vitq.calib.mp;

import java.util.Arrays;
import java.util.List;

/**
 * VT-PTQ's mixed-precision costs (ALGORITHMS.md 9.6, Eq. 18): for unit i at bit width b,
 * {@code Omega_i(b) = ||Y_i||_* x ||Y^_i(b) - Y_i||^2}, where {@code ||Y_i||_*} is the nuclear norm
 * of the unit's attention map (MSA) or output feature (MLP), averaged over samples (and heads), and
 * the second factor is the squared L2 error of the unit's output when the unit is quantized at b.
 *
 * <p>The calibration fills this through {@link #builder}: one nuclear norm per unit (from
 * {@link NuclearNorm#mean}) and one squared error per unit and candidate width. Whatever
 * normalisation the squared error gets (vitq's suggestion: the sum over the output's elements,
 * averaged over the calibration images) must be the same for every unit, because the costs of
 * different units are added.
 *
 * @param unitIds       the plan's unit ids, in plan order
 * @param bits          the candidate widths, ascending
 * @param nuclearNorms  per unit
 * @param squaredErrors [unit][index into bits]
 */
public record Sensitivity(List<String> unitIds, int[] bits, double[] nuclearNorms, double[][] squaredErrors) {

    /** Eq. 18's per-unit term. */
    public static double omega(double nuclearNorm, double squaredError) {
        return nuclearNorm * squaredError;
    }

    public Sensitivity {
        unitIds = List.copyOf(unitIds);
        bits = bits.clone();
        nuclearNorms = nuclearNorms.clone();
        double[][] e = new double[squaredErrors.length][];
        for (int i = 0; i < e.length; i++) e[i] = squaredErrors[i].clone();
        squaredErrors = e;
        if (nuclearNorms.length != unitIds.size() || squaredErrors.length != unitIds.size()) {
            throw new IllegalArgumentException(unitIds.size() + " units, " + nuclearNorms.length + " nuclear norms, "
                    + squaredErrors.length + " error rows");
        }
        for (int b = 1; b < bits.length; b++) {
            if (bits[b] <= bits[b - 1]) throw new IllegalArgumentException("bit widths must ascend: " + Arrays.toString(bits));
        }
        for (int i = 0; i < unitIds.size(); i++) {
            check(unitIds.get(i) + " nuclear norm", nuclearNorms[i]);
            if (squaredErrors[i].length != bits.length) {
                throw new IllegalArgumentException(unitIds.get(i) + ": " + squaredErrors[i].length + " errors for "
                        + bits.length + " bit widths");
            }
            for (int b = 0; b < bits.length; b++) check(unitIds.get(i) + " error at " + bits[b] + " bits", squaredErrors[i][b]);
        }
    }

    private static void check(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) throw new IllegalArgumentException(what + " must be finite and >= 0, got " + v);
    }

    @Override public int[] bits() { return bits.clone(); }

    @Override public double[] nuclearNorms() { return nuclearNorms.clone(); }

    @Override public double[][] squaredErrors() {
        double[][] e = new double[squaredErrors.length][];
        for (int i = 0; i < e.length; i++) e[i] = squaredErrors[i].clone();
        return e;
    }

    /** The nuclear norm of unit {@code unit} (plan order). */
    public double nuclearNorm(int unit) {
        return nuclearNorms[unit];
    }

    /** Omega of unit {@code unit} at {@code bits()[bitIndex]}. */
    public double cost(int unit, int bitIndex) {
        return omega(nuclearNorms[unit], squaredErrors[unit][bitIndex]);
    }

    /** Collects the measurements of the units of {@code plan} at the candidate widths {@code bits}. */
    public static Builder builder(UnitPlan plan, int[] bits) {
        return new Builder(plan, bits);
    }

    /** Fills norms and errors by unit id; {@link #build()} checks that nothing is missing. */
    public static final class Builder {
        private final UnitPlan plan;
        private final int[] bits;
        private final double[] norms;
        private final double[][] errors;

        private Builder(UnitPlan plan, int[] bits) {
            this.plan = plan;
            this.bits = bits.clone();
            int n = plan.units().size();
            norms = new double[n];
            errors = new double[n][bits.length];
            Arrays.fill(norms, Double.NaN);
            for (double[] e : errors) Arrays.fill(e, Double.NaN);
        }

        public Builder nuclearNorm(String unitId, double value) {
            norms[plan.indexOf(unitId)] = value;
            return this;
        }

        public Builder squaredError(String unitId, int bitWidth, double value) {
            int b = -1;
            for (int i = 0; i < bits.length; i++) if (bits[i] == bitWidth) b = i;
            if (b < 0) throw new IllegalArgumentException(bitWidth + " bits is not a candidate " + Arrays.toString(bits));
            errors[plan.indexOf(unitId)][b] = value;
            return this;
        }

        /** The costs; a norm or error never set is reported by unit and width. */
        public Sensitivity build() {
            List<String> ids = plan.units().stream().map(UnitPlan.Unit::id).toList();
            for (int i = 0; i < ids.size(); i++) {
                if (Double.isNaN(norms[i])) throw new IllegalStateException(ids.get(i) + ": nuclear norm not set");
                for (int b = 0; b < bits.length; b++) {
                    if (Double.isNaN(errors[i][b])) throw new IllegalStateException(ids.get(i) + ": squared error at " + bits[b] + " bits not set");
                }
            }
            return new Sensitivity(ids, bits, norms, errors);
        }
    }
}
