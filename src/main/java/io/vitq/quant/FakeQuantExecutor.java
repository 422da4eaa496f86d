package io.vitq.quant;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Simulated quantization (quantize, then dequantize with a {@link QuantPlan}'s scales) on the one
 * model definition, as the PTQ4ViT reference measures its accuracies (ALGORITHMS section 1):
 * <ul>
 *   <li>Linear ops: the weight is fake-quantized row-wise and packed once per op; the input is
 *       fake-quantized (uniform per tensor, or twin GELU for fc2) unless the plan leaves it float
 *       (the image entering the patch embedding). Bias and output stay float.</li>
 *   <li>Attention: matmul1 = q · kᵀ quantizes q (operand a) and k (b), matmul2 = probabilities · v
 *       quantizes the softmax probabilities (a, twin softmax or uniform) and v (b). The scale,
 *       Swin's relative-position bias and mask, and the softmax itself stay float. For Swin
 *       ({@link AttentionOp#qPrescaled()}) timm multiplies q by the scale before q · kᵀ, so the
 *       quantized tensor is {@code q * scale}; for ViT/DeiT q is quantized unscaled.</li>
 * </ul>
 * Ops without a plan entry (and operands a plan leaves null) run in float exactly as
 * {@link FloatExecutor}, so an empty plan gives bit-identical logits.
 *
 * <p>How the products are summed is a choice ({@link Products}): the reference's dequantized
 * operands (default), or products of codes dequantized once per sum as the integer runtime does.
 *
 * <p>Inputs are never modified (only the output buffers are written): quantized inputs go to
 * per-thread scratch copies. An executor is bound to the model it was built for; its cache of
 * quantized weights is shared, so concurrent forwards from different threads are safe.
 */
public final class FakeQuantExecutor implements Executor {
    /** How a quantized op's products are summed; both compute the same quantized function. */
    public enum Products {
        /**
         * Each operand is dequantized ({@code code · step}) and the float GEMM sums the products of
         * those values: the PTQ4ViT reference's arithmetic, and the one the result tables use.
         */
        DEQUANTIZED,
        /**
         * The float GEMM sums products of the codes themselves (exact: integers below 2^24 for 8-bit
         * codes and K ≤ 1023) and each sum is dequantized once, {@code acc · Δa Δw + bias}: the
         * integer runtime's rounding, so that integer execution can be checked against it
         * ({@link CodeProducts}). Ops without a code form keep dequantized products.
         */
        CODES
    }

    /** Cached corrected biases (VT-PTQ), by op id; the layer's own bias otherwise. */
    private final java.util.Map<String, float[]> biases = new java.util.concurrent.ConcurrentHashMap<>();

    private float[] biasOf(Linear op, LinearQuant lq) {
        if (lq.bias() == null) return op.bias();
        return biases.computeIfAbsent(op.id(), k -> lq.bias());
    }

    private final QuantPlan plan;
    private final Products products;
    /** The code-product arithmetic's prepared weights; null with dequantized products. */
    private final CodeProducts codeProducts;
    /** Fake-quantized weights, packed on first use (op id -> packed copy and the weight it came from). */
    private final ConcurrentHashMap<String, QuantWeight> weights = new ConcurrentHashMap<>();
    /** Per-thread copy of a Linear input or a qkv buffer (the forward's thread, not the pool's). */
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private record QuantWeight(float[] source, PackedB packed) {}

    private static final class Scratch {
        float[] data = new float[0];

        float[] floats(int n) {
            if (data.length < n) data = new float[n];
            return data;
        }
    }

    /**
     * @throws IllegalArgumentException naming the op when the plan does not fit the model
     *                                  ({@link PlanModelCheck}) or puts a quantizer on an operand
     *                                  it cannot apply to (e.g. twin softmax on q)
     */
    public FakeQuantExecutor(QuantPlan plan, Model model) { this(plan, model, Products.DEQUANTIZED); }

    /** @see #FakeQuantExecutor(QuantPlan, Model) */
    public FakeQuantExecutor(QuantPlan plan, Model model, Products products) {
        PlanModelCheck.check(plan, model);
        this.products = java.util.Objects.requireNonNull(products, "products");
        this.codeProducts = products == Products.CODES ? new CodeProducts() : null;
        this.plan = plan;
    }

    public QuantPlan plan() { return plan; }

    public Products products() { return products; }

    // ---- Linear ----

    @Override
    public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
        if (!(plan.op(op.id()) instanceof LinearQuant lq)) {
            FloatExecutor.INSTANCE.linear(op, x, m, y, act, accumulate);
            return;
        }
        if (codeProducts != null && lq.input() != null) {
            codeProducts.linear(op, lq, biasOf(op, lq), x, m, y, act, accumulate);
            return;
        }
        float[] xq = lq.input() == null ? x : quantizedInput(op.id(), lq.input(), x, m, op.in());
        Gemm.gemm(xq, 0, op.in(), m, quantizedWeight(op, lq.weight()), y, 0, op.out(), biasOf(op, lq), act, accumulate, true);
    }

    /** The op's fake-quantized weight, packed for the GEMM (computed once per op). */
    private PackedB quantizedWeight(Linear op, UniformOperand w) {
        QuantWeight qw = weights.computeIfAbsent(op.id(), id -> {
            float[] wq = new float[op.out() * op.in()];
            ScaledRanges.fakeQuantRows(w, id, op.weight(), op.out(), op.in(), wq);
            return new QuantWeight(op.weight(), PackedB.packTransposed(wq, 0, op.in(), op.out(), op.in()));
        });
        // a cached copy of another layer's weight under the same id would give silently wrong results
        if (qw.source() != op.weight())
            throw new IllegalArgumentException(op.id() + ": not the layer this executor's model has under that id");
        return qw.packed();
    }

    /** x[0, m·in) fake-quantized into this thread's scratch (only the rows in use: buffers may be larger). */
    private float[] quantizedInput(String id, OperandQuant in, float[] x, int m, int cols) {
        float[] xq = scratch.get().floats(m * cols);
        forRows(m, cols, (off, len) -> in.fakeQuant(id, 0, x, off, xq, off, len));   // a Linear input is per tensor
        return xq;
    }

    // ---- attention ----

    @Override
    public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
        attention(op, qkv, groups, out, null);
    }

    /**
     * {@link #attention(AttentionOp, float[], int, float[])}, also copying the softmax
     * probabilities, as they reach matmul2's quantizer, into {@code probabilities [G, H, T, T]}
     * (null: no copy). Sequential calibration uses them as matmul2's float input.
     */
    public void attention(AttentionOp op, float[] qkv, int groups, float[] out, float[] probabilities) {
        MatmulQuant mm1 = plan.op(op.matmul1Id()) instanceof MatmulQuant m ? m : null;
        MatmulQuant mm2 = plan.op(op.matmul2Id()) instanceof MatmulQuant m ? m : null;
        if (codeProducts != null && probabilities == null && (mm1 != null || mm2 != null) && CodeProducts.supports(mm1, mm2)) {
            CodeProducts.attention(op, mm1, mm2, qkv, groups, out);
            return;
        }
        OperandQuant q = mm1 == null ? null : mm1.a(), k = mm1 == null ? null : mm1.b();
        OperandQuant p = mm2 == null ? null : mm2.a(), v = mm2 == null ? null : mm2.b();
        AttentionKernel.Spec spec = op.spec();
        float[] src = qkv;
        if (q != null || k != null || v != null) {
            int rows = groups * spec.tokens(), ld = 3 * spec.dim();
            src = scratch.get().floats(rows * ld);
            System.arraycopy(qkv, 0, src, 0, rows * ld);
            if (q != null && op.qPrescaled()) {
                // timm's Swin computes q = q * scale before q . k^T: quantize that tensor, and
                // keep the kernel from scaling the product a second time
                scaleQ(src, rows, ld, spec.dim(), op.qFactor());
                spec = new AttentionKernel.Spec(spec.tokens(), spec.heads(), spec.headDim(), op.scoreScale());
            }
            fakeQuantPart(op.matmul1Id(), q, QkvPart.Q, spec, src, rows);
            fakeQuantPart(op.matmul1Id(), k, QkvPart.K, spec, src, rows);
            fakeQuantPart(op.matmul2Id(), v, QkvPart.V, spec, src, rows);
        }
        AttentionKernel.ProbabilityHook hook = probabilityHook(op.matmul2Id(), p);
        if (probabilities != null) {
            // the kernel hands each (group, head) its own T x T block, row i at off = i * T
            int heads = spec.heads(), tt = spec.tokens() * spec.tokens();
            AttentionKernel.ProbabilityHook quantize = hook;
            hook = (g, h, row, off, n) -> {
                System.arraycopy(row, off, probabilities, (g * heads + h) * tt + off, n);
                if (quantize != null) quantize.apply(g, h, row, off, n);
            };
        }
        AttentionKernel.forward(spec, src, groups, out, op.bias(), op.biasGroups(), hook);
    }

    /** {@code q *= scale} in place on the q columns, a float multiply as PyTorch does it. */
    private static void scaleQ(float[] buf, int rows, int ld, int dim, float scale) {
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int base = r * ld;
                for (int c = 0; c < dim; c++) buf[base + c] *= scale;
            }
        });
    }

    /** Fake-quantizes one part (q, k or v) of the fused qkv rows in place, head by head; null leaves it float. */
    private static void fakeQuantPart(String id, OperandQuant o, QkvPart part, AttentionKernel.Spec spec, float[] buf,
                                      int rows) {
        if (o == null) return;
        int ld = 3 * spec.dim(), colOff = part.columnOffset(spec.dim()), d = spec.headDim(), H = spec.heads();
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++)
                for (int h = 0; h < H; h++) {
                    int start = r * ld + colOff + h * d;
                    o.fakeQuant(id, h, buf, start, buf, start, d);
                }
        });
    }

    /** The hook that fake-quantizes each probability row (of head h) before it multiplies v, or null for float. */
    private static AttentionKernel.ProbabilityHook probabilityHook(String id, OperandQuant p) {
        if (p == null) return null;
        return (g, h, row, off, n) -> p.fakeQuant(id, h, row, off, row, off, n);
    }

    // ---- helpers ----

    /** Body over a flat range of whole rows: elements {@code [off, off + len)}. */
    @FunctionalInterface
    private interface FlatRange {
        void run(int off, int len);
    }

    /** Runs {@code body} over {@code m} rows of {@code cols} values, split by rows over the thread pool. */
    private static void forRows(int m, int cols, FlatRange body) {
        Parallel.forRange(m, 64, (r0, r1) -> body.run(r0 * cols, (r1 - r0) * cols));
    }
}
