package io.vitq.export;

import io.vitq.tensor.Tensor;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Ort}'s two ways in: a Java array copied per call, and {@link Ort.Images} copied once. */
class OrtTest {
    @Test
    void imagesInNativeMemoryGiveTheSameLogitsOnEveryCallAndSession() throws Exception {
        Tensor x = TinyModels.randomImages(3, 32, 5);
        byte[] onnx = OnnxExporter.export(TinyModels.VIT, null, OnnxExporter.DEFAULT_OPSET).toByteArray();
        try (Ort optimized = new Ort(onnx, true); Ort plain = new Ort(onnx, false); Ort.Images images = new Ort.Images(x)) {
            float[] fromArray = optimized.logits(x);
            assertArrayEquals(fromArray, optimized.logits(images));
            assertArrayEquals(fromArray, optimized.logits(images), "the second call on the same native images");
            assertArrayEquals(plain.logits(x), plain.logits(images), "another session on the same native images");
            images.close();
            assertThrows(IllegalStateException.class, () -> optimized.logits(images), "native images used after close");
        }
    }
}
