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
                    + "Default: " + ModelOptions.DEFAULT_MODEL + ", the embedded demo model.")
    String model;

    static final String DEFAULT_MODEL = "vit_tiny_patch16_224";

    @Option(names = {"--checkpoint"}, paramLabel = "FILE",
            description = "Weights for a zoo --model (safetensors or .pth).")
    Path checkpoint;

    @Mixin ArchitectureOptions architecture;

    ModelLoader.Loaded load() { return load(null); }

    /** --model and --checkpoint as given (the model's files before it loads: outputs checked against them early). */
    Path[] givenPaths() {
        return java.util.stream.Stream.of(model == null ? null : Path.of(model), checkpoint)
                .filter(java.util.Objects::nonNull).toArray(Path[]::new);
    }

    /**
     * The model; without --model but with a plan file, the model that plan was made for (a DeiT plan
     * is not applied to the default ViT-Ti by accident). A plan that cannot be read leaves the
     * default: {@link Plans#read} reports it.
     */
    ModelLoader.Loaded load(java.nio.file.Path plan) {
        return load(plan, true);
    }

    /** @param notes print the loader's notes (a Spark worker, which loads the model per shard, does not) */
    ModelLoader.Loaded load(java.nio.file.Path plan, boolean notes) {
        ModelLoader.Loaded l = read(plan, notes);
        refusePlanOnQuantized(plan, l);
        if (notes) printNotes(l);
        return l;
    }

    /** The float model to calibrate: a quantized file is refused before its note ("run with its plan") is printed. */
    ModelLoader.Loaded loadFloat() {
        ModelLoader.Loaded l = read(null, true);
        if (l.quantized()) throw new Main.UserException(l.checkpoint() + " is already quantized: quantize the float checkpoint");
        printNotes(l);
        return l;
    }

    /** The model of --model, else of the plan, else the default (recorded in {@link #model}); its notes not yet printed. */
    private ModelLoader.Loaded read(java.nio.file.Path plan, boolean notes) {
        String name = model;
        if (name == null && plan != null) {
            name = Plans.modelName(plan);
            if (name != null && !name.equals(DEFAULT_MODEL) && notes)
                System.err.println("vitq: note: --model " + name + ", the model --plan " + plan + " was made for");
        }
        if (name == null) name = DEFAULT_MODEL;
        model = name;
        return ModelLoader.load(name, checkpoint, architecture.overrides());
    }

    /** A quantized file carries its own plan: {@code --plan} goes with a float model only. */
    static void refusePlanOnQuantized(Path plan, ModelLoader.Loaded l) {
        if (plan != null && l.quantized()) throw new Main.UserException("--plan: " + l.checkpoint() + " is already a quantized model");
    }

    static void printNotes(ModelLoader.Loaded l) {
        for (String note : l.notes()) System.err.println("vitq: note: " + note);
    }
}
