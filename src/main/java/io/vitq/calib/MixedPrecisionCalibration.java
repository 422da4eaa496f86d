package io.vitq.calib;

import io.vitq.calib.mp.MixedPrecision;
import io.vitq.calib.mp.ModelSize;
import io.vitq.calib.mp.MpTarget;
import io.vitq.calib.mp.NuclearNorm;
import io.vitq.calib.mp.Sensitivity;
import io.vitq.calib.mp.UnitPlan;
import io.vitq.model.AttentionOp;
import io.vitq.model.BackwardSink;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.OpQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * VT-PTQ's nuclear-norm mixed precision (ALGORITHMS 9.6, with the [INFERRED] algorithm there):
 * <ol>
 *   <li>one recording pass runs every unit op's search at each candidate bit width (the other ops
 *       at the target's base bits) and takes each unit's nuclear norm: of the softmax attention
 *       maps (MSA unit) and of the fc2 output feature (MLP unit), per sample and head, averaged;</li>
 *   <li>for each bit width one float forward measures every unit's squared output error with that
 *       unit alone quantized ({@link UnitErrors}), per image;</li>
 *   <li>the bits per unit minimise {@code sum of nuclear norm x squared error} under the size
 *       budget, exactly (multiple-choice knapsack, {@link MixedPrecision});</li>
 *   <li>each op takes the search result at its unit's bits (parallel calibration: an op's search
 *       does not depend on the other ops, so nothing is searched twice).</li>
 * </ol>
 */
public final class MixedPrecisionCalibration {
    private MixedPrecisionCalibration() {}

    /**
     * @param nuclearNorms seconds spent on the SVDs of the nuclear norms (inside the recording pass)
     * @param unitErrors   seconds spent on the unit errors (a shadow forward per bit width) and the allocation
     */
    public record Result(QuantPlan plan, Calibrator.Timing timing, double nuclearNorms, double unitErrors,
                         MixedPrecision.Allocation allocation) {}

    /**
     * @param cfg    the method's settings (VT-PTQ); its bits are replaced by the target's
     * @param sizeMb the model-size budget in MB (10^6 bytes), or null for every parameter at the target's base bits
     */
    public static Result calibrate(Model model, Tensor images, int[] labels, CalibConfig cfg, MpTarget target,
                                   Double sizeMb, String calibration, Calibrator.Progress progress) {
        return calibrate(model, images, labels, cfg, target, sizeMb, MsaNorm.SCORES, calibration, progress);
    }

    /**
     * Which matrix gives the attention unit's nuclear norm. The paper says "attention map".
     * {@code SCORES} (the default since 2026-12-02, the owner's decision after the measurements in
     * docs/MIXED_PRECISION.md) reads it as the pre-softmax scores q.k^T per head, what the paper's
     * ranking loss calls the attention map A (Eq. 3; unscaled, also for Swin, whose matmul1 sees q
     * already scaled): the reading that is not worse than fixed bits at mp8 and better at mp6.
     * {@code SOFTMAX_MAPS} is ALGORITHMS 9.6's reading, the softmax maps, whose norms
     * (probabilities, every row sums to 1) are on a far smaller scale than the MLP units' feature
     * norms, so attention is starved of bits and MP6 collapses on ViT-Ti. {@code OUTPUT_FEATURE}
     * [INFERRED] takes the unit's output feature (attn.proj's output) like the MLP unit's.
     */
    public enum MsaNorm {
        SCORES("attention scores q.k^T"), SOFTMAX_MAPS("softmax attention maps"), OUTPUT_FEATURE("output feature");

        private final String description;

        MsaNorm(String description) { this.description = description; }

        /** Words for the plan and reports: "attention unit's nuclear norm of the ...". */
        public String description() { return description; }
    }

    public static Result calibrate(Model model, Tensor images, int[] labels, CalibConfig cfg, MpTarget target,
                                   Double sizeMb, MsaNorm msaNorm, String calibration, Calibrator.Progress progress) {
        if (cfg.sequential())
            throw new IllegalArgumentException("sequential calibration needs each op's bits before the next op: "
                    + "mixed precision chooses them afterwards; calibrate mixed precision in parallel");
        if (!cfg.opBits().isEmpty())
            throw new IllegalArgumentException("per-op bits " + cfg.opBits() + ": mixed precision chooses every unit's bits itself");
        UnitPlan units = UnitPlan.of(model);
        long budget = MixedPrecision.budget(units, target, sizeMb); // fails early on an impossible budget
        int base = target.baseBits();
        int[] cands = target.candidates();
        Set<String> unitOps = new HashSet<>();
        for (UnitPlan.Unit u : units.units()) unitOps.addAll(u.opIds());
        List<CalibConfig> perBits = new ArrayList<>();
        for (int b : cands) perBits.add(cfg.withBits(b, b));
        CalibConfig baseCfg = cfg.withBits(base, base);
        int samples = images.dim(0);

        Sensitivity.Builder sens = Sensitivity.builder(units, cands);
        Map<String, AttentionOp> byMatmul1 = new HashMap<>();
        for (AttentionOp op : model.attentionOps()) byMatmul1.put(op.matmul1Id(), op);
        long[] normNanos = new long[1];
        BackwardSink norms = new BackwardSink() {
            @Override
            public void onLinear(Linear op, float[] x, float[] out, float[] gradOut, int rows) {
                boolean msaOut = msaNorm == MsaNorm.OUTPUT_FEATURE && op.id().endsWith(".attn.proj");
                if (!op.id().endsWith(".mlp.fc2") && !msaOut) return;
                long t = System.nanoTime();
                sens.nuclearNorm(op.id().substring(0, op.id().lastIndexOf('.')),
                        NuclearNorm.mean(out, samples, rows / samples, op.out()));
                normNanos[0] += System.nanoTime() - t;
            }

            @Override
            public void onMatmul(String id, float[] a, float[] b, float[] out, float[] gradOut,
                                 int groups, int heads, int m, int k, int n) {
                String unit = id.substring(0, id.lastIndexOf('.'));
                long t = System.nanoTime();
                if (msaNorm == MsaNorm.SOFTMAX_MAPS && id.endsWith(".matmul2")) {
                    sens.nuclearNorm(unit, NuclearNorm.mean(a, groups * heads, m, k)); // a = the softmax maps
                } else if (msaNorm == MsaNorm.SCORES && id.endsWith(".matmul1")) {
                    // out = q.k^T, or (q * scale).k^T when q is prescaled (Swin); the norm is homogeneous, so undo the scale
                    AttentionOp op = byMatmul1.get(id);
                    double unscale = 1.0 / op.qFactor();
                    sens.nuclearNorm(unit, NuclearNorm.mean(out, groups * heads, m, n) * unscale);
                } else {
                    return;
                }
                normNanos[0] += System.nanoTime() - t;
            }
        };
        long t0 = System.nanoTime();
        Calibrator.Searches run = Calibrator.search(model, images, labels, cfg,
                id -> unitOps.contains(id) ? perBits : List.of(baseCfg), norms, progress);
        long recorded = System.nanoTime();

        // squared unit-output errors, one forward per bit width
        for (int b : cands) {
            Map<String, OpQuant> ops = new LinkedHashMap<>();
            for (String id : Calibrator.forwardOrder(model)) ops.put(id, run.results().get(id).get(unitOps.contains(id) ? b : base));
            QuantPlan pb = new QuantPlan(new PlanInfo(model.name(), cfg.method(), b, b), ops);
            UnitErrors ue = new UnitErrors(new FakeQuantExecutor(pb, model));
            model.forward(images, ue);
            for (UnitPlan.Unit u : units.units()) {
                Double e = ue.errors().get(u.id());
                if (e == null) throw new IllegalStateException(u.id() + ": no unit output seen in the forward");
                sens.squaredError(u.id(), b, e / samples);
            }
        }
        MixedPrecision.Allocation alloc = MixedPrecision.allocate(units, sens.build(), target, budget);
        long end = System.nanoTime();

        Map<String, Integer> opBits = alloc.opBits();
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        for (String id : Calibrator.forwardOrder(model)) ops.put(id, run.results().get(id).get(opBits.get(id)));
        Map<String, String> options = new LinkedHashMap<>(cfg.options());
        options.put(io.vitq.quant.PlanInfo.MIXED_PRECISION, target.cliName() + ", units from " + java.util.Arrays.toString(cands)
                + " bits, attention unit's nuclear norm of the " + msaNorm.description());
        StringBuilder bits = new StringBuilder();
        for (int i = 0; i < units.units().size(); i++)
            bits.append(i == 0 ? "" : ", ").append(units.units().get(i).id()).append('=').append(alloc.unitBits()[i]);
        options.put("unit_bits", bits.toString());
        options.put("size_mb", String.format(java.util.Locale.ROOT, "%.2f", alloc.sizeMb()));
        options.put("budget_mb", String.format(java.util.Locale.ROOT, "%.2f", ModelSize.mb(budget)));
        PlanInfo info = new PlanInfo(model.name(), cfg.method(), base, base, cfg.metric().cliName(),
                Calibrator.calibrationLabel(calibration, samples), Instant.now().toString(), "vitq 0.1.0", options);
        long[] sn = run.nanos();
        Calibrator.Timing timing = new Calibrator.Timing((recorded - t0 - sn[0] - sn[1] - normNanos[0]) / 1e9,
                sn[0] / 1e9, sn[1] / 1e9, sn[2] / 1e9, 0, (end - t0) / 1e9, run.work().share());
        return new Result(new QuantPlan(info, ops), timing, normNanos[0] / 1e9, (end - recorded) / 1e9, alloc);
    }
}
