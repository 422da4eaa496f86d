package io.vitq.quant;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A quantization plan: op id (timm module name, e.g. {@code blocks.3.attn.qkv}) → {@link OpQuant},
 * in forward order, plus {@link PlanInfo}. Every execution mode (fake quant, integer) reads its
 * scales from here; the plan does not record how they were chosen beyond free-form metadata.
 * Immutable; {@link QuantPlanJson} reads and writes it.
 */
public final class QuantPlan {
    private final PlanInfo info;
    private final Map<String, OpQuant> ops;
    private final List<NormFold> folds;

    /** @param ops in forward order (the map's iteration order is kept) */
    public QuantPlan(PlanInfo info, Map<String, ? extends OpQuant> ops) { this(info, ops, List.of()); }

    /**
     * @param folds LayerNorm → Linear reparameterisations ({@link NormFold}) that turn the float model
     *              into the one the ops quantize; each folded Linear's input quantizer is the fold's
     *              {@link NormFold#input()}
     */
    public QuantPlan(PlanInfo info, Map<String, ? extends OpQuant> ops, List<NormFold> folds) {
        this.info = Objects.requireNonNull(info, "info");
        LinkedHashMap<String, OpQuant> copy = new LinkedHashMap<>();
        ops.forEach((id, op) -> {
            if (id == null || id.isBlank()) throw new IllegalArgumentException("plan: empty op id");
            copy.put(id, Objects.requireNonNull(op, () -> "plan: op " + id + " has no quantization"));
        });
        this.ops = Collections.unmodifiableMap(copy);
        this.folds = List.copyOf(folds);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (NormFold f : this.folds) {
            if (!seen.add(f.norm()) || !seen.add(f.linear()))
                throw new IllegalArgumentException("plan: " + f.norm() + " / " + f.linear() + " folded twice");
            if (!(copy.get(f.linear()) instanceof LinearQuant l) || !f.input().equals(l.input()))
                throw new IllegalArgumentException("plan: " + f + ": the Linear's input quantizer must be the fold's "
                        + f.input().summary() + " (scale " + f.targetScale() + ", zero point " + f.targetZeroPoint() + ")");
        }
    }

    public PlanInfo info() { return info; }

    /**
     * The reparameterisations to apply to the float model before its ops are quantized with this
     * plan (empty for most plans); {@code io.Reparameterization} applies them.
     */
    public List<NormFold> folds() { return folds; }

    /** A copy without folds: the plan of a model they have already been folded into. */
    public QuantPlan withoutFolds() { return new QuantPlan(info, ops); }

    /** All ops in forward order (unmodifiable). */
    public Map<String, OpQuant> ops() { return ops; }

    public List<String> opIds() { return List.copyOf(ops.keySet()); }

    /** The op's quantization, or null when the op stays float. */
    public OpQuant op(String id) { return ops.get(id); }

    public boolean contains(String id) { return ops.containsKey(id); }

    /** The op's Linear quantization; an exception names the op when it is missing or a matmul. */
    public LinearQuant linear(String id) {
        if (ops.get(id) instanceof LinearQuant l) return l;
        throw new IllegalArgumentException("plan for " + info.model() + ": " + id
                + (ops.containsKey(id) ? " is a matmul, not a linear op" : " has no quantization"));
    }

    /** The op's matmul quantization; an exception names the op when it is missing or a Linear. */
    public MatmulQuant matmul(String id) {
        if (ops.get(id) instanceof MatmulQuant m) return m;
        throw new IllegalArgumentException("plan for " + info.model() + ": " + id
                + (ops.containsKey(id) ? " is a linear op, not a matmul" : " has no quantization"));
    }

    /** A copy with one op replaced (keeping its position) or appended (a per-op override). */
    public QuantPlan with(String id, OpQuant op) {
        LinkedHashMap<String, OpQuant> copy = new LinkedHashMap<>(ops);
        copy.put(id, op);
        return new QuantPlan(info, copy, folds);
    }

    /**
     * A copy without the attention matmuls' entries: both products of every attention run on float
     * operands, the Linears as planned ({@code vitq export --float-attention}).
     */
    public QuantPlan withoutMatmuls() {
        LinkedHashMap<String, OpQuant> copy = new LinkedHashMap<>();
        ops.forEach((id, op) -> {
            if (op instanceof LinearQuant) copy.put(id, op);
        });
        return new QuantPlan(info, copy, folds);
    }

    /** A copy with other metadata. */
    public QuantPlan withInfo(PlanInfo newInfo) { return new QuantPlan(newInfo, ops, folds); }

    /**
     * A few lines for humans: the metadata, op counts per kind, operand counts per quantizer and
     * granularity, operand counts per bit width, and the ops whose bits differ from the defaults.
     */
    public String summary() {
        int linear = 0, floatInput = 0, matmul = 0;
        Map<String, Integer> quantizers = new TreeMap<>();
        Map<Integer, Integer> bits = new TreeMap<>();
        List<String> overridden = new ArrayList<>();
        for (Map.Entry<String, OpQuant> e : ops.entrySet()) {
            boolean override = false;
            if (e.getValue() instanceof LinearQuant l) {
                linear++;
                if (l.input() == null) floatInput++;
                override |= l.weight().bits() != info.weightBits();
                override |= l.input() != null && l.input().bits() != info.activationBits();
            } else if (e.getValue() instanceof MatmulQuant m) {
                matmul++;
                for (OperandQuant o : m.operands()) override |= o.bits() != info.activationBits();
            }
            for (OperandQuant o : e.getValue().operands()) {
                quantizers.merge(o.summary(), 1, Integer::sum);
                bits.merge(o.bits(), 1, Integer::sum);
            }
            if (override) overridden.add(e.getKey());
        }
        StringBuilder sb = new StringBuilder();
        sb.append("plan: ").append(info.model()).append(", ").append(info.method()).append(", ").append(info.bitsLabel());
        if (info.metric() != null) sb.append(", metric ").append(info.metric());
        if (info.calibration() != null) sb.append(", calibration ").append(info.calibration());
        sb.append('\n');
        sb.append("ops: ").append(ops.size()).append(" (").append(linear).append(" linear");
        if (floatInput > 0) sb.append(", ").append(floatInput).append(" of them with a float input");
        sb.append("; ").append(matmul).append(" matmul)\n");
        sb.append("operands:");
        quantizers.forEach((k, v) -> sb.append(' ').append(k).append(' ').append(v).append(','));
        sb.setLength(sb.length() - (quantizers.isEmpty() ? 0 : 1));
        sb.append("\nbits:");
        bits.forEach((k, v) -> sb.append(' ').append(k).append("-bit ").append(v).append(','));
        sb.setLength(sb.length() - (bits.isEmpty() ? 0 : 1));
        if (!folds.isEmpty())
            sb.append("\nfolds: ").append(folds.size()).append(" LayerNorm -> Linear (per-channel inputs, RepQ-ViT)");
        String rotation = info.options().get(PlanInfo.INPUT_ROTATION);
        if (rotation != null) sb.append("\ninput rotation: ").append(rotation);
        sb.append("\noverrides: ");
        if (overridden.isEmpty()) sb.append("none");
        else sb.append(overridden.size()).append(" ops (").append(String.join(", ",
                overridden.subList(0, Math.min(5, overridden.size())))).append(overridden.size() > 5 ? ", ...)" : ")");
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        // ordered comparison: forward order is part of the plan
        return o instanceof QuantPlan p && p.info.equals(info) && new ArrayList<>(p.ops.entrySet()).equals(new ArrayList<>(ops.entrySet()))
                && p.folds.equals(folds);
    }

    @Override
    public int hashCode() { return info.hashCode() * 31 + ops.hashCode(); }

    @Override
    public String toString() { return summary(); }
}
