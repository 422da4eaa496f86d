package io.vitq.cli;

import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A plan as a Markdown table: one row per operand of each op (weight and input of a Linear, a and
 * b of a matmul), ops in forward order. An operand left in float gets a row too, so that "not
 * quantized" is visible rather than absent. Values are rounded for reading; {@code --json} has
 * them exactly.
 */
final class PlanTable {
    /** Up to this many scales are printed one by one; more are summarised as min / median / max. */
    static final int LIST_LIMIT = 4;

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
        switch (o) {
            case null -> cells.addAll(List.of("float", "-", "-", "-", "-"));
            case UniformOperand u -> cells.addAll(List.of("uniform", String.valueOf(u.bits()), u.granularity().jsonName(),
                    String.valueOf(u.scaleCount()), scales(u.scales())));
            case TwinSoftmaxOperand t -> {
                TwinSoftmaxQuantizer q = t.quantizer();
                String mode = t.mode() == TwinSoftmaxQuantizer.Mode.CLEAN ? "clean" : "reference-quirk";
                cells.addAll(List.of("twin-softmax (" + mode + ")", String.valueOf(t.bits()), "per-tensor", "2",
                        "small " + num(q.smallStep()) + ", large " + num(q.largeStep()) + " (split " + num(t.split()) + ")"));
            }
            case TwinGeluOperand g -> cells.addAll(List.of("twin-gelu", String.valueOf(g.bits()), "per-tensor", "2",
                    "positive " + num(g.positiveStep()) + ", negative " + num(g.negativeStep())));
        }
        sb.append("| ").append(String.join(" | ", cells)).append(" |\n");
    }

    /** All scales when there are few, else min / median / max and the count. */
    static String scales(float[] s) {
        if (s.length <= LIST_LIMIT) {
            List<String> l = new ArrayList<>();
            for (float v : s) l.add(num(v));
            return String.join(", ", l);
        }
        float[] sorted = s.clone();
        Arrays.sort(sorted);
        // the lower middle for an even count: a median that is one of the scales
        return "min " + num(sorted[0]) + " / median " + num(sorted[(sorted.length - 1) / 2]) + " / max "
                + num(sorted[sorted.length - 1]) + " (" + s.length + " scales)";
    }

    /** 5 significant digits without trailing zeros: 0.001, 0.00049213, 1.2346e-07. */
    static String num(float v) {
        return String.format(Locale.ROOT, "%.5g", v).replaceFirst("(\\.\\d*?)0+(e|$)", "$1$2").replaceFirst("\\.(e|$)", "$1");
    }
}
