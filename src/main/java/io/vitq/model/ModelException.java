package io.vitq.model;

/** A model that cannot be built: missing or misshapen tensors, unknown names. */
public class ModelException extends RuntimeException {
    public ModelException(String message) { super(message); }

    /**
     * The error for a checkpoint without its classifier: a feature extractor (timm's
     * {@code num_classes=0}, such as the dino and mae weights) has no classes to predict, and vitq
     * calibrates and evaluates classifiers.
     */
    static ModelException noClassifier(Weights w, String tensor) {
        return new ModelException(w.source() + ": no classifier ('" + tensor + "' is missing): a feature extractor (timm's"
                + " num_classes=0, such as the dino and mae weights) has no classes to predict; vitq quantizes classifiers");
    }
}

