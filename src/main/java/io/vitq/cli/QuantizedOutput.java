package io.vitq.cli;

import io.vitq.io.ModelLoader;
import io.vitq.io.QuantizedModelFile;
import io.vitq.quant.QuantPlan;

import java.nio.file.Path;

/** Writes a calibrated model to a quantized model file. */
final class QuantizedOutput {
    private QuantizedOutput() {}

    static void write(Path out, ModelLoader.Loaded l, QuantPlan plan) throws java.io.IOException {
        if (l.quantized()) throw new Main.UserException(l.checkpoint() + " is already quantized: quantize the float checkpoint");
        QuantizedModelFile.write(out, l.model().spec(), l.weights(), plan);
    }
}
