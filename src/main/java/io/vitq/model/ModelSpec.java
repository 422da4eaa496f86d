package io.vitq.model;

import io.vitq.data.Preprocessing;

import java.util.List;

/**
 * Everything that, with a checkpoint's tensors, builds a model exactly: its name, architecture,
 * eval transform and (when the checkpoint's config gives them) class names. Nothing in it is
 * guessed: it comes from a zoo name, a model folder's config files or the user's options.
 *
 * @param classNames one name per class, or empty when the source names none (ImageNet-1k names are
 *                   then used for 1000-class models)
 */
public record ModelSpec(String name, Architecture architecture, Preprocessing preprocessing, List<String> classNames) {

    public ModelSpec {
        if (name == null || name.isBlank()) throw new ModelException("a model needs a name");
        if (architecture == null || preprocessing == null) throw new ModelException(name + ": architecture and preprocessing are required");
        classNames = List.copyOf(classNames);
        if (!classNames.isEmpty() && classNames.size() != architecture.numClasses()) {
            throw new ModelException(name + ": " + classNames.size() + " class names for " + architecture.numClasses() + " classes");
        }
        if (preprocessing.inputSize() != architecture.imgSize()) {
            throw new ModelException(name + ": preprocessing makes " + preprocessing.inputSize() + "x" + preprocessing.inputSize()
                    + " images, but the model takes " + architecture.imgSize() + "x" + architecture.imgSize());
        }
    }

    public ModelSpec(String name, Architecture architecture, Preprocessing preprocessing) {
        this(name, architecture, preprocessing, List.of());
    }

    public ModelSpec withArchitecture(Architecture a) { return new ModelSpec(name, a, preprocessing, classNames); }

    public ModelSpec withPreprocessing(Preprocessing p) { return new ModelSpec(name, architecture, p, classNames); }

    public ModelSpec withName(String n) { return new ModelSpec(n, architecture, preprocessing, classNames); }

    /**
     * Builds the model from {@code w} strictly: every tensor the architecture has must be there with
     * its shape, and every tensor of {@code w} must be used (a missing bias, a tensor left over or a
     * bias in one block only is an error naming the tensor).
     */
    public Model build(Weights w) {
        Model m = switch (architecture) {
            case ViTConfig c -> VisionTransformer.load(this, w);
            case SwinConfig c -> SwinTransformer.load(this, w);
        };
        w.requireAllUsed(name);
        return m;
    }
}
