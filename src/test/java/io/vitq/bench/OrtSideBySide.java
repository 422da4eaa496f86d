package io.vitq.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.vitq.data.CalibrationSet;
import io.vitq.eval.Throughput;
import io.vitq.io.ModelLoader;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ONNX files timed side by side in ONNX Runtime alone, with {@code vitq bench}'s interleaving
 * ({@link Throughput#interleaved}, 5 rounds, after a 3-second warm-up each): batch 32 of the
 * embedded CALIB32 images, 2 intra-op threads, all graph optimizations; images/s and the ratio to
 * the first file. The images sit in native memory once, as in {@code vitq bench} (until 2026-12-06
 * both copied them from a Java array on every run, about 50 ms per batch). The turns come in {@link Throughput#interleaved}'s order, the given one in the
 * first round and a new one each round after (until commit cf7decc the given one in every round,
 * as in docs/BENCHMARKS.md's runs of 2026-12-04). How those "ONNX Runtime only" ratios were taken,
 * and the experiments against the bench's own numbers (the jar built; {@code cp.txt} as for
 * {@link OrtProfile}):
 * <pre>
 * $JAVA_HOME/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC \
 *     -cp target/vitq.jar:$(cat cp.txt) src/test/java/io/vitq/bench/OrtSideBySide.java float.onnx fa.onnx [...]
 * </pre>
 * System properties: {@code -Dseconds=S} each file's total time (default 30); {@code -Dvitq=float}
 * or {@code -Dvitq=all} also interleaves vitq's float (and fake-quant and integer, on the committed
 * ViT-Ti PTQ4ViT W8A8 plan) forward of ViT-Ti after the first file ({@code -DvitqFirst=true}: before
 * it, the order of {@code vitq bench}); ratios are to the first file; {@code -Dnospin=true} turns
 * ONNX Runtime's spinning off; {@code -Dglobal=true} gives all sessions one global thread pool.
 */
public final class OrtSideBySide {
    private OrtSideBySide() {}

    public static void main(String[] files) throws Exception {
        Model model = ModelLoader.load("vit_tiny_patch16_224", null).model();
        Tensor x = CalibrationSet.load(Path.of("demo/calib/calib32.txt"), 32, model.preprocessing()).images();
        boolean global = Boolean.getBoolean("global");
        OrtEnvironment env;
        if (global) {
            OrtEnvironment.ThreadingOptions t = new OrtEnvironment.ThreadingOptions();
            t.setGlobalIntraOpNumThreads(2);
            t.setGlobalInterOpNumThreads(1);
            env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "side-by-side", t);
        } else {
            env = OrtEnvironment.getEnvironment();
        }
        OnnxTensor in = new io.vitq.export.Ort.Images(x).tensor(); // open until the program ends
        List<String> names = new ArrayList<>();
        List<Throughput.Job> jobs = new ArrayList<>();
        for (String f : files) {
            OrtSession.SessionOptions o = new OrtSession.SessionOptions();
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setIntraOpNumThreads(2);
            if (Boolean.getBoolean("nospin")) o.addConfigEntry("session.intra_op.allow_spinning", "0");
            if (global) o.disablePerSessionThreads();
            OrtSession s = env.createSession(Files.readAllBytes(Path.of(f)), o);
            names.add(f);
            jobs.add(() -> {
                try (OrtSession.Result ignored = s.run(Map.of("images", in))) {
                    // timed: the run (the images in native memory once, as vitq bench has them since 2026-12-06)
                }
            });
        }
        String vitq = System.getProperty("vitq", "");
        int at = Boolean.getBoolean("vitqFirst") ? 0 : 1;
        if (!vitq.isEmpty()) {
            jobs.add(at, () -> model.forward(x, FloatExecutor.INSTANCE));
            names.add(at, "vitq float");
            if (vitq.equals("all")) {
                QuantPlan plan = QuantPlanJson.read(Path.of("src/test/resources/quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json"));
                FakeQuantExecutor fake = new FakeQuantExecutor(plan, model);
                IntegerExecutor integer = new IntegerExecutor(plan, model);
                jobs.add(at + 1, () -> model.forward(x, fake));
                names.add(at + 1, "vitq fake quant");
                jobs.add(at + 2, () -> model.forward(x, integer));
                names.add(at + 2, "vitq integer");
            }
        }
        double seconds = Double.parseDouble(System.getProperty("seconds", "30"));
        List<Throughput.Result> r = Throughput.interleaved(jobs, 32, 3, seconds, 5);
        int first = names.indexOf(files[0]);
        for (int i = 0; i < names.size(); i++)
            System.out.printf(Locale.ROOT, "%s: %.1f images/s (rounds %.1f-%.1f), %.2fx%n", names.get(i), r.get(i).imagesPerSecond(),
                    r.get(i).slowestRound(), r.get(i).fastestRound(), r.get(i).imagesPerSecond() / r.get(first).imagesPerSecond());
    }
}
