package io.vitq.io;

import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.ModelException;
import io.vitq.model.ModelSpec;
import io.vitq.model.ModelZoo;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinTransformer;
import io.vitq.model.Weights;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.PlanFormatException;
import io.vitq.quant.PlanModelCheck;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import io.vitq.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * The quantized model file: one safetensors file that loads without the original checkpoint.
 * <ul>
 *   <li>{@code <id>.weight}, for every Linear op the plan quantizes: the weight's integer codes
 *       {@code clamp(rint(w / scale), -2^(k-1), 2^(k-1) - 1)} in the checkpoint's shape ({@code [out, in]},
 *       {@code [out, C, p, p]} for {@code patch_embed.proj}); I8 for 8 bits, I16 from 9 to 16; below 8 bits
 *       packed ({@link CodePacking}): U8 {@code [out, ceil(cols k / 8)]}, each code minus its row's lowest
 *       code in k bits, the weight's own shape in metadata {@code vitq.packed_codes} (version 4).</li>
 *   <li>{@code <id>.weight_scale}: F32 {@code [n]}, the op's n weight scales (1 per tensor, 1 per output
 *       channel, 1 per row block), the plan's own values.</li>
 *   <li>every other tensor the model uses (biases, LayerNorms, cls/pos embeddings, relative position
 *       tables, weights the plan leaves float): F32.</li>
 *   <li>metadata: {@code vitq.format = quantized-model}, {@code vitq.format_version = 2},
 *       {@code vitq.model} (the model's name), {@code vitq.model_spec} (its architecture, eval
 *       transform and class names as {@link ModelSpecJson}), {@code vitq.plan} (the plan as
 *       {@link QuantPlanJson}). Version 1 files, which had no spec, load when their name is a zoo name.
 *       A model with rotated inputs ({@code ViTConfig.rotatedInputs}) is written as version 3, so that
 *       a vitq that cannot rotate refuses it instead of running it unrotated; a file with packed codes
 *       (weights below 8 bits, rotated or not) as version 4, which readers of versions 1 to 3 refuse.
 *       Versions 1 to 3 store codes below 8 bits as I8 and still load. A model that rotates every block
 *       Linear's input ({@code RotatedInputs.ALL}, spec {@code "rotated_inputs": "all"}) is version 5, its
 *       codes packed or not (the packed shapes' metadata says), which readers of versions 1 to 4 refuse.
 *       A file with a weight on a table of levels ({@link UniformOperand#levels()}, the table in the plan)
 *       is version 6 whatever its rotation: the weight's packed bits are indices into the table. A file with a
 *       weight on a table of code pairs ({@link UniformOperand#pairs()}) is version 7, each pair of columns
 *       packed as one 2k-bit index into its table, which readers of versions 1 to 6 refuse. A file whose ViT
 *       has timm's {@code norm_pre} (spec {@code "pre_norm": true}, the CLIP fine-tunes) is version 8 whatever
 *       else it holds (rotation, packed codes, tables), so that readers of versions 1 to 7 refuse it instead of
 *       running the model without that LayerNorm.</li>
 * </ul>
 * Tensor names are current timm's, i.e. the op ids: a Swin checkpoint in timm 0.4.12 naming is
 * stored renamed. Buffers the models recompute ({@code relative_position_index}, {@code attn_mask})
 * are not stored.
 *
 * <p>Reading decodes each weight as {@code code × scale} (a float product with the row's scale),
 * which is the fake-quantized weight: the same float bit for bit, except that a weight that fake
 * quantization maps to -0.0 reads back as +0.0 (an integer code has no signed zero; the values
 * compare equal and products with them sum to the same results).
 */
public final class QuantizedModelFile {
    public static final String FORMAT = "quantized-model";
    public static final int VERSION = 2;
    /** The version of a file whose model rotates its qkv and fc1 inputs (and packs no codes). */
    public static final int ROTATED_VERSION = 3;
    /** The version of a file that packs codes below 8 bits (its model rotated or not). */
    public static final int PACKED_VERSION = 4;
    /** The version of a file whose model rotates every block Linear's input, its codes packed or not. */
    public static final int ROTATED_ALL_VERSION = 5;
    /** The version of a file with a weight on a table of levels (each code's packed index; its model rotated or not). */
    public static final int LEVELS_VERSION = 6;
    /** The version of a file with a weight on a table of code pairs (a packed 2k-bit index per pair of columns; levels too or not). */
    public static final int PAIRS_VERSION = 7;
    /** The version of a file whose ViT has {@code norm_pre} (timm's pre_norm), whatever else it holds. */
    public static final int PRE_NORM_VERSION = 8;
    /** Metadata of a version 4 to 7 file with packed codes: each packed tensor's name and its weight's own shape, as a JSON object. */
    public static final String META_PACKED = "vitq.packed_codes";
    public static final String META_FORMAT = "vitq.format", META_VERSION = "vitq.format_version",
            META_MODEL = "vitq.model", META_SPEC = "vitq.model_spec", META_PLAN = "vitq.plan";
    /** Suffix of a weight's scale tensor: {@code <id>.weight} → {@code <id>.weight_scale}. */
    public static final String SCALE_SUFFIX = "_scale";

    /**
     * The metadata of a quantized model file: the model name, its spec (null in a version 1 file)
     * and the plan.
     */
    public record Header(String model, ModelSpec spec, QuantPlan plan) {}

    private QuantizedModelFile() {}

    // ---------------------------------------------------------------- writing

    /**
     * Writes the model of {@code spec} built from {@code source} with its weights quantized by
     * {@code plan}. Everything is checked and encoded before the file is opened; the file is written
     * under a temporary name and renamed.
     *
     * @throws IllegalArgumentException when the plan does not fit the model (naming {@code out} and the ops)
     * @throws ModelException when {@code source} does not build the model
     */
    public static void write(Path out, ModelSpec spec, Weights source, QuantPlan plan) throws IOException {
        if (!plan.folds().isEmpty())
            throw new IllegalArgumentException(out + ": the plan has LayerNorm folds; write the folded model's tensors with "
                    + "Reparameterization.storedPlan(plan)");
        // build the model exactly as the reader will, so the file is known to load back
        Model model = spec.build(source);
        try {
            PlanModelCheck.check(plan, model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(out + ": " + e.getMessage(), e);
        }
        UnaryOperator<String> canonical = model instanceof SwinTransformer
                ? SwinCheckpoint.of(source)::internal : UnaryOperator.identity();
        Map<String, Linear> quantized = new LinkedHashMap<>();
        for (Linear l : model.linears()) if (plan.op(l.id()) instanceof LinearQuant) quantized.put(l.id() + ".weight", l);

        Set<String> unused = new HashSet<>(source.unused());
        Map<String, SafeTensors.Entry> entries = new LinkedHashMap<>();
        Map<String, int[]> packedShapes = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : source.asMap().entrySet()) {
            if (unused.contains(e.getKey()) || Weights.isRecomputedBuffer(e.getKey())) continue;
            String name = canonical.apply(e.getKey());
            Linear op = quantized.remove(name);
            if (op == null) {
                entries.put(name, SafeTensors.Entry.f32(e.getValue()));
                continue;
            }
            UniformOperand wq = plan.linear(op.id()).weight();
            if (CodePacking.packs(wq.bits())) {
                entries.put(name, CodePacking.pack(op, wq, e.getValue()));
                packedShapes.put(name, e.getValue().shape());
            } else {
                entries.put(name, codes(op, wq, e.getValue()));
            }
            entries.put(name + SCALE_SUFFIX, SafeTensors.Entry.f32(wq.scales(), wq.scaleCount()));
        }
        if (!quantized.isEmpty()) {
            // a model definition that reads a Linear's weight under another name than <op id>.weight
            throw new IllegalStateException(out + ": no source tensor for the quantized weights " + quantized.keySet());
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(META_FORMAT, FORMAT);
        meta.put(META_VERSION, Integer.toString(preNorm(spec) ? PRE_NORM_VERSION : hasPairs(plan) ? PAIRS_VERSION : hasLevels(plan) ? LEVELS_VERSION
                : rotatesBlockOutputs(spec) ? ROTATED_ALL_VERSION : !packedShapes.isEmpty() ? PACKED_VERSION
                : spec.architecture().rotatedInputs() ? ROTATED_VERSION : VERSION));
        if (!packedShapes.isEmpty()) meta.put(META_PACKED, CodePacking.shapesJson(packedShapes));
        meta.put(META_MODEL, spec.name());
        meta.put(META_SPEC, ModelSpecJson.toJson(spec));
        meta.put(META_PLAN, QuantPlanJson.toJson(plan));
        SafeTensors.write(out, entries, meta);
    }

    /** The integer codes of one Linear weight, in the tensor's own shape (row-major rows of {@code in} values). */
    private static SafeTensors.Entry codes(Linear op, UniformOperand wq, Tensor weight) {
        float[] w = weight.data();
        if (codeType(wq.bits()) == DType.I8) {
            return SafeTensors.Entry.i8(ScaledRanges.codesRows(wq, op.id(), w, op.out(), op.in()), weight.shape());
        }
        return SafeTensors.Entry.i16(ScaledRanges.shortCodesRows(wq, op.id(), w, op.out(), op.in()), weight.shape());
    }

    /** The dtype that holds k-bit codes. */
    public static DType codeType(int bits) { return bits <= 8 ? DType.I8 : DType.I16; }

    // ---------------------------------------------------------------- reading

    /**
     * True when {@code file} is a safetensors file with {@code vitq.format} metadata (whether its
     * content is valid is checked by {@link #load} and {@link #readHeader}).
     */
    public static boolean isQuantizedModel(Path file) {
        return Checkpoints.isSafetensors(file) && SafeTensors.read(file).metadata().containsKey(META_FORMAT);
    }

    /**
     * The model name and plan from the file's metadata, without decoding any tensor; the codes and
     * scales the plan needs must be in the header (the names only: their content is {@link #load}'s
     * to check).
     */
    public static Header readHeader(Path file) {
        SafeTensors st = open(file);
        Header h = header(st);
        h.plan().ops().forEach((id, op) -> {
            if (!(op instanceof LinearQuant)) return;
            String codes = id + ".weight";
            if (!st.has(codes)) throw error(st, codes, "missing: the integer codes of a weight the plan quantizes");
            if (!st.has(codes + SCALE_SUFFIX))
                throw error(st, codes + SCALE_SUFFIX, "missing: the scales of quantized weight '" + codes + "'");
        });
        return h;
    }

    /**
     * The model with weights decoded from the codes, and the plan. Any inconsistency (codes or
     * scales missing, of the wrong dtype or shape, codes out of range, scales differing from the
     * plan, a plan that does not fit the model) is a {@link CheckpointException} naming the file
     * and the tensor or op.
     */
    public static ModelLoader.Loaded load(Path file) {
        SafeTensors st = open(file);
        Header h = header(st);
        Weights w = new Weights(file.toString(), decodeAll(st, h.plan()));
        List<String> notes = new ArrayList<>();
        notes.add(describe(h.plan()));
        Model model;
        try {
            ModelSpec spec = h.spec();
            if (spec == null) {
                // version 1: the name was all there was; only a zoo name says the architecture
                ModelZoo.Entry e = ModelZoo.get(h.model());
                if (e == null) {
                    throw new CheckpointException(file + ": a quantized model of format version 1 names '" + h.model()
                            + "', which is not a zoo name, and has no architecture; quantize its float model again");
                }
                spec = e.specFor(w);
            }
            model = spec.build(w);
            PlanModelCheck.check(h.plan(), model);
        } catch (ModelException | IllegalArgumentException e) {
            // here a model that does not build is a broken file, not a wrong command line
            String m = e.getMessage();
            throw new CheckpointException(m.startsWith(file.toString()) ? m : file + ": " + m, e);
        }
        return new ModelLoader.Loaded(model, file, List.of(file), w, notes, h.plan());
    }

    private static SafeTensors open(Path file) {
        Checkpoints.requireNonEmptyFile(file);
        if (!Checkpoints.isSafetensors(file)) {
            Checkpoints.requireNotTruncatedSafetensors(file, Checkpoints.head(file, 9));
            throw new CheckpointException(Checkpoints.notA(file, "a vitq quantized model (not a safetensors file)"));
        }
        return SafeTensors.read(file);
    }

    private static Header header(SafeTensors st) {
        Path file = st.path();
        Map<String, String> meta = st.metadata();
        String format = meta.get(META_FORMAT);
        if (format == null) {
            throw new CheckpointException(file + ": not a vitq quantized model (no '" + META_FORMAT
                    + "' metadata: a float checkpoint?)");
        }
        if (!FORMAT.equals(format)) {
            throw new CheckpointException(file + ": metadata '" + META_FORMAT + "' is '" + format + "', expected '" + FORMAT + "'");
        }
        String version = meta.get(META_VERSION);
        if (!java.util.List.of("1", Integer.toString(VERSION), Integer.toString(ROTATED_VERSION), Integer.toString(PACKED_VERSION),
                Integer.toString(ROTATED_ALL_VERSION), Integer.toString(LEVELS_VERSION), Integer.toString(PAIRS_VERSION),
                Integer.toString(PRE_NORM_VERSION)).contains(version)) {
            throw new CheckpointException(file + ": quantized model format version " + version + ", this vitq reads versions"
                    + " 1 to " + PRE_NORM_VERSION);
        }
        // version 8 says only that the model has norm_pre: its rotation, packing and tables are read as they are
        boolean preNormVersion = Integer.toString(PRE_NORM_VERSION).equals(version);
        boolean levelsVersion = Integer.toString(LEVELS_VERSION).equals(version);
        boolean pairsVersion = Integer.toString(PAIRS_VERSION).equals(version);
        // versions 6 to 8 say what the file holds beyond rotation and packing: those two are read as the spec and metadata say
        boolean rotationAndPackingAsRead = levelsVersion || pairsVersion || preNormVersion;
        boolean packedVersion = Integer.toString(PACKED_VERSION).equals(version);
        boolean allVersion = Integer.toString(ROTATED_ALL_VERSION).equals(version);
        String model = meta.get(META_MODEL);
        if (model == null || model.isBlank()) throw new CheckpointException(file + ": metadata '" + META_MODEL + "' missing");
        ModelSpec spec = null;
        if (!"1".equals(version)) {
            String specJson = meta.get(META_SPEC);
            if (specJson == null) throw new CheckpointException(file + ": metadata '" + META_SPEC + "' missing");
            spec = ModelSpecJson.parse(specJson, file + " (metadata '" + META_SPEC + "')");
            if (!spec.name().equals(model)) {
                throw new CheckpointException(file + ": metadata '" + META_MODEL + "' is '" + model + "' but '" + META_SPEC
                        + "' names '" + spec.name() + "'");
            }
            if (preNormVersion != preNorm(spec)) {
                throw new CheckpointException(file + ": format version " + version + (preNormVersion ? " without" : " with")
                        + " a ViT with norm_pre in '" + META_SPEC + "' (version " + PRE_NORM_VERSION + " exactly then)");
            }
            boolean rotated = spec.architecture().rotatedInputs();
            if (!rotationAndPackingAsRead && allVersion != rotatesBlockOutputs(spec)) {
                throw new CheckpointException(file + ": format version " + version + (allVersion ? " without" : " with")
                        + " every block input rotated in '" + META_SPEC + "' (version " + ROTATED_ALL_VERSION + " exactly then)");
            }
            if (!packedVersion && !allVersion && !rotationAndPackingAsRead && rotated != Integer.toString(ROTATED_VERSION).equals(version)) {
                throw new CheckpointException(file + ": format version " + version + (rotated ? " with" : " without")
                        + " rotated inputs in '" + META_SPEC + "' (version " + ROTATED_VERSION + " exactly when rotated)");
            }
        }
        if (!allVersion && !rotationAndPackingAsRead && meta.containsKey(META_PACKED) != packedVersion) {
            throw new CheckpointException(file + ": format version " + version + (packedVersion ? " without" : " with")
                    + " metadata '" + META_PACKED + "' (version " + PACKED_VERSION + " exactly when codes are packed)");
        }
        String json = meta.get(META_PLAN);
        if (json == null) throw new CheckpointException(file + ": metadata '" + META_PLAN + "' missing");
        QuantPlan plan;
        try {
            plan = QuantPlanJson.parse(json, file + " (metadata '" + META_PLAN + "')");
        } catch (PlanFormatException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
        if (!preNormVersion && pairsVersion != hasPairs(plan)) {
            throw new CheckpointException(file + ": format version " + version + (pairsVersion ? " without" : " with")
                    + " a weight on a table of pairs in metadata '" + META_PLAN + "' (version " + PAIRS_VERSION + " exactly then)");
        }
        if (!preNormVersion && !pairsVersion && levelsVersion != hasLevels(plan)) {
            throw new CheckpointException(file + ": format version " + version + (levelsVersion ? " without" : " with")
                    + " a weight on a table of levels in metadata '" + META_PLAN + "' (version " + LEVELS_VERSION + " exactly then)");
        }
        return new Header(model, spec, plan);
    }

    /** Whether the model is a ViT with timm's norm_pre (the CLIP fine-tunes), which only version 8 files hold. */
    private static boolean preNorm(ModelSpec spec) {
        return spec.architecture() instanceof io.vitq.model.ViTConfig c && c.preNorm();
    }

    /** All tensors as floats, in file order: the plan's weights decoded, scale tensors consumed with them. */
    private static Map<String, Tensor> decodeAll(SafeTensors st, QuantPlan plan) {
        Map<String, UniformOperand> codeTensors = new LinkedHashMap<>();
        plan.ops().forEach((id, op) -> {
            if (op instanceof LinearQuant l) codeTensors.put(id + ".weight", l.weight());
        });
        for (String name : codeTensors.keySet()) {
            if (!st.has(name)) throw error(st, name, "missing: the integer codes of a weight the plan quantizes");
        }
        String packedJson = st.metadata().get(META_PACKED);
        Map<String, int[]> packed = packedJson == null ? Map.of()
                : CodePacking.parseShapes(packedJson, st.path() + " (metadata '" + META_PACKED + "')");
        for (Map.Entry<String, int[]> e : packed.entrySet()) {
            UniformOperand wq = codeTensors.get(e.getKey());
            if (wq == null) throw error(st, e.getKey(), "is listed in metadata '" + META_PACKED + "' but is not a weight the plan quantizes");
            if (!CodePacking.packs(wq.bits()))
                throw error(st, e.getKey(), "is listed as packed, but its plan gives it " + wq.bits() + " bits (only codes below 8 bits are packed)");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (RawTensor t : st.tensors().values()) {
            String name = t.name();
            UniformOperand wq = codeTensors.get(name);
            if (wq != null) {
                out.put(name, decode(st, t, wq, packed.get(name)));
            } else if (name.endsWith(SCALE_SUFFIX) && codeTensors.containsKey(name.substring(0, name.length() - SCALE_SUFFIX.length()))) {
                continue; // read with its codes
            } else if (t.dtype().isFloating()) {
                out.put(name, new Tensor(t.toFloats(), t.shape()));
            } else {
                throw error(st, name, "is " + t.dtype() + ", but a quantized model stores integers only as the codes of"
                        + " weights its plan quantizes");
            }
        }
        return out;
    }

    /** Whether a weight of the plan has a table of levels (a version 6 file). */
    private static boolean hasLevels(QuantPlan plan) {
        return plan.ops().values().stream().anyMatch(op -> op instanceof LinearQuant l && l.weight().hasLevels());
    }

    /** Whether a weight of the plan has a table of code pairs (a version 7 file). */
    private static boolean hasPairs(QuantPlan plan) {
        return plan.ops().values().stream().anyMatch(op -> op instanceof LinearQuant l && l.weight().hasPairs());
    }

        /** Whether the model rotates every block Linear's input, proj's and fc2's too (a version 5 file). */
    private static boolean rotatesBlockOutputs(ModelSpec spec) {
        return spec.architecture().rotation() == io.vitq.model.RotatedInputs.ALL;
    }

    /**
     * {@code code × scale} row by row, the row's scale chosen by the granularity; {@code packedShape}
     * is the weight's shape when its codes are packed ({@link CodePacking}), else null.
     */
    private static Tensor decode(SafeTensors st, RawTensor codes, UniformOperand wq, int[] packedShape) {
        String name = codes.name(), scaleName = name + SCALE_SUFFIX;
        int bits = wq.bits(), n = wq.scaleCount();
        if ((wq.hasLevels() || wq.hasPairs()) && packedShape == null)
            throw error(st, name, "has a table of " + (wq.hasPairs() ? "pairs" : "levels") + " in its plan but is not listed in metadata '"
                    + META_PACKED + "' (its codes are stored as packed indices into the table)");
        DType expected = packedShape != null ? DType.U8 : codeType(bits);
        if (codes.dtype() != expected) {
            throw error(st, name, "is " + codes.dtype() + ", expected " + expected + (packedShape != null ? " packed" : "")
                    + " codes of a " + bits + "-bit weight");
        }
        int[] shape = packedShape != null ? packedShape : codes.shape();
        if (shape.length < 2 || shape[0] == 0) {
            throw error(st, name, "has shape " + codes.shapeString() + ", expected weight codes [out, in] or [out, C, p, p]");
        }
        RawTensor scaleTensor = st.tensors().get(scaleName);
        if (scaleTensor == null) throw error(st, scaleName, "missing: the scales of quantized weight '" + name + "'");
        if (scaleTensor.dtype() != DType.F32 || scaleTensor.shape().length != 1 || scaleTensor.shape()[0] != n) {
            throw error(st, scaleName, "is " + scaleTensor.dtype() + " " + scaleTensor.shapeString() + ", expected F32 ["
                    + n + "] (the plan's " + wq.granularity().jsonName() + " scales)");
        }
        float[] scales = scaleTensor.toFloats();
        // the plan (metadata) and the tensor hold the same scales; disagreement means a damaged or edited file
        if (!Arrays.equals(scales, wq.scales())) {
            throw error(st, scaleName, "differs from the scales in metadata '" + META_PLAN + "'");
        }
        int rows = shape[0], cols = (int) (RawTensor.numel(shape) / rows);
        if (packedShape != null && !java.util.Arrays.equals(codes.shape(), CodePacking.packedShape(rows, cols, bits))) {
            throw error(st, name, "has shape " + codes.shapeString() + ", expected " + java.util.Arrays.toString(
                    CodePacking.packedShape(rows, cols, bits)) + " (" + bits + "-bit codes of a " + java.util.Arrays.toString(shape)
                    + " weight, packed by rows)");
        }
        if (wq.hasPairs() && cols % 2 != 0)
            throw error(st, name, "has " + cols + " columns, but its plan codes them in pairs (an even number)");
        String opId = name.substring(0, name.length() - ".weight".length());
        try {
            wq.granularity().checkRows(opId, n, rows);
        } catch (IllegalArgumentException e) {
            throw error(st, name, "has " + rows + " rows that its scales do not fit (" + e.getMessage() + ")");
        }
        float[] w;
        if (packedShape != null) {
            w = new float[rows * cols];
            java.nio.ByteBuffer buf = codes.bytes().duplicate();
            byte[] bytes = new byte[buf.remaining()];
            buf.get(bytes);
            int[] levels = wq.levels();
            for (int r = 0; r < rows; r++) {
                UniformQuantizer q = wq.quantizer(wq.granularity().scaleIndexOfRow(r, rows, n));
                String bad = CodePacking.unpackRow(bytes, r, cols, bits, q.minCode(), levels, wq.pairs(), w);
                if (bad != null) throw error(st, name, "row " + r + ": " + bad);
            }
        } else {
            w = codes.toFloats(); // I8 and I16 values are exact in float; decoded in place
        }
        for (int r = 0; r < rows; r++) {
            int s = wq.granularity().scaleIndexOfRow(r, rows, n);
            float scale = scales[s];
            UniformQuantizer q = wq.quantizer(s);   // an asymmetric row's codes are relative to its zero point
            for (int i = r * cols; i < (r + 1) * cols; i++) {
                int code = (int) w[i];
                if (code < q.minCode() || code > q.maxCode()) {
                    throw error(st, name, "code " + code + " at index " + i + " is outside the " + bits + "-bit range ["
                            + q.minCode() + ", " + q.maxCode() + "]" + (wq.asymmetric() ? " of its row's zero point" : ""));
                }
                w[i] = q.decode(code, scale);
            }
        }
        return new Tensor(w, shape);
    }

    private static CheckpointException error(SafeTensors st, String tensor, String what) {
        return new CheckpointException(st.path() + ": tensor '" + tensor + "' " + what);
    }

    /** The note for {@code vitq} commands: method, bits, how many weights were stored as codes. */
    static String describe(QuantPlan plan) {
        Map<Integer, Integer> bits = new TreeMap<>();
        int levelled = 0, paired = 0;
        for (var op : plan.ops().values()) {
            if (!(op instanceof LinearQuant l)) continue;
            bits.merge(l.weight().bits(), 1, Integer::sum);
            if (l.weight().hasLevels()) levelled++;
            if (l.weight().hasPairs()) paired++;
        }
        List<String> parts = new ArrayList<>();
        bits.forEach((b, count) -> parts.add(count + " at " + b + " bits"));
        if (levelled > 0) parts.add(levelled + " of them indices into a table of levels");
        if (paired > 0) parts.add(paired + " of them indices into a table of code pairs");
        return "quantized model (" + plan.info().method() + ", " + plan.info().bitsLabel() + "): weights stored as"
                + " integer codes (" + (parts.isEmpty() ? "none" : String.join(", ", parts)) + "), run with its plan"
                + " (inputs and matmul operands quantized as calibrated too)";
    }
}
