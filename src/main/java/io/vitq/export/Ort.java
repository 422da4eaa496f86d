package io.vitq.export;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.vitq.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape)) {
            return run(input, in);
        }
    }

    private float[] run(String input, OnnxTensor in) throws OrtException {
        try (OrtSession.Result r = session.run(Map.of(input, in))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    /** The exported model's logits for images [N, C, S, S], row-major [N, classes]. */
    public float[] logits(Tensor images) throws OrtException {
        return run(OnnxExporter.INPUT, images.data(), shape(images));
    }

    /** {@link #logits(Tensor)} of images already in native memory. */
    public float[] logits(Images images) throws OrtException {
        return run(OnnxExporter.INPUT, images.tensor());
    }

    private static long[] shape(Tensor t) {
        long[] shape = new long[t.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = t.dim(i);
        return shape;
    }

    /**
     * Images copied once into native memory, for runs that repeat on them (timings). From a Java
     * array ONNX Runtime's Java API creates the input tensor anew on every call (a native buffer
     * allocated, zeroed and filled): about 52 ms per batch of 32 images at 224 pixels, measured on
     * two ViT-Ti exports on the Zen 5 (docs/BENCHMARKS.md, 2026-12-06), time that is not the model's.
     */
    public static final class Images implements AutoCloseable {
        private final OnnxTensor tensor;

        public Images(Tensor images) throws OrtException {
            FloatBuffer copy = ByteBuffer.allocateDirect(images.data().length * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
            copy.put(images.data()).rewind();
            // a direct buffer becomes the tensor's memory as it is, without a copy
            tensor = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), copy, shape(images));
        }

        /** The tensor for a session's run; ONNX Runtime does not check a closed input itself. */
        public OnnxTensor tensor() {
            if (tensor.isClosed()) throw new IllegalStateException("Ort.Images used after close()");
            return tensor;
        }

        @Override
        public void close() { tensor.close(); }
    }

    @Override
    public void close() throws OrtException { session.close(); }
}
