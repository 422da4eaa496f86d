package io.vitq.quant;

/**
 * A quantizer's integer form for ONNX as lookups of a code (AdaLog's grid components): the code of
 * a value x is the number of thresholds t with {@code fl(x + shift) <= thresholds[t]} (the
 * thresholds non-increasing), and part i is the uint8 code {@code tables[i][code]}, dequantized with
 * step {@code units[i]} and zero point {@code zeroPoints[i]}. The parts' values add up to the
 * integer form's value of x, each a DequantizeLinear output that a product can take as an integer
 * kernel. Written by {@link QdqGraph#thresholdSearchParts}, or by a lookup of the code's own input
 * where the exporter knows that (fc2's input as a function of fc1's output, {@code GeluCodeLookup}).
 */
public record CodeTables(float shift, float[] thresholds, int[][] tables, float[] units, int[] zeroPoints) {

    public CodeTables {
        if (units.length != tables.length || zeroPoints.length != tables.length)
            throw new IllegalArgumentException(tables.length + " tables with " + units.length + " units and " + zeroPoints.length + " zero points");
        for (int t = 1; t < thresholds.length; t++)
            if (!(thresholds[t] <= thresholds[t - 1])) throw new IllegalArgumentException("thresholds not non-increasing at " + t);
        for (int[] table : tables) {
            if (table.length != thresholds.length + 1)
                throw new IllegalArgumentException(table.length + " codes in a table for " + thresholds.length + " thresholds");
            for (int v : table) if (v < 0 || v > 255) throw new IllegalArgumentException("code " + v + " is not a uint8");
        }
        for (int z : zeroPoints) if (z < 0 || z > 255) throw new IllegalArgumentException("zero point " + z + " is not a uint8");
    }

    /** The number of parts. */
    public int partCount() { return tables.length; }

    /** The code of x: the count of thresholds at or above {@code fl(x + shift)} (0 for NaN). */
    public int code(float x) { return ThresholdTable.count(x + shift, thresholds); }

    /** Part i's uint8 code for x. */
    public int part(int i, float x) { return tables[i][code(x)]; }
}
