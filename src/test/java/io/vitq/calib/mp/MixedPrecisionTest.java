package io.vitq.calib.mp;

import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MixedPrecisionTest {

    /** Errors that fall 4x per bit, scaled differently per unit, so the units compete for bits. */
    static Sensitivity sensitivity(UnitPlan plan, MpTarget t) {
        Sensitivity.Builder b = Sensitivity.builder(plan, t.candidates());
        double[] nuc = {3.0, 40.0, 0.5, 7.0};
        double[] scale = {1.0, 1.0, 5.0, 1.5};
        for (int i = 0; i < plan.units().size(); i++) {
            String id = plan.units().get(i).id();
            b.nuclearNorm(id, nuc[i]);
            for (int bits : t.candidates()) b.squaredError(id, bits, scale[i] * Math.pow(4, -bits));
        }
        return b.build();
    }

    @Test
    void sensitivityIsNuclearNormTimesSquaredError() {
        UnitPlan plan = UnitPlan.of(TinyModels.VIT);
        Sensitivity s = sensitivity(plan, MpTarget.MP6);
        assertEquals(40.0 * Math.pow(4, -7), s.cost(1, 3), 1e-18);
        assertEquals(6.0, Sensitivity.omega(2.0, 3.0));
        assertEquals(List.of("blocks.0.attn", "blocks.0.mlp", "blocks.1.attn", "blocks.1.mlp"), s.unitIds());
    }

    @Test
    void builderReportsWhatIsMissing() {
        UnitPlan plan = UnitPlan.of(TinyModels.VIT);
        Sensitivity.Builder b = Sensitivity.builder(plan, MpTarget.MP8.candidates());
        for (var u : plan.units()) {
            b.nuclearNorm(u.id(), 1);
            for (int bits = 6; bits <= 10; bits++) if (!(u.id().equals("blocks.1.mlp") && bits == 9)) b.squaredError(u.id(), bits, 1);
        }
        var e = assertThrows(IllegalStateException.class, b::build);
        assertEquals("blocks.1.mlp: squared error at 9 bits not set", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.squaredError("blocks.0.mlp", 5, 1));
        assertThrows(IllegalArgumentException.class, () -> b.nuclearNorm("blocks.2.mlp", 1));
        assertThrows(IllegalArgumentException.class, () -> b.nuclearNorm("blocks.0.mlp", -1).squaredError("blocks.1.mlp", 9, 1).build());
    }

    @Test
    void allocationIsTheExhaustiveOptimumWithinTheUniformSize() {
        UnitPlan plan = UnitPlan.of(TinyModels.VIT);
        for (MpTarget t : MpTarget.values()) {
            Sensitivity s = sensitivity(plan, t);
            long budget = MixedPrecision.budget(plan, t, null);
            assertEquals(plan.totalParameters() * t.baseBits(), budget);
            MixedPrecision.Allocation a = MixedPrecision.allocate(plan, s, t, budget);
            assertTrue(a.size() <= budget);
            assertEquals(ModelSize.bits(plan, a.unitBits(), t.baseBits()), a.size());

            // exhaustive over 5^4 configurations
            int[] cand = t.candidates();
            double best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < 625; c++) {
                int[] bits = new int[4];
                double cost = 0;
                for (int u = 0, x = c; u < 4; u++, x /= 5) {
                    bits[u] = cand[x % 5];
                    cost += s.cost(u, x % 5);
                }
                if (ModelSize.bits(plan, bits, t.baseBits()) <= budget) best = Math.min(best, cost);
            }
            assertEquals(best, a.cost(), 1e-12 * best);
            // the sensitive unit (blocks.0.mlp: largest norm x error) gets more than base bits, the least sensitive fewer
            assertTrue(a.unitBits()[1] > t.baseBits(), t + " " + java.util.Arrays.toString(a.unitBits()));
            assertTrue(a.unitBits()[2] < t.baseBits(), t + " " + java.util.Arrays.toString(a.unitBits()));

            Map<String, Integer> ops = a.opBits();
            assertEquals(t.baseBits(), ops.get("patch_embed.proj"));
            assertEquals(t.baseBits(), ops.get("head"));
            assertEquals(a.unitBits()[1], ops.get("blocks.0.mlp.fc2"));
            assertEquals(a.unitBits()[2], ops.get("blocks.1.attn.matmul1"));

            List<String> report = a.report();
            assertTrue(report.get(1).matches("  blocks\\.0 +MSA +\\d+  MLP +\\d+   nuclear norms 3\\.000 \\| 40\\.00"), report.get(1));
            assertTrue(report.get(3).startsWith("size " + ModelSize.format(a.size())), report.get(3));
        }
    }

    @Test
    void sizeBudgetInMegabytes() {
        UnitPlan plan = UnitPlan.of(TinyModels.VIT);
        Sensitivity s = sensitivity(plan, MpTarget.MP6);
        // the tiny ViT has ~0.1 M parameters: at 6 bits ~0.08 MB
        long uniform6 = plan.totalParameters() * 6;
        double mb = ModelSize.mb(uniform6);
        MixedPrecision.Allocation bigger = MixedPrecision.allocate(plan, s, MpTarget.MP6, MixedPrecision.budget(plan, MpTarget.MP6, mb * 1.34));
        assertArrayEquals(new int[] {8, 8, 8, 8}, bigger.unitBits(), "room for all at 8 bits: errors fall with bits");
        var e = assertThrows(IllegalArgumentException.class,
                () -> MixedPrecision.allocate(plan, s, MpTarget.MP6, MixedPrecision.budget(plan, MpTarget.MP6, 0.01)));
        long min = plan.otherParameters() * 6 + plan.unitParameters() * 4;
        assertTrue(e.getMessage().contains("below the smallest mp6 size of vit_tiny_test, " + ModelSize.format(min)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MixedPrecision.allocate(plan, s, MpTarget.MP8, 1L << 40));
    }

    @Test
    void targets() {
        assertEquals(MpTarget.MP6, MpTarget.parse("mp6"));
        assertEquals(MpTarget.MP8, MpTarget.parse("MP8"));
        assertArrayEquals(new int[] {4, 5, 6, 7, 8}, MpTarget.MP6.candidates());
        assertArrayEquals(new int[] {6, 7, 8, 9, 10}, MpTarget.MP8.candidates());
        assertEquals(8, MpTarget.MP8.baseBits());
        assertThrows(IllegalArgumentException.class, () -> MpTarget.parse("mp7"));
    }
}
