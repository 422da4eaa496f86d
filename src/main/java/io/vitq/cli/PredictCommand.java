package io.vitq.cli;

import io.vitq.eval.ClassNames;
import io.vitq.eval.TopK;
import io.vitq.io.ModelLoader;
import io.vitq.io.Npy;
import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import io.vitq.model.Model;
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

    @Option(names = {"-b", "--batch"}, paramLabel = "B", defaultValue = "32",
            description = "Images per forward (default ${DEFAULT-VALUE}); each batch's classes are printed as it finishes.")
    int batch;

    @Override
    public Integer call() throws IOException {
        Inputs.checkPositive("--batch", batch);
        for (Path image : images) // before the model loads (a note about it would precede the error)
            Inputs.requireFile("IMAGE", image, "; predict takes image files (for a folder use 'vitq eval --data')");
        ModelLoader.Loaded l = modelOptions.load();
        OutputFiles files = new OutputFiles().model("--model", l).output("--logits", logitsFile, OutputKind.NPY)
                .output("--inputs", inputsFile, OutputKind.NPY);
        for (Path image : images) files.input("IMAGE", image);
        files.check();
        Model m = l.model();
        int n = images.size(), nc = m.numClasses();
        // batch by batch (Pipeline.forward), printed as each finishes; the .npy files, written at the end, hold every image's
        int size = m.preprocessing().inputSize(), per = 3 * size * size;
        float[] logits = logitsFile == null ? null : new float[Math.multiplyExact(n, nc)];
        float[] inputs = inputsFile == null ? null : new float[Math.multiplyExact(n, per)];
        try (ProgressBar bar = n > batch ? new ProgressBar("predict (images)", n) : null) {
            io.vitq.eval.Pipeline.forward(m, l.executor(), images, batch, (start, x, y) -> {
                if (logits != null) System.arraycopy(y, 0, logits, start * nc, y.length);
                if (inputs != null) System.arraycopy(x.data(), 0, inputs, start * per, x.data().length);
                for (int i = 0; i < x.dim(0); i++) {
                    System.out.println(images.get(start + i));
                    TopK top = TopK.of(y, i * nc, nc, 5);
                    for (int j = 0; j < top.classes().length; j++) {
                        System.out.printf(Locale.ROOT, "  %5.1f%%  %4d  %s%n", 100 * top.probs()[j], top.classes()[j],
                                className(m, top.classes()[j]));
                    }
                }
                System.out.flush();
                if (bar != null) bar.update(start + x.dim(0));
            });
        } catch (io.vitq.data.ImageLoadException e) { // named as the other IMAGE errors are
            throw new Main.UserException("IMAGE " + e.getMessage());
        }
        if (inputsFile != null) Npy.write(inputsFile, inputs, n, 3, size, size);
        if (logitsFile != null) Npy.write(logitsFile, logits, n, nc);
        return 0;
    }

    /** The model's own class names (a folder's id2label or label_names), else ImageNet's for 1000 classes. */
    static String className(Model m, int c) {
        return ClassNames.name(m.spec().classNames(), c, m.numClasses());
    }
}
