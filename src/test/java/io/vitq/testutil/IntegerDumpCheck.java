package io.vitq.testutil;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vitq.io.RawTensor;
import io.vitq.io.SafeTensors;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Recomputes every op of a {@code vitq dump} file from its codes and steps alone, as
 * docs/INTEGER_LAYOUT.md tells a hardware engineer to: decode the stored codes, sum integer
 * products in long, dequantize with plain float (or double) arithmetic. No vitq kernel,
 * quantizer or executor is used; the file is read as bytes. Every sum and every output must equal
 * the dumped one bit for bit.
 */
public final class IntegerDumpCheck {
    private static final ObjectMapper JSON = new ObjectMapper();

    private IntegerDumpCheck() {}

    /** What was checked. */
    public record Counts(int linears, int matmuls, long sums, long outputs) {}

    public static Counts verify(Path file) throws Exception {
        SafeTensors st = SafeTensors.read(file);
        Map<String, String> meta = st.metadata();
        assertEquals("vitq-integer-dump/1", meta.get("format"));
        int images = Integer.parseInt(meta.get("images"));
        int linears = 0, matmuls = 0;
        long sums = 0, outputs = 0;
        for (Map.Entry<String, String> e : meta.entrySet()) {
            if (!e.getValue().startsWith("{")) continue;
            String id = e.getKey();
            JsonNode op = JSON.readTree(e.getValue());
            long[] n = switch (op.get("kind").asText()) {
                case "linear" -> linear(st, id, op, images);
                case "matmul1", "matmul2" -> matmul(st, id, op, images);
                default -> throw new AssertionError(id + ": unknown kind " + op.get("kind"));
            };
            if (op.get("kind").asText().equals("linear")) linears++;
            else matmuls++;
            sums += n[0];
            outputs += n[1];
        }
        // a ViT's logits are the head's output (no activation or residual after it; a distilled
        // DeiT averages two heads)
        if (st.has("logits") && st.has("head.output") && !st.has("head_dist.output")) {
            float[] logits = floats(st, "logits"), head = floats(st, "head.output");
            assertEquals(logits.length, head.length, "logits");
            for (int i = 0; i < logits.length; i++) sameBits(head[i], logits[i], "logits[" + i + "] against head.output");
        }
        return new Counts(linears, matmuls, sums, outputs);
    }

    // ---- reading ----

    private static ByteBuffer bytes(RawTensor t) { return t.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN); }

    /** Integer values of an I8 / U8 / I16 / I32 / I64 tensor. */
    static long[] ints(SafeTensors st, String name) {
        RawTensor t = st.get(name);
        ByteBuffer b = bytes(t);
        long[] v = new long[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (t.dtype()) {
                case I8 -> b.get();
                case U8 -> b.get() & 0xFF;
                case I16 -> b.getShort();
                case I32 -> b.getInt();
                case I64 -> b.getLong();
                default -> throw new AssertionError(name + ": " + t.dtype() + " is not an integer type");
            };
        }
        return v;
    }

    static float[] floats(SafeTensors st, String name) {
        RawTensor t = st.get(name);
        assertEquals(io.vitq.io.DType.F32, t.dtype(), name);
        float[] v = new float[(int) t.numel()];
        bytes(t).asFloatBuffer().get(v);
        return v;
    }

    /** Stored codes to the fine (index 0) and coarse (index 1) code of each element. */
    static long[][] decode(long[] stored, JsonNode layout) {
        String kind = layout.get("layout").asText();
        int bits = layout.get("bits").asInt();
        long[] c0 = new long[stored.length], c1 = new long[stored.length];
        long flag = 1L << (bits - 1);
        for (int i = 0; i < stored.length; i++) {
            long c = stored[i];
            switch (kind) {
                case "signed", "unsigned" -> c0[i] = c;
                case "twin-gelu" -> {
                    if ((c & flag) != 0) c1[i] = c & (flag - 1);
                    else c0[i] = -c;
                }
                case "twin-softmax" -> {
                    if ((c & flag) != 0) c1[i] = c & (flag - 1);
                    else c0[i] = c;
                }
                case "adalog-grid" -> { // the grid code s = c0 + c1 2^m, c0 = s mod 2^m
                    int m = layout.get("shift").asInt();
                    c0[i] = c & ((1L << m) - 1);
                    c1[i] = c >> m;
                }
                default -> throw new AssertionError("unknown layout " + kind);
            }
        }
        return new long[][] {c0, c1};
    }

    /** The operand of the sums: one sum of c0 (INT8), of c0 + c1 * 2^m (SHIFT); null for the split sums. */
    static long[] operand(long[][] c, String form, JsonNode layout) {
        return switch (form) {
            case "SHIFT" -> {
                int m = layout.get("shift").asInt();
                long[] v = new long[c[0].length];
                for (int i = 0; i < v.length; i++) v[i] = c[0][i] + (c[1][i] << m);
                yield v;
            }
            default -> c[0];
        };
    }

    /** The shift form's premise: the coarse step is exactly 2^m fine steps. */
    private static void checkShift(String id, float coarse, float fine, JsonNode layout) {
        int m = layout.get("shift").asInt();
        assertTrue(m >= 0, id + ": shift form without a shift");
        assertEquals(Math.scalb(fine, m), coarse, id + ": coarse step is 2^" + m + " fine steps");
    }

    /**
     * Each weight code within what the layout says: signed {@code weight_bits} codes, or an asymmetric
     * row's {@code q - z} in {@code [-z, 2^bits - 1 - z]} with z from {@code weight_zero_point}.
     */
    private static void checkWeightCodeRange(SafeTensors st, String id, JsonNode op, long[] w, int out, int in) {
        int bits = op.get("weight_bits").asInt();
        String kind = op.get("weight_codes").asText();
        long[] z = kind.equals("signed") ? null : ints(st, id + ".weight_zero_point");
        if (z == null) assertEquals("signed", kind, id + ": weight_codes");
        else assertEquals(out, z.length, id + ".weight_zero_point");
        for (int j = 0; j < out; j++) {
            long lo = z == null ? -(1L << (bits - 1)) : -z[j], hi = z == null ? (1L << (bits - 1)) - 1 : (1L << bits) - 1 - z[j];
            for (int k = 0; k < in; k++)
                if (w[j * in + k] < lo || w[j * in + k] > hi)
                    fail(id + ".weight[" + j + "][" + k + "] = " + w[j * in + k] + " outside [" + lo + ", " + hi + "]");
        }
    }

    private static void sameBits(float expected, float actual, String where) {
        if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual))
            fail(where + ": dumped " + actual + ", recomputed " + expected);
    }

    // ---- Linear: y[r][j] = cs1[j] * (acc1 - z sum_k w[j][k]) + cs2[j] * acc2 + bias[j] ----

    private static long[] linear(SafeTensors st, String id, JsonNode op, int images) {
        String form = op.get("form").asText();
        int rows = op.get("rows").asInt(), in = op.get("in").asInt(), out = op.get("out").asInt();
        JsonNode layout = op.get("input");
        boolean twoSums = op.get("sums").asText().equals("fine and coarse");
        long z = layout.has("zero_point") ? layout.get("zero_point").asLong() : 0;
        long[][] c = decode(ints(st, id + ".input"), layout);
        assertEquals((long) images * rows * in, c[0].length, id + ".input");
        long[] a = operand(c, form, layout);
        long[] w = ints(st, id + ".weight");
        assertEquals((long) out * in, w.length, id + ".weight");
        checkWeightCodeRange(st, id, op, w, out, in);
        float[] inStep = floats(st, id + ".input_step"), wStep = floats(st, id + ".weight_step");
        if (form.equals("SHIFT")) checkShift(id, inStep[1], inStep[0], layout);
        float[] bias = op.get("bias").asBoolean() ? floats(st, id + ".bias") : null;
        long[] acc = ints(st, id + ".acc"), accC = twoSums ? ints(st, id + ".acc_coarse") : null;
        float[] y = floats(st, id + ".output");
        assertEquals((long) images * rows * out, y.length, id + ".output");
        assertEquals(y.length, acc.length, id + ".acc");
        long[] corr = new long[out];
        for (int j = 0; j < out; j++) {
            long s = 0;
            for (int k = 0; k < in; k++) s += w[j * in + k];
            corr[j] = z * s;
        }
        for (int r = 0; r < images * rows; r++) {
            for (int j = 0; j < out; j++) {
                long s1 = 0, s2 = 0;
                for (int k = 0; k < in; k++) {
                    s1 += a[r * in + k] * w[j * in + k];
                    if (twoSums) s2 += c[1][r * in + k] * w[j * in + k];
                }
                int o = r * out + j;
                if (s1 != acc[o]) fail(id + ".acc[" + r + "][" + j + "]: dumped " + acc[o] + ", recomputed " + s1);
                if (twoSums && s2 != accC[o]) fail(id + ".acc_coarse[" + r + "][" + j + "]: dumped " + accC[o] + ", recomputed " + s2);
                float cs1 = inStep[0] * wStep[j];
                float v;
                if (form.equals("WIDE")) {
                    double d = (double) cs1 * (s1 - corr[j]);
                    if (twoSums) d += (double) (inStep[1] * wStep[j]) * s2;
                    v = (float) d;
                } else {
                    v = cs1 * (float) (int) (s1 - corr[j]);
                    if (twoSums) v = v + (inStep[1] * wStep[j]) * (float) (int) s2;
                }
                if (bias != null) v = v + bias[j];
                sameBits(v, y[o], id + ".output[" + r + "][" + j + "]");
            }
        }
        return new long[] {(long) images * rows * out * (twoSums ? 2 : 1), y.length};
    }

    // ---- attention: matmul1 S = Δq Δk (q . k^T); matmul2 O = c1 acc1 (+ c2 acc2) ----

    private static long[] matmul(SafeTensors st, String id, JsonNode op, int images) {
        boolean first = op.get("kind").asText().equals("matmul1");
        String form = op.get("form").asText();
        int G = op.get("groups").asInt(), H = op.get("heads").asInt(), T = op.get("tokens").asInt(), d = op.get("head_dim").asInt();
        boolean twoSums = op.get("sums").asText().equals("fine and coarse");
        long[][] ca = decode(ints(st, id + ".a"), op.get("a"));
        long[] a = operand(ca, form, op.get("a"));
        long[] b = decode(ints(st, id + ".b"), op.get("b"))[0];
        float[] aStep = floats(st, id + ".a_step"), bStep = floats(st, id + ".b_step");
        int ca0 = aStep.length / H;
        if (form.equals("SHIFT")) for (int h = 0; h < H; h++) checkShift(id, aStep[h * ca0 + 1], aStep[h * ca0], op.get("a"));
        long[] acc = ints(st, id + ".acc"), accC = twoSums ? ints(st, id + ".acc_coarse") : null;
        float[] y = floats(st, id + ".output");
        int K = first ? d : T, N = first ? T : d;
        long sums = 0;
        for (int img = 0; img < images; img++) {
            for (int g = 0; g < G; g++) {
                for (int h = 0; h < H; h++) {
                    int head = (img * G + g) * H + h, aOff = head * T * K, bOff = head * T * d, oOff = head * T * N;
                    for (int i = 0; i < T; i++) {
                        for (int j = 0; j < N; j++) {
                            long s1 = 0, s2 = 0;
                            for (int k = 0; k < K; k++) {
                                // matmul1: b is k (T x d), read row j; matmul2: b is v (T x d), read column j
                                long bv = first ? b[bOff + j * d + k] : b[bOff + k * d + j];
                                s1 += a[aOff + i * K + k] * bv;
                                if (twoSums) s2 += ca[1][aOff + i * K + k] * bv;
                            }
                            int o = oOff + i * N + j;
                            if (s1 != acc[o]) fail(id + ".acc at image " + img + " group " + g + " head " + h + " [" + i + "][" + j
                                    + "]: dumped " + acc[o] + ", recomputed " + s1);
                            if (twoSums && s2 != accC[o]) fail(id + ".acc_coarse [" + i + "][" + j + "]: dumped " + accC[o] + ", recomputed " + s2);
                            float v;
                            if (first) {
                                float unit = aStep[h * ca0] * bStep[h];
                                v = form.equals("WIDE") ? (float) ((double) unit * s1) : unit * (float) (int) s1;
                            } else if (form.equals("WIDE")) {
                                double r = (double) aStep[h * ca0] * bStep[h] * s1;
                                if (twoSums) r += (double) aStep[h * ca0 + 1] * bStep[h] * s2;
                                v = (float) r;
                            } else {
                                v = (aStep[h * ca0] * bStep[h]) * (float) (int) s1;
                                if (twoSums) v = v + (aStep[h * ca0 + 1] * bStep[h]) * (float) (int) s2;
                            }
                            sameBits(v, y[o], id + ".output at image " + img + " group " + g + " head " + h + " [" + i + "][" + j + "]");
                        }
                    }
                    sums += (long) T * N * (twoSums ? 2 : 1);
                }
            }
        }
        assertTrue(y.length == (long) images * G * H * T * N, id + ".output shape");
        return new long[] {sums, y.length};
    }
}
