package io.vitq.calib.mp;

import io.vitq.calib.Calibrator;
import io.vitq.model.AttentionOp;
import io.vitq.model.Linear;
import io.vitq.model.Model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * VT-PTQ's mixed-precision units of a model (ALGORITHMS.md 9.6): every transformer block has an
 * MSA unit and an MLP unit, and all ops of one unit (weights and inputs) share one bit width.
 *
 * <ul>
 *   <li>MSA unit {@code <block>.attn} (e.g. {@code blocks.3.attn}, {@code layers.2.blocks.5.attn}):
 *       ops {@code attn.qkv}, {@code attn.matmul1}, {@code attn.matmul2}, {@code attn.proj};</li>
 *   <li>MLP unit {@code <block>.mlp}: ops {@code mlp.fc1}, {@code mlp.fc2}.</li>
 * </ul>
 * Every other op ({@code patch_embed.proj}, {@code head}, {@code head_dist}, {@code head.fc}, Swin's
 * {@code layers.s.downsample.reduction}) stays at the target's base bits. Op ids are the
 * calibration's ({@link Calibrator#forwardOrder}), so a unit's bits can be handed to it per op.
 *
 * @param units           MSA then MLP of each block, in forward order
 * @param ops             every quantized op id in forward order
 * @param otherOps        the ops in no unit, in forward order
 * @param totalParameters {@link Model#parameterCount()}: units plus everything else (norms, embeddings, ...)
 */
public record UnitPlan(String model, List<Unit> units, List<String> ops, List<String> otherOps, long totalParameters) {

    public enum Kind { MSA, MLP }

    /**
     * One unit.
     *
     * @param parameters weights and biases of the unit's Linears (the matmuls have none; Swin's
     *                   relative position bias table is not counted here: it is not quantized)
     */
    public record Unit(String id, Kind kind, List<String> opIds, long parameters) {
        public Unit {
            opIds = List.copyOf(opIds);
        }
    }

    public UnitPlan {
        units = List.copyOf(units);
        ops = List.copyOf(ops);
        otherOps = List.copyOf(otherOps);
    }

    /** The units of a ViT/DeiT or Swin model, found from its attention ops and Linear ids. */
    public static UnitPlan of(Model model) {
        Map<String, Linear> linears = new HashMap<>();
        for (Linear l : model.linears()) linears.put(l.id(), l);
        List<Unit> units = new ArrayList<>();
        for (AttentionOp a : model.attentionOps()) {
            String attn = a.prefix();
            if (!attn.endsWith(".attn")) {
                throw new IllegalArgumentException(model.name() + ": attention op '" + attn
                        + "' is not named '<block>.attn'; cannot form VT-PTQ units");
            }
            String block = attn.substring(0, attn.length() - ".attn".length());
            Linear qkv = linear(model, linears, attn + ".qkv"), proj = linear(model, linears, attn + ".proj");
            Linear fc1 = linear(model, linears, block + ".mlp.fc1"), fc2 = linear(model, linears, block + ".mlp.fc2");
            units.add(new Unit(attn, Kind.MSA, List.of(qkv.id(), a.matmul1Id(), a.matmul2Id(), proj.id()),
                    qkv.parameterCount() + proj.parameterCount()));
            units.add(new Unit(block + ".mlp", Kind.MLP, List.of(fc1.id(), fc2.id()),
                    fc1.parameterCount() + fc2.parameterCount()));
        }
        List<String> order = Calibrator.forwardOrder(model);
        Set<String> inUnits = new HashSet<>();
        for (Unit u : units) inUnits.addAll(u.opIds());
        List<String> other = order.stream().filter(id -> !inUnits.contains(id)).toList();
        if (!order.containsAll(inUnits)) {
            throw new IllegalStateException(model.name() + ": unit ops missing from the forward order");
        }
        return new UnitPlan(model.name(), units, order, other, model.parameterCount());
    }

    private static Linear linear(Model model, Map<String, Linear> linears, String id) {
        Linear l = linears.get(id);
        if (l == null) throw new IllegalArgumentException(model.name() + ": no Linear '" + id + "' for its VT-PTQ unit");
        return l;
    }

    /** Parameters inside units (quantized at the units' bits). */
    public long unitParameters() {
        long n = 0;
        for (Unit u : units) n += u.parameters();
        return n;
    }

    /** Every parameter not in a unit: other Linears, norms, embeddings, tokens, Swin bias tables (at base bits). */
    public long otherParameters() { return totalParameters - unitParameters(); }

    public Unit unit(String id) {
        for (Unit u : units) if (u.id().equals(id)) return u;
        throw new IllegalArgumentException(model + ": no unit '" + id + "'");
    }

    public int indexOf(String unitId) {
        for (int i = 0; i < units.size(); i++) if (units.get(i).id().equals(unitId)) return i;
        throw new IllegalArgumentException(model + ": no unit '" + unitId + "'");
    }

    /**
     * The bit width of every op in forward order: a unit's ops at {@code unitBits[unit index]}
     * (for both weight and input, as VT-PTQ ties them), other ops at {@code baseBits}.
     */
    public Map<String, Integer> opBits(int[] unitBits, int baseBits) {
        if (unitBits.length != units.size()) {
            throw new IllegalArgumentException(model + " has " + units.size() + " units, got " + unitBits.length + " bit widths");
        }
        Map<String, Integer> byOp = new HashMap<>();
        for (int i = 0; i < units.size(); i++) for (String op : units.get(i).opIds()) byOp.put(op, unitBits[i]);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String op : ops) out.put(op, byOp.getOrDefault(op, baseBits));
        return out;
    }
}
