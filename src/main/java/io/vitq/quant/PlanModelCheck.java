package io.vitq.quant;

import io.vitq.model.AttentionOp;
import io.vitq.model.Linear;
import io.vitq.model.Model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks that a plan fits a model before an executor uses it: every op id exists and has the
 * right kind, and every scale vector has the length its granularity needs (rows of the weight,
 * heads of the attention). One exception lists all problems, so a plan made for another model
 * fails with a readable message instead of an index error deep in a forward pass.
 */
public final class PlanModelCheck {
    private PlanModelCheck() {}

    /** @throws IllegalArgumentException listing every mismatch */
    public static void check(QuantPlan plan, Model model) {
        Map<String, Linear> linears = new HashMap<>();
        for (Linear l : model.linears()) linears.put(l.id(), l);
        Map<String, Integer> matmulHeads = new HashMap<>();
        for (AttentionOp a : model.attentionOps()) {
            matmulHeads.put(a.matmul1Id(), a.spec().heads());
            matmulHeads.put(a.matmul2Id(), a.spec().heads());
        }
        List<String> problems = new ArrayList<>();
        plan.ops().forEach((id, op) -> {
            try {
                switch (op) {
                    case LinearQuant l -> {
                        Linear layer = linears.get(id);
                        if (layer == null) throw new IllegalArgumentException(id + ": "
                                + (matmulHeads.containsKey(id) ? "is a matmul in the model, not a linear op" : "no such op in the model"));
                        l.weight().granularity().checkRows(id, l.weight().scaleCount(), layer.out());
                        float[] bias = l.bias();
                        if (bias != null && bias.length != layer.out())
                            throw new IllegalArgumentException(id + ": corrected bias has " + bias.length + " values for "
                                    + layer.out() + " outputs");
                    }
                    case MatmulQuant m -> {
                        Integer heads = matmulHeads.get(id);
                        if (heads == null) throw new IllegalArgumentException(id + ": "
                                + (linears.containsKey(id) ? "is a linear op in the model, not a matmul" : "no such op in the model"));
                        m.checkRoles(id);
                        checkHeads(id, "a", m.a(), heads);
                        checkHeads(id, "b", m.b(), heads);
                    }
                }
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        });
        if (!problems.isEmpty())
            throw new IllegalArgumentException("plan for " + plan.info().model() + " does not fit model " + model.name()
                    + ": " + String.join("; ", problems.subList(0, Math.min(10, problems.size())))
                    + (problems.size() > 10 ? "; and " + (problems.size() - 10) + " more" : ""));
    }

    /** The model's quantizable ops that the plan has no entry for (they run in float), in model order. */
    public static List<String> unplanned(QuantPlan plan, Model model) {
        List<String> missing = new ArrayList<>();
        for (Linear l : model.linears()) if (!plan.ops().containsKey(l.id())) missing.add(l.id());
        for (AttentionOp a : model.attentionOps())
            for (String id : List.of(a.matmul1Id(), a.matmul2Id())) if (!plan.ops().containsKey(id)) missing.add(id);
        return missing;
    }

    private static void checkHeads(String id, String operand, OperandQuant o, int heads) {
        if (o != null) o.checkHeads(id, operand, heads);
    }
}
