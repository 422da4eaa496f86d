package io.vitq.cli;

import io.vitq.eval.Prediction;
import io.vitq.eval.PredictionComparison;
import io.vitq.eval.PredictionsCsv;
import io.vitq.eval.Reports;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Prediction files ('vitq eval --predictions') against a reference's, image by image: each file's top-1 "
                + "with its 95 %% Wilson interval, its top-1 agreement with the reference's top-1, the mean -log p it gives the "
                + "reference's top-1 class (1e-4 where that class is outside its top-5), and the "
                + "labelled images only the reference or only the file gets right, with McNemar's exact test. With two files or "
                + "more, each later file against the first too.",
                "Typical use: the float model's predictions as REFERENCE, quantized models' as FILE, to tell a recipe's gain from "
                        + "the noise of a finite image set."})
final class CompareCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REFERENCE", description = "The reference's predictions CSV (e.g. the float model's).")
    Path reference;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "FILE", description = "Predictions CSVs of the same images.")
    List<Path> files;

    @Override
    public Integer call() {
        List<Prediction> ref = read("REFERENCE", reference);
        List<List<Prediction>> preds = new ArrayList<>();
        for (Path f : files) preds.add(read("FILE", f));
        List<PredictionComparison> rows = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) rows.add(compare(reference, ref, files.get(i), preds.get(i)));
        PredictionComparison self = compare(reference, ref, reference, ref);   // the reference's own counts
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "reference: %s (%d images, %d labelled%s)%n%n", reference, self.images(), self.labelled(),
                self.labelled() == 0 ? "" : String.format(Locale.ROOT, ", top-1 %.2f %%", self.top1())));
        sb.append("| file | top-1 % | 95 % interval | top-1 agreement with the reference | -log p(reference top-1) "
                + "| right only in the reference / only here | McNemar p |\n");
        sb.append("|---|---:|---|---:|---:|---:|---:|\n");
        for (int i = 0; i < files.size(); i++) {
            PredictionComparison c = rows.get(i);
            double[] ci = c.interval();
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d/%d | %.4f | %s | %s |%n", files.get(i),
                    ci == null ? "n/a" : String.format(Locale.ROOT, "%.2f", c.top1()),
                    ci == null ? "n/a" : String.format(Locale.ROOT, "%.2f-%.2f", ci[0], ci[1]), c.agreement(), c.images(),
                    c.meanNegLogP(), ci == null ? "n/a" : c.referenceOnly() + " / " + c.modelOnly(),
                    ci == null ? "n/a" : Reports.pValue(c.mcnemarP())));
        }
        if (files.size() > 1 && self.labelled() > 0) {
            sb.append(String.format(Locale.ROOT, "%nagainst the first file, %s:%n%n", files.get(0)));
            sb.append("| file | right only in the first file / only here | McNemar p |\n|---|---:|---:|\n");
            for (int i = 1; i < files.size(); i++) {
                PredictionComparison c = compare(files.get(0), preds.get(0), files.get(i), preds.get(i));
                sb.append(String.format(Locale.ROOT, "| %s | %d / %d | %s |%n", files.get(i), c.referenceOnly(), c.modelOnly(),
                        Reports.pValue(c.mcnemarP())));
            }
        }
        System.out.print(sb);
        return 0;
    }

    private static PredictionComparison compare(Path refFile, List<Prediction> ref, Path file, List<Prediction> p) {
        try {
            return PredictionComparison.of(ref, p);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(file + " against " + refFile + ": " + e.getMessage());
        }
    }

    private static List<Prediction> read(String what, Path file) {
        Inputs.requireFile(what, file, "");
        try {
            List<Prediction> p = PredictionsCsv.read(file);
            if (p.isEmpty()) throw new Main.UserException(what + " " + file + ": holds no image");
            return p;
        } catch (PredictionsCsv.FormatException e) {
            throw new Main.UserException(what + " " + e.getMessage());
        } catch (IOException e) {
            throw new Main.UserException(what + " " + file + ": " + io.vitq.data.FileErrors.reason(e));
        }
    }
}
