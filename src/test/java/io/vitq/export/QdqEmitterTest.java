package io.vitq.export;

import io.vitq.export.proto.Onnx;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.quant.AsymmetricOperand;
import io.vitq.quant.Granularity;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinGeluQuantizer;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each quantizer's ONNX form, run by ONNX Runtime (with and without its graph optimizations),
 * against vitq's scalar fake quantizer, element by element: they must agree bit for bit (a signed
 * zero compares equal to zero), on random values and on the hard cases (exact ties of the
 * rounding, values at and beyond the clamp bounds, the split of the twin softmax, zero).
 */
class QdqEmitterTest {
    static final int H = 3, ROWS = 5, D = 64;

    /** A graph from input x [shape] through {@code body} to its output, run on {@code x}. */
    static float[] run(int opset, long[] shape, float[] x, boolean optimized, Function<OnnxGraph, String> body) throws Exception {
        OnnxGraph g = new OnnxGraph("quantizer", opset);
        g.unique("x");
        String y = body.apply(g);
        g.proto().addInput(info("x", shape)).addOutput(info(y, shape));
        byte[] model = Onnx.ModelProto.newBuilder().setIrVersion(OnnxExporter.irVersion(opset))
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(g.proto()).build().toByteArray();
        try (Ort ort = new Ort(model, optimized)) {
            return ort.run("x", x, shape);
        }
    }

    static Onnx.ValueInfoProto info(String name, long[] shape) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (long d : shape) s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(s))).build();
    }

    /** Random values of about {@code range}, plus ties, bounds and beyond-bound values for each scale. */
    static float[] inputs(int n, float range, float[] scales, int bits, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextDouble(-range, range);
        long min = -(1L << (bits - 1)), max = (1L << (bits - 1)) - 1;
        List<Float> hard = new ArrayList<>();
        for (float s : scales) {
            for (long c = min - 3; c <= max + 3; c += Math.max(1, (max - min) / 40)) {
                hard.add((c + 0.5f) * s);          // a tie (as far as the float product is one)
                hard.add(c * s);                   // a grid point
                hard.add(Math.nextUp((c + 0.5f) * s));
                hard.add(Math.nextDown((c + 0.5f) * s));
            }
            for (float v : new float[] {max * s, (max + 0.5f) * s, (max + 1) * s, min * s, (min - 0.5f) * s, (min - 1) * s,
                    1e6f * s, -1e6f * s, 0f, -0f})
                hard.add(v);
        }
        // hard values at positions spread over the tensor (so per-axis scales see their own)
        for (int i = 0; i < hard.size() && i < n / 2; i++) x[(int) ((long) i * 2 * n / Math.max(hard.size(), 1)) % n] = hard.get(i);
        return x;
    }

    static void assertSame(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        int bad = 0, first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i] && !(Float.isNaN(expected[i]) && Float.isNaN(actual[i]))) {
                bad++;
                if (first < 0) first = i;
            }
        }
        if (bad > 0) {
            throw new AssertionError(what + ": " + bad + " of " + expected.length + " values differ, first at " + first
                    + ": vitq " + expected[first] + ", ONNX Runtime " + actual[first]);
        }
    }

    /** Both stored forms of the signed activation codes (int8; uint8 with zero point 128) give vitq's values. */
    @ParameterizedTest
    @EnumSource(OnnxExporter.ActivationCodes.class)
    void uniformPerTensorAllBitWidths(OnnxExporter.ActivationCodes codes) throws Exception {
        for (int bits : new int[] {2, 4, 6, 7, 8, 10, 16}) {
            for (int opset : new int[] {13, 17, 21}) {
                check(bits, opset, codes);
            }
        }
    }

    private static void check(int bits, int opset, OnnxExporter.ActivationCodes codes) throws Exception {
        {
            {
                float s = 0.0123f;
                UniformOperand u = UniformOperand.perTensor(bits, s);
                long n = 4096;
                float[] x = inputs((int) n, 1.2f * s * (1 << (bits - 1)), new float[] {s}, bits, bits);
                UniformQuantizer q = new UniformQuantizer(bits);
                float[] expected = new float[x.length];
                for (int i = 0; i < x.length; i++) expected[i] = q.fakeQuant(x[i], s);
                for (boolean opt : new boolean[] {false, true}) {
                    float[] y = run(opset, new long[] {n}, x, opt, g -> u.toOnnx(new QdqEmitter(g, codes), "x", "u", -1, 1));
                    assertSame("uniform int" + bits + " opset " + opset + " " + codes + (opt ? " optimized" : ""), expected, y);
                }
            }
        }
    }

    /**
     * Asymmetric: uint8 QuantizeLinear/DequantizeLinear with the zero point, a Clip on the codes below 8 bits;
     * zero points at both ends of the code range and inside it, ties and bounds on its own grid.
     */
    @Test
    void asymmetricAllBitWidthsAndZeroPoints() throws Exception {
        for (int bits : new int[] {2, 4, 6, 8}) {
            int top = (1 << bits) - 1;
            for (int z : new int[] {0, 1, top / 3, 1 << (bits - 1), top - 1, top}) {
                float s = 0.0173f;
                AsymmetricOperand a = new AsymmetricOperand(bits, s, z);
                int n = 4096;
                SplittableRandom r = new SplittableRandom(bits * 1000L + z);
                float[] x = new float[n];
                for (int i = 0; i < n; i++) x[i] = (float) r.nextDouble((-z - 4) * s, (top - z + 4) * s);
                int j = 0;
                for (int c = -z - 3; c <= top - z + 3 && j < n - 8; c++) {
                    for (float v : new float[] {(c + 0.5f) * s, c * s, Math.nextUp((c + 0.5f) * s), Math.nextDown((c + 0.5f) * s)})
                        x[j++ * 2 % n] = v;
                }
                float[] expected = new float[n];
                a.fakeQuant("x", 0, x, 0, expected, 0, n);
                for (int opset : new int[] {13, 17, 21})
                    for (boolean opt : new boolean[] {false, true}) {
                        float[] y = run(opset, new long[] {n}, x, opt, g -> a.toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "a", -1, 1));
                        assertSame("asymmetric uint" + bits + " z " + z + " opset " + opset + (opt ? " optimized" : ""), expected, y);
                    }
            }
        }
    }

    /**
     * {@code q}'s ONNX form on a 1-D tensor, at opsets 13 and 21, plain and ORT-optimized, equal to its
     * fake quant bit for bit.
     */
    static void assertOnnxIsFakeQuant(String label, io.vitq.quant.OperandQuant q, float[] x, String scope) throws Exception {
        float[] expected = new float[x.length];
        q.fakeQuant("x", 0, x, 0, expected, 0, x.length);
        for (int opset : new int[] {13, 21})
            for (boolean opt : new boolean[] {false, true}) {
                float[] y = run(opset, new long[] {x.length}, x, opt,
                        g -> q.toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", scope, -1, 1));
                assertSame(label + " opset " + opset + (opt ? " optimized" : ""), expected, y);
            }
    }

    /**
     * Codebook: QuantizeLinear to uint8, a Gather on the 256-entry level table, DequantizeLinear:
     * equal to the fake quant bit for bit (grid ties, the midpoints between levels, both ends).
     */
    @Test
    void codebookThroughItsTable() throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        for (int bits : new int[] {2, 4, 6}) {
            for (int z : new int[] {0, 9, 128, 255}) {
                int[] levels = io.vitq.quant.CodebookOperandTest.randomLevels(r, Math.min(1 << bits, 1 + r.nextInt(1 << bits)));
                float s = 0.0173f;
                io.vitq.quant.CodebookOperand c = new io.vitq.quant.CodebookOperand(bits, s, z, levels,
                        io.vitq.quant.CodebookOperandTest.randomStarts(r, levels));
                float[] x = io.vitq.quant.CodebookOperandTest.inputs(s, z, levels, bits * 10L + z);
                assertOnnxIsFakeQuant("codebook " + bits + " bits z " + z, c, x, "c");
            }
        }
    }

    /**
     * log-sqrt2: its thresholds are geometric, so the logarithm's corrected estimate codes them (2 to
     * 6 bits); then its levels. Equal to the fake quant bit for bit (random probabilities over 24
     * octaves, every threshold and its neighbours, zero, one, negatives, denormals, the largest floats).
     */
    @Test
    void logSqrt2ThroughItsThresholds() throws Exception {
        for (int bits : new int[] {2, 4, 6}) {
            io.vitq.quant.LogSqrt2Operand q = new io.vitq.quant.LogSqrt2Operand(bits, 0.43f);
            float[] thr = q.thresholds();
            assertNotNull(QdqEmitter.LogCodes.fit(thr), "log-sqrt2 " + bits + " bits: geometric thresholds");
            SplittableRandom r = new SplittableRandom(bits);
            float[] x = new float[2000];
            for (int i = 0; i < x.length; i++) x[i] = (float) (0.43f * Math.pow(2, 1 - 25 * r.nextDouble()));
            assertOnnxIsFakeQuant("log-sqrt2 " + bits + " bits", q, withEdges(x, thr, 0f), "l");
        }
    }

    /**
     * AdaLog: the shift added, then its codes and a lookup of its values, equal to the fake quant bit for bit
     * (probabilities, and shifted GELU outputs with every threshold minus the shift and its neighbours,
     * zero, -shift, negatives, denormals, the largest floats). Thresholds that stay normal floats are coded by
     * the logarithm (3, 4, 6 and 8 bits, where QuantizeLinear's saturation at 255 is the last code); those whose
     * smallest underflows (6 bits at base 2^(112/37)) by the binary search.
     */
    @Test
    void adaLogThroughItsThresholds() throws Exception {
        List<io.vitq.quant.AdaLogOperand> cases = new java.util.ArrayList<>();
        for (int bits : new int[] {3, 4, 6})
            for (float shift : new float[] {0f, io.vitq.quant.AdaLogOperand.GELU_SHIFT})
                cases.add(new io.vitq.quant.AdaLogOperand(bits, 10 + 17 * bits, shift == 0 ? 1f : 3.1f, shift));
        cases.add(new io.vitq.quant.AdaLogOperand(6, 20, 4f, io.vitq.quant.AdaLogOperand.GELU_SHIFT));
        cases.add(new io.vitq.quant.AdaLogOperand(8, 12, 5f, io.vitq.quant.AdaLogOperand.GELU_SHIFT));
        int logCoded = 0;
        for (io.vitq.quant.AdaLogOperand q : cases) {
            float[] thr = q.thresholds();
            boolean log = QdqEmitter.LogCodes.fit(thr) != null;
            assertEquals(thr[thr.length - 1] >= 2 * Float.MIN_NORMAL, log, q + ": coded by the logarithm exactly when its thresholds stay normal");
            if (log) logCoded++;
            SplittableRandom r = new SplittableRandom(q.bits());
            float[] x = new float[2000];
            for (int i = 0; i < x.length; i++) x[i] = (float) (q.scale() * Math.pow(2, 1 - 30 * r.nextDouble()) - q.shift());
            assertOnnxIsFakeQuant("adalog " + q.bits() + " bits q " + q.q() + " shift " + q.shift(), q, withEdges(x, thr, q.shift()), "l");
        }
        assertEquals(6, logCoded, "cases of each form");
    }

    /**
     * AdaLog as a Linear's input in the integer form ({@code --integer-linears}): its codes, then the
     * grid code's two components as uint8 DequantizeLinear values, {@code c0 = s & 127} at the grid's
     * step and {@code c1 = s >> 7} at 2^7 steps, each exactly its component times its unit for every
     * input (both code forms, edges included), so that the product of their sum is the integer
     * runtime's (its CodeForm's components); as any other operand the grid's values. The QDQ form and
     * a quantizer without an integer form give AdaLog's levels, its fake quant, in one part.
     */
    @Test
    void adaLogIntegerPartsAreItsGridComponents() throws Exception {
        List<io.vitq.quant.AdaLogOperand> cases = List.of(new io.vitq.quant.AdaLogOperand(4, 30, 3.1f, io.vitq.quant.AdaLogOperand.GELU_SHIFT),
                new io.vitq.quant.AdaLogOperand(6, 20, 4f, io.vitq.quant.AdaLogOperand.GELU_SHIFT),
                new io.vitq.quant.AdaLogOperand(6, 112, 3.1f, io.vitq.quant.AdaLogOperand.GELU_SHIFT),   // binary search
                new io.vitq.quant.AdaLogOperand(3, 61, 1f, 0f));
        for (io.vitq.quant.AdaLogOperand q : cases) {
            float[] thr = q.thresholds();
            SplittableRandom r = new SplittableRandom(q.q());
            float[] x0 = new float[1500];
            for (int i = 0; i < x0.length; i++) x0[i] = (float) (q.scale() * Math.pow(2, 1 - 30 * r.nextDouble()) - q.shift());
            float[] x = withEdges(x0, thr, q.shift());
            int n = x.length;
            // the integer runtime's components of each input (AdaLogGridCodes, through the CodeForm it serves)
            int[] c0 = new int[n], c1 = new int[n];
            assertTrue(q.codeForm("a", 0, 1f, false).encode(x, 0, n, c0, c1, 0), q + ": finite inputs encode");
            int[] grid = q.gridCodes();
            float[][] want = new float[2][n];
            float[] value = new float[n];
            for (int i = 0; i < n; i++) {
                assertEquals(grid[q.code(x[i])], c0[i] + (c1[i] << 7), q + ": the components sum to the code's grid code");
                want[0][i] = c0[i] * q.gridStep();
                want[1][i] = c1[i] * Math.scalb(q.gridStep(), 7);
                value[i] = (c0[i] + (c1[i] << 7)) * q.gridStep();
            }
            // elsewhere (a matmul operand) the integer form is the grid's value itself
            assertSame("adalog " + q.bits() + " bits q " + q.q() + ", integer form's values", value,
                    run(17, new long[] {n}, x, true, g -> q.toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.UINT8, true), "x", "a", -1, 1)));
            for (int part = 0; part < 2; part++) {
                int k = part;
                for (boolean opt : new boolean[] {false, true}) {
                    float[] y = run(17, new long[] {n}, x, opt, g -> {
                        List<String> p = q.toOnnxParts(new QdqEmitter(g, OnnxExporter.ActivationCodes.UINT8, true), "x", "a", -1, 1);
                        assertEquals(2, p.size());
                        return p.get(k);
                    });
                    assertSame("adalog " + q.bits() + " bits q " + q.q() + ", integer part " + k + (opt ? " (optimized)" : ""), want[k], y);
                }
            }
            assertOnePartOfItsLevels(q, false, x);
        }
        io.vitq.quant.AdaLogOperand offGrid = new io.vitq.quant.AdaLogOperand(4, 30, 0.1f, io.vitq.quant.AdaLogOperand.GELU_SHIFT);
        assertTrue(offGrid.codeFormMissing() != null, "a scale below the shift has no grid");
        float[] x = new float[500];
        for (int i = 0; i < x.length; i++) x[i] = (float) (0.1 * Math.pow(2, 1 - 20 * (i / 500.0)) - offGrid.shift());
        assertOnePartOfItsLevels(offGrid, true, withEdges(x, offGrid.thresholds(), offGrid.shift()));
    }

    /** A Linear's AdaLog input in one part, AdaLog's own levels: its fake quant, bit for bit. */
    private static void assertOnePartOfItsLevels(io.vitq.quant.AdaLogOperand q, boolean integerForms, float[] x) throws Exception {
        float[] fq = new float[x.length];
        q.fakeQuant("a", 0, x, 0, fq, 0, x.length);
        float[] y = run(17, new long[] {x.length}, x, true, g -> {
            List<String> p = q.toOnnxParts(new QdqEmitter(g, OnnxExporter.ActivationCodes.UINT8, integerForms), "x", "a", -1, 1);
            assertEquals(1, p.size(), q + ": one part");
            return p.get(0);
        });
        assertSame(q + (integerForms ? ", no integer form" : ", QDQ form") + ": AdaLog's levels", fq, y);
    }

    /**
     * x, then for every threshold t the inputs {@code t - shift} and their neighbouring floats; the
     * estimate's floor (half the smallest threshold) and its neighbours; zero, one, -shift, negatives,
     * denormals, and the largest floats of both signs.
     */
    private static float[] withEdges(float[] x, float[] thr, float shift) {
        float floor = thr[thr.length - 1] / 2;
        float[] edges = {0f, 1f, -shift, -0.25f, Float.MIN_VALUE, 1e-20f, Float.MAX_VALUE, -Float.MAX_VALUE, 3e38f,
                floor - shift, Math.nextUp(floor) - shift, Math.nextDown(floor) - shift, thr[0] * 1.5f - shift, thr[0] * 4f - shift};
        float[] all = java.util.Arrays.copyOf(x, x.length + 3 * thr.length + edges.length);
        int j = x.length;
        for (float t : thr) {
            all[j++] = t - shift;
            all[j++] = Math.nextDown(t - shift);
            all[j++] = Math.nextUp(t - shift);
        }
        for (float v : edges) all[j++] = v;
        return all;
    }

    /**
     * The lookups expand their tables to the input's leading shape at run time: on a rank-4 tensor (an
     * attention map's shape) both code forms and the codebook's table equal the fake quant bit for bit.
     */
    @Test
    void lookupsFollowTheLeadingShape() throws Exception {
        long[] shape = {2, 3, 5, 8};
        SplittableRandom r = new SplittableRandom(4);
        io.vitq.quant.AdaLogOperand log = new io.vitq.quant.AdaLogOperand(4, 30, 1f, 0f);
        io.vitq.quant.AdaLogOperand searched = new io.vitq.quant.AdaLogOperand(6, 112, 1f, 0f);
        assertNotNull(QdqEmitter.LogCodes.fit(log.thresholds()));
        assertEquals(null, QdqEmitter.LogCodes.fit(searched.thresholds()));
        int[] levels = io.vitq.quant.CodebookOperandTest.randomLevels(r, 16);
        io.vitq.quant.CodebookOperand book = new io.vitq.quant.CodebookOperand(4, 0.01f, 0, levels,
                io.vitq.quant.CodebookOperandTest.randomStarts(r, levels));
        for (io.vitq.quant.OperandQuant q : List.of(log, searched, book)) {
            float[] x = new float[240];
            for (int i = 0; i < x.length; i++) x[i] = (float) Math.pow(2, -20 * r.nextDouble());
            float[] expected = new float[x.length];
            q.fakeQuant("x", 0, x, 0, expected, 0, x.length);
            for (boolean opt : new boolean[] {false, true}) {
                float[] y = run(17, shape, x, opt, g -> q.toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "q", -1, 4));
                assertSame(q.summary() + " on " + java.util.Arrays.toString(shape) + (opt ? " optimized" : ""), expected, y);
            }
        }
    }

    /** The logarithm codes geometric thresholds only, within float's range. */
    @Test
    void logCodesFitGeometricThresholdsOnly() {
        assertNotNull(QdqEmitter.LogCodes.fit(new float[] {1f, 0.5f, 0.25f, 0.125f}));
        assertEquals(null, QdqEmitter.LogCodes.fit(new float[] {1f, 0.5f, 0.4f, 0.125f}), "off the sequence by 0.32 of a step");
        assertEquals(null, QdqEmitter.LogCodes.fit(new float[] {1f, 0.5f}), "too few thresholds");
        assertEquals(null, QdqEmitter.LogCodes.fit(new float[] {1f, 0.5f, 0f}), "a threshold at zero");
        assertEquals(null, QdqEmitter.LogCodes.fit(new float[] {0x1p-110f, 0x1p-118f, 0x1p-126f}), "the floor, half the smallest, not a normal float");
        assertEquals(null, QdqEmitter.LogCodes.fit(new float[] {0x1p60f, 1f, 0x1p-60f}), "a range beyond 2^100");
        assertEquals(null, QdqEmitter.LogCodes.fit(new float[] {1f, 0.995f, 0.990025f}), "a step of 0.005");
        QdqEmitter.LogCodes f = QdqEmitter.LogCodes.fit(new float[] {8f, 4f, 2f, 1f});
        assertEquals((float) Math.log(2), f.sigma(), 1e-7f);
        assertEquals(0.5f, f.floor());
    }

    @ParameterizedTest
    @EnumSource(OnnxExporter.ActivationCodes.class)
    void uniformPerHeadOnTheHeadAxis(OnnxExporter.ActivationCodes codes) throws Exception {
        for (int bits : new int[] {8, 6, 10}) {
            for (int opset : new int[] {13, 21}) {
                float[] scales = {0.02f, 0.0031f, 0.5f};
                UniformOperand u = new UniformOperand(bits, Granularity.PER_HEAD, scales);
                long[] shape = {2, H, ROWS, D};
                int n = 2 * H * ROWS * D;
                float[] x = inputs(n, 0.6f * (1 << (bits - 1)) * 0.02f, scales, bits, 7);
                UniformQuantizer q = new UniformQuantizer(bits);
                float[] expected = new float[n];
                for (int i = 0; i < n; i++) expected[i] = q.fakeQuant(x[i], scales[(i / (ROWS * D)) % H]);
                for (boolean opt : new boolean[] {false, true}) {
                    float[] y = run(opset, shape, x, opt, g -> u.toOnnx(new QdqEmitter(g, codes), "x", "u", 1, 4));
                    assertSame("per-head int" + bits + " opset " + opset + " " + codes, expected, y);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(OnnxExporter.ActivationCodes.class)
    void twinSoftmaxBothModes(OnnxExporter.ActivationCodes codes) throws Exception {
        for (TwinSoftmaxQuantizer.Mode mode : TwinSoftmaxQuantizer.Mode.values()) {
            for (int bits : new int[] {8, 6, 4, 10}) {
                for (float split : new float[] {1f, 0x1p-4f, 0x1p-10f}) {
                    TwinSoftmaxOperand t = new TwinSoftmaxOperand(bits, split, mode);
                    TwinSoftmaxQuantizer q = t.quantizer();
                    int n = 1 << 16;
                    SplittableRandom r = new SplittableRandom(bits);
                    float[] x = new float[n];
                    for (int i = 0; i < n; i++) {
                        // probabilities: uniform in [0, 1], and log-uniform down to 2^-24 (the small range)
                        x[i] = i % 2 == 0 ? (float) r.nextDouble() : (float) Math.pow(2, -24 * r.nextDouble());
                    }
                    int L = q.levels();
                    float[] hard = {0f, 1f, split, Math.nextDown(split), Math.nextUp(split), 0.5f / L, 1.5f / L,
                            (L - 0.5f) / L, 0.5f * q.smallStep(), (L - 0.5f) * q.smallStep(), (L + 0.5f) * q.smallStep()};
                    System.arraycopy(hard, 0, x, 0, hard.length);
                    float[] expected = new float[n];
                    for (int i = 0; i < n; i++) expected[i] = q.fakeQuant(x[i]);
                    for (int opset : new int[] {13, 21}) {
                        for (boolean opt : new boolean[] {false, true}) {
                            float[] y = run(opset, new long[] {n}, x, opt, g -> t.toOnnx(new QdqEmitter(g, codes), "x", "t", -1, 1));
                            assertSame("twin softmax " + mode + " int" + bits + " split " + split + " opset " + opset + " " + codes,
                                    expected, y);
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(OnnxExporter.ActivationCodes.class)
    void twinGelu(OnnxExporter.ActivationCodes codes) throws Exception {
        for (int bits : new int[] {8, 6, 4, 10}) {
            for (float pos : new float[] {0.01f, 0.0377f}) {
                TwinGeluOperand t = TwinGeluOperand.withDefaultNegativeStep(bits, pos * 128 / (1 << (bits - 1)));
                // a negative step below the default's, whose low bound GELU's minimum reaches
                TwinGeluOperand fine = new TwinGeluOperand(bits, t.positiveStep(), t.negativeStep() * 0.75f);
                for (TwinGeluOperand op : new TwinGeluOperand[] {t, fine}) {
                    TwinGeluQuantizer q = op.quantizer();
                    int n = 1 << 14;
                    float[] x = inputs(n, 1.1f * (1 << (bits - 1)) * op.positiveStep(), new float[] {op.positiveStep()}, bits, 3);
                    float[] neg = inputs(n, 0.2f, new float[] {op.negativeStep()}, bits, 4);
                    for (int i = 0; i < n; i += 2) x[i] = -Math.abs(neg[i]);  // [-0.2, 0], beyond GELU's minimum too
                    // what GELU can give: nothing below its minimum, which is there too
                    float[] gelu = x.clone();
                    for (int i = 0; i < n; i++) gelu[i] = Math.max(gelu[i], (float) -TwinGeluQuantizer.GELU_MIN_MAGNITUDE);
                    gelu[1] = (float) -TwinGeluQuantizer.GELU_MIN_MAGNITUDE;
                    float[] expected = new float[n], expectedGelu = new float[n];
                    for (int i = 0; i < n; i++) {
                        expected[i] = q.fakeQuant(x[i]);
                        expectedGelu[i] = q.fakeQuant(gelu[i]);
                    }
                    String name = "twin GELU int" + bits + (op == fine ? " (fine negative step)" : "");
                    for (int opset : new int[] {13, 21}) {
                        for (boolean opt : new boolean[] {false, true}) {
                            float[] y = run(opset, new long[] {n}, x, opt, g -> op.toOnnx(new QdqEmitter(g, codes), "x", "t", -1, 1));
                            assertSame(name + " opset " + opset + " " + codes, expected, y);
                            // the two-part form a Linear uses (each range's QDQ value, summed by the product),
                            // exact on GELU's outputs, and beyond its minimum too when that reaches the low bound
                            float[] in = op == fine ? x : gelu, want = op == fine ? expected : expectedGelu;
                            // the integer form's negative range as magnitudes (negated step, zero point 0) too
                            for (boolean integerForms : new boolean[] {false, true}) {
                                float[] sum = run(opset, new long[] {n}, in, opt, g -> {
                                    java.util.List<String> p = op.toOnnxParts(new QdqEmitter(g, codes, integerForms), "x", "t", -1, 1);
                                    return g.node("Add", "t/sum", java.util.List.of(p.get(0), p.get(1)));
                                });
                                assertSame(name + " opset " + opset + ", sum of its two parts" + (integerForms ? ", integer form" : ""), want, sum);
                            }
                        }
                    }
                }
            }
        }
    }

    /** Which nodes carry the quantization: QDQ pairs, Clip only below 8 bits, the emulation only above 8 bits before opset 21. */
    @Test
    void nodeChoices() {
        assertEquals(List.of("QuantizeLinear", "DequantizeLinear"), ops(17, g -> (UniformOperand.perTensor(8, 0.1f)).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "u", -1, 1)));
        // below 8 bits, per tensor: uint8 codes shifted so that saturation is the low clamp, a Clip on the codes the high one
        assertEquals(List.of("QuantizeLinear", "Clip", "DequantizeLinear"), ops(17, g -> (UniformOperand.perTensor(6, 0.1f)).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "u", -1, 1)));
        assertEquals(List.of("Max", "Min", "QuantizeLinear", "DequantizeLinear"), ops(17, g -> (new UniformOperand(6, Granularity.PER_HEAD, new float[] {0.1f, 0.2f, 0.3f})).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "u", 1, 4)));
        assertEquals(List.of("Div", "Round", "Clip", "Mul"), ops(17, g -> (UniformOperand.perTensor(10, 0.1f)).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "u", -1, 1)));
        assertEquals(List.of("Clip", "QuantizeLinear", "DequantizeLinear"), ops(21, g -> (UniformOperand.perTensor(10, 0.1f)).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "u", -1, 1)));
        assertEquals(List.of("QuantizeLinear", "DequantizeLinear", "Mul", "QuantizeLinear", "DequantizeLinear", "Div", "Less", "Where"),
                ops(17, g -> new TwinSoftmaxOperand(8, 0x1p-4f, TwinSoftmaxQuantizer.Mode.CLEAN).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "t", -1, 1)));
        assertEquals(List.of("QuantizeLinear", "DequantizeLinear", "QuantizeLinear", "DequantizeLinear", "Less", "Where"),
                ops(17, g -> TwinGeluOperand.withDefaultNegativeStep(8, 0.01f).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "t", -1, 3)));
        // each range reaches one bound only (Where selects it on its own side of zero): saturation clamps it
        assertEquals(List.of("QuantizeLinear", "DequantizeLinear", "QuantizeLinear", "DequantizeLinear", "Less", "Where"),
                ops(17, g -> TwinGeluOperand.withDefaultNegativeStep(6, 0.01f).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "t", -1, 3)));
        // the two-part form: the negative range clamped at zero by saturation (GELU cannot reach its low
        // bound), the positive one at zero by saturation and at the top by a Clip on the codes
        for (int bits : new int[] {8, 6})
            assertEquals(List.of("QuantizeLinear", "DequantizeLinear", "QuantizeLinear", "Clip", "DequantizeLinear"),
                    ops(17, g -> TwinGeluOperand.withDefaultNegativeStep(bits, 0.01f).toOnnxParts(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "t", -1, 3).get(1)));
        // with a negative step GELU's minimum gets below, that range keeps its low clamp (saturation) and takes a Clip at zero on its codes
        assertEquals(List.of("QuantizeLinear", "Clip", "DequantizeLinear", "QuantizeLinear", "Clip", "DequantizeLinear"),
                ops(17, g -> new TwinGeluOperand(8, 0.01f, 0.001f).toOnnxParts(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "t", -1, 3).get(1)));
        // the integer form stores the negative range as magnitudes: a negated step and zero point 0, so that its
        // uint8 codes stay at or below 2^(k-1) (x86's U8S8 GEMM without VNNI cannot saturate on them); a reachable
        // low bound takes a Clip of the magnitudes
        for (TwinGeluOperand t : new TwinGeluOperand[] {TwinGeluOperand.withDefaultNegativeStep(8, 0.01f), new TwinGeluOperand(8, 0.01f, 0.001f)}) {
            OnnxGraph gi = new OnnxGraph("t", 17);
            t.toOnnxParts(new QdqEmitter(gi, OnnxExporter.ActivationCodes.INT8, true), "x", "t", -1, 3);
            Onnx.NodeProto quantize = gi.proto().getNodeList().get(0);
            assertEquals("t/twin_neg/quantize", quantize.getName());
            assertTrue(OnnxExporterTest.floats(OnnxExporterTest.init(gi.proto(), quantize.getInput(1)))[0] == -t.negativeStep(),
                    quantize.getInput(1));
            assertEquals(0, OnnxExporterTest.init(gi.proto(), quantize.getInput(2)).getRawData().byteAt(0) & 0xff);
            boolean reaches = t.negativeStep() == 0.001f;
            assertEquals(reaches ? List.of("QuantizeLinear", "Clip", "DequantizeLinear") : List.of("QuantizeLinear", "DequantizeLinear"),
                    gi.proto().getNodeList().stream().map(Onnx.NodeProto::getOpType).toList().subList(0, reaches ? 3 : 2));
        }
        // int8 zero points everywhere (QuantizeLinear's output type comes from its zero point)
        OnnxGraph g = new OnnxGraph("t", 17);
        UniformOperand.perTensor(8, 0.1f).toOnnx(new QdqEmitter(g, OnnxExporter.ActivationCodes.INT8), "x", "u", -1, 1);
        assertTrue(g.proto().getInitializerList().stream().anyMatch(t -> t.getDataType() == TensorProto.DataType.INT8.getNumber()
                && t.getDimsCount() == 0));
    }

    static List<String> ops(int opset, Function<OnnxGraph, String> body) {
        OnnxGraph g = new OnnxGraph("t", opset);
        body.apply(g);
        return g.proto().getNodeList().stream().map(Onnx.NodeProto::getOpType).toList();
    }
}
