package io.vitq.cli;

import io.vitq.eval.ClassNames;
import io.vitq.eval.TopK;
import io.vitq.io.ModelLoader;
import io.vitq.io.Npy;
import io.vitq.model.Model;
import io.vitq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "predict", mixinStandardHelpOptions = true, description = "Top-5 classes of each image; --logits and --inputs write the model's logits and preprocessed inputs for comparison with another framework.")
final class PredictCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "JPEG or PNG files.")
    List<Path> images;

    @Option(names = "--logits", paramLabel = "FILE.npy",
            description = "Also write the logits, [images, classes] float32, as NumPy's .npy (np.load reads it).")
    Path logitsFile;

    @Option(names = "--inputs", paramLabel = "FILE.npy",
            description = "Also write the preprocessed images the model sees, [images, 3, size, size] float32, as .npy.")
    Path inputsFile;

    @Override
    public Integer call() throws IOException {
        for (Path image : images) // before the model loads (a note about it would precede the error)
            Inputs.requireFile("IMAGE", image, "; predict takes image files (for a folder use 'vitq eval --data')");
        ModelLoader.Loaded l = modelOptions.load();
        OutputFiles files = new OutputFiles().model("--model", l).output("--logits", logitsFile).output("--inputs", inputsFile);
        for (Path image : images) files.input("IMAGE", image);
        files.check();
        Model m = l.model();
        Tensor x = Inputs.preprocess(images, m.preprocessing());
        Tensor logits = m.forward(x, l.executor());
        if (inputsFile != null) Npy.write(inputsFile, x.data(), x.shape());
        if (logitsFile != null) Npy.write(logitsFile, logits.data(), logits.shape());
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
        return ClassNames.name(m.spec().classNames(), c, m.numClasses());
    }
}
