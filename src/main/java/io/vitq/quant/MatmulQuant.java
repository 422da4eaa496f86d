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
        // a is q (matmul1) or the probabilities (matmul2), b is k or v; which matmul this is, the
        // executors check against the op id
        if (a != null && a.refuses(OperandRole.HEAD_OPERAND) != null && a.refuses(OperandRole.PROBABILITIES) != null)
            throw new IllegalArgumentException("matmul op: operand a: " + a.refuses(OperandRole.PROBABILITIES));
        String why = b == null ? null : b.refuses(OperandRole.HEAD_OPERAND);
        if (why != null) throw new IllegalArgumentException("matmul op: operand b: " + why);
        info = info == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(info));
    }

    public MatmulQuant(OperandQuant a, OperandQuant b) { this(a, b, Map.of()); }

    /** The role of operand a in the matmul {@code id}: q in {@code ...matmul1}, the probabilities in {@code ...matmul2}. */
    public static OperandRole roleOfA(String id) {
        return id.endsWith(".matmul2") ? OperandRole.PROBABILITIES : OperandRole.HEAD_OPERAND;
    }

    /** Checks both operands against the matmul {@code id} (matmul1: q and k; matmul2: probabilities and v). */
    public void checkRoles(String id) {
        String why = a == null ? null : a.refuses(roleOfA(id));
        if (why != null) throw new IllegalArgumentException(id + ": operand a: " + why);
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
