package io.vitq.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vitq.model.Linear;
import io.vitq.quant.CodePairs;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Tensor;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Weight codes below 8 bits packed into bytes for the quantized model file (format version 4): each
 * row's codes, as their distance from the row's lowest code ({@code code - minCode}, 0 to 2^k - 1, so
 * symmetric and asymmetric rows pack alike), k bits each, the first code in the lowest bits of the
 * row's first byte; each row starts on a byte, and the bits after its last code are zero. A 4-bit
 * weight takes half the bytes of its I8 codes, a 6-bit one three quarters. A weight with a table of
 * levels ({@link UniformOperand#levels()}, format version 6) packs each code's index in the table instead,
 * and one on a table of code pairs ({@link UniformOperand#pairs()}, format version 7) each pair's 2k-bit
 * index in its table, for columns 0 and 1, 2 and 3, ...: the same bits per row.
 */
public final class CodePacking {
    private CodePacking() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether codes of this width are packed (8 bits fill their bytes already; wider ones are I16). */
    public static boolean packs(int bits) { return bits < 8; }

    /** The packed tensor's shape: {@code [rows, ceil(cols bits / 8)]}. */
    static int[] packedShape(int rows, int cols, int bits) {
        return new int[] {rows, (int) (((long) cols * bits + 7) / 8)};
    }

    /** One Linear weight's codes, packed by rows. */
    static SafeTensors.Entry pack(Linear op, UniformOperand wq, Tensor weight) {
        int rows = op.out(), cols = op.in(), bits = wq.bits(), n = wq.scaleCount();
        byte[] codes = ScaledRanges.codesRows(wq, op.id(), weight.data(), rows, cols);
        int[] shape = packedShape(rows, cols, bits);
        byte[] packed = new byte[shape[0] * shape[1]];
        CodePairs pairs = wq.pairs();
        for (int r = 0; r < rows; r++) {
            int lowest = wq.quantizer(wq.granularity().scaleIndexOfRow(r, rows, n)).minCode();
            long bit = (long) r * shape[1] * 8;
            if (pairs != null) {
                for (int c = 0; c < cols; c += 2, bit += 2 * bits)
                    put(packed, bit, 2 * bits, pairs.indexOf(codes[r * cols + c], codes[r * cols + c + 1]));   // 0 .. 2^(2 bits) - 1
            } else {
                for (int c = 0; c < cols; c++, bit += bits)
                    put(packed, bit, bits, wq.hasLevels() ? wq.levelIndex(codes[r * cols + c]) : codes[r * cols + c] - lowest);   // 0 .. 2^bits - 1
            }
        }
        return SafeTensors.Entry.u8(packed, shape);
    }

    /** Sets the {@code width} low bits of {@code u} at bit {@code bit} of {@code packed}, lowest first (the bits there are 0). */
    private static void put(byte[] packed, long bit, int width, int u) {
        for (int b = 0; b < width; b++)
            if ((u >>> b & 1) != 0) packed[(int) ((bit + b) >>> 3)] |= (byte) (1 << ((bit + b) & 7));
    }

    /** The {@code width} bits at bit {@code bit} of {@code packed}, lowest first. */
    private static int get(byte[] packed, long bit, int width) {
        int u = 0;
        for (int b = 0; b < width; b++) u |= ((packed[(int) ((bit + b) >>> 3)] >>> ((bit + b) & 7)) & 1) << b;
        return u;
    }

    /**
     * Row {@code r}'s codes ({@code unpacked + lowest}, {@code levels[unpacked]} when {@code levels} is not
     * null, or the pair {@code unpacked} of two columns when {@code pairs} is not null) into
     * {@code out[r cols ..]} as floats; null, or what is wrong with the row's bytes (bits set after its last
     * code, an index past the table).
     */
    static String unpackRow(byte[] packed, int r, int cols, int bits, int lowest, int[] levels, CodePairs pairs, float[] out) {
        int rowBytes = packedShape(1, cols, bits)[1];
        long base = (long) r * rowBytes * 8, bit = base;
        if (pairs != null) {
            for (int c = 0; c < cols; c += 2, bit += 2 * bits) {
                int u = get(packed, bit, 2 * bits);
                if (u >= pairs.size()) return "index " + u + " at columns " + c + " and " + (c + 1) + " is past its " + pairs.size()
                        + " pairs (a damaged file)";
                out[r * cols + c] = pairs.first(u);
                out[r * cols + c + 1] = pairs.second(u);
            }
        } else {
            for (int c = 0; c < cols; c++, bit += bits) {
                int u = get(packed, bit, bits);
                if (levels != null && u >= levels.length)
                    return "index " + u + " at column " + c + " is past its " + levels.length + " levels (a damaged file)";
                out[r * cols + c] = levels != null ? levels[u] : u + lowest;
            }
        }
        for (long b = bit; b < base + rowBytes * 8L; b++)
            if (((packed[(int) (b >>> 3)] >>> (b & 7)) & 1) != 0)
                return "bit " + (b - base) + " after its " + cols + " codes is set (a damaged file)";
        return null;
    }

    /** {@code {"name": [dims], ...}}: the metadata entry of the packed tensors' weight shapes. */
    static String shapesJson(Map<String, int[]> shapes) {
        ObjectNode o = JSON.createObjectNode();
        shapes.forEach((name, shape) -> {
            ArrayNode a = o.putArray(name);
            for (int d : shape) a.add(d);
        });
        return o.toString();
    }

    /** The packed tensors' weight shapes from their metadata entry; {@code where} names it in errors. */
    static Map<String, int[]> parseShapes(String json, String where) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new CheckpointException(where + ": not JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject() || root.isEmpty())
            throw new CheckpointException(where + ": expected an object of tensor names and shapes");
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode a = e.getValue();
            if (!a.isArray() || a.size() < 2)
                throw new CheckpointException(where + ": '" + e.getKey() + "' is " + a + ", expected a weight shape [out, in, ...]");
            int[] shape = new int[a.size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = a.get(i);
                if (!d.canConvertToInt() || !d.isIntegralNumber() || d.asInt() < 1)
                    throw new CheckpointException(where + ": '" + e.getKey() + "' has dimension " + d + ", expected a positive integer");
                shape[i] = d.asInt();
            }
            shapes.put(e.getKey(), shape);
        }
        return shapes;
    }
}
