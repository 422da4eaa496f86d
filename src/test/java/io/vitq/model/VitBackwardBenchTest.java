package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.Locale;

/**
 * Wall time of one forward + backward on ViT-Ti/16-224 (random weights) with 32 images, against
 * the forward alone. CPU-heavy, so only with {@code -Dvitq.bench=true}:
 * {@code mvn test -Dtest=VitBackwardBenchTest -Dvitq.bench=true}.
 */
@EnabledIfSystemProperty(named = "vitq.bench", matches = "true")
class VitBackwardBenchTest {

    @Test
    void vitTinyBatch32() {
        ViTConfig c = ViTConfig.of(224, 16, 192, 12, 3);
        VisionTransformer m = VisionTransformer.load("vit_tiny_patch16_224", c, Preprocessing.timm(224, true),
                RandomWeights.vit(c, 1));
        Tensor img = VitModelTest.randomImages(32, 224, 3);
        BackwardSink gradsOnly = new BackwardSink() {
            @Override public boolean wantsForward() { return false; }
            @Override public void onLinear(Linear op, float[] x, float[] out, float[] g, int rows) {}
            @Override public void onMatmul(String id, float[] a, float[] b, float[] o, float[] g, int gr, int h, int mm, int k, int n) {}
        };
        BackwardSink full = new BackwardSink() {
            @Override public void onLinear(Linear op, float[] x, float[] out, float[] g, int rows) {}
            @Override public void onMatmul(String id, float[] a, float[] b, float[] o, float[] g, int gr, int h, int mm, int k, int n) {}
        };
        int reps = Integer.getInteger("vitq.bench.reps", 3);
        for (int warm = 0; warm < 2; warm++) {
            m.forward(img);
            Backward.run(m, img, null, full);
        }
        double fwd = Double.MAX_VALUE, grad = Double.MAX_VALUE, all = Double.MAX_VALUE;
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            m.forward(img);
            long t1 = System.nanoTime();
            Backward.run(m, img, null, gradsOnly);
            long t2 = System.nanoTime();
            Backward.run(m, img, null, full);
            long t3 = System.nanoTime();
            fwd = Math.min(fwd, (t1 - t0) / 1e9);
            grad = Math.min(grad, (t2 - t1) / 1e9);
            all = Math.min(all, (t3 - t2) / 1e9);
        }
        System.out.printf(Locale.ROOT, "ViT-Ti, 32 images, best of %d: forward %.3f s; forward+backward %.3f s "
                + "(gradients only), %.3f s (with inputs/outputs for the sink)%n", reps, fwd, grad, all);
    }
}
