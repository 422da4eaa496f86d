package io.vitq.cli;

import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.QuantPlan;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A plan as a Markdown table: one row per operand of each op (weight and input of a Linear, a and
 * b of a matmul), ops in forward order. An operand left in float gets a row too, so that "not
 * quantized" is visible rather than absent. Values are rounded for reading; {@code --json} has
 * them exactly.
 */
final class PlanTable {
    private PlanTable() {}

    static String markdown(QuantPlan plan) {
        StringBuilder sb = new StringBuilder();
        sb.append("| op | kind | operand | quantizer | bits | granularity | scales | values |\n");
        sb.append("|---|---|---|---|---:|---|---:|---|\n");
        for (Map.Entry<String, OpQuant> e : plan.ops().entrySet()) {
            OpQuant op = e.getValue();
            switch (op) {
                case LinearQuant l -> {
                    row(sb, e.getKey(), op.kind(), "weight", l.weight());
                    row(sb, e.getKey(), op.kind(), "input", l.input());
                }
                case MatmulQuant m -> {
                    row(sb, e.getKey(), op.kind(), "a", m.a());
                    row(sb, e.getKey(), op.kind(), "b", m.b());
                }
            }
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String id, String kind, String operand, OperandQuant o) {
        List<String> cells = new ArrayList<>(List.of(id, kind, operand));
        if (o == null) {
            cells.addAll(List.of("float", "-", "-", "-", "-"));
        } else {
            List<String> c = o.inspectCells();
            cells.addAll(List.of(c.get(0), String.valueOf(o.bits()), c.get(1), c.get(2), c.get(3)));
        }
        sb.append("| ").append(String.join(" | ", cells)).append(" |\n");
    }
}
