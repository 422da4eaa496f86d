package io.vitq.quant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Linear op (including the patch embedding, a Linear over im2col patches): its weight, always
 * quantized with a row granularity, and its input, uniform per tensor, twin GELU (fc2 in PTQ4ViT)
 * or null when the input stays float (the image entering the patch embedding).
 *
 * @param bias a float bias that replaces the layer's own (VT-PTQ's bias correction; also gives a
 *             bias to a layer that has none), or null to keep the layer's bias
 */
public record LinearQuant(UniformOperand weight, OperandQuant input, float[] bias, Map<String, String> info)
        implements OpQuant {
    public LinearQuant {
        if (weight == null) throw new IllegalArgumentException("linear op: weight quantizer missing");
        String why = weight.refuses(OperandRole.WEIGHT);
        if (why != null) throw new IllegalArgumentException("linear op: " + why);
        why = input == null ? null : input.refuses(OperandRole.LINEAR_INPUT);
        if (why != null) throw new IllegalArgumentException("linear op: input: " + why);
        if (bias != null) {
            for (float b : bias) if (!Float.isFinite(b)) throw new IllegalArgumentException("linear op: bias value " + b + " is not finite");
            bias = bias.clone();
        }
        info = info == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(info));
    }

    public LinearQuant(UniformOperand weight, OperandQuant input, Map<String, String> info) { this(weight, input, null, info); }

    public LinearQuant(UniformOperand weight, OperandQuant input) { this(weight, input, null, Map.of()); }

    /** A copy of the replacement bias, or null. */
    @Override
    public float[] bias() { return bias == null ? null : bias.clone(); }

    /** The bias to use with a layer whose own bias is {@code layerBias} (may be null). */
    public float[] effectiveBias(float[] layerBias) { return bias != null ? bias.clone() : layerBias; }

    @Override
    public boolean equals(Object o) {
        return o instanceof LinearQuant l && l.weight.equals(weight) && java.util.Objects.equals(l.input, input)
                && java.util.Arrays.equals(l.bias, bias) && l.info.equals(info);
    }

    @Override
    public int hashCode() { return java.util.Objects.hash(weight, input, java.util.Arrays.hashCode(bias), info); }

    @Override
    public String kind() { return "linear"; }

    @Override
    public List<OperandQuant> operands() {
        List<OperandQuant> l = new ArrayList<>(2);
        l.add(weight);
        if (input != null) l.add(input);
        return List.copyOf(l);
    }
}
