package io.vitq.quant;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vitq.data.Preprocessing;
import io.vitq.model.AttentionOp;
import io.vitq.model.Linear;
import io.vitq.model.RandomWeights;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlanModelCheckTest {
    private static final ViTConfig CFG = ViTConfig.of(32, 16, 24, 2, 3);
    private static final VisionTransformer MODEL =
            VisionTransformer.load("micro", CFG, Preprocessing.timm(32, true), RandomWeights.vit(CFG, 1));

    /** A PTQ4ViT-shaped plan for the micro ViT, built from the model's own op lists. */
    static Map<String, OpQuant> fullPlan() {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        for (Linear l : MODEL.linears()) {
            UniformOperand w = l.id().endsWith("attn.qkv") ? new UniformOperand(8, Granularity.ROW_BLOCKS, new float[] {1, 1, 1})
                    : l.id().equals("patch_embed.proj") ? new UniformOperand(8, Granularity.PER_OUTPUT_CHANNEL, ones(l.out()))
                    : UniformOperand.perTensor(8, 1f);
            OperandQuant in = l.id().equals("patch_embed.proj") ? null
                    : l.id().endsWith("mlp.fc2") ? TwinGeluOperand.withDefaultNegativeStep(8, 0.01f) : UniformOperand.perTensor(8, 0.1f);
            ops.put(l.id(), new LinearQuant(w, in));
        }
        for (AttentionOp a : MODEL.attentionOps()) {
            int h = a.spec().heads();
            ops.put(a.matmul1Id(), new MatmulQuant(new UniformOperand(8, Granularity.PER_HEAD, ones(h)),
                    new UniformOperand(8, Granularity.PER_HEAD, ones(h))));
            ops.put(a.matmul2Id(), new MatmulQuant(new TwinSoftmaxOperand(8, 0x1p-4f, TwinSoftmaxQuantizer.Mode.CLEAN),
                    new UniformOperand(8, Granularity.PER_HEAD, ones(h))));
        }
        return ops;
    }

    static float[] ones(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, 1f);
        return f;
    }

    @Test
    void acceptsAFittingPlanAndListsMismatches() {
        PlanInfo info = new PlanInfo("micro", "ptq4vit", 8, 8);
        PlanModelCheck.check(new QuantPlan(info, fullPlan()), MODEL);
        Map<String, OpQuant> bad = fullPlan();
        bad.put("blocks.9.attn.qkv", bad.get("blocks.0.attn.qkv"));
        bad.put("blocks.0.attn.matmul1", new MatmulQuant(new UniformOperand(8, Granularity.PER_HEAD, ones(4)), null));
        bad.put("patch_embed.proj", new LinearQuant(new UniformOperand(8, Granularity.PER_OUTPUT_CHANNEL, ones(23)), null));
        bad.put("blocks.1.attn.proj", bad.get("blocks.1.attn.matmul1"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlanModelCheck.check(new QuantPlan(info, bad), MODEL));
        String m = e.getMessage();
        assertTrue(m.contains("blocks.9.attn.qkv: no such op"), m);
        assertTrue(m.contains("blocks.0.attn.matmul1: operand a has 4 per-head scales for 3 heads"), m);
        assertTrue(m.contains("patch_embed.proj") && m.contains("24 scales"), m);
        assertTrue(m.contains("blocks.1.attn.proj: is a linear op in the model, not a matmul"), m);
    }
}
