package io.vitq.calib.mp;

import io.vitq.data.Preprocessing;
import io.vitq.model.RandomWeights;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelSizeTest {

    /** DeiT-B's units as UnitPlan finds them on a materialised random DeiT-B (86.6 M floats, ~350 MB). */
    private static UnitPlan deitB() {
        ViTConfig c = ViTConfig.of(224, 16, 768, 12, 12);
        return UnitPlan.of(VisionTransformer.load("deit_base_patch16_224", c, Preprocessing.timm(224, false),
                RandomWeights.vit(c, 1)));
    }

    @Test
    void deitBaseMatchesThePapersSizes() {
        UnitPlan p = deitB();
        assertEquals(86_567_656L, p.totalParameters(), "timm's deit_base_patch16_224 parameter count");
        assertEquals(24, p.units().size());
        assertEquals(768L * 2304 + 2304 + 768L * 768 + 768, p.units().get(0).parameters());
        assertEquals(2 * 768L * 3072 + 3072 + 768, p.units().get(1).parameters());

        double fp32 = ModelSize.mb(ModelSize.uniformBits(p.totalParameters(), 32));
        double w8 = ModelSize.mb(uniform(p, 8)), w6 = ModelSize.mb(uniform(p, 6));
        assertEquals(346.27, fp32, 0.005);
        assertEquals(86.57, w8, 0.005);
        assertEquals(64.93, w6, 0.005);
        // the paper's 344 / 86.0 / 64.5, within the rounding of the parameter count to 86 M (0.66 %)
        assertEquals(344, fp32, 0.01 * 344);
        assertEquals(86.0, w8, 0.01 * 86.0);
        assertEquals(64.5, w6, 0.01 * 64.5);
        // ... and exactly with the published 86 M parameters and decimal MB
        assertEquals(344.0, ModelSize.mb(ModelSize.uniformBits(86_000_000L, 32)), 1e-9);
        assertEquals(86.0, ModelSize.mb(ModelSize.uniformBits(86_000_000L, 8)), 1e-9);
        assertEquals(64.5, ModelSize.mb(ModelSize.uniformBits(86_000_000L, 6)), 1e-9);
        // binary MB (2^20 bytes) would be 4.6 % below the paper: not its convention
        double fp32Binary = p.totalParameters() * 4.0 / (1 << 20);
        assertTrue(Math.abs(fp32Binary - 344) > 10, "2^20: " + fp32Binary);
    }

    @Test
    void papersOtherModelsFollowTheSameConvention() {
        // DeiT-S 22 M: 88 / 22.0 / 16.5; ViT-L 307 M: 1228 / 307 / 230.25 (tables: 1228, 307, 230.2)
        assertEquals(88.0, ModelSize.mb(ModelSize.uniformBits(22_000_000L, 32)), 1e-9);
        assertEquals(22.0, ModelSize.mb(ModelSize.uniformBits(22_000_000L, 8)), 1e-9);
        assertEquals(16.5, ModelSize.mb(ModelSize.uniformBits(22_000_000L, 6)), 1e-9);
        assertEquals(1228.0, ModelSize.mb(ModelSize.uniformBits(307_000_000L, 32)), 1e-9);
        assertEquals(230.25, ModelSize.mb(ModelSize.uniformBits(307_000_000L, 6)), 1e-9);
    }

    @Test
    void mixedSizeCountsUnitsAtTheirBitsAndTheRestAtBase() {
        UnitPlan p = UnitPlan.of(TinyModels.VIT);
        long msa = p.units().get(0).parameters(), mlp = p.units().get(1).parameters();
        long bits = ModelSize.bits(p, new int[] {4, 10, 8, 8}, 8);
        assertEquals(p.otherParameters() * 8 + msa * 4 + mlp * 10 + (msa + mlp) * 8, bits);
        assertEquals(uniform(p, 8), ModelSize.bits(p, new int[] {8, 8, 8, 8}, 8));
        assertThrows(IllegalArgumentException.class, () -> ModelSize.bits(p, new int[] {8}, 8));
    }

    @Test
    void megabyteConversions() {
        assertEquals(688_000_000L, ModelSize.bitsOfMb(86.0));
        assertEquals(86.0, ModelSize.mb(688_000_000L), 0.0);
        assertEquals("86.57 MB", ModelSize.format(ModelSize.uniformBits(86_567_656L, 8)));
        assertThrows(IllegalArgumentException.class, () -> ModelSize.bitsOfMb(0));
        assertThrows(IllegalArgumentException.class, () -> ModelSize.bitsOfMb(Double.NaN));
    }

    private static long uniform(UnitPlan p, int bits) {
        int[] b = new int[p.units().size()];
        Arrays.fill(b, bits);
        long viaUnits = ModelSize.bits(p, b, bits);
        assertEquals(ModelSize.uniformBits(p.totalParameters(), bits), viaUnits);
        return viaUnits;
    }
}
