package io.vitq.export;

import io.vitq.export.proto.Onnx;
import io.vitq.io.AtomicFile;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Exports a ViT/DeiT or Swin model to a standard ONNX file: in float, or quantized with a
 * {@link QuantPlan} as a QDQ graph (QuantizeLinear → DequantizeLinear pairs wherever vitq's fake
 * quantization quantizes) that ONNX Runtime and other QDQ-aware runtimes run. The graph follows
 * timm's forward op for op, so its outputs equal vitq's {@link FakeQuantExecutor} (or float)
 * logits up to float rounding order. The graph is traced from the model's own forward
 * ({@link OnnxTracer}: every op of {@link io.vitq.model.Ops} emits its nodes), so a ViT becomes:
 * <pre>
 *   images [N, C, S, S] ─ (QDQ if the plan quantizes the image) ─ Conv(DQ(int8 weight), bias, stride p)
 *     (with LinearForm.INTEGER on a float image: the weight as Cast(int8) · scale, which ONNX Runtime folds at load)
 *     → Reshape/Transpose [N, P, D] + pos_embed[prefix:], Concat after the class (and distillation) token(s) + their pos_embed
 *   per block: LayerNormalization → QDQ(x) · DQ(Wᵀ) + b (qkv) → Reshape [N, T, 3, H, d] → Transpose → q, k, v [N, H, T, d]
 *     → QDQ(q) · QDQ(k)ᵀ → Mul(scale) → Softmax → twin/uniform QDQ(p) · QDQ(v) → Transpose/Reshape → proj → Add (residual)
 *     → LayerNormalization → fc1 → GELU (0.5 x (1 + erf(x / √2))) → twin GELU QDQ → fc2 → Add (residual)
 *   final LayerNormalization of the class token (Gather), head → logits [N, classes] (distilled: mean of both heads)
 * </pre>
 * A Swin has the same layers with windows gathered by index, the relative-position bias and shift
 * mask added to the scores, patch merging and a mean-pooled head.
 *
 * <p>Weights are int8 initializers (the plan's integer codes, the same as in the quantized model
 * file) with a DequantizeLinear whose scale is per tensor, or per output channel along the
 * output axis (axis 1 of the transposed [in, out] matrix, axis 0 of the patch-embedding conv
 * weight); qkv's three row-block scales are repeated per row. Activations are QDQ'd per tensor;
 * per-head matmul operands per axis on the head axis of [N, H, T, d]. {@link QdqEmitter} has the
 * quantizer mapping (bits below 8, bits above 8, twin softmax, twin GELU).
 *
 * <p>Opsets {@value #MIN_OPSET}..{@value #MAX_OPSET}; LayerNormalization from 17 on, its
 * ReduceMean/Sqrt decomposition before.
 */
public final class OnnxExporter {
    public static final int MIN_OPSET = 13, MAX_OPSET = 21, DEFAULT_OPSET = 17;
    /** int8 activation codes: uint8 gave ONNX Runtime 1.23 no measurable gain on this CPU (docs/BENCHMARKS.md). */
    public static final ActivationCodes DEFAULT_CODES = ActivationCodes.INT8;
    /** Graph input [N, C, S, S] (preprocessed images, N dynamic) and output [N, classes]. */
    public static final String INPUT = "images", OUTPUT = "logits";
    public static final String PRODUCER = "vitq", PRODUCER_VERSION = "0.1.0";

    private OnnxExporter() {}

    /**
     * How the QDQ graph stores the signed activation codes of 8 bits and fewer. Both hold the same
     * codes and give the same values (uint8 stores {@code q + 128} with zero point 128); they
     * differ in what a runtime's fused integer kernels do with them.
     */
    public enum ActivationCodes {
        /** int8, zero point 0: the codes as vitq's integer layout stores them. */
        INT8,
        /**
         * uint8, zero point 128, per-tensor codes only (per-axis ones stay int8, see {@link QdqEmitter}):
         * for runtimes whose integer kernels want unsigned activations. ONNX Runtime 1.23.2 on this
         * AVX-512 VNNI Xeon ran it at the speed of int8 (docs/BENCHMARKS.md).
         */
        UINT8
    }

    /**
     * How a quantized Linear whose input is a QDQ value multiplies. Both are standard ONNX with the
     * same codes and scales; they differ in what ONNX Runtime fuses.
     */
    public enum LinearForm {
        /**
         * {@code MatMul(DequantizeLinear(x codes), DequantizeLinear(W codes))}, then the bias's {@code Add}:
         * the QDQ form every quantization-aware toolchain reads. ONNX Runtime fuses the product into
         * {@code MatMulIntegerToFloat} and runs the bias as a separate pass.
         */
        QDQ,
        /**
         * {@code MatMulInteger} on the codes, {@code Cast} to float, {@code Mul} by the input's and the
         * weight's scales, then the bias's {@code Add}: ONNX Runtime fuses all four into one
         * {@code MatMulIntegerToFloat} with the bias applied inside the integer GEMM's output stage
         * (OnnxTracer has the details). Per-tensor activation codes should then be uint8 (ONNX Runtime's
         * x86 integer GEMM takes unsigned activations; int8 x int8 ran 7x slower in ONNX Runtime 1.30).
         * The patch-embedding conv on a float image takes its weight as {@code Cast} and {@code Mul}
         * too, which ONNX Runtime folds at load so that the conv runs on its blocked float kernel.
         * Quantizer kinds whose integer form has other values than their fake quant (AdaLog's levels
         * on a grid, {@code QdqGraph#integerForms}) export that form, the values of vitq's integer
         * runtime and code-product fake quant; a Linear's AdaLog input then runs as two integer
         * products, one per component. From opset 21 on, an AdaLog input after a GELU (fc2's) takes
         * its components from one lookup of fc1's output on a 16-bit grid ({@code GeluCodeLookup}:
         * four passes instead of about fourteen, and a code moved where that output lies within half
         * a grid step of a code boundary).
         */
        INTEGER
    }

    /**
     * The ONNX model of {@code model}, quantized as {@code plan} says (null: float).
     *
     * @throws IllegalArgumentException with a one-line message when the model is not a ViT, DeiT or Swin,
     *                                  the opset is outside the supported range, or the plan does not fit the model
     */
    public static Onnx.ModelProto export(Model model, QuantPlan plan, int opset) {
        return export(model, plan, opset, DEFAULT_CODES);
    }

    /** {@link #export(Model, QuantPlan, int)} with the activation codes stored as {@code codes} says. */
    public static Onnx.ModelProto export(Model model, QuantPlan plan, int opset, ActivationCodes codes) {
        return export(model, plan, opset, codes, LinearForm.QDQ);
    }

    /** {@link #export(Model, QuantPlan, int, ActivationCodes)} with the quantized Linears written as {@code linears} says. */
    public static Onnx.ModelProto export(Model model, QuantPlan plan, int opset, ActivationCodes codes, LinearForm linears) {
        if (opset < MIN_OPSET || opset > MAX_OPSET) {
            throw new IllegalArgumentException("opset " + opset + " is not supported: the ONNX export writes opsets "
                    + MIN_OPSET + " to " + MAX_OPSET + " (default " + DEFAULT_OPSET + ")");
        }
        if (model.segments().isEmpty()) {
            throw new IllegalArgumentException(model.name() + " is not a ViT, DeiT or Swin model: the ONNX export traces"
                    + " a forward written against vitq's ops, and this model has none");
        }
        if (plan != null) {
            // the fake-quant executor's checks: ids, kinds, scale counts, a quantizer on an operand it cannot apply to
            new FakeQuantExecutor(plan, model);
        }
        return new OnnxTracer(model, plan, opset, codes, linears).build();
    }

    /**
     * {@link #export} written to {@code out} atomically ({@link AtomicFile}).
     */
    public static Onnx.ModelProto write(Path out, Model model, QuantPlan plan, int opset) throws IOException {
        return write(out, model, plan, opset, DEFAULT_CODES);
    }

    /** {@link #write(Path, Model, QuantPlan, int)} with the activation codes stored as {@code codes} says; returns the model written. */
    public static Onnx.ModelProto write(Path out, Model model, QuantPlan plan, int opset, ActivationCodes codes) throws IOException {
        return write(out, model, plan, opset, codes, LinearForm.QDQ);
    }

    /** {@link #write(Path, Model, QuantPlan, int, ActivationCodes)} with the quantized Linears written as {@code linears} says. */
    public static Onnx.ModelProto write(Path out, Model model, QuantPlan plan, int opset, ActivationCodes codes, LinearForm linears)
            throws IOException {
        return write(out, export(model, plan, opset, codes, linears));
    }

    /** {@code proto} written to {@code out} atomically ({@link AtomicFile}); returns it. */
    private static Onnx.ModelProto write(Path out, Onnx.ModelProto proto) throws IOException {
        AtomicFile.write(out, tmp -> {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                proto.writeTo(os);
            }
        });
        return proto;
    }

    /**
     * The opset a {@link LinearForm#INTEGER} export of {@code plan} takes unless one is given: 21
     * where a Linear's input quantizer has lookup-coded integer parts (AdaLog's), whose uint16 grid
     * codes let fc2's input be one lookup of fc1's output ({@link GeluCodeLookup}), else
     * {@link #DEFAULT_OPSET}, which more runtimes read (ONNX Runtime ran the PTQ4ViT W8A8 deployment
     * export at 17 and 21 alike, docs/BENCHMARKS.md).
     */
    public static int integerLinearsOpset(QuantPlan plan) {
        for (String id : plan.opIds()) {
            if (plan.op(id) instanceof io.vitq.quant.LinearQuant lq && lq.input() != null && lq.input().integerCodeTables() != null)
                return GeluCodeLookup.MIN_OPSET;
        }
        return DEFAULT_OPSET;
    }

    /**
     * The deployment form for ONNX Runtime ({@code vitq export --float-attention --integer-linears}):
     * the plan without its attention matmuls, the Linears as {@link LinearForm#INTEGER} on uint8
     * activation codes.
     */
    public static Onnx.ModelProto exportForOnnxRuntime(Model model, QuantPlan plan, int opset) {
        return export(model, plan.withoutMatmuls(), opset, ActivationCodes.UINT8, LinearForm.INTEGER);
    }

    /** {@link #exportForOnnxRuntime} written to {@code out} atomically; returns the model written. */
    public static Onnx.ModelProto writeForOnnxRuntime(Path out, Model model, QuantPlan plan, int opset) throws IOException {
        return write(out, exportForOnnxRuntime(model, plan, opset));
    }

    /** The {@code MatMulInteger} nodes of an exported model: the Linear products {@link LinearForm#INTEGER} wrote on codes. */
    public static long integerProducts(Onnx.ModelProto m) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("MatMulInteger")).count();
    }

    /**
     * The Linears of an exported model whose input codes are looked up from the previous Linear's
     * output ({@link GeluCodeLookup}: fc2's AdaLog input at opset 21), op ids in graph order.
     */
    public static java.util.List<String> lookedUpInputs(Onnx.ModelProto m) {
        java.util.List<String> ids = new java.util.ArrayList<>();
        for (Onnx.NodeProto n : m.getGraph().getNodeList())
            if (n.getOpType().equals("QuantizeLinear") && n.getName().endsWith(GeluCodeLookup.GRID_NODE))
                ids.add(n.getName().substring(0, n.getName().length() - GeluCodeLookup.GRID_NODE.length()));
        return ids;
    }

    /**
     * The quantized Linears of an exported model whose input is not a QDQ value (unquantized, or a
     * lookup-coded quantizer's values such as AdaLog's outside {@link LinearForm#INTEGER}): their weights go out as codes, Cast and Mul
     * (OnnxTracer), so a runtime multiplies them in float, not in an integer kernel. Op ids in graph order.
     * The patch-embedding conv on an unquantized image is not listed: it is a float product in every form.
     */
    public static java.util.List<String> floatProductLinears(Onnx.ModelProto m) {
        java.util.Set<String> matmulInputs = new java.util.HashSet<>();
        for (Onnx.NodeProto n : m.getGraph().getNodeList())
            if (n.getOpType().equals("MatMul")) matmulInputs.addAll(n.getInputList());
        java.util.List<String> ids = new java.util.ArrayList<>();
        for (Onnx.NodeProto n : m.getGraph().getNodeList())
            if (n.getOpType().equals("Mul") && n.getName().endsWith(".weight") && matmulInputs.contains(n.getOutput(0)))
                ids.add(n.getName().substring(0, n.getName().length() - ".weight".length()));
        return ids;
    }

    /** The IR version that goes with an opset (the ONNX release that introduced it). */
    static int irVersion(int opset) {
        if (opset <= 14) return 7;
        if (opset <= 18) return 8;
        if (opset <= 20) return 9;
        return 10;
    }
}
