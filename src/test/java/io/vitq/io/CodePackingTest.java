package io.vitq.io;

import io.vitq.model.Linear;
import io.vitq.quant.Granularity;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Packed weight codes against the plain I8 codes, at every width below 8 bits and row lengths that leave bits over. */
class CodePackingTest {
    @Test
    void packedRowsUnpackToTheCodesAtEveryWidth() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int bits = 2; bits < 8; bits++)   // weights have 2 to 16 bits
            for (int cols : new int[] {1, 5, 13, 64}) {
                int rows = 3;
                float[] w = new float[rows * cols];
                for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
                Linear l = new Linear("op", w, null, rows, cols);
                float[] scales = {0.3f, 0.05f, 0.7f};   // the second row clamps at both ends
                int[] zeros = {0, 1 << (bits - 1), (1 << bits) - 1};   // all codes positive, symmetric, all negative
                UniformOperand q = new UniformOperand(bits, Granularity.PER_OUTPUT_CHANNEL, scales, zeros);
                byte[] codes = ScaledRanges.codesRows(q, "op", w, rows, cols);
                SafeTensors.Entry e = CodePacking.pack(l, q, new Tensor(w, rows, cols));
                assertArrayEquals(CodePacking.packedShape(rows, cols, bits), e.shape());
                assertEquals((cols * bits + 7) / 8, e.shape()[1], bits + " bits x " + cols);
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(e.shape()[0] * e.shape()[1]);
                e.encoder().accept(b);
                byte[] packed = b.array();
                float[] out = new float[rows * cols];
                for (int r = 0; r < rows; r++)
                    assertNull(CodePacking.unpackRow(packed, r, cols, bits, q.quantizer(r).minCode(), null, null, out), bits + " bits, row " + r);
                for (int i = 0; i < codes.length; i++) assertEquals(codes[i], (int) out[i], bits + " bits x " + cols + ", code " + i);
            }
    }

    /** A table of pairs packs a 2k-bit index per two columns: the same row bytes, unpacked to the same codes, at every width. */
    @Test
    void pairedRowsUnpackToTheirPairsAtEveryWidth() {
        SplittableRandom rnd = new SplittableRandom(8);
        for (int bits = 2; bits < 8; bits++)
            for (int cols : new int[] {2, 10, 26, 64}) {
                int rows = 3;
                float[] w = new float[rows * cols];
                for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
                io.vitq.quant.CodePairs pairs = io.vitq.testutil.MinMaxPlans.randomPairs(bits, Math.min(1 << (2 * bits), 300), bits);
                UniformOperand q = UniformOperand.withPairs(bits, Granularity.PER_OUTPUT_CHANNEL, new float[] {0.01f, 0.02f, 0.05f}, pairs);
                byte[] codes = ScaledRanges.codesRows(q, "op", w, rows, cols);
                SafeTensors.Entry e = CodePacking.pack(new Linear("op", w, null, rows, cols), q, new Tensor(w, rows, cols));
                assertArrayEquals(CodePacking.packedShape(rows, cols, bits), e.shape());
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(e.shape()[0] * e.shape()[1]);
                e.encoder().accept(b);
                float[] out = new float[rows * cols];
                for (int r = 0; r < rows; r++)
                    assertNull(CodePacking.unpackRow(b.array(), r, cols, bits, 0, null, pairs, out), bits + " bits, row " + r);
                for (int i = 0; i < codes.length; i++) assertEquals(codes[i], (int) out[i], bits + " bits x " + cols + ", code " + i);
            }
    }

    @Test
    void aBitSetAfterARowsLastCodeIsRefused() {
        byte[] packed = new byte[2];     // five 3-bit codes: 15 bits of a row's 16
        packed[1] = (byte) 0x80;        // bit 15
        String m = CodePacking.unpackRow(packed, 0, 5, 3, 0, null, null, new float[5]);
        assertTrue(m != null && m.contains("bit 15 after its 5 codes is set"), m);
    }
}
