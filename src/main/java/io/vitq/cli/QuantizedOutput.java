package io.vitq.cli;

import io.vitq.io.ModelLoader;
import io.vitq.quant.QuantPlan;

import java.nio.file.Path;

/** Writes a calibrated model to a quantized model file. */
final class QuantizedOutput {
    private QuantizedOutput() {}

    static void write(Path out, ModelLoader.Loaded l, QuantPlan plan) {
        throw new Main.UserException("-o: the quantized model file is not available yet; use --plan FILE");
    }
}
