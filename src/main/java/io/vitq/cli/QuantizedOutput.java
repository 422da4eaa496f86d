package io.vitq.cli;

import io.vitq.io.ModelLoader;
import io.vitq.io.QuantizedModelFile;
import io.vitq.io.Reparameterization;
import io.vitq.quant.QuantPlan;

import java.nio.file.Path;

/** Writes a calibrated model to a quantized model file. */
final class QuantizedOutput {
    private QuantizedOutput() {}

    static void write(Path out, ModelLoader.Loaded l, QuantPlan plan) throws java.io.IOException {
        if (l.quantized()) throw new Main.UserException(l.checkpoint() + " is already quantized: quantize the float checkpoint");
        ModelLoader.Loaded folded = Reparameterization.apply(l, plan);
        QuantizedModelFile.write(out, folded.model().spec(), folded.weights(), Reparameterization.storedPlan(plan));
    }
}
