package io.vitq.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Architecture of a timm {@code VisionTransformer} / DeiT / DeiT-3 model.
 *
 * @param prefixTokens   0 (no class token: {@code class_token=False}), 1 (class token) or 2 (class +
 *                       distillation token, DeiT)
 * @param qkvBias        whether the qkv layers have a bias (timm's {@code qkv_bias}); every other Linear has one
 * @param pooling        what the classifier reads
 * @param fcNorm         the final LayerNorm is {@code fc_norm}, applied after pooling, instead of {@code norm},
 *                       applied to the tokens before it (timm's {@code use_fc_norm}, the default with average pooling)
 * @param posEmbedPrefix the position embedding covers the prefix tokens too (timm's default; false:
 *                       {@code no_embed_class}, DeiT-3, where it is added to the patch tokens only)
 * @param layerScale     every block scales its two branches per channel ({@code ls1.gamma}, {@code ls2.gamma};
 *                       timm's {@code init_values}, DeiT-3)
 * @param preNorm        timm's {@code pre_norm} (the CLIP fine-tunes): a LayerNorm {@code norm_pre} after the
 *                       position embedding, and a patch embedding without bias (timm pairs the two)
 * @param rotation       which block Linears read their input through the orthogonal {@link InputRotation} and
 *                       store their weights as {@code W R^T}: no checkpoint has it, vitq's calibration makes
 *                       it (docs/LOWBIT.md section 2.1)
 */
public record ViTConfig(int imgSize, int patch, int inChans, int dim, int depth, int heads, int mlpHidden,
                        int numClasses, int prefixTokens, float eps, boolean qkvBias, Pooling pooling,
                        boolean fcNorm, boolean posEmbedPrefix, boolean layerScale, boolean preNorm, RotatedInputs rotation)
        implements Architecture {

    /** What the classifier reads from the final norm's tokens. */
    public enum Pooling {
        /** {@code head(x[:, 0])} (ViT, DeiT, and transformers' DeiTForImageClassification with its distillation token). */
        CLASS_TOKEN,
        /** {@code (head(x[:, 0]) + head_dist(x[:, 1])) / 2} (DeiT distilled at inference). */
        CLASS_AND_DISTILLATION,
        /** {@code head(x[:, prefix:].mean(1))}: the mean of the patch tokens (timm's {@code global_pool='avg'}). */
        AVERAGE
    }

    public ViTConfig {
        if (imgSize <= 0 || patch <= 0 || inChans <= 0 || dim <= 0 || depth <= 0 || heads <= 0 || mlpHidden <= 0
                || numClasses <= 0) {
            throw new ModelException("ViT: sizes must be positive (image " + imgSize + ", patch " + patch + ", channels "
                    + inChans + ", dim " + dim + ", depth " + depth + ", heads " + heads + ", MLP " + mlpHidden
                    + ", classes " + numClasses + ")");
        }
        if (dim % heads != 0) throw new ModelException("embed dim " + dim + " is not divisible by " + heads + " heads");
        if (imgSize % patch != 0) throw new ModelException("image size " + imgSize + " is not a multiple of patch " + patch);
        if (prefixTokens < 0 || prefixTokens > 2) throw new ModelException("prefix tokens must be 0, 1 or 2, got " + prefixTokens);
        if (pooling == null) throw new ModelException("ViT: pooling is required");
        if (pooling == Pooling.CLASS_AND_DISTILLATION && prefixTokens != 2)
            throw new ModelException("a distillation head needs the distillation token");
        if (pooling == Pooling.CLASS_TOKEN && prefixTokens == 0)
            throw new ModelException("class-token pooling needs a class token (class_token=False goes with global_pool='avg')");
        if (!(eps > 0)) throw new ModelException("LayerNorm eps must be positive, got " + eps);
        if (rotation == null) throw new ModelException("ViT: the input rotation is required (NONE for a checkpoint's network)");
    }

    /** A checkpoint's architecture: inputs not rotated. */
    public ViTConfig(int imgSize, int patch, int inChans, int dim, int depth, int heads, int mlpHidden, int numClasses,
                     int prefixTokens, float eps, boolean qkvBias, Pooling pooling, boolean fcNorm, boolean posEmbedPrefix,
                     boolean layerScale) {
        this(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, prefixTokens, eps, qkvBias, pooling,
                fcNorm, posEmbedPrefix, layerScale, false, RotatedInputs.NONE);
    }

    /** timm's layout: qkv bias, and a distillation head exactly when there is a distillation token. */
    public ViTConfig(int imgSize, int patch, int inChans, int dim, int depth, int heads, int mlpHidden, int numClasses,
                     int prefixTokens, float eps) {
        this(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, prefixTokens, eps, true,
                prefixTokens == 2 ? Pooling.CLASS_AND_DISTILLATION : Pooling.CLASS_TOKEN);
    }

    /** The original ViT/DeiT layout (norm before the pooling, position embedding over the prefix tokens, no LayerScale). */
    public ViTConfig(int imgSize, int patch, int inChans, int dim, int depth, int heads, int mlpHidden, int numClasses,
                     int prefixTokens, float eps, boolean qkvBias, Pooling pooling) {
        this(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, prefixTokens, eps, qkvBias, pooling,
                false, true, false);
    }

    public static ViTConfig of(int imgSize, int patch, int dim, int depth, int heads) {
        return new ViTConfig(imgSize, patch, 3, dim, depth, heads, 4 * dim, 1000, 1, 1e-6f);
    }

    @Override public String family() { return "vit"; }

    public int gridSize() { return imgSize / patch; }

    public int numPatches() { return gridSize() * gridSize(); }

    public int tokens() { return numPatches() + prefixTokens; }

    public int headDim() { return dim / heads; }

    /** True when the model has a distillation token (DeiT). */
    public boolean distilled() { return prefixTokens == 2; }

    /** True when a second classifier ({@code head_dist}) reads the distillation token and the two are averaged. */
    public boolean distillationHead() { return pooling == Pooling.CLASS_AND_DISTILLATION; }

    public ViTConfig withDistillation(boolean distilled) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, distilled ? 2 : 1, eps,
                qkvBias, distilled ? Pooling.CLASS_AND_DISTILLATION : Pooling.CLASS_TOKEN, fcNorm, posEmbedPrefix, layerScale, preNorm, rotation);
    }

    public ViTConfig withClasses(int classes) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, classes, prefixTokens, eps, qkvBias, pooling,
                fcNorm, posEmbedPrefix, layerScale, preNorm, rotation);
    }

    public ViTConfig withHeads(int h) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, h, mlpHidden, numClasses, prefixTokens, eps, qkvBias, pooling,
                fcNorm, posEmbedPrefix, layerScale, preNorm, rotation);
    }

    public ViTConfig withEps(float e) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, prefixTokens, e, qkvBias, pooling,
                fcNorm, posEmbedPrefix, layerScale, preNorm, rotation);
    }

    /**
     * The same network with these Linear inputs rotated ({@link InputRotation}); the weights that go
     * with it are the caller's (a rotated Linear stores {@code W R^T}).
     */
    public ViTConfig withRotation(RotatedInputs r) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, prefixTokens, eps, qkvBias, pooling,
                fcNorm, posEmbedPrefix, layerScale, preNorm, r);
    }

    /** DeiT-3's and the GAP ViTs' options: timm's {@code init_values}, {@code no_embed_class}, {@code global_pool}, {@code fc_norm}. */
    public ViTConfig withVariant(int prefix, Pooling p, boolean fc, boolean posPrefix, boolean ls) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, prefix, eps, qkvBias, p,
                fc, posPrefix, ls, preNorm, rotation);
    }

    /** timm's {@code pre_norm} (see {@link #preNorm}): the CLIP fine-tunes' {@code norm_pre}, and no patch-embedding bias. */
    public ViTConfig withPreNorm(boolean p) {
        return new ViTConfig(imgSize, patch, inChans, dim, depth, heads, mlpHidden, numClasses, prefixTokens, eps, qkvBias, pooling,
                fcNorm, posEmbedPrefix, layerScale, p, rotation);
    }

    /**
     * The differences in what tensor shapes determine (everything but the head count and eps), as
     * "embed dim 384 (expected 192)"; empty when {@code found} fits this architecture.
     */
    public List<String> shapeDifferences(ViTConfig found) {
        List<String> d = new ArrayList<>();
        diff(d, "image size", found.imgSize, imgSize);
        diff(d, "patch size", found.patch, patch);
        diff(d, "input channels", found.inChans, inChans);
        diff(d, "embed dim", found.dim, dim);
        diff(d, "depth", found.depth, depth);
        diff(d, "MLP hidden size", found.mlpHidden, mlpHidden);
        diff(d, "classes", found.numClasses, numClasses);
        diff(d, "prefix tokens (class + distillation)", found.prefixTokens, prefixTokens);
        if (found.qkvBias != qkvBias) d.add("qkv bias " + found.qkvBias + " (expected " + qkvBias + ")");
        // a class token with the final norm before the pooling reads the same tensors either way
        boolean shapesTell = !(found.pooling == Pooling.CLASS_TOKEN && pooling == Pooling.AVERAGE && !fcNorm);
        if (found.pooling != pooling && shapesTell) d.add("classifier " + found.pooling + " (expected " + pooling + ")");
        if (found.fcNorm != fcNorm) d.add(found.fcNorm ? "fc_norm (expected norm)" : "norm (expected fc_norm)");
        if (found.posEmbedPrefix != posEmbedPrefix)
            d.add("a position embedding " + (found.posEmbedPrefix ? "with" : "without") + " the prefix tokens (expected "
                    + (posEmbedPrefix ? "with" : "without") + ")");
        if (found.layerScale != layerScale) d.add((found.layerScale ? "LayerScale" : "no LayerScale") + " (expected "
                + (layerScale ? "LayerScale" : "none") + ")");
        if (found.preNorm != preNorm) d.add((found.preNorm ? "norm_pre and no patch-embedding bias" : "no norm_pre") + " (expected "
                + (preNorm ? "norm_pre, timm's pre_norm" : "none") + ")");
        return d;
    }

    static void diff(List<String> d, String what, Object found, Object expected) {
        if (!found.equals(expected)) d.add(what + " " + found + " (expected " + expected + ")");
    }

    /** FLOPs of one forward (2 per multiply-add), counting the GEMMs and attention matmuls. */
    public double flopsPerImage() {
        double T = tokens(), D = dim, H = mlpHidden, P = patch;
        double perBlock = 2 * T * D * (3 * D) + 2 * T * T * D * 2 + 2 * T * D * D + 2 * T * D * H * 2;
        return depth * perBlock + 2.0 * numPatches() * (inChans * P * P) * D
                + 2.0 * D * numClasses * (distillationHead() ? 2 : 1);
    }
}
