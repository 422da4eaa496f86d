package io.vitq.quant;

import static io.vitq.quant.UniformQuantizerTest.assertBitsEqual;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Vector API runs as plain Java until C2 compiles it into SIMD code (with its own handling of
 * min/max, signed zeros and rounding): repeat the array paths long enough to get them compiled,
 * then check them against the scalar definitions again. About a second of CPU.
 */
class CompiledPathsTest {
    private static final String OP = "blocks.7.attn.matmul2";

    @Test
    void vectorPathsStayBitIdenticalOnceCompiled() {
        SplittableRandom r = new SplittableRandom(9);
        UniformQuantizer u = new UniformQuantizer(8);
        TwinSoftmaxQuantizer clean = new TwinSoftmaxQuantizer(8, 0x1p-5f);
        TwinSoftmaxQuantizer quirk = new TwinSoftmaxQuantizer(8, 0x1p-3f, TwinSoftmaxQuantizer.Mode.REFERENCE_QUIRK);
        TwinGeluQuantizer gelu = new TwinGeluQuantizer(6, 0.021f);
        float scale = 0.013f;
        float[] a = UniformQuantizerTest.awkward(r, 1024, scale);
        float[] p = TwinSoftmaxQuantizerTest.probabilities(r, 1024, clean);
        float[] g = TwinGeluQuantizerTest.postGelu(r, 1024, gelu);
        float[] out = new float[1024];
        for (int rep = 0; rep < 4000; rep++) { // warm-up: ~16M elements
            u.fakeQuant(OP, scale, a, 0, out, 0, 1024);
            clean.fakeQuant(OP, p, 0, out, 0, 1024);
            quirk.fakeQuant(OP, p, 0, out, 0, 1024);
            gelu.fakeQuant(OP, g, 0, out, 0, 1024);
        }
        float[] ref = new float[1024];
        u.fakeQuant(OP, scale, a, 0, out, 0, 1024);
        for (int i = 0; i < 1024; i++) ref[i] = u.fakeQuant(a[i], scale);
        assertBitsEqual(ref, out, "uniform");
        clean.fakeQuant(OP, p, 0, out, 0, 1024);
        for (int i = 0; i < 1024; i++) ref[i] = clean.fakeQuant(p[i]);
        assertBitsEqual(ref, out, "twin softmax clean");
        quirk.fakeQuant(OP, p, 0, out, 0, 1024);
        for (int i = 0; i < 1024; i++) ref[i] = quirk.fakeQuant(p[i]);
        assertBitsEqual(ref, out, "twin softmax quirk");
        gelu.fakeQuant(OP, g, 0, out, 0, 1024);
        for (int i = 0; i < 1024; i++) ref[i] = gelu.fakeQuant(g[i]);
        assertBitsEqual(ref, out, "twin gelu");
    }
}
