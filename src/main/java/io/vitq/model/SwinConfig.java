package io.vitq.model;

import java.util.Arrays;

/**
 * Architecture of a timm {@code SwinTransformer} (v1): patch embedding, then stages with
 * {@code depths[s]} blocks of {@code heads[s]} heads at dim {@code embedDim * 2^s}; every stage after
 * the first starts with a 2x2 patch merging.
 *
 * <p>Per stage, as timm does: when the feature map is not larger than the window, the window shrinks
 * to the feature map and the shifted blocks do not shift. Feature maps must divide into windows
 * (timm 0.4.12 asserts it; newer timm zero-pads, which vitq does not implement).
 *
 * @param window   the target window size ({@code window_size}), before clamping per stage
 * @param mlpRatio MLP hidden = {@code int(dim * mlpRatio)} (4 for every published model)
 * @param qkvBias  whether the qkv layers have a bias (timm's {@code qkv_bias}); proj, fc1, fc2 and the head
 *                 always have one, the patch merging's reduction never
 */
public record SwinConfig(int imgSize, int patch, int inChans, int embedDim, int[] depths, int[] heads,
                         int window, double mlpRatio, int numClasses, float eps, boolean qkvBias) implements Architecture {

    public static final float EPS = 1e-5f;

    public SwinConfig {
        depths = depths.clone();
        heads = heads.clone();
        if (depths.length == 0 || depths.length != heads.length) {
            throw new ModelException("Swin: " + depths.length + " stage depths but " + heads.length + " head counts");
        }
        if (imgSize <= 0 || patch <= 0 || inChans <= 0 || embedDim <= 0 || window <= 0 || numClasses <= 0
                || !(mlpRatio > 0) || !(eps > 0)) {
            throw new ModelException("Swin: sizes must be positive (image " + imgSize + ", patch " + patch + ", channels "
                    + inChans + ", embed dim " + embedDim + ", window " + window + ", MLP ratio " + mlpRatio + ", classes "
                    + numClasses + ", eps " + eps + ")");
        }
        for (int s = 0; s < depths.length; s++) {
            if (depths[s] <= 0 || heads[s] <= 0)
                throw new ModelException("Swin stage " + s + ": depth " + depths[s] + " and heads " + heads[s] + " must be positive");
        }
        if (imgSize % patch != 0) throw new ModelException("Swin: image size " + imgSize + " is not a multiple of patch " + patch);
        for (int s = 0; s < depths.length; s++) {
            int dim = embedDim << s, res = (imgSize / patch) >> s;
            if (dim % heads[s] != 0) throw new ModelException("Swin stage " + s + ": dim " + dim + " not divisible by " + heads[s] + " heads");
            if (s > 0 && ((imgSize / patch) >> (s - 1)) % 2 != 0) {
                throw new ModelException("Swin: feature map " + ((imgSize / patch) >> (s - 1)) + " of stage " + (s - 1)
                        + " is odd, patch merging needs it even (image size " + imgSize + ")");
            }
            int ws = Math.min(window, res);
            if (res % ws != 0) {
                throw new ModelException("Swin stage " + s + ": feature map " + res + "x" + res + " is not a multiple of window "
                        + ws + " (image size " + imgSize + "); padding to whole windows is not supported");
            }
        }
    }

    /** With qkv biases, as every published Swin. */
    public SwinConfig(int imgSize, int patch, int inChans, int embedDim, int[] depths, int[] heads, int window,
                      double mlpRatio, int numClasses, float eps) {
        this(imgSize, patch, inChans, embedDim, depths, heads, window, mlpRatio, numClasses, eps, true);
    }

    @Override public String family() { return "swin"; }

    /** A standard configuration: patch 4, RGB, MLP ratio 4, 1000 classes, eps 1e-5. */
    public static SwinConfig of(int imgSize, int window, int embedDim, int[] depths, int[] heads) {
        return new SwinConfig(imgSize, 4, 3, embedDim, depths, heads, window, 4.0, 1000, EPS);
    }

    public SwinConfig withClasses(int classes) {
        return new SwinConfig(imgSize, patch, inChans, embedDim, depths, heads, window, mlpRatio, classes, eps, qkvBias);
    }

    public SwinConfig withImgSize(int size) {
        return new SwinConfig(size, patch, inChans, embedDim, depths, heads, window, mlpRatio, numClasses, eps, qkvBias);
    }

    public SwinConfig withWindow(int w) {
        return new SwinConfig(imgSize, patch, inChans, embedDim, depths, heads, w, mlpRatio, numClasses, eps, qkvBias);
    }

    public SwinConfig withEps(float e) {
        return new SwinConfig(imgSize, patch, inChans, embedDim, depths, heads, window, mlpRatio, numClasses, e, qkvBias);
    }

    /**
     * The differences in what tensor shapes determine (everything but the image size and eps), as
     * "depths [2, 2, 6, 2] (expected [2, 2, 18, 2])"; empty when {@code found} fits this architecture.
     */
    public java.util.List<String> shapeDifferences(SwinConfig found) {
        java.util.List<String> d = new java.util.ArrayList<>();
        ViTConfig.diff(d, "patch size", found.patch, patch);
        ViTConfig.diff(d, "input channels", found.inChans, inChans);
        ViTConfig.diff(d, "embed dim", found.embedDim, embedDim);
        ViTConfig.diff(d, "depths", Arrays.toString(found.depths), Arrays.toString(depths));
        ViTConfig.diff(d, "heads", Arrays.toString(found.heads), Arrays.toString(heads));
        ViTConfig.diff(d, "window", found.window, window);
        ViTConfig.diff(d, "MLP ratio", found.mlpRatio, mlpRatio);
        ViTConfig.diff(d, "classes", found.numClasses, numClasses);
        ViTConfig.diff(d, "qkv bias", found.qkvBias, qkvBias);
        return d;
    }

    @Override public int[] depths() { return depths.clone(); }

    @Override public int[] heads() { return heads.clone(); }

    public int stages() { return depths.length; }

    public int depth(int s) { return depths[s]; }

    public int heads(int s) { return heads[s]; }

    public int dim(int s) { return embedDim << s; }

    public int headDim(int s) { return dim(s) / heads[s]; }

    public int mlpHidden(int s) { return (int) (dim(s) * mlpRatio); }

    /** Side of stage s's feature map (patch grid halved per merging). */
    public int resolution(int s) { return (imgSize / patch) >> s; }

    public int tokens(int s) { return resolution(s) * resolution(s); }

    /** Stage s's window: the target window, or the feature map when that is not larger. */
    public int windowAt(int s) { return Math.min(window, resolution(s)); }

    /** Shift of the odd blocks of stage s: window / 2, or 0 when one window covers the feature map. */
    public int shiftAt(int s) { return resolution(s) <= window ? 0 : window / 2; }

    public int numFeatures() { return dim(stages() - 1); }

    /** FLOPs of one forward (2 per multiply-add): all Linear layers and both attention matmuls. */
    public double flopsPerImage() {
        double f = 2.0 * tokens(0) * inChans * patch * patch * embedDim;
        for (int s = 0; s < stages(); s++) {
            double L = tokens(s), D = dim(s), T = (double) windowAt(s) * windowAt(s), Hd = mlpHidden(s);
            if (s > 0) f += 2.0 * L * (4 * dim(s - 1)) * D;
            double perBlock = 2 * L * D * 3 * D + 4 * L * T * D + 2 * L * D * D + 4 * L * D * Hd;
            f += depths[s] * perBlock;
        }
        return f + 2.0 * numFeatures() * numClasses;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SwinConfig c && imgSize == c.imgSize && patch == c.patch && inChans == c.inChans
                && embedDim == c.embedDim && Arrays.equals(depths, c.depths) && Arrays.equals(heads, c.heads)
                && window == c.window && mlpRatio == c.mlpRatio && numClasses == c.numClasses && eps == c.eps
                && qkvBias == c.qkvBias;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new double[]{imgSize, patch, inChans, embedDim, Arrays.hashCode(depths),
                Arrays.hashCode(heads), window, mlpRatio, numClasses, eps, qkvBias ? 1 : 0});
    }

    @Override
    public String toString() {
        return "SwinConfig[img " + imgSize + ", patch " + patch + ", in " + inChans + ", embed " + embedDim
                + ", depths " + Arrays.toString(depths) + ", heads " + Arrays.toString(heads) + ", window " + window
                + ", mlp ratio " + mlpRatio + ", classes " + numClasses + ", eps " + eps + (qkvBias ? "" : ", no qkv bias") + "]";
    }
}
