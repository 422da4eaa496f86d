package io.vitq.calib.mp;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The mixed-precision step end to end, once the costs are measured: budget, knapsack, per-op bits
 * and the report. The calibration calls, in this order:
 * <pre>
 *   UnitPlan plan = UnitPlan.of(model);
 *   Sensitivity s = Sensitivity.builder(plan, target.candidates())...build();   // nuclear norms, errors
 *   Allocation a = MixedPrecision.allocate(plan, s, target, MixedPrecision.budget(plan, target, sizeMb));
 *   a.opBits();   // op id -> bits (weights and inputs) for the final search; a.report() for the log
 * </pre>
 */
public final class MixedPrecision {
    private MixedPrecision() {}

    /**
     * The size budget in bits: {@code sizeMb} (--size-mb) when given, else the model with every
     * parameter at the target's base bits (the uniform W6 / W8 size the paper compares against).
     */
    public static long budget(UnitPlan plan, MpTarget target, Double sizeMb) {
        return sizeMb != null ? ModelSize.bitsOfMb(sizeMb) : ModelSize.uniformBits(plan.totalParameters(), target.baseBits());
    }

    /**
     * The chosen widths.
     *
     * @param unitBits bits of each unit, in plan order
     * @param size     model size in bits (units at their bits, everything else at base bits)
     * @param budget   the budget the allocation was solved for, in bits
     * @param cost     total Omega of the choice
     * @param sensitivity the measured nuclear norms and errors the choice was made from
     */
    public record Allocation(UnitPlan plan, MpTarget target, int[] unitBits, long size, long budget, double cost,
                             boolean exact, Sensitivity sensitivity) {
        public Allocation {
            unitBits = unitBits.clone();
        }

        @Override public int[] unitBits() { return unitBits.clone(); }

        public double sizeMb() { return ModelSize.mb(size); }

        /** Op id -> bits for every op in forward order (weights and inputs alike). */
        public Map<String, Integer> opBits() { return plan.opBits(unitBits, target.baseBits()); }

        /** Human-readable lines: one per block (MSA and MLP bits, and their nuclear norms), then the sizes. */
        public List<String> report() {
            List<String> l = new ArrayList<>();
            l.add(String.format(Locale.ROOT, "mixed precision %s on %s: units from %s bits, other ops at %d bits",
                    target.cliName(), plan.model(), java.util.Arrays.toString(target.candidates()), target.baseBits()));
            List<UnitPlan.Unit> units = plan.units();
            for (int i = 0; i < units.size(); i++) {
                UnitPlan.Unit u = units.get(i);
                if (u.kind() == UnitPlan.Kind.MSA && i + 1 < units.size() && units.get(i + 1).kind() == UnitPlan.Kind.MLP) {
                    String block = u.id().substring(0, u.id().length() - ".attn".length());
                    l.add(String.format(Locale.ROOT, "  %-24s MSA %2d  MLP %2d   nuclear norms %.4g | %.4g", block,
                            unitBits[i], unitBits[i + 1], sensitivity.nuclearNorm(i), sensitivity.nuclearNorm(i + 1)));
                    i++;
                } else {
                    l.add(String.format(Locale.ROOT, "  %-24s %s %2d   nuclear norm %.4g", u.id(), u.kind(), unitBits[i],
                            sensitivity.nuclearNorm(i)));
                }
            }
            long uniform = ModelSize.uniformBits(plan.totalParameters(), target.baseBits());
            l.add(String.format(Locale.ROOT, "size %s (budget %s; uniform %d-bit %s; FP32 %s; MB = 10^6 bytes, all parameters x bits / 8)%s",
                    ModelSize.format(size), ModelSize.format(budget), target.baseBits(), ModelSize.format(uniform),
                    ModelSize.format(ModelSize.uniformBits(plan.totalParameters(), 32)),
                    exact ? "" : " [knapsack on a widened size step: optimal for rounded-up sizes]"));
            l.add(String.format(Locale.ROOT, "total Omega %.6g", cost));
            return l;
        }
    }

    /**
     * Solves the allocation: each unit's options are the target's candidates, sized as the unit's
     * parameters x bits; the units share {@code budget} minus the other parameters at base bits.
     *
     * @throws IllegalArgumentException when even every unit at its fewest bits exceeds the budget
     *                                  (the message gives the minimum achievable size in MB)
     */
    public static Allocation allocate(UnitPlan plan, Sensitivity s, MpTarget target, long budget) {
        if (!java.util.Arrays.equals(s.bits(), target.candidates())) {
            throw new IllegalArgumentException("sensitivity measured at " + java.util.Arrays.toString(s.bits())
                    + " bits, target " + target.cliName() + " needs " + java.util.Arrays.toString(target.candidates()));
        }
        List<String> ids = plan.units().stream().map(UnitPlan.Unit::id).toList();
        if (!s.unitIds().equals(ids)) throw new IllegalArgumentException("sensitivity units do not match the plan of " + plan.model());
        int[] cand = target.candidates();
        List<List<BitAllocation.Option>> options = new ArrayList<>();
        for (int u = 0; u < ids.size(); u++) {
            List<BitAllocation.Option> opts = new ArrayList<>();
            long p = plan.units().get(u).parameters();
            for (int b = 0; b < cand.length; b++) opts.add(new BitAllocation.Option(cand[b], p * cand[b], s.cost(u, b)));
            options.add(opts);
        }
        long fixed = plan.otherParameters() * target.baseBits();
        BitAllocation.Result r;
        try {
            r = BitAllocation.solve(options, budget - fixed);
        } catch (IllegalArgumentException e) {
            long min = fixed;
            for (UnitPlan.Unit u : plan.units()) min += u.parameters() * cand[0];
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "model size budget %s is below the smallest %s size of %s, %s (every unit at %d bits, other ops at %d)",
                    ModelSize.format(budget), target.cliName(), plan.model(), ModelSize.format(min), cand[0], target.baseBits()), e);
        }
        return new Allocation(plan, target, r.bits(), fixed + r.size(), budget, r.cost(), r.exact(), s);
    }
}
