package io.vitq.eval;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shards of whole batches, and their merge: equal to the unsplit evaluation, the mean KL to the last bit. */
class EvalShardsTest {
    @Test
    void shardsAreWholeBatchesCoveringEveryImageOnce() {
        assertEquals(List.of(new EvalShards.Range(0, 2), new EvalShards.Range(2, 4), new EvalShards.Range(4, 6),
                new EvalShards.Range(6, 7)), EvalShards.ranges(7, 2, 3)); // 3 images -> one batch of 2
        assertEquals(List.of(new EvalShards.Range(0, 5)), EvalShards.ranges(5, 8, 256));
        assertEquals(List.of(new EvalShards.Range(0, 256), new EvalShards.Range(256, 300)), EvalShards.ranges(300, 32, 256));
        assertEquals(List.of(new EvalShards.Range(0, 32), new EvalShards.Range(32, 40)), EvalShards.ranges(40, 32, 1));
        assertThrows(IllegalArgumentException.class, () -> EvalShards.ranges(0, 32, 256));
    }

    /** A shard's result over images {@code from..to-1} with made-up predictions and KL values. */
    private static EvalResult shard(int from, int to, double[] kl) {
        List<Prediction> preds = new ArrayList<>();
        List<TopK> ref = new ArrayList<>();
        int c1 = 0, c5 = 0, agree = 0, refRight = 0;
        for (int i = from; i < to; i++) {
            TopK top = new TopK(new int[] {i % 3, 5}, new float[] {0.6f, 0.1f});
            preds.add(new Prediction("img" + i, i % 2, top));
            ref.add(new TopK(new int[] {i % 2}, new float[] {0.7f}));
            if (i % 3 == i % 2) c1++;
            if (i % 2 == i % 3 || i % 2 == 5) c5++;
            if (i % 3 == i % 2) agree++;
            refRight++;
        }
        double[] mine = java.util.Arrays.copyOfRange(kl, from, to);
        return new EvalResult("m", "shard", to - from, to - from, c1, c5, 1.5, 2.0, 2, 2, preds,
                new FpComparison(to - from, agree, FpComparison.meanKl(mine), refRight, ref, mine));
    }

    @Test
    void mergeEqualsTheUnsplitEvaluation() {
        int n = 23;
        double[] kl = new double[n];
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < n; i++) kl[i] = Math.abs(r.nextGaussian()) * Math.pow(10, -r.nextInt(6)); // magnitudes that round
        EvalResult whole = shard(0, n, kl);
        List<EvalResult> parts = new ArrayList<>();
        for (EvalShards.Range g : EvalShards.ranges(n, 2, 4)) parts.add(shard(g.from(), g.to(), kl));
        EvalResult merged = EvalShards.merge(parts, "data.txt", 9.0);
        assertEquals(whole.images(), merged.images());
        assertEquals(whole.top1Correct(), merged.top1Correct());
        assertEquals(whole.top5Correct(), merged.top5Correct());
        assertEquals(render(whole.predictions()), render(merged.predictions()));
        assertEquals(whole.comparison().top1Agree(), merged.comparison().top1Agree());
        assertEquals(whole.comparison().referenceTop1Correct(), merged.comparison().referenceTop1Correct());
        assertEquals(renderTop(whole.comparison().reference()), renderTop(merged.comparison().reference()));
        assertArrayEquals(kl, merged.comparison().imageKl());
        assertEquals(Double.doubleToLongBits(whole.comparison().meanKl()), Double.doubleToLongBits(merged.comparison().meanKl()),
                "the mean KL summed in image order, as Evaluator sums it");
        double pairwise = 0;
        for (EvalResult p : parts) pairwise += p.comparison().meanKl() * p.images();
        assertEquals(whole.comparison().meanKl(), pairwise / n, 1e-12, "(a sum of shard sums would only be close)");
        assertEquals("data.txt", merged.data());
        assertEquals(9.0, merged.wallSeconds());
        assertEquals(1.5 * parts.size(), merged.forwardSeconds(), 1e-12);
    }

    private static List<String> render(List<Prediction> ps) {
        return ps.stream().map(p -> p.path() + " " + p.label() + " " + renderTop(List.of(p.top()))).toList();
    }

    private static List<String> renderTop(List<TopK> ts) {
        return ts.stream().map(t -> java.util.Arrays.toString(t.classes()) + java.util.Arrays.toString(t.probs())).toList();
    }

    /** Where the made-up images would be (never read): absolute, as a dataset's paths are. */
    private static final java.nio.file.Path IMAGES = java.nio.file.Path.of("made-up-images").toAbsolutePath();

    /** A list of {@code n} made-up images. */
    private static io.vitq.data.Dataset list(int n, String prefix) {
        List<io.vitq.data.ImageList.Entry> e = new ArrayList<>();
        for (int i = 0; i < n; i++) e.add(new io.vitq.data.ImageList.Entry(IMAGES.resolve(prefix + i + ".jpg"), i % 5));
        return new io.vitq.data.ImageList("list.txt", e, List.of());
    }

    @Test
    void aShardRefusesAListOtherThanTheOneItWasCutFrom() {
        List<EvalShards.Range> shards = EvalShards.ranges(list(10, "a"), 2, 4);
        assertEquals(3, shards.size());
        io.vitq.data.Dataset same = shards.get(1).of(list(10, "a"), "list.txt");
        assertEquals(IMAGES.resolve("a4.jpg"), same.path(0));
        assertEquals(4, same.size());
        var shorter = assertThrows(io.vitq.data.DatasetException.class, () -> shards.get(1).of(list(9, "a"), "list.txt"));
        assertTrue(shorter.getMessage().contains("lists 9 images") && shorter.getMessage().contains("driver listed 10"),
                shorter.getMessage());
        assertThrows(io.vitq.data.DatasetException.class, () -> shards.get(1).of(list(10, "b"), "list.txt"));
        assertThrows(io.vitq.data.DatasetException.class, () -> shards.get(2).of(list(5, "a"), "list.txt"));
    }

    @Test
    void shardsThatCannotMergeExactlyAreRefused() {
        double[] kl = new double[4];
        EvalResult compared = shard(0, 2, kl);
        EvalResult plain = new EvalResult("m", "d", 2, 2, 1, 1, 1, 1, 2, 2, compared.predictions(), null);
        assertThrows(IllegalArgumentException.class, () -> EvalShards.merge(List.of(compared, plain), "d", 1));
        EvalResult noKl = new EvalResult("m", "d", 2, 2, 1, 1, 1, 1, 2, 2, compared.predictions(), new FpComparison(2, 1, 0.1));
        assertThrows(IllegalArgumentException.class, () -> EvalShards.merge(List.of(noKl), "d", 1));
        assertThrows(IllegalArgumentException.class, () -> EvalShards.merge(List.of(), "d", 1));
    }
}
