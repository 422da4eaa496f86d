package io.vitq.cli;

import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import io.vitq.io.QuantizedModelFile;
import io.vitq.quant.QuantPlanJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "The quantization plan stored in a quantized model file: a summary, then one table row per operand.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "QUANTIZED", description = "A quantized model file (safetensors with a vitq plan).")
    Path file;

    @Option(names = "--json", description = "Print the plan as JSON (exact scales) instead. A plan with LayerNorm folds "
            + "lists them only as folded into the file's tensors, so it describes the file and is not a plan for the float checkpoint.")
    boolean json;

    @Option(names = "--plot", paramLabel = "FILE.png",
            description = "Also draw every op's bits and scales (forward order) as a PNG; for mixed precision also each "
                    + "unit's nuclear norm and chosen bits.")
    Path plot;

    @Override
    public Integer call() throws IOException {
        // reads only the header: no tensor is decoded, so inspecting a large model is instant
        Plots.checkPng("--plot", plot);
        new OutputFiles().output("--plot", plot, OutputKind.PNG).input("QUANTIZED", file).check();
        QuantizedModelFile.Header h = QuantizedModelFile.readHeader(file);
        if (plot != null) {
            io.vitq.eval.charts.Charts.plan(plot, h.model() + ", " + h.plan().info().method() + " " + h.plan().info().bitsLabel()
                    + ": bits and scales per op", h.plan());
            System.err.println("vitq: chart written to " + plot);
        }
        if (json) {
            System.out.print(QuantPlanJson.toJson(h.plan()));
            if (h.plan().info().options().containsKey(io.vitq.io.Reparameterization.FOLDED))
                System.err.println("vitq: note: the LayerNorm folds are in " + file + "'s tensors, not in this plan: it describes "
                        + "that file and does not apply to the float checkpoint ('eval --plan' refuses it there)");
            return 0;
        }
        System.out.printf(Locale.ROOT, "file: %s (%.1f MB), model %s%n", file, Files.size(file) / 1e6, h.model());
        System.out.println(h.plan().summary());
        System.out.println();
        System.out.print(PlanTable.markdown(h.plan()));
        return 0;
    }
}
