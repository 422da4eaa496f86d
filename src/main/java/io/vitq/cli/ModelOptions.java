package io.vitq.cli;

import io.vitq.io.ModelLoader;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every command that loads a model shares. */
public final class ModelOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "NAME|FILE",
            description = "A zoo name (see 'vitq models'; weights from --checkpoint or the model search path) or a checkpoint file "
                    + "(safetensors or PyTorch .pth with timm key names). Default: ${DEFAULT-VALUE}, the embedded demo model.",
            defaultValue = "vit_tiny_patch16_224")
    String model;

    @Option(names = {"--checkpoint"}, paramLabel = "FILE",
            description = "Weights for a zoo --model (safetensors or .pth).")
    Path checkpoint;

    ModelLoader.Loaded load() {
        ModelLoader.Loaded l = ModelLoader.load(model, checkpoint);
        for (String note : l.notes()) System.err.println("vitq: note: " + note);
        return l;
    }
}
