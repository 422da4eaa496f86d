/**
 * ONNX export ({@code vitq export}): a ViT/DeiT or Swin model, float or quantized with its plan,
 * as a standard ONNX graph; {@link io.vitq.export.OnnxExporter} is the entry point.
 *
 * <p><b>File format.</b> The ONNX protobuf messages vitq writes (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto,
 * OperatorSetIdProto, StringStringEntryProto) are declared in {@code src/main/proto/onnx.proto}
 * with the official schema's field names and numbers, and compiled by the build with protoc
 * ({@code com.google.protobuf:protoc}, the per-platform executable that Maven Central serves, run
 * by {@code io.github.ascopes:protobuf-maven-plugin}) against the protobuf-java runtime. So the
 * bytes come from protobuf-java's serializer, not from hand-written wire format, and no native
 * ONNX library is needed (the Java ONNX bindings on Maven Central wrap the C++ library).
 *
 * <p><b>Quantizers.</b> {@link io.vitq.export.QdqEmitter} maps each of vitq's quantizers to
 * QuantizeLinear/DequantizeLinear (with Clip for bit widths below 8, int16 or the arithmetic form
 * above 8, and Where between the two ranges of the twin quantizers) so that each one is bit-identical
 * to vitq's fake quantizer; in the integer-kernel form of the Linears ({@code --integer-linears}) a
 * kind whose integer form has other values (AdaLog's grid) takes those, bit-identical to vitq's
 * integer runtime's, except fc2's AdaLog input at opset 21, which {@link io.vitq.export.GeluCodeLookup}
 * looks up from fc1's output (its codes move next to a code boundary). ONNX Runtime (test scope)
 * runs the files in the tests.
 */
package io.vitq.export;
