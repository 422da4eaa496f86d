package io.vitq.export;

import io.vitq.export.proto.Onnx;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.model.AttentionOp;
import io.vitq.model.LayerNorm;
import io.vitq.model.Linear;
import io.vitq.model.Model;
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

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.vitq.export.OnnxGraph.attr;
import static io.vitq.export.OnnxGraph.attrInts;

/**
 * The layers every exported model is made of (Linear with its quantized input and weight,
 * LayerNorm, GELU, the attention core with its quantized matmul operands) and the model's
 * envelope (input, output, opset, metadata). {@link VitGraph} and {@link SwinGraph} assemble them
 * in the order of the model's forward.
 */
abstract class ModelGraph {
    protected final Model model;
    protected final QuantPlan plan;
    protected final int opset;
    protected final OnnxGraph g;
    protected final QdqEmitter qdq;

    ModelGraph(Model model, QuantPlan plan, int opset) {
        this.model = model;
        this.plan = plan;
        this.opset = opset;
        this.g = new OnnxGraph(model.name(), opset);
        this.qdq = new QdqEmitter(g);
    }

    /** The graph from {@link OnnxExporter#INPUT} [N, C, S, S] to the logits value, added in forward order. */
    abstract String body(String images);

    abstract int inChans();

    abstract int imgSize();

    Onnx.ModelProto build() {
        int S = imgSize();
        g.proto().addInput(tensorInfo(OnnxExporter.INPUT, "batch", inChans(), S, S));
        g.unique(OnnxExporter.INPUT);
        String logits = body(OnnxExporter.INPUT);
        // the graph output gets its public name
        String out = g.node("Identity", OnnxExporter.OUTPUT, logits);
        g.proto().addOutput(tensorInfo(out, "batch", model.numClasses()));
        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder()
                .setIrVersion(OnnxExporter.irVersion(opset))
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setProducerName(OnnxExporter.PRODUCER).setProducerVersion(OnnxExporter.PRODUCER_VERSION)
                .setDocString(doc())
                .setGraph(g.proto());
        meta(m, "vitq.model", model.name());
        meta(m, "vitq.preprocessing", model.preprocessing().describe());
        meta(m, "vitq.quantization", plan == null ? "float" : plan.info().method() + " " + plan.info().bitsLabel());
        if (plan != null) meta(m, "vitq.plan", QuantPlanJson.toJson(plan));
        return m.build();
    }

    private String doc() {
        return String.format(Locale.ROOT, "%s exported by vitq %s: input '%s' [N, %d, %d, %d] preprocessed as %s; output '%s'"
                        + " [N, %d] logits. %s", model.name(), OnnxExporter.PRODUCER_VERSION, OnnxExporter.INPUT, inChans(),
                imgSize(), imgSize(), model.preprocessing().describe(), OnnxExporter.OUTPUT, model.numClasses(),
                plan == null ? "Float model." : "Quantized (" + plan.info().method() + ", " + plan.info().bitsLabel()
                        + ") as QuantizeLinear/DequantizeLinear pairs; the twin quantizers as two QDQ branches and Where.");
    }

    private static void meta(Onnx.ModelProto.Builder m, String key, String value) {
        m.addMetadataProps(Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value));
    }

    static Onnx.ValueInfoProto tensorInfo(String name, String batch, int... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(batch));
        for (int d : dims) shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber())
                        .setShape(shape))).build();
    }

    // ---------------------------------------------------------------- patch embedding

    /** {@code patch_embed.proj}: the image (QDQ'd if the plan says so) through a Conv with kernel = stride = p, as tokens [N, G*G, D]. */
    String patchEmbed(String images, Linear proj, int patch) {
        LinearQuant lq = linearQuant(proj.id());
        String img = images;
        if (lq != null && lq.input() != null) img = input(img, proj.id() + "/input", lq.input(), 4);
        List<String> in = new ArrayList<>(List.of(img, weight(proj, lq, new long[] {proj.out(), inChans(), patch, patch}, 0)));
        float[] pb = bias(proj, lq);
        if (pb != null) in.add(g.floats(proj.id() + ".bias", pb, proj.out()));
        String conv = g.node("Conv", proj.id(), in, attrInts("kernel_shape", patch, patch), attrInts("strides", patch, patch));
        String flat = g.node("Reshape", "patch_embed/flatten", List.of(conv, g.longs(new long[] {0, proj.out(), -1}, 3)));
        return g.node("Transpose", "patch_embed/tokens", flat, attrInts("perm", 0, 2, 1));
    }

    // ---------------------------------------------------------------- attention

    /**
     * The attention core of {@code op} on a qkv value whose rows are {@code groups x T} tokens
     * (ViT: one group per image; Swin: the windows, in window order), output [N, rowsPerImage, D].
     * q, k, v are [G, H, T, d] after the split; per-head operands are quantized on axis 1.
     */
    String attention(String qkv, AttentionOp op, String scope, int rowsPerImage) {
        var s = op.spec();
        int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim();
        MatmulQuant m1 = matmulQuant(op.matmul1Id()), m2 = matmulQuant(op.matmul2Id());
        String split = g.node("Reshape", scope + "/heads", List.of(qkv, g.longs(new long[] {-1, T, 3, H, d}, 5)));
        String parts = g.node("Transpose", scope + "/qkv", split, attrInts("perm", 2, 0, 3, 1, 4)); // [3, G, H, T, d]
        String q = part(parts, 0, scope + "/q"), k = part(parts, 1, scope + "/k"), v = part(parts, 2, scope + "/v");
        boolean scaleScores = true;
        if (m1 != null && m1.a() != null) {
            if (op.qPrescaled()) {
                // Swin multiplies q by the scale before q . k^T: that product is the quantized tensor
                q = g.node("Mul", scope + "/q_scaled", List.of(q, g.scalar(s.scale())));
                scaleScores = false;
            }
            q = headOperand(q, op.matmul1Id() + "/a", m1.a());
        }
        if (m1 != null && m1.b() != null) k = headOperand(k, op.matmul1Id() + "/b", m1.b());
        String kT = g.node("Transpose", scope + "/k_transposed", k, attrInts("perm", 0, 1, 3, 2));
        String scores = g.node("MatMul", op.matmul1Id(), List.of(q, kT));
        if (scaleScores) scores = g.node("Mul", scope + "/scale", List.of(scores, g.scalar(s.scale())));
        if (op.bias() != null) scores = addBias(scores, op, scope);
        String probs = g.node("Softmax", scope + "/softmax", scores, attr("axis", -1L));
        if (m2 != null && m2.a() != null) {
            String id = op.matmul2Id() + "/a";
            probs = switch (m2.a()) {
                case TwinSoftmaxOperand t -> qdq.twinSoftmax(probs, id, t);
                case UniformOperand u -> qdq.uniform(probs, id, u, 1, 4);
                case TwinGeluOperand t -> throw new IllegalStateException(id + ": twin GELU on probabilities");
            };
        }
        if (m2 != null && m2.b() != null) v = headOperand(v, op.matmul2Id() + "/b", m2.b());
        String out = g.node("MatMul", op.matmul2Id(), List.of(probs, v)); // [G, H, T, d]
        String tokens = g.node("Transpose", scope + "/merge_heads", out, attrInts("perm", 0, 2, 1, 3));
        return g.node("Reshape", scope + "/out", List.of(tokens, g.longs(new long[] {-1, rowsPerImage, D}, 3)));
    }

    /** Swin's relative-position bias (plus shift mask): [H, T, T] for all windows, or [nW, H, T, T] per window position. */
    private String addBias(String scores, AttentionOp op, String scope) {
        var s = op.spec();
        int T = s.tokens(), H = s.heads(), nW = op.biasGroups();
        if (nW == 1) {
            return g.node("Add", scope + "/bias", List.of(scores, g.floats(op.prefix() + ".bias", op.bias(), H, T, T)));
        }
        String perImage = g.node("Reshape", scope + "/windows", List.of(scores, g.longs(new long[] {-1, nW, H, T, T}, 5)));
        String biased = g.node("Add", scope + "/bias", List.of(perImage, g.floats(op.prefix() + ".bias", op.bias(), nW, H, T, T)));
        return g.node("Reshape", scope + "/biased", List.of(biased, g.longs(new long[] {-1, H, T, T}, 4)));
    }

    private String part(String parts, int index, String name) {
        return g.node("Gather", name, List.of(parts, g.longs(new long[] {index})), attr("axis", 0L));
    }

    /** A q, k or v operand [G, H, T, d]: uniform per head (axis 1) or per tensor. */
    private String headOperand(String x, String scope, OperandQuant o) {
        if (!(o instanceof UniformOperand u)) throw new IllegalStateException(scope + ": " + o.quantizerName());
        return qdq.uniform(x, scope, u, 1, 4);
    }

    // ---------------------------------------------------------------- layers

    String layerNorm(String x, LayerNorm ln) {
        int D = ln.dim();
        String gamma = g.floats(ln.id() + ".weight", ln.weight(), D), beta = g.floats(ln.id() + ".bias", ln.bias(), D);
        if (opset >= 17) {
            return g.node("LayerNormalization", ln.id(), List.of(x, gamma, beta), attr("axis", -1L), attr("epsilon", ln.eps()));
        }
        String mean = g.node("ReduceMean", ln.id() + "/mean", x, attrInts("axes", -1), attr("keepdims", 1L));
        String centred = g.node("Sub", ln.id() + "/centred", List.of(x, mean));
        String sq = g.node("Mul", ln.id() + "/squared", List.of(centred, centred));
        String var = g.node("ReduceMean", ln.id() + "/variance", sq, attrInts("axes", -1), attr("keepdims", 1L));
        String std = g.node("Sqrt", ln.id() + "/std", g.node("Add", ln.id() + "/variance_eps", List.of(var, g.scalar(ln.eps()))));
        String norm = g.node("Div", ln.id() + "/normalized", List.of(centred, std));
        return g.node("Add", ln.id(), List.of(g.node("Mul", ln.id() + "/scaled", List.of(norm, gamma)), beta));
    }

    /** {@code act(QDQ(x) · DQ(W)ᵀ + b)} over the last axis of a rank-3 (tokens) or rank-2 (pooled) tensor. */
    String linear(String x, Linear op, boolean gelu) {
        LinearQuant lq = linearQuant(op.id());
        String in = x;
        if (lq != null && lq.input() != null) in = input(x, op.id() + "/input", lq.input(), 3);
        String y = g.node("MatMul", op.id() + "/matmul", List.of(in, weight(op, lq, new long[] {op.in(), op.out()}, 1)));
        float[] b = bias(op, lq);
        if (b != null) y = g.node("Add", op.id(), List.of(y, g.floats(op.id() + ".bias", b, op.out())));
        return gelu ? gelu(y, op.id() + "/gelu") : y;
    }

    /** The layer's bias, or the plan's corrected one (VT-PTQ's bias correction; may give a bias to a layer without one). */
    private static float[] bias(Linear op, LinearQuant lq) {
        return lq == null ? op.bias() : lq.effectiveBias(op.bias());
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
     * A weight as a graph value of shape {@code dims}: [in, out] (transposed, {@code outAxis} 1)
     * for a MatMul, [out, C, p, p] ({@code outAxis} 0) for the patch-embedding conv. Float, or
     * integer codes with a DequantizeLinear whose scales run along the output axis.
     */
    private String weight(Linear op, LinearQuant lq, long[] dims, int outAxis) {
        int out = op.out(), in = op.in();
        boolean transpose = outAxis == 1;
        if (lq == null) return g.floats(op.id() + ".weight", transpose ? transpose(op.weight(), out, in) : op.weight(), dims);
        UniformOperand wq = lq.weight();
        float[] scales = wq.scales();
        Granularity gr = wq.granularity();
        String codesName = op.id() + ".weight_codes";
        String codes;
        TensorProto.DataType type;
        if (wq.bits() <= 8) {
            byte[] c = ScaledRanges.codesRows(wq.quantizer(), op.id(), gr, scales, op.weight(), out, in);
            codes = g.int8s(codesName, transpose ? transpose(c, out, in) : c, dims);
            type = TensorProto.DataType.INT8;
        } else {
            short[] c = ScaledRanges.shortCodesRows(wq.quantizer(), op.id(), gr, scales, op.weight(), out, in);
            short[] t = transpose ? transpose(c, out, in) : c;
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
        String scale, zp;
        List<Onnx.AttributeProto> attrs = new ArrayList<>();
        if (gr == Granularity.PER_TENSOR) {
            scale = g.floats(op.id() + ".weight_scale", new float[] {scales[0]});
            zp = weightZeroPoint(op.id(), type, 0);
        } else {
            float[] rowScales = new float[out];
            for (int r = 0; r < out; r++) rowScales[r] = scales[gr.scaleIndexOfRow(r, out, scales.length)];
            scale = g.floats(op.id() + ".weight_scale", rowScales, out);
            zp = weightZeroPoint(op.id(), type, out);
            attrs.add(attr("axis", outAxis));
        }
        return g.node("DequantizeLinear", op.id() + ".weight", List.of(codes, scale, zp), attrs.toArray(Onnx.AttributeProto[]::new));
    }

    private String weightZeroPoint(String id, TensorProto.DataType type, int n) {
        if (type != TensorProto.DataType.INT32) return g.zeroPoint(type, n);
        return g.int32s(id + ".weight_zero_point", new int[Math.max(n, 1)], n == 0 ? new long[0] : new long[] {n});
    }

    LinearQuant linearQuant(String id) {
        return plan != null && plan.op(id) instanceof LinearQuant l ? l : null;
    }

    MatmulQuant matmulQuant(String id) {
        return plan != null && plan.op(id) instanceof MatmulQuant m ? m : null;
    }

    /** An int64 index vector for Gather. */
    String indices(String name, int[] idx) {
        long[] l = new long[idx.length];
        for (int i = 0; i < idx.length; i++) l[i] = idx[i];
        return g.int64s(name, l, idx.length);
    }

    static float[] transpose(float[] w, int rows, int cols) {
        float[] t = new float[w.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
        return t;
    }

    static byte[] transpose(byte[] w, int rows, int cols) {
        byte[] t = new byte[w.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
        return t;
    }

    static short[] transpose(short[] w, int rows, int cols) {
        short[] t = new short[w.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
        return t;
    }
}
