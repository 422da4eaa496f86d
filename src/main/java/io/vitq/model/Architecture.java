package io.vitq.model;

/** A model family's architecture parameters: what, with a checkpoint's tensors, builds the model exactly. */
public sealed interface Architecture permits ViTConfig, SwinConfig {
    /** "vit" (ViT, DeiT) or "swin". */
    String family();

    int imgSize();

    int inChans();

    int numClasses();

    /**
     * Whether the network reads some Linear inputs through {@link InputRotation} (a ViT that vitq's
     * calibration made so, {@link ViTConfig#rotation()}; no checkpoint has it).
     */
    default boolean rotatedInputs() { return false; }

    /** FLOPs of one forward (2 per multiply-add). */
    double flopsPerImage();
}
