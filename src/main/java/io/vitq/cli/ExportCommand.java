package io.vitq.cli;

import io.vitq.export.OnnxExporter;
import io.vitq.io.ModelLoader;
import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.QuantPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a ViT, DeiT or Swin model to ONNX: a quantized model file (or a float model with --plan) as a QDQ graph "
                + "(QuantizeLinear/DequantizeLinear around every quantized tensor, the twin quantizers as two QDQ branches "
                + "and Where), a float model as a plain float graph. Input 'images' [N, 3, S, S] (preprocessed), output "
                + "'logits' [N, classes].")
final class ExportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "A quantized model file ('vitq quantize -o'), or a float model: a zoo name, "
            + "a Hugging Face model folder or a checkpoint file (safetensors or .pth with timm key names).")
    String model;

    @Option(names = "--checkpoint", paramLabel = "FILE", description = "Weights for a zoo MODEL name (safetensors or .pth).")
    Path checkpoint;

    @Mixin ArchitectureOptions architecture;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The ONNX file to write.")
    Path output;

    @Option(names = "--opset", paramLabel = "N",
            description = "ONNX opset, " + OnnxExporter.MIN_OPSET + " to " + OnnxExporter.MAX_OPSET
                    + " (default " + OnnxExporter.DEFAULT_OPSET + "; with --integer-linears and AdaLog's fc2 inputs 21, where fc2's"
                    + " codes are looked up from fc1's output: faster in ONNX Runtime, and a code moves where that output lies within"
                    + " half a grid step of a code boundary, docs/LOWBIT.md 3.3; give 17 for the exact codes). 17 and later use"
                    + " LayerNormalization, 21 stores codes wider than 8 bits as int16.")
    Integer opset;

    @Option(names = "--activation-codes", paramLabel = "TYPE",
            description = "How per-tensor activation codes of 8 bits and fewer are stored: int8 (the default, zero point 0) or "
                    + "uint8 (zero point 128: the same codes and values, for runtimes whose integer kernels want unsigned "
                    + "activations; ONNX Runtime 1.23 on AVX-512 VNNI ran both at the same speed in the QDQ form, docs/BENCHMARKS.md; "
                    + "always uint8 with --integer-linears). Codes whose clamp is not int8's own range (below 8 bits, or the twin "
                    + "GELU input's two ranges) are uint8 either way, shifted so that uint8's saturation is one end of the clamp.")
    String activationCodes;

    @Option(names = "--integer-linears",
            description = "Write every quantized Linear whose input and weight are 8-bit codes as MatMulInteger on the codes, "
                    + "Cast, Mul by the scales and the bias Add (standard operators, the same codes and scales) instead of a "
                    + "MatMul of two DequantizeLinear outputs: ONNX Runtime fuses the chain into one integer kernel with the "
                    + "bias inside, where the QDQ form leaves the bias as a separate pass (docs/BENCHMARKS.md). AdaLog's "
                    + "quantizers take their integer form, as vitq's integer runtime and --products codes do: each level on a "
                    + "14-bit grid of its scale, a Linear's AdaLog input as two uint8 components and so two integer products "
                    + "(docs/LOWBIT.md 3.3; AdaLog's levels where the grid does not reach its shift); at opset 21, the default "
                    + "then, fc2's AdaLog codes are looked up from fc1's output instead (see --opset). Wider weight codes keep "
                    + "their QDQ form; products on float inputs take their weight "
                    + "as Cast and Mul, as in the QDQ form, and so does the patch-embedding convolution on a float image, which "
                    + "ONNX Runtime then runs on its blocked float kernel. "
                    + "Activation codes are uint8. With --float-attention: the fastest form for ONNX Runtime.")
    boolean integerLinears;

    @Option(names = "--float-attention",
            description = "Leave both matmuls of every attention float (q, k, v and the softmax probabilities unquantized), the "
                    + "Linears quantized as planned: with --integer-linears the deployment form for ONNX Runtime, which runs "
                    + "the attention products in float either way and spends a fifth of ViT-Ti's time in the twin softmax "
                    + "quantizer alone (docs/BENCHMARKS.md). A slightly different model from the plan's (its attention "
                    + "unquantized): docs/ONNX.md has its accuracy on VAL1300.")
    boolean floatAttention;

    @Option(names = "--plan", paramLabel = "FILE",
            description = "Quantize a float MODEL with this plan (JSON from 'vitq quantize --plan').")
    Path plan;

    @Override
    public Integer call() throws Exception {
        if (opset != null && (opset < OnnxExporter.MIN_OPSET || opset > OnnxExporter.MAX_OPSET)) {
            throw new Main.UserException("--opset " + opset + ": the ONNX export writes opsets " + OnnxExporter.MIN_OPSET
                    + " to " + OnnxExporter.MAX_OPSET);
        }
        if (integerLinears && activationCodes != null && activationCodes.equalsIgnoreCase("int8"))
            throw new Main.UserException("--integer-linears stores activation codes as uint8 (ONNX Runtime 1.30 ran its int8 x int8 "
                    + "integer kernel 7x slower on ViT-Ti, docs/BENCHMARKS.md); drop --activation-codes int8");
        String codesName = activationCodes != null ? activationCodes : integerLinears ? "uint8" : "int8";
        OnnxExporter.ActivationCodes codes = switch (codesName.toLowerCase(Locale.ROOT)) {
            case "uint8" -> OnnxExporter.ActivationCodes.UINT8;
            case "int8" -> OnnxExporter.ActivationCodes.INT8;
            default -> throw new Main.UserException("--activation-codes " + activationCodes + ": expected uint8 or int8");
        };
        ModelLoader.Loaded l = ModelLoader.load(model, checkpoint, architecture.overrides());
        ModelOptions.refusePlanOnQuantized(plan, l);
        ModelOptions.printNotes(l);
        new OutputFiles().output("--output", output, OutputKind.ONNX).model("MODEL", l).input("--plan", plan).check();
        QuantPlan qp = plan == null ? l.plan() : Plans.read(plan, l.model());
        if (floatAttention && qp == null)
            throw new Main.UserException("--float-attention: " + l.checkpoint() + " is a float model; give a quantized model or --plan");
        if (integerLinears && qp == null)
            throw new Main.UserException("--integer-linears: " + l.checkpoint() + " is a float model; give a quantized model or --plan");
        if (activationCodes != null && qp == null)
            throw new Main.UserException("--activation-codes: " + l.checkpoint() + " is a float model, with no activation codes; give a "
                    + "quantized model or --plan");
        if (floatAttention) qp = qp.withoutMatmuls();   // keeps the folds and options modelFor reads
        if (qp != null) l = Plans.modelFor(l, qp);
        var linears = integerLinears ? OnnxExporter.LinearForm.INTEGER : OnnxExporter.LinearForm.QDQ;
        int writtenOpset = opset != null ? opset : integerLinears ? OnnxExporter.integerLinearsOpset(qp) : OnnxExporter.DEFAULT_OPSET;
        var written = OnnxExporter.write(output, l.model(), qp, writtenOpset, codes, linears);
        System.out.printf(Locale.ROOT, "ONNX model written to %s (%.1f MB, opset %d): %s%n", output, Files.size(output) / 1e6, writtenOpset,
                qp == null ? "float" : "quantized (" + qp.info().method() + ", " + qp.info().bitsLabel() + ") as a QDQ graph, "
                        + activationCodes(qp, codes, writtenOpset) + (floatAttention ? ", attention products float" : "")
                        + (integerLinears ? ", " + OnnxExporter.integerProducts(written) + " Linear products as MatMulInteger" : ""));
        if (floatAttention)
            System.err.println("vitq: note: the attention products run on float operands: this is the plan without its attention"
                    + " quantizers, which 'vitq eval --float-attention --products codes' (or --integer) evaluates in vitq");
        String floatProducts = floatProducts(OnnxExporter.floatProductLinears(written));
        if (floatProducts != null) System.err.println("vitq: note: " + floatProducts);
        String lookedUp = lookedUp(OnnxExporter.lookedUpInputs(written));
        if (lookedUp != null) System.err.println("vitq: note: " + lookedUp);
        return 0;
    }

    /**
     * Null, or which Linears take their input codes from a lookup of the previous Linear's output
     * (fc2's AdaLog inputs at opset 21), grouped over the blocks, and what that changes.
     */
    static String lookedUp(List<String> opIds) {
        if (opIds.isEmpty()) return null;
        return opIds.size() + " Linear input" + (opIds.size() == 1 ? "" : "s") + " (" + groupedKinds(opIds) + ") take their AdaLog codes from one"
                + " lookup of the previous Linear's output: faster in ONNX Runtime, and a code moves where that output lies within half a"
                + " grid step of a code boundary (docs/LOWBIT.md 3.3); --opset 17 computes them exactly";
    }

    /** Op ids grouped over the blocks: "blocks.*.mlp.fc2 x12, head". */
    private static String groupedKinds(List<String> opIds) {
        java.util.Map<String, Integer> byKind = new java.util.LinkedHashMap<>();
        for (String id : opIds) byKind.merge(io.vitq.model.OpPattern.kind(id), 1, Integer::sum);
        StringBuilder kinds = new StringBuilder();
        byKind.forEach((k, n) -> kinds.append(kinds.isEmpty() ? "" : ", ").append(k).append(n > 1 ? " x" + n : ""));
        return kinds.toString();
    }

    /**
     * Null, or which quantized Linears a runtime multiplies in float ("12 Linears (blocks.*.mlp.fc2)"
     * grouped over the blocks): their inputs are not QDQ values, so no integer kernel takes them.
     */
    static String floatProducts(List<String> opIds) {
        if (opIds.isEmpty()) return null;
        return opIds.size() + (opIds.size() == 1 ? " quantized Linear takes" : " quantized Linears take") + " inputs that are not QDQ values ("
                + groupedKinds(opIds) + ": unquantized, or a lookup-coded quantizer such as AdaLog's outside --integer-linears): they run as float products on weights"
                + " dequantized once at load, not as integer kernels (docs/LOWBIT.md 3.3)";
    }

    /** How the export stores the plan's activation codes (QdqEmitter.activationType): bytes up to 8 bits, then int16 or float steps. */
    static String activationCodes(QuantPlan qp, OnnxExporter.ActivationCodes codes, int opset) {
        int widest = 0;
        for (OpQuant op : qp.ops().values()) {
            List<OperandQuant> activations = switch (op) {
                case LinearQuant l -> l.input() == null ? List.of() : List.of(l.input());
                case MatmulQuant m -> m.operands();
            };
            for (OperandQuant a : activations) widest = Math.max(widest, a.bits());
        }
        String bytes = codes.name().toLowerCase(Locale.ROOT) + " activation codes";
        if (widest <= 8) return bytes;
        return bytes + " up to 8 bits, wider ones " + (opset >= 21 ? "as int16" : "as float steps (Div, Round, Clip, Mul; int16 needs --opset 21)");
    }
}
