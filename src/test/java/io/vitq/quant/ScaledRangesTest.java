package io.vitq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ScaledRangesTest {
    private static final UniformQuantizer Q8 = new UniformQuantizer(8);

    static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Test
    void rowScaleIndexMapping() {
        // qkv of ViT-B: 2304 rows in 3 blocks of 768 (q, k, v)
        Granularity b = Granularity.ROW_BLOCKS;
        assertEquals(0, b.scaleIndexOfRow(0, 2304, 3));
        assertEquals(0, b.scaleIndexOfRow(767, 2304, 3));
        assertEquals(1, b.scaleIndexOfRow(768, 2304, 3));
        assertEquals(1, b.scaleIndexOfRow(1535, 2304, 3));
        assertEquals(2, b.scaleIndexOfRow(1536, 2304, 3));
        assertEquals(2, b.scaleIndexOfRow(2303, 2304, 3));
        assertEquals(QkvPart.K.rowBlock(), b.scaleIndexOfRow(1000, 2304, 3));
        assertEquals(5, Granularity.PER_OUTPUT_CHANNEL.scaleIndexOfRow(5, 768, 768));
        assertEquals(0, Granularity.PER_TENSOR.scaleIndexOfRow(700, 768, 1));
        assertThrows(IllegalArgumentException.class, () -> b.checkRows("blocks.0.attn.qkv", 5, 2304));
        assertThrows(IllegalArgumentException.class, () -> Granularity.PER_OUTPUT_CHANNEL.checkRows("head", 999, 1000));
        assertThrows(IllegalArgumentException.class, () -> Granularity.PER_TENSOR.checkRows("head", 2, 1000));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Granularity.PER_HEAD.checkRows("blocks.0.attn.proj", 12, 768));
        assertTrue(e.getMessage().contains("blocks.0.attn.proj"));
        for (Granularity g : Granularity.values()) assertEquals(g, Granularity.fromJsonName(g.jsonName()));
    }

    @Test
    void headColumnMapping() {
        HeadLayout h = new HeadLayout(12, 64);
        assertEquals(768, h.dim());
        assertEquals(0, h.headOfColumn(63));
        assertEquals(1, h.headOfColumn(64));
        assertEquals(11, h.headOfColumn(767));
        assertEquals(320, h.firstColumn(5));
        assertEquals(0, QkvPart.Q.columnOffset(768));
        assertEquals(768, QkvPart.K.columnOffset(768));
        assertEquals(1536, QkvPart.V.columnOffset(768));
        assertThrows(IndexOutOfBoundsException.class, () -> h.headOfColumn(768));
        assertThrows(IndexOutOfBoundsException.class, () -> h.firstColumn(12));
    }

    /**
     * Asymmetric rows: each row's fake quant is {@code (clamp(rint(w / s) + z, 0, 2^k - 1) - z) s},
     * written the unsigned way here, and its codes are {@code q - z}.
     */
    @Test
    void asymmetricRowsUseTheirZeroPoints() {
        SplittableRandom r = new SplittableRandom(4);
        int rows = 6, cols = 33, bits = 4;
        float[] w = random(r, rows * cols), out = new float[rows * cols];
        float[] scales = {0.1f, 0.2f, 0.05f, 0.3f, 0.15f, 0.25f};
        int[] z = {0, 15, 8, 3, 12, 7};
        UniformOperand q = new UniformOperand(bits, Granularity.PER_OUTPUT_CHANNEL, scales, z);
        ScaledRanges.fakeQuantRows(q, "fc", w, rows, cols, out);
        byte[] codes = ScaledRanges.codesRows(q, "fc", w, rows, cols);
        short[] wide = ScaledRanges.shortCodesRows(q, "fc", w, rows, cols);
        int clampedLow = 0, clampedHigh = 0;
        for (int i = 0; i < rows * cols; i++) {
            int row = i / cols;
            double u = Math.min(Math.max(Math.rint(w[i] / scales[row]) + z[row], 0), 15);
            if (u == 0) clampedLow++;
            if (u == 15) clampedHigh++;
            assertEquals((float) ((u - z[row]) * scales[row]), out[i], 0f, "element " + i);
            assertEquals(u - z[row], codes[i], "code " + i);
            assertEquals(codes[i], wide[i]);
        }
        assertTrue(clampedLow > 0 && clampedHigh > 0, "both ends clamp somewhere");
        assertEquals(15, q.maxAbsCode());
    }

    @Test
    void rowBlocksUseTheirOwnScale() {
        SplittableRandom r = new SplittableRandom(1);
        int rows = 12, cols = 10;
        float[] w = random(r, rows * cols), out = new float[rows * cols];
        float[] scales = {0.01f, 0.02f, 0.05f};
        ScaledRanges.fakeQuantRows(new UniformOperand(8, Granularity.ROW_BLOCKS, scales), "blocks.0.attn.qkv", w, rows, cols, out);
        for (int i = 0; i < rows * cols; i++) assertEquals(Q8.fakeQuant(w[i], scales[(i / cols) / 4]), out[i], 0f);
        byte[] codes = ScaledRanges.codesRows(new UniformOperand(8, Granularity.ROW_BLOCKS, scales), "blocks.0.attn.qkv", w, rows, cols);
        for (int i = 0; i < rows * cols; i++) assertEquals(Q8.code(w[i], scales[(i / cols) / 4]), codes[i]);
        UniformQuantizer q10 = new UniformQuantizer(10);
        short[] wide = ScaledRanges.shortCodesRows(new UniformOperand(10, Granularity.ROW_BLOCKS, scales), "blocks.0.attn.qkv", w, rows, cols);
        for (int i = 0; i < rows * cols; i++) assertEquals(q10.code(w[i], scales[(i / cols) / 4]), wide[i]);
        float[] perChannel = new float[rows];
        for (int i = 0; i < rows; i++) perChannel[i] = 0.01f * (i + 1);
        ScaledRanges.fakeQuantRows(new UniformOperand(8, Granularity.PER_OUTPUT_CHANNEL, perChannel), "patch_embed.proj", w, rows, cols, w);
        // w now holds its own fake quant, row r at scale 0.01 (r + 1)
        for (int i = 0; i < rows * cols; i++) {
            float s = perChannel[i / cols];
            assertEquals(w[i], Q8.fakeQuant(w[i], s), 0f); // idempotent on its grid
        }
    }

    @Test
    void headsOfTheFusedQkvBufferUseTheirOwnScale() {
        SplittableRandom r = new SplittableRandom(2);
        HeadLayout h = new HeadLayout(3, 4);
        int dim = h.dim(), ld = 3 * dim, rows = 5;
        float[] qkv = random(r, rows * ld);
        float[] out = qkv.clone();
        float[] scales = {0.01f, 0.03f, 0.1f};
        ScaledRanges.fakeQuantHeads(Q8, "blocks.0.attn.matmul1", h, scales, qkv, 0, rows, ld, QkvPart.K.columnOffset(dim), out);
        for (int row = 0; row < rows; row++)
            for (int col = 0; col < ld; col++) {
                int i = row * ld + col;
                if (col >= dim && col < 2 * dim) {
                    int head = h.headOfColumn(col - dim);
                    assertEquals(Q8.fakeQuant(qkv[i], scales[head]), out[i], 0f, "row " + row + " col " + col);
                } else {
                    assertEquals(qkv[i], out[i], 0f, "q and v columns untouched");
                }
            }
        float[] max = ScaledRanges.maxAbsHeads("blocks.0.attn.matmul1", h, qkv, 0, rows, ld, QkvPart.V.columnOffset(dim));
        for (int head = 0; head < 3; head++) {
            float m = 0;
            for (int row = 0; row < rows; row++)
                for (int c = 0; c < 4; c++) m = Math.max(m, Math.abs(qkv[row * ld + 2 * dim + head * 4 + c]));
            assertEquals(m, max[head]);
        }
        assertThrows(IllegalArgumentException.class, () -> ScaledRanges.fakeQuantHeads(Q8, "x", h, new float[2], qkv, 0, rows, ld, 0, out));
        assertThrows(IllegalArgumentException.class, () -> ScaledRanges.fakeQuantHeads(Q8, "x", h, scales, qkv, 0, rows, ld, 2 * dim + 1, out));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScaledRanges.fakeQuantHeads(Q8,
                "blocks.0.attn.matmul1", h, new float[] {0.1f, 0f, 0.1f}, qkv, 0, rows, ld, 0, out));
        assertTrue(e.getMessage().contains("blocks.0.attn.matmul1") && e.getMessage().contains("[1]"), e.getMessage());
    }

    @Test
    void headSlicesUseTheHeadsScale() {
        SplittableRandom r = new SplittableRandom(3);
        int groups = 2, heads = 3, slice = 9;
        float[] p = random(r, groups * heads * slice), out = new float[p.length];
        float[] scales = {0.002f, 0.004f, 0.008f};
        ScaledRanges.fakeQuantHeadSlices(Q8, "blocks.0.attn.matmul2", scales, p, 0, groups, slice, out);
        for (int i = 0; i < p.length; i++) assertEquals(Q8.fakeQuant(p[i], scales[(i / slice) % heads]), out[i], 0f);
    }

    @Test
    void maxAbsRowsPerBlock() {
        float[] w = {1, -2, 0.5f, -7, 3, 0, 0, 0};
        assertArrayEquals(new float[] {7, 3}, ScaledRanges.maxAbsRows("q", Granularity.ROW_BLOCKS, 2, w, 4, 2));
        assertArrayEquals(new float[] {2, 7, 3, 0}, ScaledRanges.maxAbsRows("q", Granularity.PER_OUTPUT_CHANNEL, 4, w, 4, 2));
        assertArrayEquals(new float[] {7}, ScaledRanges.maxAbsRows("q", Granularity.PER_TENSOR, 1, w, 4, 2));
    }
}
