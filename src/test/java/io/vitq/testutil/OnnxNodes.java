package io.vitq.testutil;

import io.vitq.export.proto.Onnx;

import java.util.HashMap;
import java.util.Map;

/** Node counts of an exported ONNX graph, for the tests of its forms. */
public final class OnnxNodes {
    private OnnxNodes() {}

    /**
     * The {@code MatMul} nodes whose two inputs are {@code DequantizeLinear} outputs: the products of
     * the QDQ form, which a runtime can fuse into an integer kernel.
     */
    public static long qdqProducts(Onnx.ModelProto m) {
        Map<String, String> producer = new HashMap<>();
        for (Onnx.NodeProto n : m.getGraph().getNodeList()) for (String o : n.getOutputList()) producer.put(o, n.getOpType());
        return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("MatMul")
                && n.getInputList().stream().allMatch(i -> "DequantizeLinear".equals(producer.get(i)))).count();
    }
}
