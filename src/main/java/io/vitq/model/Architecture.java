package io.vitq.model;

/** A model family's architecture parameters: what, with a checkpoint's tensors, builds the model exactly. */
public sealed interface Architecture permits ViTConfig, SwinConfig {
    /** "vit" (ViT, DeiT) or "swin". */
    String family();

    int imgSize();

    int inChans();

    int numClasses();

    /**
     * Which Linear inputs the network reads through {@link InputRotation}: those of a ViT that vitq's
     * calibration made so ({@link ViTConfig#rotation()}); none for a checkpoint's network and for Swin.
     */
    default RotatedInputs rotation() { return RotatedInputs.NONE; }

    /** Whether the network reads some Linear inputs rotated. */
    default boolean rotatedInputs() { return rotation() != RotatedInputs.NONE; }

    /** FLOPs of one forward (2 per multiply-add). */
    double flopsPerImage();
}
