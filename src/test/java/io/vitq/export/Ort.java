package io.vitq.export;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.vitq.tensor.Tensor;

import java.nio.FloatBuffer;
import java.util.Map;

/** Runs ONNX models with ONNX Runtime's Java API (the native library ships inside its jar). */
final class Ort implements AutoCloseable {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private final OrtSession session;

    /** @param optimized ONNX Runtime's full graph optimizations (QDQ fusions included), else none */
    Ort(byte[] model, boolean optimized) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(optimized ? OrtSession.SessionOptions.OptLevel.ALL_OPT
                    : OrtSession.SessionOptions.OptLevel.NO_OPT);
            o.setIntraOpNumThreads(2);
            session = ENV.createSession(model, o);
        }
    }

    /** One float input to one float output. */
    float[] run(String input, float[] data, long... shape) throws OrtException {
        try (OnnxTensor in = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(data), shape);
             OrtSession.Result r = session.run(Map.of(input, in))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    /** The exported model's logits for images [N, C, S, S]. */
    float[] logits(Tensor images) throws OrtException {
        long[] shape = new long[images.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = images.dim(i);
        return run(OnnxExporter.INPUT, images.data(), shape);
    }

    @Override
    public void close() throws OrtException { session.close(); }
}
