package io.vitq.quant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An attention matmul: {@code matmul1} = q · kᵀ (a = q, b = k) or {@code matmul2} = probabilities
 * · v (a = probabilities, b = v). Operands are uniform (per head or per tensor) or, for matmul2's
 * a, twin softmax; null leaves an operand in float.
 */
public record MatmulQuant(OperandQuant a, OperandQuant b, Map<String, String> info) implements OpQuant {
    public MatmulQuant {
        check("a", a);
        check("b", b);
        if (b instanceof TwinSoftmaxOperand)
            throw new IllegalArgumentException("matmul op: twin-softmax applies to operand a (the probabilities), not b");
        info = info == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(info));
    }

    public MatmulQuant(OperandQuant a, OperandQuant b) { this(a, b, Map.of()); }

    private static void check(String name, OperandQuant o) {
        if (o instanceof TwinGeluOperand)
            throw new IllegalArgumentException("matmul op: twin-gelu is for fc2's input, not matmul operand " + name);
        if (o instanceof UniformOperand u && u.granularity() != Granularity.PER_HEAD && u.granularity() != Granularity.PER_TENSOR)
            throw new IllegalArgumentException("matmul op: operand " + name + " must be per-head or per-tensor, got "
                    + u.granularity().jsonName());
    }

    @Override
    public String kind() { return "matmul"; }

    @Override
    public List<OperandQuant> operands() {
        List<OperandQuant> l = new ArrayList<>(2);
        if (a != null) l.add(a);
        if (b != null) l.add(b);
        return List.copyOf(l);
    }
}
