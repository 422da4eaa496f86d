package io.vitq.cli;

import io.vitq.eval.EvalResult;
import io.vitq.eval.Reports;
import io.vitq.io.ModelLoader;
import picocli.CommandLine.Command;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The embedded demo: the shipped ViT-Ti on the shipped 200 ImageNet validation images.")
final class DemoCommand implements Callable<Integer> {

    static Path demoDir() {
        String home = System.getProperty("vitq.home");
        Path d = home != null ? Path.of(home, "demo") : Path.of("demo");
        if (!Files.isDirectory(d)) throw new Main.UserException(d + ": embedded demo folder not found (run from the vitq checkout)");
        return d;
    }

    @Override
    public Integer call() throws Exception {
        Path demo = demoDir();
        Path model = demo.resolve("models/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors");
        System.err.println("vitq: demo: evaluating " + model.getFileName() + " on " + demo.resolve("val/dataset.txt"));
        ModelLoader.Loaded l = ModelLoader.load("vit_tiny_patch16_224", model);
        EvalResult r = EvalCommand.evaluate(l, demo.resolve("val/dataset.txt"), null, 32);
        System.out.print(Reports.markdown(r));
        return 0;
    }
}
