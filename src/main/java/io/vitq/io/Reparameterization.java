package io.vitq.io;

import io.vitq.model.InputRotation;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.NormLinear;
import io.vitq.model.RotatedInputs;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.model.Weights;
import io.vitq.quant.NormFold;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies a plan's {@link NormFold}s to a float model: the model its ops quantize. The folded
 * tensors replace the LayerNorm's and the Linear's under the same names, and the model is built
 * again from them (strictly, as from a checkpoint). A plan without folds returns the model as it is.
 *
 * <p>Every place where a model meets a plan with folds calls {@link #apply}; it records the folds
 * it applied ({@link ModelLoader.Loaded#folds()}), so a second call with the same plan returns the
 * model unchanged instead of folding twice. A quantized model file stores the folded tensors and
 * its plan without folds ({@link #storedPlan}).
 *
 * <p>A plan calibrated with rotated inputs (its {@code input_rotation} option) applies to the
 * {@link #rotated} model: {@link #apply} rotates a checkpoint first, and a model that is rotated
 * already (a quantized file's) stays as it is.
 */
public final class Reparameterization {
    private Reparameterization() {}

    /**
     * The LayerNorm → Linear pairs of {@code model} that can be folded: those whose Linear has a bias
     * to take the shift (Swin's patch-merging reduction and ViTs built without qkv bias have none;
     * they keep their own input quantizer).
     */
    public static List<NormLinear> foldable(Model model) {
        return model.normLinears().stream().filter(p -> p.linear().bias() != null).toList();
    }

    /**
     * {@code l} with the plan's folds applied ({@code l} itself when there are none), without a plan:
     * the float model the plan's ops quantize.
     *
     * @throws IllegalArgumentException naming the fold when it does not fit the model
     */
    public static ModelLoader.Loaded apply(ModelLoader.Loaded l, QuantPlan plan) {
        String folded = plan.info().options().get(FOLDED);
        if (folded != null && !l.quantized())
            throw new IllegalArgumentException("the plan's LayerNorm folds are in a quantized model file's tensors, not in the plan ("
                    + FOLDED + ": " + folded + "), so on the float checkpoint " + l.checkpoint() + " it would quantize an unfolded "
                    + "model with the folded model's scales. Use that quantized file, or the plan 'vitq quantize --plan' writes");
        RotatedInputs planRotation = RotatedInputs.ofPlanOption(plan.info().options().get(io.vitq.quant.PlanInfo.INPUT_ROTATION));
        RotatedInputs modelRotation = l.model().spec().architecture().rotation();
        if (modelRotation != RotatedInputs.NONE && modelRotation != planRotation)
            throw new IllegalArgumentException(l.checkpoint() + ": the model rotates its " + modelRotation.linears() + " inputs, but the "
                    + "plan was calibrated " + (planRotation == RotatedInputs.NONE ? "without the rotation (no '"
                    + io.vitq.quant.PlanInfo.INPUT_ROTATION + "' option)" : "with its " + planRotation.linears() + " inputs rotated"));
        return apply(planRotation != RotatedInputs.NONE ? rotated(l, planRotation) : l, plan.folds());
    }

    /** Whether the model is a ViT that reads some Linear inputs rotated. */
    public static boolean rotatesInputs(Model model) {
        return model.spec().architecture().rotatedInputs();
    }

    /** {@link #rotated(ModelLoader.Loaded, RotatedInputs)} of qkv's and fc1's inputs (the W4A4 form). */
    public static ModelLoader.Loaded rotated(ModelLoader.Loaded l) {
        return rotated(l, RotatedInputs.NORMED);
    }

    /**
     * {@code l} as the equivalent ViT whose Linears named by {@code r} read their inputs rotated
     * ({@link InputRotation}), their weights stored as {@code W R^T}; {@code l} itself when it is so
     * already. The float function is the same up to float rounding.
     *
     * @throws IllegalArgumentException for a model other than a ViT, a quantized one, one with folds
     *                                  or one rotated otherwise
     */
    public static ModelLoader.Loaded rotated(ModelLoader.Loaded l, RotatedInputs r) {
        if (r == RotatedInputs.NONE) throw new IllegalArgumentException("rotated: which inputs (NONE rotates nothing)");
        if (!(l.model().spec().architecture() instanceof ViTConfig c) || !(l.model() instanceof VisionTransformer vit))
            throw new IllegalArgumentException(l.model().name() + ": input rotation is implemented for ViT and DeiT models only");
        if (c.rotation() == r) return l;
        if (c.rotatedInputs())
            throw new IllegalArgumentException(l.checkpoint() + ": the model rotates its " + c.rotation().linears() + " inputs, not its "
                    + r.linears() + " inputs; rotate the float checkpoint");
        if (l.quantized()) throw new IllegalArgumentException(l.checkpoint() + " is a quantized model: rotate the float checkpoint");
        if (!l.folds().isEmpty()) throw new IllegalArgumentException(l.checkpoint() + ": LayerNorm folds applied; rotate before folding");
        Weights w = l.weights();
        Map<String, Tensor> t = new LinkedHashMap<>(w.asMap());
        for (Linear lin : vit.rotatedLinears(r)) {
            String name = lin.id() + ".weight";
            if (!w.has(name)) throw new IllegalArgumentException(lin.id() + ": the checkpoint has no tensor '" + name + "'");
            float[] rotatedWeight = new float[lin.out() * lin.in()];
            InputRotation.rotate(lin.weight(), lin.out(), lin.in(), rotatedWeight); // each row w_j becomes R w_j: W R^T
            t.put(name, new Tensor(rotatedWeight, w.shape(name)));
        }
        return rebuilt(l, l.model().spec().withArchitecture(c.withRotation(r)), t,
                r.linears() + " inputs rotated (randomized block Hadamard, docs/LOWBIT.md 2.1)", l.folds());
    }

    /** {@code l} with {@code folds} applied ({@code l} itself when there are none), without a plan. */
    public static ModelLoader.Loaded apply(ModelLoader.Loaded l, List<NormFold> folds) {
        if (folds.equals(l.folds())) return l;
        if (!l.folds().isEmpty())
            throw new IllegalArgumentException(l.checkpoint() + ": the model has other LayerNorm folds applied already");
        if (l.quantized()) throw new IllegalArgumentException(l.checkpoint() + " is a quantized model: its LayerNorms are folded already");
        return rebuilt(l, folded(l.model(), l.weights(), folds), folds.size() + " LayerNorm -> Linear pairs reparameterised (RepQ-ViT)",
                folds);
    }

    /** Plan-info key that a stored plan's folds are in the tensors. */
    public static final String FOLDED = "folded";

    /**
     * The plan a quantized model file stores beside the folded tensors: without folds (nothing to
     * apply when the file is read), the fact recorded in its options.
     */
    public static QuantPlan storedPlan(QuantPlan plan) {
        if (plan.folds().isEmpty()) return plan;
        io.vitq.quant.PlanInfo i = plan.info();
        return plan.withoutFolds().withInfo(i.withOption(FOLDED, plan.folds().size() + " LayerNorm -> Linear pairs, in the stored "
                + "tensors (" + plan.folds().get(0).norm() + " -> " + plan.folds().get(0).linear() + ", ...)"));
    }

    /**
     * {@code l} with Linear weights replaced ({@code op id → [out, in]}, e.g. GPTQ's rounded ones),
     * its folds kept. Such a model is not reproducible from the plan: it is stored in a quantized
     * model file.
     */
    public static ModelLoader.Loaded withLinearWeights(ModelLoader.Loaded l, Map<String, float[]> weights, String note) {
        if (weights.isEmpty()) return l;
        Weights w = l.weights();
        java.util.function.UnaryOperator<String> file = fileNames(l.model(), w);
        Map<String, Tensor> t = new LinkedHashMap<>(w.asMap());
        for (Linear lin : l.model().linears()) {
            float[] v = weights.get(lin.id());
            if (v == null) continue;
            String name = file.apply(lin.id() + ".weight");
            if (!w.has(name))
                throw new IllegalArgumentException(lin.id() + ": the checkpoint has no tensor '" + name + "' to replace");
            if (v.length != lin.out() * lin.in())
                throw new IllegalArgumentException(lin.id() + ": " + v.length + " weights for [" + lin.out() + ", " + lin.in() + "]");
            t.put(name, new Tensor(v, w.shape(name)));
        }
        return rebuilt(l, t, note, l.folds());
    }

    /**
     * {@code l}'s model built again from {@code tensors} (its weights with some replaced, the file
     * names of renamed tensors kept), with a note and the folds it now carries; no plan.
     */
    private static ModelLoader.Loaded rebuilt(ModelLoader.Loaded l, Map<String, Tensor> tensors, String note, List<NormFold> folds) {
        return rebuilt(l, l.model().spec(), tensors, note, folds);
    }

    private static ModelLoader.Loaded rebuilt(ModelLoader.Loaded l, io.vitq.model.ModelSpec spec, Map<String, Tensor> tensors,
                                              String note, List<NormFold> folds) {
        Weights w = l.weights();
        Map<String, String> origins = new HashMap<>();
        for (String name : w.names()) if (!w.origin(name).equals(name)) origins.put(name, w.origin(name));
        Weights nw = new Weights(w.source(), tensors, origins);
        List<String> notes = new java.util.ArrayList<>(l.notes());
        notes.add(note);
        return new ModelLoader.Loaded(spec.build(nw), l.checkpoint(), l.files(), nw, notes, null, folds);
    }

    /**
     * The checkpoint's name of a tensor named by its op id: Swin checkpoints in timm 0.4.12's layout
     * keep their own names (downsample one stage earlier, {@code head.weight}); the others use the
     * op ids.
     */
    static java.util.function.UnaryOperator<String> fileNames(Model model, Weights w) {
        return model instanceof io.vitq.model.SwinTransformer ? io.vitq.model.SwinCheckpoint.of(w)::key
                : java.util.function.UnaryOperator.identity();
    }

    /** The tensors with every fold applied (the others shared, not copied). */
    static Map<String, Tensor> folded(Model model, Weights w, List<NormFold> folds) {
        Map<String, NormLinear> pairs = new HashMap<>();
        for (NormLinear p : model.normLinears()) pairs.put(p.norm().id(), p);
        java.util.function.UnaryOperator<String> file = fileNames(model, w);
        Map<String, Tensor> t = new LinkedHashMap<>(w.asMap());
        for (NormFold f : folds) {
            NormLinear p = pairs.get(f.norm());
            if (p == null || !p.linear().id().equals(f.linear()))
                throw new IllegalArgumentException(f + ": " + model.name() + " has no LayerNorm " + f.norm()
                        + " read only by " + f.linear());
            Linear lin = p.linear();
            if (lin.bias() == null)
                throw new IllegalArgumentException(f + ": " + lin.id() + " has no bias to take the fold's shift");
            String nw = file.apply(f.norm() + ".weight"), nb = file.apply(f.norm() + ".bias");
            String lw = file.apply(f.linear() + ".weight"), lb = file.apply(f.linear() + ".bias");
            for (String name : List.of(nw, nb, lw, lb))
                if (!w.has(name)) throw new IllegalArgumentException(f + ": the checkpoint has no tensor '" + name + "'");
            float[][] norm = f.foldNorm(p.norm().weight(), p.norm().bias());
            float[][] linear = f.foldLinear(lin.weight(), lin.bias(), lin.out(), lin.in());
            t.put(nw, new Tensor(norm[0], w.shape(nw)));
            t.put(nb, new Tensor(norm[1], w.shape(nb)));
            t.put(lw, new Tensor(linear[0], w.shape(lw)));
            t.put(lb, new Tensor(linear[1], w.shape(lb)));
        }
        return t;
    }
}
