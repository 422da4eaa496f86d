package io.vitq.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * ONNX Runtime's own profiler on an exported model: runs a batch of random images six times (2
 * threads, all graph optimizations, as {@code vitq bench} does) and prints the kernel time summed
 * by operator from the profile's JSON. How docs/BENCHMARKS.md's ONNX Runtime profiles were taken
 * (the jar built; {@code cp.txt} from {@code mvn dependency:build-classpath -Dmdep.outputFile=cp.txt}):
 * <pre>
 * ./vitq export vit_tiny_patch16_224 --plan src/test/resources/quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json -o fa.onnx --float-attention
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp target/vitq.jar:$(cat cp.txt) src/test/java/io/vitq/bench/OrtProfile.java fa.onnx 32
 * </pre>
 */
public final class OrtProfile {
    private OrtProfile() {}

    /** Arguments: the ONNX file, the batch size. */
    public static void main(String[] args) throws Exception {
        Path onnx = Path.of(args[0]);
        int batch = Integer.parseInt(args[1]);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.setIntraOpNumThreads(2);
        o.enableProfiling(Files.createTempDirectory("ortprof").resolve("profile").toString());
        String profile;
        try (OrtSession s = env.createSession(Files.readAllBytes(onnx), o)) {
            float[] x = new float[batch * 3 * 224 * 224];
            Random r = new Random(1);
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {batch, 3, 224, 224})) {
                for (int i = 0; i < 6; i++) {
                    long t0 = System.nanoTime();
                    try (OrtSession.Result ignored = s.run(Map.of("images", t))) {
                        System.out.printf("run %d: %.1f ms%n", i, (System.nanoTime() - t0) / 1e6);
                    }
                }
            }
            profile = s.endProfiling();
        }
        Map<String, long[]> byOp = new TreeMap<>();   // op -> {microseconds, calls}
        long total = 0;
        for (JsonNode e : new ObjectMapper().readTree(Path.of(profile).toFile())) {
            if (!"Node".equals(e.path("cat").asText()) || !e.path("name").asText().endsWith("_kernel_time")) continue;
            long[] v = byOp.computeIfAbsent(e.path("args").path("op_name").asText(), k -> new long[2]);
            v[0] += e.path("dur").asLong();
            v[1]++;
            total += e.path("dur").asLong();
        }
        System.out.printf("kernel time, 6 runs: %.1f ms (profile %s)%n", total / 1e3, profile);
        long all = total;
        byOp.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).limit(15)
                .forEach(e -> System.out.printf("%-24s %9.1f ms %5.1f %% %5d calls%n", e.getKey(), e.getValue()[0] / 1e3,
                        100.0 * e.getValue()[0] / all, e.getValue()[1]));
    }
}
