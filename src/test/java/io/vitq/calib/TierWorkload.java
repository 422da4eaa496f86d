package io.vitq.calib;

import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.LayerNormKernel;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.SoftmaxKernel;
import io.vitq.tensor.Tensor;
import io.vitq.tensor.VectorMath;
import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.TinyModels;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Every computation whose bits calibration and the execution modes rely on, on fixed inputs,
 * reduced to one hash each: the row kernels (softmax with bias and tails, LayerNorm forward and
 * backward, GELU and its derivative, GEMM, attention) and the search metrics (cosine, Hessian
 * error, Pearson moments, ranking loss), then the tiny ViT's and Swin's forwards (float, fake quant
 * with dequantized and code products, integer), the ViT's backward and a small PTQ4ViT calibration
 * (every candidate's score and the plan). {@link JitTiersTest} runs it in JVMs restricted to the
 * interpreter, to C1, and to C2, and compares.
 *
 * <p>{@code main(iterations, kernelReps, kernels|all)} prints {@code name hash} lines for each
 * iteration, preceded by {@code iteration i}; the first iteration runs the kernels
 * {@code kernelReps} times and marks a hash that changed between repetitions.
 */
public final class TierWorkload {
    private TierWorkload() {}

    static String hash(float[] a) {
        long h = 1125899906842597L;
        for (float f : a) h = 31 * h + Float.floatToRawIntBits(f);
        return Long.toHexString(h);
    }

    static long mix(long h, double d) { return 31 * h + Double.doubleToRawLongBits(d); }

    static float[] gaussian(SplittableRandom r, int n, double sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * sigma);
        return x;
    }

    /** Both parts, the kernels once. */
    public static Map<String, String> run() {
        Map<String, String> out = kernels(1);
        out.putAll(models());
        return out;
    }

    /**
     * The kernels {@code reps} times (so that later repetitions run JIT-compiled code), the hashes
     * of the first repetition, each marked {@code CHANGED} if a later repetition differs.
     */
    public static Map<String, String> kernels(int reps) {
        Map<String, String> first = kernels();
        for (int i = 1; i < reps; i++) {
            Map<String, String> again = kernels();
            first.replaceAll((k, v) -> v.equals(again.get(k)) ? v : v.endsWith("CHANGED") ? v : v + "-CHANGED");
        }
        return first;
    }

    private static Map<String, String> timed() {
        boolean timing = Boolean.getBoolean("tiers.timing");
        Map<String, String> out = new LinkedHashMap<>() {
            long last = System.nanoTime();

            @Override
            public String put(String k, String v) {
                if (timing) {
                    long now = System.nanoTime();
                    System.err.printf("%s: %.2f s%n", k, (now - last) / 1e9);
                    last = now;
                }
                return super.put(k, v);
            }
        };
        return out;
    }

    /** The row kernels and the search metrics on fixed random inputs (fast even in the interpreter). */
    static Map<String, String> kernels() {
        Map<String, String> out = timed();
        SplittableRandom r = new SplittableRandom(42);

        // softmax rows: ViT (17, 197 tokens), Swin windows (49) with bias and mask, a long row
        float[] bias = gaussian(r, 1000, 1);
        for (int i = 0; i < bias.length; i += 3) bias[i] -= 100f;
        StringBuilder sm = new StringBuilder();
        for (int n : new int[] {17, 49, 197, 1000}) {
            float[] s = gaussian(r, 4 * n, 6);
            for (int row = 0; row < 4; row++) SoftmaxKernel.row(s, row * n, n, 0.125f, n == 49 ? bias : null, row);
            sm.append(hash(s));
        }
        out.put("softmax", Integer.toHexString(sm.toString().hashCode()));

        // LayerNorm forward and backward, GELU forward and derivative, softmax backward
        int ln = 192 + 5;
        float[] x = gaussian(r, 4 * ln, 30), y = new float[4 * ln], g = gaussian(r, ln, 1), b = gaussian(r, ln, 1);
        LayerNormKernel.forward(x, 0, ln, y, 0, ln, 4, ln, g, b, 1e-6f, false);
        out.put("layernorm", hash(y));
        float[] dy = gaussian(r, 4 * ln, 1), dx = new float[4 * ln];
        BackwardKernels.layerNormBackward(x, 0, ln, dy, 0, ln, dx, 0, ln, 4, ln, g, 1e-6f, false, false);
        out.put("layernorm backward", hash(dx));
        float[] ge = gaussian(r, 1003, 3), gd = new float[1003], scalar = new float[50];
        float[] ge0 = ge.clone();
        VectorMath.geluInPlace(ge, 0, ge.length);
        BackwardKernels.geluBackward(ge0, gaussian(r, 1003, 1), gd, 0, 1003);
        for (int i = 0; i < scalar.length; i++) scalar[i] = VectorMath.gelu(ge0[i]);
        out.put("gelu", hash(ge) + hash(gd) + hash(scalar));
        float[] p = gaussian(r, 197, 1), dp = gaussian(r, 197, 1), ds = new float[197];
        SoftmaxKernel.row(p, 0, 197, 1f, null, 0);
        BackwardKernels.softmaxBackwardRow(p, 0, dp, 0, ds, 0, 197, 0.125f);
        out.put("softmax backward", hash(ds));

        // GEMM with the fused GELU, and the attention core
        float[] a = gaussian(r, 37 * 70, 1), w = gaussian(r, 70 * 45, 1), bb = gaussian(r, 45, 1), c = new float[37 * 45];
        Gemm.gemm(a, 0, 70, 37, PackedB.pack(w, 0, 45, 70, 45), c, 0, 45, bb, Activation.GELU, false, false);
        out.put("gemm", hash(c));
        int T = 17, H = 2, d = 32;
        float[] qkv = gaussian(r, 2 * T * 3 * H * d, 1), att = new float[2 * T * H * d];
        AttentionKernel.forward(new AttentionKernel.Spec(T, H, d, 0.18f), qkv, 2, att, null, 1, null);
        out.put("attention", hash(att));

        // the search metrics on one set of rows
        int n = 197 * 2 + 3;
        float[] o = gaussian(r, n, 1), q = o.clone(), gr = gaussian(r, n, 1);
        for (int i = 0; i < n; i++) q[i] += (float) (0.01 * r.nextGaussian());
        long h = 1;
        for (int len : new int[] {7, 16, 64, 197, n}) {
            h = mix(h, OutputScores.cosine(o, 0, q, 0, len));
            h = mix(h, OutputScores.weightedSquaredError(o, 0, q, 0, gr, 0, len));
            OutputScores.Moments m = OutputScores.Moments.of(o, 0, q, 0, len);
            h = mix(mix(mix(h, m.cOO), m.cEE), m.cOE);
        }
        h = mix(h, new RankingLoss(o, 2, 197, 0.2f).sumInto(q, 0, 2));
        out.put("search metrics", Long.toHexString(h));
        return out;
    }

    /**
     * The tiny ViT's and Swin's forwards in every execution mode, the ViT's backward (the Hessian
     * metric's gradients) and a small PTQ4ViT calibration (every candidate's score, and the plan).
     */
    public static Map<String, String> models() {
        Map<String, String> out = timed();

        // whole forwards of the tiny models in every execution mode
        Model vit = TinyModels.VIT, swin = TinyModels.SWIN;
        Tensor img = TinyModels.IMAGES;
        QuantPlan vp = MinMaxPlans.plan(vit, MinMaxPlans.maxima(vit, img), MinMaxPlans.Spec.ptq4vit(true));
        QuantPlan sp = MinMaxPlans.plan(swin, MinMaxPlans.maxima(swin, img), MinMaxPlans.Spec.ptq4vit(true));
        out.put("vit float", hash(vit.forward(img).data()));
        out.put("vit fake quant", hash(vit.forward(img, new FakeQuantExecutor(vp, vit)).data()));
        out.put("vit fake quant codes", hash(vit.forward(img, new FakeQuantExecutor(vp, vit, FakeQuantExecutor.Products.CODES)).data()));
        out.put("vit integer", hash(vit.forward(img, new IntegerExecutor(vp, vit)).data()));
        out.put("swin float", hash(swin.forward(img).data()));
        out.put("swin fake quant", hash(swin.forward(img, new FakeQuantExecutor(sp, swin)).data()));

        int[] labels = {3, 7};
        java.util.Map<String, Tensor> grads = new TreeMap<>();
        io.vitq.model.Backward.run(TinyModels.VIT, img, labels, grads);
        StringBuilder gh = new StringBuilder();
        grads.forEach((k, v) -> gh.append(k).append(hash(v.data())));
        out.put("vit backward", Integer.toHexString(gh.toString().hashCode()));

        // a small calibration: every candidate's score and the resulting plan
        Map<String, Long> scores = new TreeMap<>();
        SearchTrace.listener = t -> {
            long s = 1;
            for (double[] row : t.scores()) for (double v : row) s = mix(s, v);
            synchronized (scores) {
                scores.merge(t.opId() + "." + t.operand(), s, Long::sum); // order-free if an operand reports twice
            }
        };
        QuantPlan plan;
        try {
            plan = Calibrator.calibrate(vit, img, null, CalibConfig.ptq4vit(6, 6).withSearch(6, 1), "tiers", null).plan();
        } finally {
            SearchTrace.listener = null;
        }
        out.put("calibration scores", Integer.toHexString(scores.toString().hashCode()));
        String json = QuantPlanJson.toJson(new QuantPlan(new PlanInfo("t", "m", 6, 6), plan.ops()));
        out.put("calibration plan", Integer.toHexString(json.hashCode()));
        return out;
    }

    /** {@code main(iterations, kernelReps, kernels|all)}. */
    public static void main(String[] args) {
        int iterations = Integer.parseInt(args[0]), reps = Integer.parseInt(args[1]);
        boolean all = args[2].equals("all");
        for (int i = 0; i < iterations; i++) {
            System.out.println("iteration " + i);
            Map<String, String> out = kernels(i == 0 ? reps : 1);
            if (all) out.putAll(models());
            out.forEach((k, v) -> System.out.println(k + " " + v));
        }
    }
}
