package io.vitq.cli;

import io.vitq.eval.EvalResult;
import io.vitq.eval.Evaluator;
import io.vitq.eval.Reports;
import io.vitq.io.ModelLoader;
import io.vitq.model.FloatExecutor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Top-1/top-5 accuracy and throughput of a model on a labelled image set.")
final class EvalCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR|LIST",
            description = "ImageNet-style folder (root/<wnid>/*.JPEG) or a list file ('path label' per line, or './data/<file>, <label>').")
    Path data;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N images.")
    Integer limit;

    @Option(names = {"-b", "--batch"}, paramLabel = "B", defaultValue = "32", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the summary as JSON.")
    Path json;

    @Option(names = "--predictions", paramLabel = "FILE",
            description = "Write a CSV: image path, label, top-5 classes and their probabilities.")
    Path predictions;

    @Override
    public Integer call() throws Exception {
        Inputs.checkPositive("--batch", batch);
        if (limit != null) Inputs.checkPositive("--limit", limit);
        Inputs.checkOutput("--json", json);
        Inputs.checkOutput("--predictions", predictions);
        ModelLoader.Loaded l = modelOptions.load();
        EvalResult r = evaluate(l, data, limit, batch);
        System.out.print(Reports.markdown(r));
        if (json != null) Reports.writeJson(json, Reports.summary(r));
        if (predictions != null) Reports.writePredictions(predictions, r);
        return 0;
    }

    static EvalResult evaluate(ModelLoader.Loaded l, Path data, Integer limit, int batch) {
        try (Inputs.Source src = Inputs.open(data, l.model().preprocessing(), limit, batch);
             ProgressBar bar = new ProgressBar("eval " + l.model().name(), src.size())) {
            return Evaluator.run(l.model(), FloatExecutor.INSTANCE, data.toString(), src.iterator(), batch, bar::update);
        }
    }
}
