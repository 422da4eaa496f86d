package io.vitq.cli;

import io.vitq.eval.ClassNames;
import io.vitq.eval.TopK;
import io.vitq.io.ModelLoader;
import io.vitq.model.Model;
import io.vitq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "predict", mixinStandardHelpOptions = true, description = "Top-5 classes of each image.")
final class PredictCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "JPEG or PNG files.")
    List<Path> images;

    @Override
    public Integer call() {
        ModelLoader.Loaded l = modelOptions.load();
        Model m = l.model();
        Tensor x = Inputs.preprocess(images, m.preprocessing());
        Tensor logits = m.forward(x, l.executor());
        int nc = logits.dim(1);
        for (int i = 0; i < images.size(); i++) {
            System.out.println(images.get(i));
            TopK top = TopK.of(logits.data(), i * nc, nc, 5);
            for (int j = 0; j < top.classes().length; j++) {
                System.out.printf(Locale.ROOT, "  %5.1f%%  %4d  %s%n", 100 * top.probs()[j], top.classes()[j],
                        className(m, top.classes()[j]));
            }
        }
        return 0;
    }

    /** The model's own class names (a folder's id2label or label_names), else ImageNet's for 1000 classes. */
    static String className(Model m, int c) {
        var names = m.spec().classNames();
        return names.isEmpty() ? ClassNames.name(c, m.numClasses()) : names.get(c);
    }
}
