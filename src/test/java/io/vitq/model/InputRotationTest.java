package io.vitq.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link InputRotation} against its definition written out as a dense matrix: block-diagonal
 * Sylvester Hadamard blocks of the largest power-of-two size dividing n, times the signs, over
 * sqrt(b); orthogonal, so rotating back recovers the input.
 */
class InputRotationTest {
    static final int[] WIDTHS = {1, 6, 12, 64, 192, 384, 768};

    /** R_ij from the definition, in double. */
    static double definition(int n, int i, int j) {
        int b = 1;
        while (n % (2 * b) == 0) b *= 2;
        if (i / b != j / b) return 0;
        int parity = Integer.bitCount((i % b) & (j % b)) & 1;
        return (parity == 0 ? 1 : -1) * InputRotation.sign(n, j) / Math.sqrt(b);
    }

    @Test
    void blockSizeIsTheLargestPowerOfTwoDividingTheWidth() {
        assertEquals(1, InputRotation.block(1));
        assertEquals(2, InputRotation.block(6));
        assertEquals(64, InputRotation.block(192));
        assertEquals(128, InputRotation.block(384));
        assertEquals(256, InputRotation.block(768));
        assertEquals(1024, InputRotation.block(1024));
    }

    @Test
    void rotationIsItsDefinition() {
        SplittableRandom r = new SplittableRandom(3);
        for (int n : WIDTHS) {
            float[] m = InputRotation.matrix(n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    assertEquals(definition(n, i, j), m[i * n + j], 1e-6, "n " + n + ": R[" + i + "][" + j + "]");
            int rows = 5;
            float[] x = new float[rows * n], y = new float[rows * n];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            InputRotation.rotate(x, rows, n, y);
            for (int row = 0; row < rows; row++)
                for (int i = 0; i < n; i++) {
                    double want = 0;
                    for (int j = 0; j < n; j++) want += definition(n, i, j) * x[row * n + j];
                    assertEquals(want, y[row * n + i], 1e-5 * Math.sqrt(n), "n " + n + ": (R x)_" + i);
                }
        }
    }

    @Test
    void rotationIsOrthogonal() {
        SplittableRandom r = new SplittableRandom(5);
        for (int n : WIDTHS) {
            int rows = 7;
            float[] x = new float[rows * n], y = new float[rows * n], back = new float[rows * n];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            InputRotation.rotate(x, rows, n, y);
            InputRotation.rotateBack(y, rows, n, back);
            double nx = 0, ny = 0;
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i], back[i], 1e-5, "n " + n + ": R^T R x = x");
                nx += (double) x[i] * x[i];
                ny += (double) y[i] * y[i];
            }
            assertEquals(nx, ny, 1e-5 * nx, "n " + n + ": |R x| = |x|");
            // in place, as the forward may call it
            float[] z = x.clone();
            InputRotation.rotate(z, rows, n, z);
            for (int i = 0; i < z.length; i++) assertEquals(y[i], z[i], 0f, "n " + n + ": in place");
        }
    }

    /** The Vector API path gives the scalar loop's floats bit for bit, both ways, and so does the scalar fallback (blocks under a vector). */
    @Test
    void vectorRowsEqualTheScalarLoop() {
        SplittableRandom r = new SplittableRandom(9);
        for (int n : new int[] {6, 12, 16, 48, 64, 192, 384, 768, 1024}) {
            int rows = 130, b = InputRotation.block(n);   // over 64 rows: more than one range of the parallel loop
            float[] x = new float[rows * n], y = new float[rows * n], back = new float[rows * n];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.exp(3 * r.nextGaussian()));
            InputRotation.rotate(x, rows, n, y);
            InputRotation.rotateBack(x, rows, n, back);
            float[] d = InputRotation.signs(n), want = new float[n], wantBack = new float[n];
            float norm = (float) (1 / Math.sqrt(b));
            for (int row = 0; row < rows; row++) {
                float[] xr = java.util.Arrays.copyOfRange(x, row * n, row * n + n);
                InputRotation.scalarRow(xr, 0, n, b, d, norm, want, false);
                InputRotation.scalarRow(xr, 0, n, b, d, norm, wantBack, true);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[row * n + i]), "n " + n + " row " + row + " R x, " + i);
                    assertEquals(Float.floatToRawIntBits(wantBack[i]), Float.floatToRawIntBits(back[row * n + i]), "n " + n + " row " + row + " R^T x, " + i);
                }
            }
        }
    }

    /** The ONNX export's form: each block of the signed row times {@code H_b / sqrt(b)} is R's row product. */
    @Test
    void signedBlocksTimesTheNormalizedBlockAreTheRotation() {
        for (int n : WIDTHS) {
            int b = InputRotation.block(n);
            float[] d = InputRotation.signs(n), h = InputRotation.normalizedBlock(b), rt = InputRotation.transposedMatrix(n);
            for (int i = 0; i < n; i++) {
                assertEquals(InputRotation.sign(n, i), d[i], 0f);
                for (int j = 0; j < n; j++) {
                    // (x R^T)_j = sum_i x_i d_i (H_b / sqrt b)[i mod b, j mod b] within the block
                    float blockForm = i / b == j / b ? d[i] * h[(i % b) * b + j % b] : 0f;
                    assertEquals(rt[i * n + j], blockForm, 0f, "n " + n + ": R^T[" + i + "][" + j + "]");
                }
            }
        }
    }

    /** The signs are a real mix: a rotation without them would leave a constant channel offset in one coefficient. */
    @Test
    void signsAreMixed() {
        for (int n : new int[] {64, 192, 768}) {
            int minus = 0;
            for (int i = 0; i < n; i++) if (InputRotation.sign(n, i) < 0) minus++;
            assertTrue(minus > n / 3 && minus < 2 * n / 3, "n " + n + ": " + minus + " negative signs");
        }
    }
}
