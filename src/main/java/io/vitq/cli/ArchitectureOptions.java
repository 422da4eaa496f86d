package io.vitq.cli;

import io.vitq.io.ModelOverrides;
import picocli.CommandLine.Option;

/**
 * What a checkpoint file does not say about its model (the head count, a Swin's input size, the eval
 * transform), and checks of what it does: applied over a zoo name's or a model folder's settings,
 * required for a bare checkpoint file.
 */
public final class ArchitectureOptions {
    @Option(names = "--heads", paramLabel = "N", description = "ViT/DeiT attention heads (no tensor stores them; needed for a bare checkpoint file).")
    Integer heads;

    @Option(names = "--img-size", paramLabel = "S", description = "Input size (needed for a bare Swin checkpoint file; a ViT's is its pos_embed's).")
    Integer imgSize;

    @Option(names = "--patch-size", paramLabel = "P", description = "Patch size (checked against the patch embedding).")
    Integer patchSize;

    @Option(names = "--window-size", paramLabel = "W", description = "Swin window (checked against the relative-position tables).")
    Integer windowSize;

    @Option(names = "--mean", paramLabel = "R,G,B", description = "Normalisation mean (e.g. 0.485,0.456,0.406).")
    String mean;

    @Option(names = "--std", paramLabel = "R,G,B", description = "Normalisation std (e.g. 0.229,0.224,0.225).")
    String std;

    @Option(names = "--crop-pct", paramLabel = "P", description = "Centre-crop ratio: resize to floor(size / P), crop size (timm's crop_pct).")
    Double cropPct;

    @Option(names = "--interpolation", paramLabel = "bicubic|bilinear|nearest", description = "Resize filter (PIL's).")
    String interpolation;

    ModelOverrides overrides() {
        try {
            // the values' ranges are ModelOverrides' own checks (the Java API's too)
            float[] m = mean == null ? null : ModelOverrides.parseChannels("--mean", mean);
            float[] s = std == null ? null : ModelOverrides.parseChannels("--std", std);
            return new ModelOverrides(heads, imgSize, patchSize, windowSize, m, s, cropPct,
                    ModelOverrides.parseInterpolation(interpolation));
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(e.getMessage());
        }
    }

}
