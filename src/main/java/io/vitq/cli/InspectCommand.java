package io.vitq.cli;

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

    @Option(names = "--json", description = "Print the plan as JSON (exact scales) instead.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        // reads only the header: no tensor is decoded, so inspecting a large model is instant
        QuantizedModelFile.Header h = QuantizedModelFile.readHeader(file);
        if (json) {
            System.out.print(QuantPlanJson.toJson(h.plan()));
            return 0;
        }
        System.out.printf(Locale.ROOT, "file: %s (%.1f MB), model %s%n", file, Files.size(file) / 1e6, h.model());
        System.out.println(h.plan().summary());
        System.out.println();
        System.out.print(PlanTable.markdown(h.plan()));
        return 0;
    }
}
