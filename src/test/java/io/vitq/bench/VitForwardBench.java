package io.vitq.bench;

import io.vitq.data.Preprocessing;
import io.vitq.model.RandomWeights;
import io.vitq.model.VisionTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * A whole ViT forward with random weights (batch 32 by default), on the thread pool's default
 * size (all cores). Images/s = batch / (seconds per op); GFLOP/s = images/s x flops per image
 * (printed at setup).
 * Run: {@code mvn -Pbench test-compile exec:exec -Djmh.args="VitForwardBench"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g", "-XX:+UseParallelGC"})
public class VitForwardBench {
    @Param({"vit_small_patch16_224", "vit_tiny_patch16_224"})
    String model;

    @Param({"32"})
    int batch;

    VisionTransformer vit;
    Tensor images;

    @Setup
    public void setup() {
        ViTConfig cfg = switch (model) {
            case "vit_small_patch16_224" -> ViTConfig.of(224, 16, 384, 12, 6);
            case "vit_tiny_patch16_224" -> ViTConfig.of(224, 16, 192, 12, 3);
            case "vit_base_patch16_224" -> ViTConfig.of(224, 16, 768, 12, 12);
            default -> throw new IllegalArgumentException(model);
        };
        vit = VisionTransformer.load(model, cfg, Preprocessing.timm(224, true), RandomWeights.vit(cfg, 1));
        images = Tensor.zeros(batch, 3, 224, 224);
        SplittableRandom r = new SplittableRandom(2);
        float[] d = images.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextDouble(-1, 1);
        System.out.printf("%n%s: %.3f GFLOPs per image%n", model, cfg.flopsPerImage() / 1e9);
    }

    @Benchmark
    public Tensor forward() {
        return vit.forward(images);
    }
}
