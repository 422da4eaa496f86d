package io.vitq.quant;

/**
 * Which elements of a tensor share one scale.
 * <ul>
 *   <li>{@link #PER_TENSOR}: one scale.</li>
 *   <li>{@link #PER_OUTPUT_CHANNEL}: one scale per row of an {@code [out, in]} weight (the patch
 *       embedding's conv weight is an {@code [out, C·p·p]} matrix, so this is per out-channel).</li>
 *   <li>{@link #ROW_BLOCKS}: n equal blocks of consecutive rows (qkv's weight: 3 blocks q, k, v of
 *       out/3 rows each, in that order); n is the number of scales.</li>
 *   <li>{@link #PER_HEAD}: one scale per attention head, for matmul operands (see
 *       {@link HeadLayout} and {@link ScaledRanges}).</li>
 * </ul>
 */
public enum Granularity {
    PER_TENSOR("per-tensor"),
    PER_OUTPUT_CHANNEL("per-output-channel"),
    ROW_BLOCKS("row-blocks"),
    PER_HEAD("per-head");

    private final String jsonName;

    Granularity(String jsonName) { this.jsonName = jsonName; }

    /** The name used in plan files. */
    public String jsonName() { return jsonName; }

    /** The granularity with this plan-file name, or null. */
    public static Granularity fromJsonName(String name) {
        for (Granularity g : values()) if (g.jsonName.equals(name)) return g;
        return null;
    }

    /** True for granularities that split a weight by rows. */
    public boolean appliesToRows() { return this != PER_HEAD; }

    /**
     * Checks that {@code scaleCount} scales fit a weight of {@code rows} rows.
     *
     * @throws IllegalArgumentException naming the op when they do not
     */
    public void checkRows(String opId, int scaleCount, int rows) {
        boolean ok = switch (this) {
            case PER_TENSOR -> scaleCount == 1;
            case PER_OUTPUT_CHANNEL -> scaleCount == rows;
            case ROW_BLOCKS -> scaleCount >= 1 && rows % scaleCount == 0;
            case PER_HEAD -> false;
        };
        if (!ok) {
            String expected = switch (this) {
                case PER_TENSOR -> "1 scale";
                case PER_OUTPUT_CHANNEL -> rows + " scales (one per row)";
                case ROW_BLOCKS -> "a number of scales dividing the " + rows + " rows";
                case PER_HEAD -> "a row granularity (per-head applies to matmul operands, not weights)";
            };
            throw new IllegalArgumentException(opId + ": " + jsonName + " weight with " + rows + " rows needs "
                    + expected + ", got " + scaleCount);
        }
    }

    /** Index of the scale that row {@code row} of a {@code rows}-row weight uses (after {@link #checkRows}). */
    public int scaleIndexOfRow(int row, int rows, int scaleCount) {
        return switch (this) {
            case PER_TENSOR -> 0;
            case PER_OUTPUT_CHANNEL -> row;
            case ROW_BLOCKS -> row / (rows / scaleCount);
            case PER_HEAD -> throw new IllegalStateException("per-head scales do not index weight rows");
        };
    }
}
