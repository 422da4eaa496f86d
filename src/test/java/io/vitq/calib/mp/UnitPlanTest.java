package io.vitq.calib.mp;

import io.vitq.calib.Calibrator;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnitPlanTest {

    @Test
    void vitUnits() {
        // tiny ViT: dim 64, MLP 256, depth 2
        UnitPlan p = UnitPlan.of(TinyModels.VIT);
        assertEquals(List.of("blocks.0.attn", "blocks.0.mlp", "blocks.1.attn", "blocks.1.mlp"),
                p.units().stream().map(UnitPlan.Unit::id).toList());
        UnitPlan.Unit msa = p.units().get(2), mlp = p.units().get(3);
        assertEquals(UnitPlan.Kind.MSA, msa.kind());
        assertEquals(List.of("blocks.1.attn.qkv", "blocks.1.attn.matmul1", "blocks.1.attn.matmul2", "blocks.1.attn.proj"), msa.opIds());
        assertEquals(List.of("blocks.1.mlp.fc1", "blocks.1.mlp.fc2"), mlp.opIds());
        assertEquals((64 * 192 + 192) + (64 * 64 + 64), msa.parameters());
        assertEquals((64 * 256 + 256) + (256 * 64 + 64), mlp.parameters());
        assertEquals(List.of("patch_embed.proj", "head"), p.otherOps());
        assertEquals(TinyModels.VIT.parameterCount(), p.totalParameters());
        assertEquals(p.totalParameters(), p.unitParameters() + p.otherParameters());
        checkPartition(TinyModels.VIT, p);
    }

    @Test
    void swinUnits() {
        // tiny Swin: two stages of two blocks, patch merging before stage 1
        UnitPlan p = UnitPlan.of(TinyModels.SWIN);
        List<String> ids = p.units().stream().map(UnitPlan.Unit::id).toList();
        assertEquals(List.of("layers.0.blocks.0.attn", "layers.0.blocks.0.mlp", "layers.0.blocks.1.attn", "layers.0.blocks.1.mlp",
                "layers.1.blocks.0.attn", "layers.1.blocks.0.mlp", "layers.1.blocks.1.attn", "layers.1.blocks.1.mlp"), ids);
        assertEquals(List.of("layers.1.blocks.0.attn.qkv", "layers.1.blocks.0.attn.matmul1", "layers.1.blocks.0.attn.matmul2",
                "layers.1.blocks.0.attn.proj"), p.unit("layers.1.blocks.0.attn").opIds());
        assertEquals(List.of("patch_embed.proj", "layers.1.downsample.reduction", "head.fc"), p.otherOps());
        // stage 1: dim 32, MLP 128
        assertEquals(4L * 32 * 32 + 4 * 32, p.unit("layers.1.blocks.1.attn").parameters());
        assertEquals(2L * 32 * 128 + 128 + 32, p.unit("layers.1.blocks.1.mlp").parameters());
        // the relative position bias tables are parameters outside the units
        assertTrue(p.otherParameters() > sumLinears(TinyModels.SWIN, p.otherOps()));
        checkPartition(TinyModels.SWIN, p);
    }

    @Test
    void opBitsCoverEveryOpInForwardOrder() {
        UnitPlan p = UnitPlan.of(TinyModels.VIT);
        Map<String, Integer> bits = p.opBits(new int[] {4, 5, 9, 10}, 6);
        assertEquals(Calibrator.forwardOrder(TinyModels.VIT), new ArrayList<>(bits.keySet()));
        assertEquals(6, bits.get("patch_embed.proj"));
        assertEquals(4, bits.get("blocks.0.attn.matmul2"));
        assertEquals(5, bits.get("blocks.0.mlp.fc1"));
        assertEquals(9, bits.get("blocks.1.attn.qkv"));
        assertEquals(10, bits.get("blocks.1.mlp.fc2"));
        assertEquals(6, bits.get("head"));
        assertThrows(IllegalArgumentException.class, () -> p.opBits(new int[] {8, 8}, 8));
        assertThrows(IllegalArgumentException.class, () -> p.unit("blocks.7.attn"));
    }

    /** Every op of the forward order is in exactly one unit or among the other ops; unit parameters add up. */
    private static void checkPartition(Model m, UnitPlan p) {
        List<String> order = Calibrator.forwardOrder(m);
        assertEquals(order, p.ops());
        Set<String> seen = new HashSet<>();
        for (UnitPlan.Unit u : p.units()) for (String op : u.opIds()) assertTrue(seen.add(op), op);
        for (String op : p.otherOps()) assertTrue(seen.add(op), op);
        assertEquals(new HashSet<>(order), seen);
        long linears = 0;
        for (UnitPlan.Unit u : p.units()) linears += sumLinears(m, u.opIds());
        assertEquals(linears, p.unitParameters());
    }

    private static long sumLinears(Model m, List<String> ids) {
        long n = 0;
        for (Linear l : m.linears()) if (ids.contains(l.id())) n += l.parameterCount();
        return n;
    }
}
