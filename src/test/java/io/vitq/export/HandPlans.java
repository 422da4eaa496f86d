package io.vitq.export;

import io.vitq.testutil.MinMaxPlans;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.ScaleGrid;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Quantization plans built by hand from min-max scales of a float forward (as
 * FakeQuantExecutorTest builds them), so the export tests cover every quantizer and granularity
 * without a calibration run.
 */
public final class HandPlans {
    private HandPlans() {}

    /** max |x| (and the signed max) of every Linear input, per-head max |q| (Swin: |q · scale|), |k|, |v| and max probability. */
    /** The shared min-max fixture's maxima. */
    public static MinMaxPlans.Maxima maxima(Model model, Tensor images) { return MinMaxPlans.maxima(model, images); }

    private static UniformOperand perHead(float[] maxAbs, int bits, float shrink) { return MinMaxPlans.perHead(maxAbs, bits, shrink); }

    private static UniformOperand perTensor(float[] maxAbs, int bits, float shrink) { return MinMaxPlans.perTensor(maxAbs, bits, shrink); }

    private static UniformOperand weight(Linear l, Granularity g, int bits, float shrink) { return MinMaxPlans.weight(l, g, bits, shrink); }

    /**
     * PTQ4ViT's granularities: patch embedding per output channel with a float image, qkv in 3
     * row blocks, other weights per tensor, Linear inputs per tensor, fc2's input twin GELU, q, k
     * and v per head, the probabilities twin softmax (split 2^-4, {@code mode}). Scales are
     * min-max times {@code shrink} (below 1 so that some values clip).
     */
    public static QuantPlan ptq4vit(Model model, MinMaxPlans.Maxima mx, int bits, float shrink, TwinSoftmaxQuantizer.Mode mode) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears()) {
            boolean patch = l.id().equals("patch_embed.proj");
            Granularity g = patch ? Granularity.PER_OUTPUT_CHANNEL : l.id().endsWith("attn.qkv") ? Granularity.ROW_BLOCKS
                    : Granularity.PER_TENSOR;
            OperandQuant in = patch ? null : l.id().endsWith("mlp.fc2")
                    ? TwinGeluOperand.withDefaultNegativeStep(bits, ScaleGrid.geluPositiveInit("test", mx.get(l.id() + ".in+"), bits) * shrink)
                    : perTensor(new float[] {mx.get(l.id() + ".in")}, bits, shrink);
            ops.put(l.id(), new LinearQuant(weight(l, g, bits, shrink), in));
        }
        for (AttentionOp a : model.attentionOps()) {
            String m1 = a.matmul1Id(), m2 = a.matmul2Id();
            ops.put(m1, new MatmulQuant(perHead(mx.heads(m1 + ".a"), bits, shrink), perHead(mx.heads(m1 + ".b"), bits, shrink)));
            ops.put(m2, new MatmulQuant(new TwinSoftmaxOperand(bits, 0x1p-4f, mode), perHead(mx.heads(m2 + ".b"), bits, shrink)));
        }
        return new QuantPlan(new PlanInfo(model.name(), "by hand", bits, bits), ops);
    }

    /**
     * BasePTQ-like variety with mixed precision: a quantized image (per tensor), per-tensor
     * patch-embedding weight, per-output-channel fc1 weights, per-head probabilities (uniform),
     * per-tensor k and v, the last attention's matmul1 and the head left float, and the ops of
     * block 0's MLP at {@code wideBits} (codes wider than int8).
     */
    public static QuantPlan mixed(Model model, MinMaxPlans.Maxima mx, int bits, int wideBits, float shrink) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        List<Linear> linears = model.linears();
        for (Linear l : linears) {
            if (l == linears.getLast()) continue;
            int b = l.id().startsWith("blocks.0.mlp") ? wideBits : bits;
            Granularity g = l.id().endsWith("attn.qkv") ? Granularity.ROW_BLOCKS
                    : l.id().endsWith("mlp.fc1") ? Granularity.PER_OUTPUT_CHANNEL : Granularity.PER_TENSOR;
            float inMax = l.id().equals("patch_embed.proj") ? 1f : mx.get(l.id() + ".in");
            ops.put(l.id(), new LinearQuant(weight(l, g, b, shrink), perTensor(new float[] {inMax}, b, shrink)));
        }
        List<AttentionOp> attn = model.attentionOps();
        for (AttentionOp a : attn) {
            String m1 = a.matmul1Id(), m2 = a.matmul2Id();
            if (a != attn.getLast())
                ops.put(m1, new MatmulQuant(perHead(mx.heads(m1 + ".a"), bits, shrink), perTensor(mx.heads(m1 + ".b"), bits, shrink)));
            ops.put(m2, new MatmulQuant(perHead(mx.heads(m2 + ".a"), bits, shrink), perTensor(mx.heads(m2 + ".b"), bits, shrink)));
        }
        return new QuantPlan(new PlanInfo(model.name(), "by hand", bits, bits), ops);
    }

    /** {@code plan} with every fc2's input quantizer replaced by {@code input} (weights, biases and infos kept). */
    public static QuantPlan withFc2Inputs(QuantPlan plan, io.vitq.quant.OperandQuant input) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(plan.ops());
        for (var e : plan.ops().entrySet())
            if (e.getKey().endsWith("mlp.fc2") && e.getValue() instanceof LinearQuant lq)
                ops.put(e.getKey(), new LinearQuant(lq.weight(), input, lq.bias(), lq.info()));
        return new QuantPlan(plan.info(), ops);
    }

    /**
     * {@code plan} with AdaLog's quantizers where the recipe puts them: the softmax probabilities
     * (every matmul2's first operand, scale 1) and every fc2's input ({@code scale}, GELU's shift).
     */
    public static QuantPlan withAdaLog(QuantPlan plan, int bits, int q, float scale) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(withFc2Inputs(plan,
                new io.vitq.quant.AdaLogOperand(bits, q, scale, io.vitq.quant.AdaLogOperand.GELU_SHIFT)).ops());
        for (var e : plan.ops().entrySet())
            if (e.getKey().endsWith(".matmul2") && e.getValue() instanceof MatmulQuant mq)
                ops.put(e.getKey(), new MatmulQuant(io.vitq.quant.AdaLogOperand.probabilities(bits, q), mq.b(), mq.info()));
        return new QuantPlan(plan.info(), ops);
    }
}
