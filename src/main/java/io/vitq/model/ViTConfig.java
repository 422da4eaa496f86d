package io.vitq.model;

/**
 * Architecture of a timm {@code VisionTransformer} / DeiT model.
 *
 * @param prefixTokens 1 (class token) or 2 (class + distillation token, DeiT distilled)
 */
public record ViTConfig(int imgSize, int patch, int inChans, int dim, int depth, int heads, int mlpHidden,
                        int numClasses, int prefixTokens, float eps) {
    public ViTConfig {
        if (dim % heads != 0) throw new ModelException("embed dim " + dim + " is not divisible by " + heads + " heads");
        if (imgSize % patch != 0) throw new ModelException("image size " + imgSize + " is not a multiple of patch " + patch);
    }

    public static ViTConfig of(int imgSize, int patch, int dim, int depth, int heads) {
        return new ViTConfig(imgSize, patch, 3, dim, depth, heads, 4 * dim, 1000, 1, 1e-6f);
    }

    public int gridSize() { return imgSize / patch; }

    public int numPatches() { return gridSize() * gridSize(); }

    public int tokens() { return numPatches() + prefixTokens; }

    public int headDim() { return dim / heads; }

    public boolean distilled() { return prefixTokens == 2; }

    public ViTConfig withDistillation(boolean distilled) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, distilled ? 2 : 1, eps);
    }

    public ViTConfig withClasses(int classes) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, classes, prefixTokens, eps);
    }

    /** FLOPs of one forward (2 per multiply-add), counting the GEMMs and attention matmuls. */
    public double flopsPerImage() {
        double T = tokens(), D = dim, H = mlpHidden, P = patch;
        double perBlock = 2 * T * D * (3 * D) + 2 * T * T * D * 2 + 2 * T * D * D + 2 * T * D * H * 2;
        return depth * perBlock + 2.0 * numPatches() * (inChans * P * P) * D + 2.0 * D * numClasses;
    }
}
