package io.vitq.export;

import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.quant.CodeTables;
import io.vitq.tensor.VectorMath;

import java.util.ArrayList;
import java.util.List;

import static io.vitq.export.OnnxGraph.attr;

/**
 * fc2's input in the integer-Linear form ({@code --integer-linears}, ONNX Runtime's deployment form)
 * at opset 21, when its quantizer's parts are lookups of a code ({@link CodeTables}: AdaLog's grid
 * components): GELU and the code found by one lookup of fc1's output h instead of computed from
 * GELU(h). h is quantized to a 16-bit grid (QuantizeLinear to uint16, which opset 21 added)
 * spanning the h where the code changes, and each part read from a table of the part's code at
 * every grid point, {@code tables[i][code(gelu(h_k))]} with vitq's GELU. Four passes over fc1's
 * output (QuantizeLinear, Cast, two GatherElements) replace about fourteen (the GELU, the shift,
 * the logarithm's estimate and its correction, three lookups).
 *
 * <p>Not exact: an h within half a grid step of a code boundary can take the neighbouring code,
 * where the other forms compute GELU(h) itself (docs/LOWBIT.md 3.3 measures it); {@code --opset 17}
 * keeps the exact codes. A non-finite h takes an end point's code.
 */
final class GeluCodeLookup {
    /** The first opset whose QuantizeLinear writes uint16 codes. */
    static final int MIN_OPSET = 21;
    /** Grid points: every uint16. */
    static final int POINTS = 1 << 16;
    /** GELU's minimum is at h = -0.7518: the code is monotone in h on either side of it. */
    private static final double GELU_ARGMIN = -0.7517916;
    /**
     * The lookup's rows: ONNX Runtime runs a GatherElements row on one thread, so the flattened
     * index is cut into this many rows (fewer where h's width has fewer factors of two), each
     * reading its own copy of the table (docs/BENCHMARKS.md: one row 1.00x of ONNX Runtime float on
     * ViT-Ti W4A4, 2 to 32 rows 1.16-1.26x).
     */
    static final int ROWS = 8;
    /** The name of the grid's QuantizeLinear after the Linear's id: {@code fc2/input/grid}. */
    static final String GRID_NODE = "/input/grid";
    /** Where the search for the last code change gives up (the grid would be too coarse to help). */
    private static final double SEARCH_LIMIT = 1e6;

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
     * {@code code(gelu(h))} changes, so that every h beyond it has the end point's code; null when
     * the last change lies beyond {@link #SEARCH_LIMIT} (a scale of that order: the caller keeps the
     * computed codes).
     */
    static Grid grid(CodeTables t) {
        int below = code(t, -1e4), above = code(t, 1e30);
        // the right branch (h above GELU's minimum, GELU increasing): the last change, by bisection
        double hi = 1;
        while (code(t, hi) != above) {
            if ((hi *= 2) > SEARCH_LIMIT) return null;
        }
        double right = code(t, GELU_ARGMIN) == above ? GELU_ARGMIN : boundary(t, GELU_ARGMIN, hi, above);
        // the left branch (GELU rising towards 0 as h falls): the first change
        double left = code(t, GELU_ARGMIN) == below ? GELU_ARGMIN : boundary(t, GELU_ARGMIN, -1e4, below);
        // the grid spans 0 too, so that the zero point (the index of h = 0) stays a uint16
        double span = Math.max(right, 0) - left;
        // a few points beyond each end, so that the end points hold the constant codes
        float step = (float) (span / (POINTS - 9));
        int zero = (int) Math.rint(-left / step) + 4;
        return new Grid(step, zero);
    }

    private static int code(CodeTables t, double h) { return t.code(VectorMath.gelu((float) h)); }

    /**
     * Bisection between {@code from} (code other than {@code constant}) and {@code to} (code
     * {@code constant}, the side where it stays): the boundary's position on the {@code from} side.
     */
    private static double boundary(CodeTables t, double from, double to, int constant) {
        for (int i = 0; i < 200; i++) {
            double mid = (from + to) / 2;
            if (mid == from || mid == to) break;
            if (code(t, mid) == constant) to = mid;
            else from = mid;
        }
        return from;
    }

    /** {@link #ROWS}, or the largest power of two below it that divides {@code width}, so that any batch and token count divide. */
    static int rows(int width) {
        int r = ROWS;
        while (width % r != 0) r /= 2;
        return r;
    }

    /** Each part's table: its uint8 code at every grid point. */
    static byte[][] tables(CodeTables t, Grid grid) {
        byte[][] b = new byte[t.partCount()][POINTS];
        for (int k = 0; k < POINTS; k++) {
            int c = code(t, grid.point(k));
            for (int i = 0; i < b.length; i++) b[i][k] = (byte) t.tables()[i][c];
        }
        return b;
    }

    /**
     * The parts of {@code t} for {@code gelu(h)}, h's last axis {@code width} wide, each a
     * DequantizeLinear of uint8 codes: h quantized to the grid, each part's table read at that point
     * (GatherElements of the index cut into {@link #rows} rows, the table expanded to as many: ONNX
     * Runtime's Gather of a 1-D table ran 6.5 times slower, docs/BENCHMARKS.md); null where
     * {@link #grid} finds none. The nodes are named after the consuming Linear {@code opId}'s input,
     * the grid's QuantizeLinear {@code opId + }{@link #GRID_NODE} (how {@code OnnxExporter.lookedUpInputs} finds them).
     */
    static List<String> parts(OnnxGraph g, String h, int width, CodeTables t, String opId) {
        String scope = opId + "/input";
        if (g.opset() < MIN_OPSET) throw new IllegalStateException(scope + ": uint16 codes need opset " + MIN_OPSET);
        Grid grid = grid(t);
        if (grid == null) return null;
        int rows = rows(width);
        String q = g.node("QuantizeLinear", opId + GRID_NODE, List.of(h, g.scalar(grid.step()), g.uint16Scalar(grid.zero())));
        String index = g.node("Cast", scope + "/grid_index", q, attr("to", (long) TensorProto.DataType.INT32.getNumber()));
        String cut = g.node("Reshape", scope + "/grid_rows", List.of(index, g.longs(new long[] {rows, -1}, 2)));
        String shape = g.node("Shape", scope + "/shape", h);
        byte[][] tables = tables(t, grid);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < t.partCount(); i++) {
            String part = scope + "/component" + i;
            String table = g.uint8s(part + "/gelu_table", tables[i], 1, POINTS);
            String copies = g.node("Expand", part + "/gelu_table_rows", List.of(table, g.longs(new long[] {rows, POINTS}, 2)));
            String codes = g.node("GatherElements", part + "/rows", List.of(copies, cut), attr("axis", 1L));
            String shaped = g.node("Reshape", part, List.of(codes, shape));
            parts.add(g.node("DequantizeLinear", part + "/dequantize", List.of(shaped, g.scalar(t.units()[i]), g.uint8Scalar(t.zeroPoints()[i]))));
        }
        return parts;
    }
}
