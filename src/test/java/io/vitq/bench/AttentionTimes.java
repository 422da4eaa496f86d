package io.vitq.bench;

import io.vitq.data.Preprocessing;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.model.RandomWeights;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;

import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The attention ops' share of a forward, float against vitq's integer executor: a Swin-T-, ViT-S- or
 * ViT-Ti-shaped model with random weights, a batch of 32 Gaussian images, a PTQ4ViT W8A8 plan
 * (power-of-two GELU, the search shortened as {@code vitq bench} shortens it). Prints, per executor,
 * the least of N forwards' summed attention time and the least whole forward.
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp target/classes:target/test-classes:$(cat cp.txt) io.vitq.bench.AttentionTimes 15 swin|vit|vit_tiny
 * </pre>
 */
public final class AttentionTimes {
    private AttentionTimes() {}

    public static void main(String[] args) {
        int reps = Integer.parseInt(args[0]);
        String shape = args[1];
        SplittableRandom r = new SplittableRandom(2);
        float[] x = new float[32 * 3 * 224 * 224];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        Tensor images = new Tensor(x, 32, 3, 224, 224);
        Model m;
        if (shape.equals("swin")) {
            m = SwinTransformer.load("swin_tiny_random", SwinForwardBench.SWIN_T, Preprocessing.timm(224, false),
                    SwinCheckpoint.random(SwinForwardBench.SWIN_T, 1, false));
        } else {
            boolean tiny = shape.equals("vit_tiny");
            if (!tiny && !shape.equals("vit")) throw new IllegalArgumentException("swin, vit or vit_tiny, not " + shape);
            ViTConfig cfg = tiny ? ViTConfig.of(224, 16, 192, 12, 3) : ViTConfig.of(224, 16, 384, 12, 6);
            m = VisionTransformer.load(tiny ? "vit_tiny_patch16_224" : "vit_small_patch16_224", cfg, Preprocessing.timm(224, true),
                    RandomWeights.vit(cfg, 1));
        }
        Executor[] executors = {FloatExecutor.INSTANCE, new IntegerExecutor(ForwardLoop.speedPlan(m, images, "random"), m)};
        String[] names = {"float", "integer"};
        for (int e = 0; e < executors.length; e++) {
            double attention = Double.MAX_VALUE, forward = Double.MAX_VALUE;
            for (int i = 0; i < reps; i++) {
                SwinForwardBench.TimingExecutor te = new SwinForwardBench.TimingExecutor(executors[e]);
                long t0 = System.nanoTime();
                m.forward(images, te);
                forward = Math.min(forward, (System.nanoTime() - t0) / 1e9);
                long a = te.nanos.entrySet().stream().filter(k -> k.getKey().endsWith("attention")).mapToLong(Map.Entry::getValue).sum();
                attention = Math.min(attention, a / 1e9);
            }
            System.out.printf(Locale.ROOT, "%s %s: attention %.3f s, forward %.3f s (the least of %d)%n",
                    m.name(), names[e], attention, forward, reps);
        }
    }
}
