// docs/BENCHMARKS.md, "2026-12-06": ONNX Runtime's Java API on a batch of 32 random 224-pixel images,
// the input created from a Java array on every run (what Ort.logits(Tensor) does) against one tensor on
// a direct buffer reused (Ort.Images); 3 runs per turn, 8 rounds alternating (the two modes taking the first
// turn in every other round), the first 2 not counted.
// $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp $(cat cp.txt) tools/experiments/OrtInputCopy.java A.onnx B.onnx
import ai.onnxruntime.*;
import java.nio.*;
import java.nio.file.*;
import java.util.*;

public class OrtInputCopy {
    public static void main(String[] a) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int N = 32;
        float[] x = new float[N * 3 * 224 * 224];
        Random r = new Random(1); for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        long[] shape = {N, 3, 224, 224};
        FloatBuffer direct = ByteBuffer.allocateDirect(x.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        direct.put(x).rewind();
        OnnxTensor reused = OnnxTensor.createTensor(env, direct, shape);
        List<OrtSession> ss = new ArrayList<>();
        for (String f : a) {
            OrtSession.SessionOptions o = new OrtSession.SessionOptions();
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT); o.setIntraOpNumThreads(2);
            ss.add(env.createSession(Files.readAllBytes(Path.of(f)), o));
        }
        double[][] t = new double[ss.size()][2];
        for (int round = 0; round < 8; round++)
            for (int s = 0; s < ss.size(); s++)
                for (int turn = 0; turn < 2; turn++) {
                    int mode = round % 2 == 0 ? turn : 1 - turn;   // each mode first in every other round
                    long t0 = System.nanoTime();
                    for (int k = 0; k < 3; k++) {
                        if (mode == 0) {
                            try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape);
                                 OrtSession.Result res = ss.get(s).run(Map.of("images", in))) { ((OnnxTensor) res.get(0)).getFloatBuffer(); }
                        } else {
                            try (OrtSession.Result res = ss.get(s).run(Map.of("images", reused))) { ((OnnxTensor) res.get(0)).getFloatBuffer(); }
                        }
                    }
                    if (round >= 2) t[s][mode] += (System.nanoTime() - t0) / 1e6 / 3;
                }
        for (int s = 0; s < ss.size(); s++)
            System.out.printf("%s: copy per run %.1f ms, reused %.1f ms%n", a[s], t[s][0] / 6, t[s][1] / 6);
    }
}
