package io.vitq.export;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.vitq.tensor.Tensor;

import java.nio.FloatBuffer;
import java.util.Map;

/**
 * Runs exported ONNX models with ONNX Runtime's Java API (the native library ships inside its
 * jar). ONNX Runtime is an optional dependency: check {@link #available()} before touching this
 * class's other members.
 */
public final class Ort implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    /** True when ONNX Runtime's classes are on the class path (the tests, or target/lib beside the jar). */
    public static boolean available() {
        try {
            Class.forName("ai.onnxruntime.OrtEnvironment", false, Ort.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** A session on two intra-op threads (this machine's cores). */
    public Ort(byte[] model, boolean optimized) throws OrtException { this(model, optimized, 2); }

    /**
     * @param optimized ONNX Runtime's full graph optimizations (QDQ fusions into integer kernels
     *                  included), else none
     * @param threads   intra-op threads
     */
    public Ort(byte[] model, boolean optimized, int threads) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(optimized ? OrtSession.SessionOptions.OptLevel.ALL_OPT
                    : OrtSession.SessionOptions.OptLevel.NO_OPT);
            o.setIntraOpNumThreads(threads);
            session = env.createSession(model, o);
        }
    }

    /** One float input to one float output. */
    public float[] run(String input, float[] data, long... shape) throws OrtException {
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
             OrtSession.Result r = session.run(Map.of(input, in))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    /** The exported model's logits for images [N, C, S, S], row-major [N, classes]. */
    public float[] logits(Tensor images) throws OrtException {
        long[] shape = new long[images.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = images.dim(i);
        return run(OnnxExporter.INPUT, images.data(), shape);
    }

    @Override
    public void close() throws OrtException { session.close(); }
}
