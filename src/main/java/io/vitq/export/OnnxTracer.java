package io.vitq.export;

import io.vitq.export.proto.Onnx;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.model.AttentionOp;
import io.vitq.model.InputRotation;
import io.vitq.model.LayerNorm;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.Ops;
import io.vitq.quant.CodeTables;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Activation;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.vitq.export.OnnxGraph.attr;
import static io.vitq.export.OnnxGraph.attrInts;

/**
 * The ONNX graph of a model, traced from its one forward ({@link Ops}): every op of the forward
 * emits its nodes, the quantizable ones (Linear, attention matmuls) with the QuantizeLinear /
 * DequantizeLinear pairs of the plan ({@link QdqEmitter}). No code here knows an architecture:
 * ViT, DeiT and Swin are whatever their segments call. Values are {@code [N, tokens, channels]}
 * (or {@code [N, channels]} when pooled; the images {@code [N, C, S, S]}), N dynamic.
 */
final class OnnxTracer implements Ops<OnnxTracer.Value> {

    /**
     * A graph value: {@code [N, tokens, cols]}, or {@code [N, cols]} when {@code tokens} is 0;
     * {@code preGelu} names h where this value is GELU(h) (a Linear's activation), else null.
     */
    record Value(String name, int tokens, int cols, String preGelu) {
        Value(String name, int tokens, int cols) { this(name, tokens, cols, null); }

        int rank() { return tokens == 0 ? 2 : 3; }
    }

    private final Model model;
    private final QuantPlan plan;
    private final int opset;
    private final OnnxGraph g;
    private final QdqEmitter qdq;
    private final OnnxExporter.LinearForm linears;
    private final java.util.Map<String, String> rotations = new java.util.HashMap<>();
    /** The GELU outputs that fc2 took as a lookup of fc1's output instead ({@link GeluCodeLookup}). */
    private final List<String> replacedGelus = new ArrayList<>();

    OnnxTracer(Model model, QuantPlan plan, int opset, OnnxExporter.ActivationCodes codes, OnnxExporter.LinearForm linears) {
        this.model = model;
        this.plan = plan;
        this.opset = opset;
        this.g = new OnnxGraph(model.name(), opset);
        this.qdq = new QdqEmitter(g, codes, linears == OnnxExporter.LinearForm.INTEGER);
        this.linears = linears;
    }

    /** The whole model: input images [N, C, S, S], the traced forward, output logits [N, classes]. */
    Onnx.ModelProto build() {
        var a = model.spec().architecture();
        int S = a.imgSize(), C = a.inChans();
        g.proto().addInput(tensorInfo(OnnxExporter.INPUT, "batch", C, S, S));
        g.unique(OnnxExporter.INPUT);
        Value logits = Ops.forward(model, new Value(OnnxExporter.INPUT, -1, C), this);
        if (logits.tokens() != 0 || logits.cols() != model.numClasses()) {
            throw new IllegalStateException(model.name() + ": the traced forward ends in " + logits + ", not [N, "
                    + model.numClasses() + "] logits");
        }
        // the graph output gets its public name
        String out = g.node("Identity", OnnxExporter.OUTPUT, logits.name());
        g.proto().addOutput(tensorInfo(out, "batch", model.numClasses()));
        // the GELUs whose outputs a lookup of their inputs replaced, and nothing else: any other unread node is a bug
        for (String removed : g.removeUnreadNodes()) {
            if (replacedGelus.stream().noneMatch(gelu -> removed.equals(gelu) || removed.startsWith(gelu + "/")))
                throw new IllegalStateException(model.name() + ": node " + removed + " was emitted and never read");
        }
        g.removeUnreadInitializers();
        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder()
                .setIrVersion(OnnxExporter.irVersion(opset))
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setProducerName(OnnxExporter.PRODUCER).setProducerVersion(OnnxExporter.PRODUCER_VERSION)
                .setDocString(doc(C, S))
                .setGraph(g.proto());
        meta(m, "vitq.model", model.name());
        meta(m, "vitq.preprocessing", model.preprocessing().describe());
        meta(m, "vitq.quantization", plan == null ? "float" : plan.info().method() + " " + plan.info().bitsLabel());
        if (plan != null) meta(m, "vitq.plan", QuantPlanJson.toJson(plan));
        return m.build();
    }

    private String doc(int C, int S) {
        return String.format(Locale.ROOT, "%s exported by vitq %s: input '%s' [N, %d, %d, %d] preprocessed as %s; output '%s'"
                        + " [N, %d] logits. %s", model.name(), OnnxExporter.PRODUCER_VERSION, OnnxExporter.INPUT, C, S, S,
                model.preprocessing().describe(), OnnxExporter.OUTPUT, model.numClasses(),
                plan == null ? "Float model." : "Quantized (" + plan.info().method() + ", " + plan.info().bitsLabel()
                        + ") as QuantizeLinear/DequantizeLinear pairs; the twin quantizers as two QDQ branches and Where"
                        + (linears == OnnxExporter.LinearForm.INTEGER ? "; Linears on 8-bit codes as MatMulInteger, Cast and Mul." : "."));
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

    // ================================================================ the forward's ops

    @Override
    public Value patchEmbed(Linear proj, Value images, int channels, int size, int patch) {
        int G = size / patch;
        return new Value(patchEmbed(images.name(), proj, channels, patch), G * G, proj.out());
    }

    @Override
    public Value prependTokens(Value x, List<float[]> tokens) {
        int pre = tokens.size(), D = x.cols();
        if (pre == 0) return x;
        float[] t = new float[pre * D];
        for (int i = 0; i < pre; i++) System.arraycopy(tokens.get(i), 0, t, i * D, D);
        String prefix = g.floats(pre == 2 ? "cls_token+dist_token" : "cls_token", t, 1, pre, D);
        String shape = g.node("Shape", "batch/shape", x.name());
        String batch = g.node("Gather", "batch/size", List.of(shape, g.longs(new long[] {0}, 1)), attr("axis", 0L));
        String prefixShape = g.node("Concat", "prefix/shape", List.of(batch, g.longs(new long[] {pre, D}, 2)), attr("axis", 0L));
        String expanded = g.node("Expand", "prefix/tokens", List.of(prefix, prefixShape));
        return new Value(g.node("Concat", "prefix", List.of(expanded, x.name()), attr("axis", 1L)), x.tokens() + pre, D);
    }

    @Override
    public Value addPosition(Value x, float[] pos) {
        String p = g.floats("pos_embed", pos, 1, x.tokens(), x.cols());
        return new Value(g.node("Add", "pos_embed/add", List.of(x.name(), p)), x.tokens(), x.cols());
    }

    @Override
    public Value layerNorm(LayerNorm ln, Value x) { return same(x, layerNorm(x.name(), ln)); }

    @Override
    public Value linear(Linear op, Value x, Activation act) {
        if (act != Activation.NONE && act != Activation.GELU) throw new IllegalArgumentException(op.id() + ": activation " + act);
        String y = linear(x, op);
        return act == Activation.GELU ? new Value(gelu(y, op.id() + "/gelu"), x.tokens(), op.out(), y) : new Value(y, x.tokens(), op.out());
    }

    /**
     * {@code x R^T}: the row times the signs, cut into blocks of b, each block times {@code H_b / sqrt(b)}
     * (constants per width, shared by the blocks), joined again; one MatMul by {@code R^T} when the
     * width is a single block.
     */
    @Override
    public Value rotate(Value x) {
        int n = x.cols(), b = InputRotation.block(n);
        if (b == n)
            return same(x, g.node("MatMul", "input_rotation", List.of(x.name(), rotations.computeIfAbsent("rt_" + n,
                    k -> g.floats("input_rotation_" + n, InputRotation.transposedMatrix(n), n, n)))));
        String signs = rotations.computeIfAbsent("signs_" + n, k -> g.floats("input_rotation_signs_" + n, InputRotation.signs(n), n));
        String block = rotations.computeIfAbsent("block_" + b, k -> g.floats("input_rotation_block_" + b, InputRotation.normalizedBlock(b), b, b));
        long[] split = x.rank() == 3 ? new long[] {0, 0, n / b, b} : new long[] {0, n / b, b};
        long[] join = x.rank() == 3 ? new long[] {0, 0, n} : new long[] {0, n};
        String signed = g.node("Mul", "input_rotation/signs", List.of(x.name(), signs));
        String blocks = g.node("Reshape", "input_rotation/blocks", List.of(signed, g.longs(split, split.length)));
        String mixed = g.node("MatMul", "input_rotation", List.of(blocks, block));
        return same(x, g.node("Reshape", "input_rotation/rows", List.of(mixed, g.longs(join, join.length))));
    }

    @Override
    public Value addLinear(Value residual, Linear op, Value x) {
        return add(residual, linear(op, x, Activation.NONE));
    }

    @Override
    public Value add(Value residual, Value y) {
        return same(residual, g.node("Add", "residual", List.of(residual.name(), y.name())));
    }

    @Override
    public Value scale(Value x, float[] gamma) {
        return same(x, g.node("Mul", "layer_scale", List.of(x.name(), g.floats("layer_scale.gamma", gamma, gamma.length))));
    }

    @Override
    public Value attention(AttentionOp op, Value qkv) {
        return new Value(attention(qkv.name(), op, op.prefix(), qkv.tokens()), qkv.tokens(), op.spec().dim());
    }

    @Override
    public Value permuteRows(Value x, int[] order) {
        return same(x, g.node("Gather", "permute", List.of(x.name(), indices("permute.order", order)), attr("axis", 1L)));
    }

    @Override
    public Value addPermuted(Value residual, Value y, int[] order) {
        int[] inverse = new int[order.length];
        for (int r = 0; r < order.length; r++) inverse[order[r]] = r;
        String back = g.node("Gather", "unpermute", List.of(y.name(), indices("permute.inverse", inverse)), attr("axis", 1L));
        return same(residual, g.node("Add", "residual", List.of(residual.name(), back)));
    }

    @Override
    public Value mergePatches(Value x, int res) {
        int r = res / 2, L = r * r, C4 = 4 * x.cols();
        int[] src = new int[4 * L];
        // timm's x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2], x3 = x[1::2, 1::2]: part k = 2 dx + dy
        for (int o = 0; o < L; o++)
            for (int k = 0; k < 4; k++) src[o * 4 + k] = (2 * (o / r) + (k & 1)) * res + 2 * (o % r) + (k >> 1);
        String gathered = g.node("Gather", "merge/gather", List.of(x.name(), indices("merge.neighbours", src)), attr("axis", 1L));
        return new Value(g.node("Reshape", "merge/concat", List.of(gathered, g.longs(new long[] {-1, L, C4}, 3))), L, C4);
    }

    @Override
    public Value token(Value x, int index) {
        String t = g.node("Gather", index == 0 ? "cls" : "token_" + index, List.of(x.name(), g.longs(new long[] {index})),
                attr("axis", 1L));
        return new Value(t, 0, x.cols());
    }

    @Override
    public Value meanTokens(Value x, int first) {
        String in = x.name();
        if (first > 0) {
            in = g.node("Slice", "pool/tokens", List.of(in, g.longs(new long[] {first}, 1),
                    g.longs(new long[] {Integer.MAX_VALUE}, 1), g.longs(new long[] {1}, 1)));
        }
        // ReduceMean takes its axes as an attribute up to opset 17, as an input from 18 on
        String pooled = opset >= 18
                ? g.node("ReduceMean", "pool", List.of(in, g.longs(new long[] {1}, 1)), attr("keepdims", 0L))
                : g.node("ReduceMean", "pool", in, attrInts("axes", 1), attr("keepdims", 0L));
        return new Value(pooled, 0, x.cols());
    }

    @Override
    public Value average(Value a, Value b) {
        String sum = g.node("Add", "head_sum", List.of(a.name(), b.name()));
        return same(a, g.node("Div", "head_mean", List.of(sum, g.scalar(2f))));
    }

    private static Value same(Value like, String name) { return new Value(name, like.tokens(), like.cols()); }

    // ---------------------------------------------------------------- patch embedding

    // ================================================================ layer emitters

    /** {@code patch_embed.proj}: the image (QDQ'd if the plan says so) through a Conv with kernel = stride = p, as tokens [N, G*G, D]. */
    private String patchEmbed(String images, Linear proj, int inChans, int patch) {
        LinearQuant lq = linearQuant(proj.id());
        String img = images;
        if (lq != null && lq.input() != null) img = input(img, proj.id() + "/input", lq.input(), 4);
        // ONNX Runtime's form, on an image the plan leaves float: a float Conv on weights dequantized once at load
        // (see weight). The QDQ form keeps the DequantizeLinear weight, which QDQ toolchains read as a stored int8 weight.
        boolean folded = linears == OnnxExporter.LinearForm.INTEGER && lq != null && !dequantized(img);
        List<String> in = new ArrayList<>(List.of(img, weight(proj, lq, new long[] {proj.out(), inChans, patch, patch}, 0, folded)));
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
    private String attention(String qkv, AttentionOp op, String scope, int rowsPerImage) {
        var s = op.spec();
        int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim();
        MatmulQuant m1 = matmulQuant(op.matmul1Id()), m2 = matmulQuant(op.matmul2Id());
        // [G, T, 3H, d] -> [G, 3H, T, d]: one axis moved, rows of d copied whole; ONNX Runtime 1.23 ran
        // the 5-D permutation [G, T, 3, H, d] -> [3, G, H, T, d] 1.7-2.6x slower (docs/BENCHMARKS.md)
        String rows = g.node("Reshape", scope + "/heads", List.of(qkv, g.longs(new long[] {-1, T, 3 * H, d}, 4)));
        String moved = g.node("Transpose", scope + "/qkv", rows, attrInts("perm", 0, 2, 1, 3));
        String parts = g.node("Reshape", scope + "/parts", List.of(moved, g.longs(new long[] {-1, 3, H, T, d}, 5))); // [G, 3, H, T, d]
        String q = part(parts, 0, scope + "/q"), k = part(parts, 1, scope + "/k"), v = part(parts, 2, scope + "/v");
        boolean scaleScores = true;
        if (m1 != null && m1.a() != null) {
            if (op.qPrescaled()) {
                // Swin multiplies q by the scale before q . k^T: that product is the quantized tensor
                q = g.node("Mul", scope + "/q_scaled", List.of(q, g.scalar(op.qFactor())));
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
        if (m2 != null && m2.a() != null) probs = m2.a().toOnnx(qdq, probs, op.matmul2Id() + "/a", 1, 4);
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
        return g.node("Gather", name, List.of(parts, g.longs(new long[] {index})), attr("axis", 1L));
    }

    /** A q, k or v operand [G, H, T, d]: per head on axis 1, or per tensor. */
    private String headOperand(String x, String scope, OperandQuant o) {
        return o.toOnnx(qdq, x, scope, 1, 4);
    }

    // ---------------------------------------------------------------- layers

    private String layerNorm(String x, LayerNorm ln) {
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

    /** {@code QDQ(x) · DQ(W)ᵀ + b} over the last axis of a rank-3 (tokens) or rank-2 (pooled) tensor. */
    private String linear(Value x, Linear op) {
        LinearQuant lq = linearQuant(op.id());
        List<String> in = inputParts(x, op.id(), lq);
        // an input that is not a DequantizeLinear's output cannot join an integer kernel: the product is float
        boolean integerInput = in.stream().allMatch(this::dequantized);
        String w = weight(op, lq, new long[] {op.in(), op.out()}, 1, !integerInput);
        float[] b = bias(op, lq);
        String bias = b == null ? null : g.floats(op.id() + ".bias", b, op.out());
        String y;
        if (linears == OnnxExporter.LinearForm.INTEGER && integerInput && in.stream().allMatch(v -> byteCodes(v, w))) {
            y = integerProducts(op.id(), in, w, bias);
        } else {
            // a two-part input (the twin GELU's ranges, AdaLog's grid components) as two products added: each
            // one an integer kernel in ONNX Runtime
            y = g.node("MatMul", op.id() + "/matmul", List.of(in.get(0), w));
            for (int i = 1; i < in.size(); i++)
                y = g.node("Add", op.id() + "/ranges", List.of(y, g.node("MatMul", op.id() + "/matmul" + i, List.of(in.get(i), w))));
            if (bias != null) y = g.node("Add", op.id(), List.of(y, bias));
        }
        return y;
    }

    /**
     * A Linear's input as the parts its products take ({@link OperandQuant#toOnnxParts}); in the
     * integer form from opset 21 on, where the input is GELU(h) and its quantizer's integer parts are
     * lookups of a code, the parts as lookups of h ({@link GeluCodeLookup}; the GELU's nodes are then
     * unread, and {@link #build} removes them).
     */
    private List<String> inputParts(Value x, String opId, LinearQuant lq) {
        if (lq == null || lq.input() == null) return List.of(x.name());
        CodeTables lookups = x.preGelu() != null && linears == OnnxExporter.LinearForm.INTEGER && opset >= GeluCodeLookup.MIN_OPSET
                ? lq.input().integerCodeTables() : null;
        List<String> parts = lookups == null ? null : GeluCodeLookup.parts(g, x.preGelu(), x.cols(), lookups, opId);
        if (parts != null) {
            replacedGelus.add(x.name());
            return parts;
        }
        return lq.input().toOnnxParts(qdq, x.name(), opId + "/input", -1, x.rank());
    }

    /** Whether {@code value} is a DequantizeLinear's output: a QDQ value, whose codes an integer kernel can take. */
    private boolean dequantized(String value) { return "DequantizeLinear".equals(g.producer(value)); }

    /**
     * Whether {@code input}, a DequantizeLinear's output, holds 8-bit codes with a scalar scale and
     * zero point, and the weight {@code w} (a DequantizeLinear of initializers) int8 codes with zero
     * point 0: what {@code MatMulInteger} takes (wider weight codes keep the QDQ form).
     */
    private boolean byteCodes(String input, String w) {
        List<String> x = g.producerInputs(input), wq = g.producerInputs(w);
        if (x.size() < 3 || wq.size() < 3) return false;
        TensorProto xScale = g.initializer(x.get(1)), xZero = g.initializer(x.get(2));
        TensorProto wCodes = g.initializer(wq.get(0)), wZero = g.initializer(wq.get(2));
        return xScale != null && xScale.getDimsCount() == 0
                && xZero != null && xZero.getDimsCount() == 0 && (xZero.getDataType() == TensorProto.DataType.INT8.getNumber()
                        || xZero.getDataType() == TensorProto.DataType.UINT8.getNumber())
                && wCodes != null && wCodes.getDataType() == TensorProto.DataType.INT8.getNumber()
                && wZero != null && allZero(wZero.getRawData());
    }

    private static boolean allZero(com.google.protobuf.ByteString bytes) {
        for (int i = 0; i < bytes.size(); i++) if (bytes.byteAt(i) != 0) return false;
        return true;
    }

    /**
     * {@link OnnxExporter.LinearForm#INTEGER}: per input part (the twin GELU's two ranges are two, and
     * so are AdaLog's two grid components)
     * {@code Cast(MatMulInteger(x codes, W codes, x zero point)) · (s_x · s_W)}, the first part plus
     * the bias, the parts added. ONNX Runtime's MatMulIntegerToFloatFusion takes exactly this chain
     * into one {@code MatMulIntegerToFloat} whose GEMM output stage scales and adds the bias, saving
     * the bias's separate pass over the output that the QDQ form's fused kernel leaves. It needs the
     * scale product as a {@code Mul} node, which its constant folding would fold away with two
     * constant scales: the input's scale therefore enters as {@code DequantizeLinear(1, s_x)}, which
     * that folding keeps for the QDQ fusions (a scalar, s_x exactly). The codes and scales are the
     * QDQ form's; in ONNX Runtime both run the same exact int32 sums, and the float rounding around
     * them differs (the bias added in the kernel's output stage, fc2's first range plus the bias
     * before the second).
     */
    private String integerProducts(String id, List<String> parts, String w, String bias) {
        List<String> wq = g.producerInputs(w);
        String y = null;
        for (int i = 0; i < parts.size(); i++) {
            List<String> x = g.producerInputs(parts.get(i));
            String scope = id + "/matmul" + (i == 0 ? "" : i);
            String sums = g.node("MatMulInteger", scope + "/int32", List.of(x.get(0), wq.get(0), x.get(2)));
            String asFloat = g.node("Cast", scope + "/float", sums, attr("to", (long) TensorProto.DataType.FLOAT.getNumber()));
            String inputScale = g.node("DequantizeLinear", scope + "/input_scale", List.of(g.int8Scalar(1), x.get(1)));
            String scales = g.node("Mul", scope + "/scales", List.of(inputScale, wq.get(1)));
            String part = g.node("Mul", i == 0 && bias == null && parts.size() == 1 ? id : scope, List.of(asFloat, scales));
            if (i == 0 && bias != null) part = g.node("Add", parts.size() == 1 ? id : scope + "/bias", List.of(part, bias));
            y = y == null ? part : g.node("Add", i == parts.size() - 1 ? id : id + "/ranges", List.of(y, part));
        }
        // the DequantizeLinear nodes of the QDQ form, which this form reads its codes and scales from
        for (String part : parts) g.remove(part);
        g.remove(w);
        return y;
    }

    /** The layer's bias, or the plan's corrected one (VT-PTQ's bias correction; may give a bias to a layer without one). */
    private static float[] bias(Linear op, LinearQuant lq) {
        return lq == null ? op.bias() : lq.effectiveBias(op.bias());
    }

    /** A Linear input (per tensor). */
    private String input(String x, String scope, OperandQuant o, int rank) {
        return o.toOnnx(qdq, x, scope, -1, rank);
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
     * integer codes with a DequantizeLinear whose scales run along the output axis. With
     * {@code castAndScale} (a product whose input stays float: a Linear's unquantized input, a
     * lookup-coded quantizer's values, the patch-embedding conv's unquantized image) the same codes
     * and scales are dequantized by {@code Cast} and {@code Mul} instead, the same float products
     * {@code code · s}: ONNX Runtime folds them into a float weight when the session loads, where a
     * DequantizeLinear runs on every call (1.23) or turns the product into its weight-only
     * {@code MatMulNBits} kernel (1.30), both slower on ViT shapes than its float MatMul
     * (docs/BENCHMARKS.md, "2026-12-05, night"); the conv ({@link OnnxExporter.LinearForm#INTEGER}
     * only) then also gets ONNX Runtime's blocked (NCHWc) float kernel, which a DequantizeLinear
     * weight keeps it from (1.23.2: 18 against 10 ms per ViT-S batch of 32, docs/BENCHMARKS.md, "2026-12-06").
     */
    private String weight(Linear op, LinearQuant lq, long[] dims, int outAxis, boolean castAndScale) {
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
            byte[] c = ScaledRanges.codesRows(wq, op.id(), op.weight(), out, in);
            codes = g.int8s(codesName, transpose ? transpose(c, out, in) : c, dims);
            type = TensorProto.DataType.INT8;
        } else {
            short[] c = ScaledRanges.shortCodesRows(wq, op.id(), op.weight(), out, in);
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
            // a Mul broadcasts from the last axis: the conv's per-channel scales then as [out, 1, 1, 1]
            long[] scaleDims = new long[castAndScale ? dims.length - outAxis : 1];
            java.util.Arrays.fill(scaleDims, 1);
            scaleDims[0] = out;
            scale = g.floats(op.id() + ".weight_scale", rowScales, scaleDims);
            zp = weightZeroPoint(op.id(), type, out);
            attrs.add(attr("axis", outAxis));
        }
        if (castAndScale) {
            String floatCodes = g.node("Cast", op.id() + ".weight_float_codes", codes, attr("to", (long) TensorProto.DataType.FLOAT.getNumber()));
            return g.node("Mul", op.id() + ".weight", List.of(floatCodes, scale));
        }
        return g.node("DequantizeLinear", op.id() + ".weight", List.of(codes, scale, zp), attrs.toArray(Onnx.AttributeProto[]::new));
    }

    private String weightZeroPoint(String id, TensorProto.DataType type, int n) {
        if (type != TensorProto.DataType.INT32) return g.zeroPoint(type, n);
        return g.int32s(id + ".weight_zero_point", new int[Math.max(n, 1)], n == 0 ? new long[0] : new long[] {n});
    }

    private LinearQuant linearQuant(String id) {
        return plan != null && plan.op(id) instanceof LinearQuant l ? l : null;
    }

    private MatmulQuant matmulQuant(String id) {
        return plan != null && plan.op(id) instanceof MatmulQuant m ? m : null;
    }

    /** An int64 index vector for Gather. */
    private String indices(String name, int[] idx) {
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
