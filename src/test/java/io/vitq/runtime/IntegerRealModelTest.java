package io.vitq.runtime;

import io.vitq.data.BatchLoader;
import io.vitq.data.Dataset;
import io.vitq.data.EvalTransform;
import io.vitq.io.ModelLoader;
import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real ViT-Ti on 8 shipped validation images, op by op: each Linear op and each attention
 * core gets the same input in both modes (the fake-quant forward's), so the comparison is free of
 * the differences that earlier ops would pass on. Linear ops must agree to float rounding; the
 * attention core may differ in a handful of elements, where a probability within float rounding
 * of a code boundary rounds to the neighbouring code (one code moves a row of 64 outputs of a head).
 */
class IntegerRealModelTest {
    @Test
    void everyOpMatchesFakeQuantOnItsOwnInput() throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        Tensor img;
        try (BatchLoader loader = new BatchLoader(Dataset.open(TestData.demo("val/dataset.txt")), new EvalTransform(m.preprocessing()), 8)) {
            img = loader.next().images();
        }
        QuantPlan plan = MinMaxPlans.plan(m, MinMaxPlans.maxima(m, img), MinMaxPlans.Spec.ptq4vit(true));
        FakeQuantExecutor fq = new FakeQuantExecutor(plan, m);
        IntegerExecutor ie = new IntegerExecutor(plan, m);
        double[] worstLinear = {0};
        long[] attnDiffer = {0, 0};
        Executor both = new Executor() {
            @Override
            public void linear(Linear op, float[] x, int rows, float[] y, Activation act, boolean acc) {
                float[] yi = Arrays.copyOf(y, rows * op.out());
                ie.linear(op, x, rows, yi, act, acc);
                fq.linear(op, x, rows, y, act, acc);
                double d = 0, mx = 0;
                for (int i = 0; i < yi.length; i++) {
                    d = Math.max(d, Math.abs(yi[i] - y[i]));
                    mx = Math.max(mx, Math.abs(y[i]));
                }
                worstLinear[0] = Math.max(worstLinear[0], d / mx);
                assertTrue(d <= 1e-5 * mx, op.id() + ": max|int - fq| " + d + ", max " + mx);
            }

            @Override
            public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
                float[] oi = new float[groups * op.spec().tokens() * op.spec().dim()];
                ie.attention(op, qkv, groups, oi);
                fq.attention(op, qkv, groups, out);
                double mx = 0;
                for (int i = 0; i < oi.length; i++) mx = Math.max(mx, Math.abs(out[i]));
                int differ = 0;
                for (int i = 0; i < oi.length; i++) if (Math.abs(oi[i] - out[i]) > 1e-5 * mx) differ++;
                attnDiffer[0] += differ;
                attnDiffer[1] += oi.length;
                assertTrue(differ <= 0.002 * oi.length, op.prefix() + ": " + differ + " of " + oi.length + " outputs differ");
            }
        };
        m.forward(img, both);
        System.out.printf("real ViT-Ti, op by op on the same inputs: Linear max|int - fq| <= %.2g of the op's max |y|; "
                + "attention: %d of %d outputs differ by more than 1e-5 of max (code flips at rounding boundaries)%n",
                worstLinear[0], attnDiffer[0], attnDiffer[1]);
    }
}
