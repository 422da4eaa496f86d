package io.vitq.cli;

import io.vitq.model.Model;
import io.vitq.quant.PlanFormatException;
import io.vitq.quant.PlanModelCheck;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading a plan file given on the command line, with errors that name the file. */
final class Plans {
    private Plans() {}

    /** The float model {@code plan}'s ops quantize: {@code l} with the plan's LayerNorm folds applied, if any. */
    static io.vitq.io.ModelLoader.Loaded modelFor(io.vitq.io.ModelLoader.Loaded l, QuantPlan plan) {
        if (!l.quantized() && io.vitq.calib.CalibConfig.GPTQ_ROUNDING.equals(plan.info().options().get(io.vitq.calib.CalibConfig.WEIGHT_ROUNDING)))
            throw new Main.UserException("--plan: its weights were rounded by GPTQ (" + plan.info().options().get(
                    io.vitq.calib.CalibConfig.WEIGHT_ROUNDING) + "); the plan holds the scales only. Use the quantized model "
                    + "file that 'vitq quantize -o FILE' wrote beside it");
        try {
            return io.vitq.io.Reparameterization.apply(l, plan);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException("--plan: " + e.getMessage());
        }
    }

    /** The model name a plan file was made for, or null when the file cannot be read as a plan. */
    static String modelName(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            return QuantPlanJson.read(file).info().model();
        } catch (IOException | RuntimeException e) {   // PlanFormatException too: read() reports it
            return null;
        }
    }

    static QuantPlan read(Path file, Model model) {
        Inputs.requireFile("--plan", file, "");
        QuantPlan p;
        try {
            p = QuantPlanJson.read(file);
        } catch (IOException | PlanFormatException e) {
            // the plan reader's messages start with the file already
            throw new Main.UserException("--plan " + (e instanceof PlanFormatException ? e.getMessage()
                    : file + ": " + io.vitq.data.FileErrors.reason(e)));
        }
        try {
            PlanModelCheck.check(p, model);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException("--plan " + file + ": " + e.getMessage());
        }
        java.util.List<String> floatOps = PlanModelCheck.unplanned(p, model);
        if (p.ops().isEmpty())   // it would run the float model under the plan's name and bits
            throw new Main.UserException("--plan " + file + ": quantizes no op (its \"ops\" are empty); without --plan the float"
                    + " model runs");
        if (!floatOps.isEmpty()) {
            System.err.println("vitq: note: --plan " + file + " has no entry for " + floatOps.size() + " of the model's ops, "
                    + "which run in float: " + String.join(", ", floatOps.subList(0, Math.min(8, floatOps.size())))
                    + (floatOps.size() > 8 ? ", ..." : ""));
        }
        if (!p.info().model().equals(model.name())) {
            System.err.println("vitq: note: --plan " + file + " was made for " + p.info().model() + "; applying it to "
                    + model.name() + " (its ops and shapes fit)");
        }
        return p;
    }
}
