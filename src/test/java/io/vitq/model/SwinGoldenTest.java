package io.vitq.model;

import io.vitq.io.RawTensor;
import io.vitq.io.SafeTensors;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.vitq.testutil.Diffs.maxAbs;
import static io.vitq.testutil.Diffs.maxDiff;

/**
 * A random-init timm 0.4.12 Swin (embed 32, depths 2-2-2-2, heads 1-2-4-8, window 7, 224, 10
 * classes; old naming, with the relative_position_index / attn_mask buffers) against timm's own
 * float64 forward (stored as float32, {@code src/test/resources/swin/}): every stage output and the
 * logits within max |diff| <= 1e-4.
 */
class SwinGoldenTest {
    static final String DIR = "swin/";
    static Weights weights;
    static Map<String, RawTensor> io;
    static SwinTransformer model;
    static final Map<String, float[]> seen = new HashMap<>();
    static float[] logits;

    static Weights load(java.nio.file.Path file) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        SafeTensors.read(file).tensors().forEach((k, v) -> m.put(k, new Tensor(v.toFloats(), v.shape())));
        return new Weights(file.toString(), m);
    }

    static Tensor input() {
        RawTensor in = io.get("input");
        return new Tensor(in.toFloats(), in.shape());
    }

    @BeforeAll
    static void run() {
        weights = load(TestData.resource(DIR + "swin_micro_random.safetensors"));
        io = SafeTensors.read(TestData.resource(DIR + "swin_micro_io.safetensors")).tensors();
        model = SwinReferenceTest.fromShapes("swin_micro", weights, 224);
        logits = model.forward(input(), FloatExecutor.INSTANCE, (name, data, shape) -> seen.put(name, data.clone())).data();
    }

    void check(String ours, String ref) {
        float[] r = io.get(ref).toFloats();
        float[] o = ours.equals("logits") ? logits : seen.get(ours);
        assertTrue(o != null && o.length == r.length, ours + " missing or wrong size");
        double d = maxDiff(o, r);
        System.out.printf("swin golden %-16s vs %-15s max|diff| %.3g (max|ref| %.3g)%n", ours, ref, d, maxAbs(r));
        assertTrue(d <= 1e-4, ref + ": max |diff| " + d + " > 1e-4");
    }

    @Test
    void inferredConfig() {
        SwinConfig c = model.config();
        assertEquals(SwinConfig.of(224, 7, 32, new int[]{2, 2, 2, 2}, new int[]{1, 2, 4, 8}).withClasses(10), c);
        assertTrue(SwinTransformer.looksLikeSwin(weights));
        assertTrue(SwinCheckpoint.of(weights).legacy());
        assertEquals(0, c.shiftAt(3), "last stage 7x7 = window: no shift");
        assertEquals(3, c.shiftAt(2));
        // every tensor is consumed, buffers included (they are recomputed, not read)
        assertEquals(java.util.List.of(), weights.unused());
        System.out.println("swin golden params " + model.parameterCount() + ", " + String.join(" | ", model.describe()));
    }

    @Test void patchEmbed() { check("patch_embed", "patch_embed_out"); }

    @Test void layer0() { check("layers.1.downsample", "layer0_out"); }

    @Test void layer1() { check("layers.2.downsample", "layer1_out"); }

    @Test void layer2() { check("layers.3.downsample", "layer2_out"); }

    @Test void layer3() { check("layers.3", "layer3_out"); }

    @Test void finalNorm() { check("norm", "norm_out"); }

    @Test void pooled() { check("pooled", "pooled"); }

    @Test void logits() { check("logits", "logits"); }

    /** The computed relative_position_index and attn_mask equal the buffers timm stored. */
    @Test
    void indexAndMaskEqualTimmBuffers() {
        int checked = 0;
        for (String k : weights.names()) {
            if (k.endsWith(".attn.relative_position_index")) {
                int[] ours = SwinWindows.relativePositionIndex(7);
                float[] ref = weights.asMap().get(k).data();
                for (int i = 0; i < ours.length; i++) assertEquals(ref[i], ours[i], k + " at " + i);
                checked++;
            } else if (k.endsWith(".attn_mask")) {
                int s = Integer.parseInt(k.split("\\.")[1]);
                int res = 56 >> s;
                float[] ref = weights.asMap().get(k).data();
                assertArrayEquals(ref, SwinWindows.shiftMask(res, 7, 3), k);
                checked++;
            }
        }
        assertEquals(8 + 3, checked, "8 index buffers and 3 masks (stages 0-2's shifted blocks)");
    }

    /** timm >= 0.6 naming: merging at the start of the next stage, head.fc, no buffers. Same logits, bit for bit. */
    @Test
    void newTimmNamingGivesIdenticalLogits() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        weights.asMap().forEach((k, v) -> {
            if (k.endsWith("relative_position_index") || k.endsWith("attn_mask")) return;
            String nk = k;
            if (k.startsWith("head.")) nk = "head.fc." + k.substring(5);
            else if (k.matches("layers\\.\\d+\\.downsample\\..*")) {
                int s = Integer.parseInt(k.split("\\.")[1]);
                nk = "layers." + (s + 1) + k.substring(("layers." + s).length());
            }
            m.put(nk, v);
        });
        Weights renamed = new Weights("renamed", m);
        assertTrue(renamed.has("layers.1.downsample.reduction.weight") && !renamed.has("layers.0.downsample.reduction.weight"));
        assertFalse(SwinCheckpoint.of(renamed).legacy());
        SwinTransformer m2 = SwinReferenceTest.fromShapes("swin_micro_new", renamed, 224);
        assertEquals(model.config(), m2.config());
        // the README's claim: new-timm naming gives bitwise identical logits
        float[] l1 = model.forward(input()).data();
        float[] l2 = m2.forward(input()).data();
        System.out.println("swin golden new-naming logits bitwise identical: " + Arrays.equals(l1, l2)
                + ", max|diff| " + maxDiff(l1, l2));
        assertArrayEquals(l1, l2, "new-naming logits, bitwise");
        assertEquals(java.util.List.of(), renamed.unused());
    }

    @Test
    void opIdsUseNewTimmNames() {
        var ids = model.linears().stream().map(Linear::id).toList();
        assertEquals("patch_embed.proj", ids.get(0));
        assertTrue(ids.contains("layers.1.downsample.reduction"));
        assertTrue(ids.contains("layers.2.blocks.1.attn.qkv"));
        assertFalse(ids.stream().anyMatch(s -> s.startsWith("layers.0.downsample")));
        assertEquals("head.fc", ids.get(ids.size() - 1));
        assertEquals(1 + 3 + 8 * 4 + 1, ids.size());
        AttentionOp a = model.attentionOps().get(1);
        assertEquals("layers.0.blocks.1.attn.matmul1", a.matmul1Id());
        assertTrue(a.qPrescaled());
        assertEquals(64, a.biasGroups(), "shifted block: one bias per window position");
        assertEquals(1, model.attentionOps().get(0).biasGroups());
    }

    @Test
    void zooRejectsWrongArchitecture() {
        var e = assertThrows(ModelException.class, () -> ModelZoo.get("swin_tiny_patch4_window7_224").build(weights));
        assertTrue(e.getMessage().contains("embed dim 32") && e.getMessage().contains("swin_tiny_patch4_window7_224"), e.getMessage());
        System.out.println("swin zoo mismatch: " + e.getMessage());
    }
}
