package io.vitq.export;

import io.vitq.export.proto.Onnx;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.LayerNorm;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.SwinTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static io.vitq.export.OnnxGraph.attr;
import static io.vitq.export.OnnxGraph.attrInts;

/**
 * Exports a ViT/DeiT model to a standard ONNX file: in float, or quantized with a
 * {@link QuantPlan} as a QDQ graph (QuantizeLinear → DequantizeLinear pairs wherever vitq's fake
 * quantization quantizes) that ONNX Runtime and other QDQ-aware runtimes run. The graph follows
 * timm's forward op for op, so its outputs equal vitq's {@link FakeQuantExecutor} (or float)
 * logits up to float rounding order:
 * <pre>
 *   images [N, C, S, S] ─ (QDQ if the plan quantizes the image) ─ Conv(DQ(int8 weight), bias, stride p)
 *     → Reshape/Transpose [N, P, D] + pos_embed[prefix:], Concat after the class (and distillation) token(s) + their pos_embed
 *   per block: LayerNormalization → QDQ(x) · DQ(Wᵀ) + b (qkv) → Reshape [N, T, 3, H, d] → Transpose → q, k, v [N, H, T, d]
 *     → QDQ(q) · QDQ(k)ᵀ → Mul(scale) → Softmax → twin/uniform QDQ(p) · QDQ(v) → Transpose/Reshape → proj → Add (residual)
 *     → LayerNormalization → fc1 → GELU (0.5 x (1 + erf(x / √2))) → twin GELU QDQ → fc2 → Add (residual)
 *   final LayerNormalization of the class token (Gather), head → logits [N, classes] (distilled: mean of both heads)
 * </pre>
 * Weights are int8 initializers (the plan's integer codes, the same as in the quantized model
 * file) with a DequantizeLinear whose scale is per tensor, or per output channel along the
 * output axis (axis 1 of the transposed [in, out] matrix, axis 0 of the patch-embedding conv
 * weight); qkv's three row-block scales are repeated per row. Activations are QDQ'd per tensor;
 * per-head matmul operands per axis on the head axis of [N, H, T, d]. {@link QdqEmitter} has the
 * quantizer mapping (bits below 8, bits above 8, twin softmax, twin GELU).
 *
 * <p>Opsets {@value #MIN_OPSET}..{@value #MAX_OPSET}; LayerNormalization from 17 on, its
 * ReduceMean/Sqrt decomposition before. Swin models are not exported.
 */
public final class OnnxExporter {
    public static final int MIN_OPSET = 13, MAX_OPSET = 21, DEFAULT_OPSET = 17;
    /** Graph input [N, C, S, S] (preprocessed images, N dynamic) and output [N, classes]. */
    public static final String INPUT = "images", OUTPUT = "logits";
    public static final String PRODUCER = "vitq", PRODUCER_VERSION = "0.1.0";

    private OnnxExporter() {}

    /**
     * The ONNX model of {@code model}, quantized as {@code plan} says (null: float).
     *
     * @throws IllegalArgumentException with a one-line message when the model is not a ViT/DeiT,
     *                                  the opset is outside the supported range, or the plan does not fit the model
     */
    public static Onnx.ModelProto export(Model model, QuantPlan plan, int opset) {
        if (opset < MIN_OPSET || opset > MAX_OPSET) {
            throw new IllegalArgumentException("opset " + opset + " is not supported: the ONNX export writes opsets "
                    + MIN_OPSET + " to " + MAX_OPSET + " (default " + DEFAULT_OPSET + ")");
        }
        if (!(model instanceof VisionTransformer vit)) {
            String kind = model instanceof SwinTransformer ? "a Swin model" : "not a ViT/DeiT model";
            throw new IllegalArgumentException(model.name() + " is " + kind + ": the ONNX export supports ViT and DeiT"
                    + " (timm VisionTransformer) models only");
        }
        if (plan != null) {
            // the fake-quant executor's checks: ids, kinds, scale counts, a quantizer on an operand it cannot apply to
            new FakeQuantExecutor(plan, model);
        }
        return new Builder(vit, plan, opset).build();
    }

    /** {@link #export} written to {@code out} atomically (a temporary file in the same directory, then a rename). */
    public static void write(Path out, Model model, QuantPlan plan, int opset) throws IOException {
        Onnx.ModelProto proto = export(model, plan, opset);
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, out.getFileName().toString(), ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                proto.writeTo(os);
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The IR version that goes with an opset (the ONNX release that introduced it). */
    static int irVersion(int opset) {
        if (opset <= 14) return 7;
        if (opset <= 18) return 8;
        if (opset <= 20) return 9;
        return 10;
    }

    // ------------------------------------------------------------------------------------------

    private static final class Builder {
        private final VisionTransformer vit;
        private final ViTConfig cfg;
        private final QuantPlan plan;
        private final int opset;
        private final OnnxGraph g;
        private final QdqEmitter qdq;

        Builder(VisionTransformer vit, QuantPlan plan, int opset) {
            this.vit = vit;
            this.cfg = vit.config();
            this.plan = plan;
            this.opset = opset;
            this.g = new OnnxGraph(vit.name(), opset);
            this.qdq = new QdqEmitter(g);
        }

        Onnx.ModelProto build() {
            int S = cfg.imgSize();
            g.proto().addInput(tensorInfo(INPUT, TensorProto.DataType.FLOAT, "batch", cfg.inChans(), S, S));
            g.unique(INPUT);
            List<Linear> linears = vit.linears();
            String x = embed(linears.getFirst());
            VisionTransformer.Block[] blocks = vit.blocks();
            for (int i = 0; i < blocks.length; i++) x = block(blocks[i], x, "blocks." + i);
            int headIndex = 1 + 4 * blocks.length;
            String logits = classify(x, 0, linears.get(headIndex));
            if (cfg.distilled()) {
                String dist = classify(x, 1, linears.get(headIndex + 1));
                String sum = g.node("Add", "head_sum", List.of(logits, dist));
                logits = g.node("Div", "head_mean", List.of(sum, g.scalar(2f)));
            }
            // the graph output gets its public name
            String out = g.node("Identity", OUTPUT, logits);
            g.proto().addOutput(tensorInfo(out, TensorProto.DataType.FLOAT, "batch", cfg.numClasses()));

            Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder()
                    .setIrVersion(irVersion(opset))
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                    .setProducerName(PRODUCER).setProducerVersion(PRODUCER_VERSION)
                    .setDocString(doc())
                    .setGraph(g.proto());
            meta(m, "vitq.model", vit.name());
            meta(m, "vitq.preprocessing", vit.preprocessing().describe());
            meta(m, "vitq.quantization", plan == null ? "float" : plan.info().method() + " " + plan.info().bitsLabel());
            if (plan != null) meta(m, "vitq.plan", QuantPlanJson.toJson(plan));
            return m.build();
        }

        private String doc() {
            return String.format(Locale.ROOT, "%s exported by vitq %s: input '%s' [N, %d, %d, %d] preprocessed as %s; output '%s'"
                            + " [N, %d] logits. %s", vit.name(), PRODUCER_VERSION, INPUT, cfg.inChans(), cfg.imgSize(),
                    cfg.imgSize(), vit.preprocessing().describe(), OUTPUT, cfg.numClasses(),
                    plan == null ? "Float model." : "Quantized (" + plan.info().method() + ", " + plan.info().bitsLabel()
                            + ") as QuantizeLinear/DequantizeLinear pairs; the twin quantizers as two QDQ branches and Where.");
        }

        private static void meta(Onnx.ModelProto.Builder m, String key, String value) {
            m.addMetadataProps(Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value));
        }

        // ---------------------------------------------------------------- embedding

        /** patch_embed (Conv), class/distillation token(s) and position embedding: [N, T, D]. */
        private String embed(Linear patch) {
            int D = cfg.dim(), p = cfg.patch(), C = cfg.inChans(), pre = cfg.prefixTokens(), NP = cfg.numPatches();
            LinearQuant lq = linearQuant(patch.id());
            String img = INPUT;
            if (lq != null && lq.input() != null) img = input(img, patch.id(), lq.input(), 4);
            String w = weight(patch, lq, true);
            List<String> convIn = new ArrayList<>(List.of(img, w));
            if (patch.bias() != null) convIn.add(g.floats(patch.id() + ".bias", patch.bias(), D));
            String conv = g.node("Conv", patch.id(), convIn, attrInts("kernel_shape", p, p), attrInts("strides", p, p));
            String flat = g.node("Reshape", "patch_embed/flatten", List.of(conv, g.longs(new long[] {0, D, -1}, 3)));
            String tokens = g.node("Transpose", "patch_embed/tokens", flat, attrInts("perm", 0, 2, 1));

            float[] e = embedRows();
            float[] prefix = Arrays.copyOfRange(e, 0, pre * D), patchPos = Arrays.copyOfRange(e, pre * D, (pre + NP) * D);
            String withPos = g.node("Add", "patch_embed/pos", List.of(tokens,
                    g.floats("pos_embed.patches", patchPos, 1, NP, D)));
            String prefixTokens = g.floats(pre == 2 ? "cls_token+dist_token+pos_embed" : "cls_token+pos_embed", prefix, 1, pre, D);
            String shape = g.node("Shape", "batch/shape", INPUT);
            String batch = g.node("Gather", "batch/size", List.of(shape, g.longs(new long[] {0}, 1)), attr("axis", 0L));
            String prefixShape = g.node("Concat", "prefix/shape", List.of(batch, g.longs(new long[] {pre, D}, 2)), attr("axis", 0L));
            String expanded = g.node("Expand", "prefix/tokens", List.of(prefixTokens, prefixShape));
            return g.node("Concat", "embed", List.of(expanded, withPos), attr("axis", 1L));
        }

        /**
         * The [T, D] rows the embedding adds to the patch embedding: row t &lt; prefix is the
         * token plus its position embedding, later rows are the position embedding. Read through
         * the model's own forward (probe {@code embed}) with the patch embedding left at zero, so
         * the exported values are exactly the ones vitq adds.
         */
        private float[] embedRows() {
            final class Stop extends RuntimeException {
                Stop() { super(null, null, false, false); }
            }
            int S = cfg.imgSize(), T = cfg.tokens(), D = cfg.dim();
            Executor zeroPatches = new Executor() {
                @Override
                public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
                    if (!op.id().equals(vit.linears().getFirst().id())) throw new IllegalStateException("forward went past the embedding");
                    Arrays.fill(y, 0, m * op.out(), 0f);
                }

                @Override
                public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
                    throw new IllegalStateException("forward went past the embedding");
                }
            };
            float[][] rows = new float[1][];
            try {
                vit.forward(Tensor.zeros(1, cfg.inChans(), S, S), zeroPatches, (name, data, shape) -> {
                    if (name.equals("embed")) {
                        rows[0] = Arrays.copyOf(data, T * D);
                        throw new Stop();
                    }
                });
            } catch (Stop expected) {
                // the embedding is all we need
            }
            if (rows[0] == null) throw new IllegalStateException(vit.name() + ": the forward reported no 'embed' tensor");
            return rows[0];
        }

        // ---------------------------------------------------------------- blocks

        private String block(VisionTransformer.Block b, String x, String scope) {
            String h = layerNorm(x, b.norm1());
            String qkv = linear(h, b.qkv(), false);
            String attn = attention(qkv, b.attn(), scope + ".attn");
            String proj = linear(attn, b.proj(), false);
            String x1 = g.node("Add", scope + ".residual1", List.of(x, proj));
            String h2 = layerNorm(x1, b.norm2());
            String fc1 = linear(h2, b.fc1(), true);
            String fc2 = linear(fc1, b.fc2(), false);
            return g.node("Add", scope, List.of(x1, fc2));
        }

        private String attention(String qkv, AttentionOp op, String scope) {
            var s = op.spec();
            if (op.bias() != null || op.qPrescaled()) throw new IllegalStateException(op.prefix() + ": not a ViT attention");
            int H = s.heads(), d = s.headDim(), D = s.dim();
            MatmulQuant m1 = plan == null || !(plan.op(op.matmul1Id()) instanceof MatmulQuant a) ? null : a;
            MatmulQuant m2 = plan == null || !(plan.op(op.matmul2Id()) instanceof MatmulQuant b) ? null : b;
            String split = g.node("Reshape", scope + "/heads", List.of(qkv, g.longs(new long[] {0, 0, 3, H, d}, 5)));
            String parts = g.node("Transpose", scope + "/qkv", split, attrInts("perm", 2, 0, 3, 1, 4)); // [3, N, H, T, d]
            String q = part(parts, 0, scope + "/q"), k = part(parts, 1, scope + "/k"), v = part(parts, 2, scope + "/v");
            if (m1 != null && m1.a() != null) q = headOperand(q, op.matmul1Id() + "/a", m1.a());
            if (m1 != null && m1.b() != null) k = headOperand(k, op.matmul1Id() + "/b", m1.b());
            String kT = g.node("Transpose", scope + "/k_transposed", k, attrInts("perm", 0, 1, 3, 2));
            String scores = g.node("MatMul", op.matmul1Id(), List.of(q, kT));
            String scaled = g.node("Mul", scope + "/scale", List.of(scores, g.scalar(s.scale())));
            String probs = g.node("Softmax", scope + "/softmax", scaled, attr("axis", -1L));
            if (m2 != null && m2.a() != null) {
                String id = op.matmul2Id() + "/a";
                probs = switch (m2.a()) {
                    case TwinSoftmaxOperand t -> qdq.twinSoftmax(probs, id, t);
                    case UniformOperand u -> qdq.uniform(probs, id, u, 1, 4);
                    case TwinGeluOperand t -> throw new IllegalStateException(id + ": twin GELU on probabilities");
                };
            }
            if (m2 != null && m2.b() != null) v = headOperand(v, op.matmul2Id() + "/b", m2.b());
            String out = g.node("MatMul", op.matmul2Id(), List.of(probs, v)); // [N, H, T, d]
            String tokens = g.node("Transpose", scope + "/merge_heads", out, attrInts("perm", 0, 2, 1, 3));
            return g.node("Reshape", scope + "/out", List.of(tokens, g.longs(new long[] {0, 0, D}, 3)));
        }

        private String part(String parts, int index, String name) {
            return g.node("Gather", name, List.of(parts, g.longs(new long[] {index})), attr("axis", 0L));
        }

        /** A q, k or v operand [N, H, T, d]: uniform per head (axis 1) or per tensor. */
        private String headOperand(String x, String scope, OperandQuant o) {
            if (!(o instanceof UniformOperand u)) throw new IllegalStateException(scope + ": " + o.quantizerName());
            return qdq.uniform(x, scope, u, 1, 4);
        }

        // ---------------------------------------------------------------- head

        /** Final norm of prefix token {@code token}, then the classifier: [N, classes]. */
        private String classify(String x, int token, Linear head) {
            String t = g.node("Gather", token == 0 ? "cls" : "dist", List.of(x, g.longs(new long[] {token})), attr("axis", 1L));
            String n = layerNorm(t, vit.norm());
            return linear(n, head, false);
        }

        // ---------------------------------------------------------------- layers

        private String layerNorm(String x, LayerNorm ln) {
            int D = ln.dim();
            String gamma = g.floats(ln.id() + ".weight", ln.weight(), D), beta = g.floats(ln.id() + ".bias", ln.bias(), D);
            if (opset >= 17) {
                return g.node("LayerNormalization", ln.id(), List.of(x, gamma, beta), attr("axis", -1L),
                        attr("epsilon", ln.eps()));
            }
            String mean = g.node("ReduceMean", ln.id() + "/mean", x, attrInts("axes", -1), attr("keepdims", 1L));
            String centred = g.node("Sub", ln.id() + "/centred", List.of(x, mean));
            String sq = g.node("Mul", ln.id() + "/squared", List.of(centred, centred));
            String var = g.node("ReduceMean", ln.id() + "/variance", sq, attrInts("axes", -1), attr("keepdims", 1L));
            String std = g.node("Sqrt", ln.id() + "/std", g.node("Add", ln.id() + "/variance_eps", List.of(var, g.scalar(ln.eps()))));
            String norm = g.node("Div", ln.id() + "/normalized", List.of(centred, std));
            return g.node("Add", ln.id(), List.of(g.node("Mul", ln.id() + "/scaled", List.of(norm, gamma)), beta));
        }

        /** {@code act(QDQ(x) · DQ(W)ᵀ + b)} over the last axis of a rank-3 (tokens) or rank-2 (class token) tensor. */
        private String linear(String x, Linear op, boolean gelu) {
            LinearQuant lq = linearQuant(op.id());
            String in = x;
            if (lq != null && lq.input() != null) in = input(x, op.id() + "/input", lq.input(), 3);
            String y = g.node("MatMul", op.id() + "/matmul", List.of(in, weight(op, lq, false)));
            if (op.bias() != null) y = g.node("Add", op.id(), List.of(y, g.floats(op.id() + ".bias", op.bias(), op.out())));
            return gelu ? gelu(y, op.id() + "/gelu") : y;
        }

        /** A Linear input: uniform per tensor or twin GELU (what {@link LinearQuant} allows). */
        private String input(String x, String scope, OperandQuant o, int rank) {
            return switch (o) {
                case UniformOperand u -> qdq.uniform(x, scope, u, -1, rank);
                case TwinGeluOperand t -> qdq.twinGelu(x, scope, t, rank);
                case TwinSoftmaxOperand t -> throw new IllegalStateException(scope + ": twin softmax on a Linear input");
            };
        }

        /** {@code 0.5 x (1 + erf(x / √2))}. */
        private String gelu(String x, String scope) {
            String e = g.node("Erf", scope + "/erf", g.node("Div", scope + "/div", List.of(x, g.scalar((float) Math.sqrt(2)))));
            String onePlus = g.node("Add", scope + "/one_plus", List.of(e, g.scalar(1f)));
            return g.node("Mul", scope, List.of(g.node("Mul", scope + "/half_x", List.of(x, g.scalar(0.5f))), onePlus));
        }

        /**
         * The weight as a graph value: [in, out] for a MatMul (or [out, C, p, p] for the conv),
         * float, or integer codes with a DequantizeLinear (scales along the output axis).
         */
        private String weight(Linear op, LinearQuant lq, boolean conv) {
            int out = op.out(), in = op.in();
            long[] dims = conv ? new long[] {out, cfg.inChans(), cfg.patch(), cfg.patch()} : new long[] {in, out};
            if (lq == null) {
                float[] w = conv ? op.weight() : transpose(op.weight(), out, in);
                return g.floats(op.id() + ".weight", w, dims);
            }
            UniformOperand wq = lq.weight();
            float[] scales = wq.scales();
            Granularity gr = wq.granularity();
            int bits = wq.bits();
            String codesName = op.id() + ".weight_codes";
            String codes;
            TensorProto.DataType type;
            if (bits <= 8) {
                byte[] c = ScaledRanges.codesRows(wq.quantizer(), op.id(), gr, scales, op.weight(), out, in);
                codes = g.int8s(codesName, conv ? c : transpose(c, out, in), dims);
                type = TensorProto.DataType.INT8;
            } else {
                short[] c = ScaledRanges.shortCodesRows(wq.quantizer(), op.id(), gr, scales, op.weight(), out, in);
                short[] t = conv ? c : transpose(c, out, in);
                if (opset >= 21) {
                    codes = g.int16s(codesName, t, dims);
                    type = TensorProto.DataType.INT16;
                } else {
                    // DequantizeLinear reads int32 at every opset; int16 codes arrive with opset 21
                    int[] wide = new int[t.length];
                    for (int i = 0; i < t.length; i++) wide[i] = t[i];
                    codes = g.int32s(codesName, wide, dims);
                    type = TensorProto.DataType.INT32;
                }
            }
            boolean perTensor = gr == Granularity.PER_TENSOR;
            String scale, zp;
            List<Onnx.AttributeProto> attrs = new ArrayList<>();
            if (perTensor) {
                scale = g.floats(op.id() + ".weight_scale", new float[] {scales[0]});
                zp = zeroPoint(op.id(), type, 0);
            } else {
                float[] rowScales = new float[out];
                for (int r = 0; r < out; r++) rowScales[r] = scales[gr.scaleIndexOfRow(r, out, scales.length)];
                scale = g.floats(op.id() + ".weight_scale", rowScales, out);
                zp = zeroPoint(op.id(), type, out);
                attrs.add(attr("axis", conv ? 0L : 1L));
            }
            return g.node("DequantizeLinear", op.id() + ".weight", List.of(codes, scale, zp),
                    attrs.toArray(Onnx.AttributeProto[]::new));
        }

        private String zeroPoint(String id, TensorProto.DataType type, int n) {
            if (type != TensorProto.DataType.INT32) return g.zeroPoint(type, n);
            long[] dims = n == 0 ? new long[0] : new long[] {n};
            return g.int32s(id + ".weight_zero_point", new int[Math.max(n, 1)], dims);
        }

        private LinearQuant linearQuant(String id) {
            return plan != null && plan.op(id) instanceof LinearQuant l ? l : null;
        }

        private static Onnx.ValueInfoProto tensorInfo(String name, TensorProto.DataType type, String batch, int... dims) {
            Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
            shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(batch));
            for (int d : dims) shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                    .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
        }

        private static float[] transpose(float[] w, int rows, int cols) {
            float[] t = new float[w.length];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
            return t;
        }

        private static byte[] transpose(byte[] w, int rows, int cols) {
            byte[] t = new byte[w.length];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
            return t;
        }

        private static short[] transpose(short[] w, int rows, int cols) {
            short[] t = new short[w.length];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
            return t;
        }
    }
}
