package io.vitq.export;

import com.google.protobuf.ByteString;
import io.vitq.export.proto.Onnx;
import io.vitq.export.proto.Onnx.AttributeProto;
import io.vitq.export.proto.Onnx.NodeProto;
import io.vitq.export.proto.Onnx.TensorProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small builder for one ONNX graph on top of the protobuf classes compiled from
 * {@code src/main/proto/onnx.proto}: nodes in topological order (callers add them in order),
 * initializers stored as little-endian {@code raw_data}, unique value names, and small constants
 * shared by value. Not thread-safe; one graph per export.
 */
final class OnnxGraph {
    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();
    private final Map<String, String> constants = new HashMap<>();
    /** The node that makes each value: its op type and inputs. */
    private record Producer(String opType, List<String> inputs) {}
    private final Map<String, Producer> producers = new HashMap<>();
    /** The initializers by name. */
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final int opset;

    OnnxGraph(String name, int opset) {
        graph.setName(name);
        this.opset = opset;
    }

    int opset() { return opset; }

    Onnx.GraphProto.Builder proto() { return graph; }

    /** {@code base}, or {@code base_2}, {@code base_3}, ... when the name is taken. */
    String unique(String base) {
        String n = base;
        for (int i = 2; !names.add(n); i++) n = base + "_" + i;
        return n;
    }

    // ---------------------------------------------------------------- nodes

    /** Adds a node with one output named (uniquely) after {@code name}; returns the output name. */
    String node(String opType, String name, List<String> inputs, AttributeProto... attrs) {
        String out = unique(name);
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(opType).setName(out).addAllInput(inputs).addOutput(out);
        for (AttributeProto a : attrs) n.addAttribute(a);
        graph.addNode(n);
        producers.put(out, new Producer(opType, List.copyOf(inputs)));
        return out;
    }

    /**
     * Removes the node that makes {@code value}, which nothing may consume: for a caller that
     * emitted a node and then wrote its consumer in another form. Its inputs stay.
     */
    void remove(String value) {
        for (int i = graph.getNodeCount() - 1; i >= 0; i--) {
            if (!graph.getNode(i).getOutputList().contains(value)) continue;
            for (int j = i + 1; j < graph.getNodeCount(); j++)
                if (graph.getNode(j).getInputList().contains(value))
                    throw new IllegalStateException(value + " is consumed by " + graph.getNode(j).getName());
            graph.removeNode(i);
            producers.remove(value);
            return;
        }
        throw new IllegalArgumentException("no node makes " + value);
    }

    /**
     * Removes the nodes whose outputs nothing reads and the graph does not output, until none is
     * left (what a caller emitted and then wrote its consumer in another form: fc1's GELU where fc2
     * takes its codes from fc1's output, {@link GeluCodeLookup}); returns their names.
     */
    List<String> removeUnreadNodes() {
        Set<String> outputs = new HashSet<>();
        for (Onnx.ValueInfoProto o : graph.getOutputList()) outputs.add(o.getName());
        List<String> removedNames = new java.util.ArrayList<>();
        for (boolean removed = true; removed; ) {
            removed = false;
            Set<String> read = new HashSet<>(outputs);
            for (NodeProto n : graph.getNodeList()) read.addAll(n.getInputList());
            for (int i = graph.getNodeCount() - 1; i >= 0; i--) {
                List<String> out = graph.getNode(i).getOutputList();
                if (out.stream().anyMatch(read::contains)) continue;
                removedNames.add(graph.getNode(i).getName());
                graph.removeNode(i);
                out.forEach(producers::remove);
                removed = true;
            }
        }
        return removedNames;
    }

    /**
     * Removes the initializers that no node reads (those of nodes {@link #remove}d, e.g. a weight's
     * zero point), and forgets them as shared constants, so that a later constant is made anew.
     */
    void removeUnreadInitializers() {
        Set<String> read = new HashSet<>();
        for (NodeProto n : graph.getNodeList()) read.addAll(n.getInputList());
        for (int i = graph.getInitializerCount() - 1; i >= 0; i--) {
            String name = graph.getInitializer(i).getName();
            if (!read.contains(name)) {
                graph.removeInitializer(i);
                initializers.remove(name);
                constants.values().remove(name);
            }
        }
    }

    /** The op type of the node that makes {@code value}, or null (a graph input or an initializer). */
    String producer(String value) {
        Producer p = producers.get(value);
        return p == null ? null : p.opType();
    }

    /** The inputs of the node that makes {@code value} ("" for an omitted optional one), or null (a graph input or an initializer). */
    List<String> producerInputs(String value) {
        Producer p = producers.get(value);
        return p == null ? null : p.inputs();
    }

    /** Initializer {@code name}, or null when {@code name} is not an initializer. */
    TensorProto initializer(String name) { return initializers.get(name); }

    String node(String opType, String name, String input, AttributeProto... attrs) {
        return node(opType, name, List.of(input), attrs);
    }

    static AttributeProto attr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto attr(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    static AttributeProto attrInts(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) a.addInts(v);
        return a.build();
    }

    // ---------------------------------------------------------------- initializers

    /** A float initializer of the given shape (an empty shape is a scalar). */
    String floats(String name, float[] data, long... dims) {
        ByteBuffer b = buffer(4L * data.length);
        b.asFloatBuffer().put(data);
        return initializer(name, TensorProto.DataType.FLOAT, b, data.length, dims);
    }

    String int8s(String name, byte[] data, long... dims) {
        return initializer(name, TensorProto.DataType.INT8, ByteBuffer.wrap(data), data.length, dims);
    }

    String uint8s(String name, byte[] data, long... dims) {
        return initializer(name, TensorProto.DataType.UINT8, ByteBuffer.wrap(data), data.length, dims);
    }

    String int16s(String name, short[] data, long... dims) {
        ByteBuffer b = buffer(2L * data.length);
        b.asShortBuffer().put(data);
        return initializer(name, TensorProto.DataType.INT16, b, data.length, dims);
    }

    String int32s(String name, int[] data, long... dims) {
        ByteBuffer b = buffer(4L * data.length);
        b.asIntBuffer().put(data);
        return initializer(name, TensorProto.DataType.INT32, b, data.length, dims);
    }

    String int64s(String name, long[] data, long... dims) {
        ByteBuffer b = buffer(8L * data.length);
        b.asLongBuffer().put(data);
        return initializer(name, TensorProto.DataType.INT64, b, data.length, dims);
    }

    private static ByteBuffer buffer(long bytes) {
        if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor of " + bytes + " bytes is too large for ONNX");
        return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private String initializer(String name, TensorProto.DataType type, ByteBuffer data, int count, long... dims) {
        long numel = 1;
        for (long d : dims) numel *= d;
        if (numel != count) throw new IllegalStateException(name + ": " + count + " values for shape " + java.util.Arrays.toString(dims));
        String n = unique(name);
        TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(data.rewind()));
        for (long d : dims) t.addDims(d);
        TensorProto built = t.build();
        graph.addInitializer(built);
        initializers.put(n, built);
        return n;
    }

    // ---------------------------------------------------------------- shared constants

    /** A float scalar constant, one initializer per distinct value (compared by bits). */
    String scalar(float v) {
        return constants.computeIfAbsent("f:" + Float.floatToRawIntBits(v), k -> floats("const_" + v, new float[] {v}));
    }

    /** A float constant [values], one initializer per distinct content and shape. */
    String floatConst(String name, float[] values, long... dims) {
        StringBuilder key = new StringBuilder("fv:").append(java.util.Arrays.toString(dims));
        for (float v : values) key.append(',').append(Float.floatToRawIntBits(v));
        return constants.computeIfAbsent(key.toString(), k -> floats(name, values, dims));
    }

    /** An int64 constant, e.g. a shape, axes or an index; a scalar when {@code dims} is empty. */
    String longs(long[] values, long... dims) {
        String key = "i64:" + java.util.Arrays.toString(dims) + java.util.Arrays.toString(values);
        return constants.computeIfAbsent(key, k -> int64s("const_i64_" + java.util.Arrays.toString(values)
                .replaceAll("[\\[\\] ]", "").replace(',', '_'), values, dims));
    }

    /** A zero point of n elements (a scalar when n is 0) of the given integer type. */
    String zeroPoint(TensorProto.DataType type, int n) {
        return constants.computeIfAbsent("zp:" + type + ":" + n, k -> {
            long[] dims = n == 0 ? new long[0] : new long[] {n};
            int len = Math.max(n, 1);
            String name = "zero_point_" + type.name().toLowerCase(java.util.Locale.ROOT) + (n == 0 ? "" : "_x" + n);
            return switch (type) {
                case INT8 -> int8s(name, new byte[len], dims);
                case INT16 -> int16s(name, new short[len], dims);
                default -> throw new IllegalArgumentException("zero point type " + type);
            };
        });
    }

    /** A scalar int8 {@code v}. */
    String int8Scalar(int v) {
        if (v < -128 || v > 127) throw new IllegalArgumentException("int8 scalar " + v);
        return constants.computeIfAbsent("i8:" + v, k ->
                initializer("int8_" + v, TensorProto.DataType.INT8, ByteBuffer.wrap(new byte[] {(byte) v}), 1));
    }

    /** A scalar uint16 {@code v}: a zero point of uint16 codes (opset 21). */
    String uint16Scalar(int v) {
        if (v < 0 || v > 0xFFFF) throw new IllegalArgumentException("uint16 scalar " + v);
        return constants.computeIfAbsent("u16:" + v, k -> {
            ByteBuffer b = buffer(2);
            b.putShort((short) v);
            return initializer("uint16_" + v, TensorProto.DataType.UINT16, b, 1);
        });
    }

    /** A scalar uint8 {@code v}: a zero point, or a clamp bound on uint8 codes. */
    String uint8Scalar(int v) {
        if (v < 0 || v > 255) throw new IllegalArgumentException("uint8 scalar " + v);
        return constants.computeIfAbsent("u8:" + v, k ->
                initializer("uint8_" + v, TensorProto.DataType.UINT8, ByteBuffer.wrap(new byte[] {(byte) v}), 1));
    }
}
