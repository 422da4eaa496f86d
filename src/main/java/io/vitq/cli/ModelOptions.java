package io.vitq.cli;

import io.vitq.io.ModelLoader;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every command that loads a model shares. */
public final class ModelOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "NAME|DIR|FILE",
            description = "A zoo name (see 'vitq models'; weights from --checkpoint or the model search path), a Hugging Face "
                    + "model folder (config.json with model.safetensors or pytorch_model.bin, timm or transformers layout), "
                    + "or a checkpoint file (safetensors or PyTorch .pth with timm key names). "
                    + "Default: ${DEFAULT-VALUE}, the embedded demo model.",
            defaultValue = "vit_tiny_patch16_224")
    String model;

    @Option(names = {"--checkpoint"}, paramLabel = "FILE",
            description = "Weights for a zoo --model (safetensors or .pth).")
    Path checkpoint;

    @Mixin ArchitectureOptions architecture;

    ModelLoader.Loaded load() {
        ModelLoader.Loaded l = ModelLoader.load(model, checkpoint, architecture.overrides());
        for (String note : l.notes()) System.err.println("vitq: note: " + note);
        return l;
    }
}
