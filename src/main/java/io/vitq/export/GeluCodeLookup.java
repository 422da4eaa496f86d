package io.vitq.export;

import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.quant.CodeTables;
import io.vitq.tensor.VectorMath;

import java.util.ArrayList;
import java.util.List;

import static io.vitq.export.OnnxGraph.attr;

/**
 * fc2's input in ONNX Runtime's deployment form when its quantizer's parts are lookups of a code
 * ({@link CodeTables}: AdaLog's grid components): GELU and the code found by one lookup of fc1's
 * output h instead of computed from GELU(h). h is quantized to a 16-bit grid (QuantizeLinear to
 * uint16, opset 21) spanning the h where the code changes, and each part read from a table of the
 * part's code at every grid point, {@code tables[i][code(gelu(h_k))]} with vitq's GELU. Four passes
 * over fc1's output (QuantizeLinear, Cast, two GatherElements) replace about fourteen (the GELU,
 * the shift, the logarithm's estimate and its correction, three lookups).
 *
 * <p>Not exact: an h within half a grid step of a code boundary can take the neighbouring code,
 * where the other forms compute GELU(h) itself (docs/LOWBIT.md 3.3 measures it). So only the
 * deployment form uses it, as it leaves the attention float.
 */
final class GeluCodeLookup {
    /** The first opset whose QuantizeLinear writes uint16 codes. */
    static final int MIN_OPSET = 21;
    /** Grid points: every uint16. */
    static final int POINTS = 1 << 16;
    /** GELU's minimum is at h = -0.7518: the code is monotone in h on either side of it. */
    private static final double GELU_ARGMIN = -0.7517916;

    private GeluCodeLookup() {}

    /** The grid: point k stands for {@code h_k = fl((k - zero) step)}. */
    record Grid(float step, int zero) {
        float point(int k) { return (k - zero) * step; }

        /** The point ONNX's QuantizeLinear takes h to: {@code clamp(rint(h / step) + zero, 0, 65535)}. */
        int index(float h) {
            double k = Math.rint(h / step) + zero;
            return (int) Math.max(0, Math.min(POINTS - 1, k));
        }
    }

    /**
     * The grid for {@code t}: from just below the smallest to just above the largest h at which
     * {@code code(gelu(h))} changes, so that every h beyond it has the end point's code.
     */
    static Grid grid(CodeTables t) {
        int below = t.code(VectorMath.gelu(-1e4f)), above = t.code(VectorMath.gelu(1e30f));
        // the right branch (h above GELU's minimum, GELU increasing): the last change, by bisection
        double lo = GELU_ARGMIN, hi = 1;
        while (t.code(VectorMath.gelu((float) hi)) != above && hi < 1e30) hi *= 2;
        double right = t.code(VectorMath.gelu((float) lo)) == above ? lo : boundary(t, lo, hi, above);
        // the left branch (GELU decreasing towards 0 as h falls): the first change
        double left = t.code(VectorMath.gelu((float) GELU_ARGMIN)) == below ? GELU_ARGMIN : boundary(t, GELU_ARGMIN, -1e4, below);
        double span = Math.max(right, 0) - left;
        // a few points beyond each end, so that the end points hold the constant codes
        float step = (float) (span / (POINTS - 9));
        int zero = (int) Math.rint(-left / step) + 4;
        return new Grid(step, zero);
    }

    /**
     * Bisection between {@code from} (code other than {@code constant}) and {@code to} (code
     * {@code constant}, the side where it stays): the boundary's position on the {@code from} side.
     */
    private static double boundary(CodeTables t, double from, double to, int constant) {
        for (int i = 0; i < 200 && from != to; i++) {
            double mid = (from + to) / 2;
            if (mid == from || mid == to) break;
            if (t.code(VectorMath.gelu((float) mid)) == constant) to = mid;
            else from = mid;
        }
        return from;
    }

    /** Part i's table: its uint8 code at every grid point. */
    static byte[] table(CodeTables t, Grid grid, int part) {
        byte[] b = new byte[POINTS];
        for (int k = 0; k < POINTS; k++) b[k] = (byte) t.part(part, VectorMath.gelu(grid.point(k)));
        return b;
    }

    /**
     * The parts of {@code t} for {@code gelu(h)}, each a DequantizeLinear of uint8 codes: h quantized
     * to the grid, each part's table read at that point (GatherElements on the flattened indices:
     * ONNX Runtime's Gather of a 1-D table ran 5-7 times slower here, docs/BENCHMARKS.md).
     */
    static List<String> parts(OnnxGraph g, String h, CodeTables t, String scope) {
        if (g.opset() < MIN_OPSET) throw new IllegalStateException(scope + ": uint16 codes need opset " + MIN_OPSET);
        Grid grid = grid(t);
        String q = g.node("QuantizeLinear", scope + "/grid", List.of(h, g.scalar(grid.step()), g.uint16Scalar(grid.zero())));
        String index = g.node("Cast", scope + "/grid_index", q, attr("to", (long) TensorProto.DataType.INT32.getNumber()));
        String flat = g.node("Reshape", scope + "/grid_flat", List.of(index, g.longs(new long[] {1, -1}, 2)));
        String shape = g.node("Shape", scope + "/shape", h);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < t.parts(); i++) {
            String part = scope + "/component" + i;
            String table = g.uint8s(part + "/gelu_table", table(t, grid, i), 1, POINTS);
            String codes = g.node("GatherElements", part + "/flat", List.of(table, flat), attr("axis", 1L));
            String shaped = g.node("Reshape", part, List.of(codes, shape));
            parts.add(g.node("DequantizeLinear", part + "/dequantize", List.of(shaped, g.scalar(t.units()[i]), g.uint8Scalar(t.zeroPoints()[i]))));
        }
        return parts;
    }
}
