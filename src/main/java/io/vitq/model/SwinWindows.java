package io.vitq.model;

/**
 * Index arithmetic of Swin's (shifted) windows on one image's {@code res x res} token grid, so that
 * {@code torch.roll} + {@code window_partition} and their inverses become one gather and one
 * scatter instead of tensor copies. Window-ordered row {@code r = w * T + t} is token t (row-major
 * inside the window, {@code T = ws * ws}) of window w (row-major over the window grid), as timm's
 * {@code window_partition} orders them.
 */
public final class SwinWindows {
    /** timm's value for pairs of tokens from different regions of a shifted window. */
    public static final float MASK_VALUE = -100f;

    private SwinWindows() {}

    /**
     * For each window-ordered row, the token (row-major index in the image) it reads:
     * {@code torch.roll(x, -shift)} means shifted position (i, j) holds token
     * ((i + shift) mod res, (j + shift) mod res).
     */
    public static int[] windowOrder(int res, int ws, int shift) {
        int nw = res / ws, T = ws * ws;
        int[] order = new int[res * res];
        for (int wy = 0; wy < nw; wy++)
            for (int wx = 0; wx < nw; wx++)
                for (int ty = 0; ty < ws; ty++)
                    for (int tx = 0; tx < ws; tx++) {
                        int i = (wy * ws + ty + shift) % res, j = (wx * ws + tx + shift) % res;
                        order[(wy * nw + wx) * T + ty * ws + tx] = i * res + j;
                    }
        return order;
    }

    /**
     * timm's {@code relative_position_index} [T, T]: the row of {@code relative_position_bias_table}
     * for query token i and key token j, {@code (dy + ws - 1) * (2 ws - 1) + (dx + ws - 1)}.
     */
    public static int[] relativePositionIndex(int ws) {
        int T = ws * ws;
        int[] idx = new int[T * T];
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                int dy = i / ws - j / ws, dx = i % ws - j % ws;
                idx[i * T + j] = (dy + ws - 1) * (2 * ws - 1) + (dx + ws - 1);
            }
        return idx;
    }

    /**
     * timm's {@code attn_mask} [nW, T, T] for a shifted block, computed as timm does: label the
     * shifted grid's rows and columns by the slices {@code [0, -ws)}, {@code [-ws, -shift)},
     * {@code [-shift, end)}, region = 3 * row label + column label, and put -100 between tokens of
     * a window whose regions differ (they are not neighbours in the unshifted image).
     */
    public static float[] shiftMask(int res, int ws, int shift) {
        int nw = res / ws, T = ws * ws;
        float[] mask = new float[nw * nw * T * T];
        int[] region = new int[T];
        for (int w = 0; w < nw * nw; w++) {
            int wy = w / nw, wx = w % nw;
            for (int t = 0; t < T; t++) {
                region[t] = 3 * sliceLabel(wy * ws + t / ws, res, ws, shift) + sliceLabel(wx * ws + t % ws, res, ws, shift);
            }
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) mask[(w * T + i) * T + j] = region[i] == region[j] ? 0f : MASK_VALUE;
        }
        return mask;
    }

    private static int sliceLabel(int y, int res, int ws, int shift) {
        return y < res - ws ? 0 : y < res - shift ? 1 : 2;
    }

    /**
     * The additive attention bias {@code [groups][H][T][T]} that {@link io.vitq.tensor.AttentionKernel}
     * adds to the scaled scores: the relative-position bias gathered from {@code table}
     * [(2 ws - 1)^2, H], plus (when {@code mask} is not null) the shift mask of each window
     * position; groups = 1 without mask, nW with it.
     */
    public static float[] attentionBias(float[] table, int heads, int ws, float[] mask) {
        int T = ws * ws, groups = mask == null ? 1 : mask.length / (T * T);
        int[] idx = relativePositionIndex(ws);
        float[] bias = new float[groups * heads * T * T];
        for (int g = 0; g < groups; g++)
            for (int h = 0; h < heads; h++) {
                int o = (g * heads + h) * T * T;
                for (int k = 0; k < T * T; k++) {
                    bias[o + k] = table[idx[k] * heads + h] + (mask == null ? 0f : mask[g * T * T + k]);
                }
            }
        return bias;
    }
}
