package io.vitq.calib;

import io.vitq.quant.AdaLogOperand;
import io.vitq.quant.CodeForm;
import io.vitq.quant.Granularity;
import io.vitq.quant.LogSqrt2Operand;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.ScaleGrid;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import io.vitq.runtime.Int8Gemm;
import io.vitq.runtime.PackedInt8;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;

import java.util.Arrays;
import java.util.Map;

/**
 * The interval search of one attention matmul {@code out[g,h] = a[g,h] · b[g,h]} (ALGORITHMS
 * sections 3 and 5.3) on recorded float operands {@code a [G,H,m,k]}, {@code b [G,H,k,n]}, output
 * and output gradient {@code [G,H,m,n]}, where G counts images (ViT) or windows (Swin). Both
 * operands have one scale per head; heads never interact, so candidate i is tried for all heads in
 * one pass and each head takes its own argmax. Row scores (over the n outputs of a row) are
 * averaged over the m rows and summed over G.
 *
 * <p>For matmul2 with the twin softmax quantizer the probabilities' split is one global choice
 * among {@code 2^0 .. 2^-19}, scored with v in float (as the reference does), then v's per-head
 * scales are searched with the probabilities quantized at that split. Since the split search does
 * not depend on v, the later rounds would repeat the first; like {@link LinearSearch}, rounds stop
 * at the alternation's fixed point.
 */
final class MatmulSearch {
    private final String id;
    private final float[] a, b, o, g;
    private final int groups, heads, m, k, n;
    private final CalibConfig cfg;
    private final boolean twin;
    /** VT-PTQ: one scale per operand for all heads, the Pearson objective (plus ranking on matmul1). */
    private final boolean perTensor;
    private final RankingLoss ranking;
    /** Tests: score every candidate's full objective instead of branch and bound (VT-PTQ's ranking, {@link CandidateRace}). */
    boolean exhaustive;
    private int roundsRun;
    /** (candidate, group, head) products the per-head searches computed, and what scoring everything takes. */
    private long samplesScored, samplesExhaustive;
    /** (group, head) products computed as int32 sums of codes ({@link #integerProduct}). */
    private final java.util.concurrent.atomic.LongAdder integerTasks = new java.util.concurrent.atomic.LongAdder();

    private static final class Scratch {
        float[] a = new float[0], b = new float[0], o = new float[0];
        final PackedB pb = PackedB.buffer();
        byte[] aCodes = new byte[0], bCodes = new byte[0];
        int[] acc = new int[0];
        final PackedInt8 pbCodes = PackedInt8.buffer();
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** How one operand slice (one group, one head) is quantized during an evaluation. */
    @FunctionalInterface
    private interface SliceQuant {
        void apply(int head, float[] src, int off, float[] dst, int len);
    }

    /**
     * @param twinSoftmax quantize operand a with the twin softmax quantizer (matmul2 in PTQ4ViT)
     */
    MatmulSearch(String id, float[] a, float[] b, float[] o, float[] g, int groups, int heads, int m, int k, int n,
                 CalibConfig cfg, boolean twinSoftmax) {
        if (cfg.metric() == Metric.HESSIAN && g == null) throw new IllegalArgumentException(id + ": Hessian metric needs gradients");
        this.id = id;
        this.a = a;
        this.b = b;
        this.o = o;
        this.g = g;
        this.groups = groups;
        this.heads = heads;
        this.m = m;
        this.k = k;
        this.n = n;
        this.cfg = cfg;
        this.twin = twinSoftmax;
        this.perTensor = cfg.isVt();
        if (cfg.metric() == Metric.PEARSON && !perTensor)
            throw new IllegalArgumentException(id + ": the Pearson objective is VT-PTQ's (one scale per tensor)");
        boolean rank = cfg.isVt() && cfg.vt().ranking() && id.endsWith(".matmul1");
        this.ranking = rank ? new RankingLoss(o, groups * heads * m, n, (float) cfg.vt().theta()) : null;
    }

    int roundsRun() { return roundsRun; }

    /** (candidate, group, head) products the per-head searches computed. */
    long samplesScored() { return samplesScored; }

    /** (candidate, group, head) products the same searches compute without branch and bound. */
    long samplesExhaustive() { return samplesExhaustive; }

    /** (group, head) products computed on integer codes. */
    long integerTasks() { return integerTasks.sum(); }

    MatmulQuant run() {
        if (cfg.isRepq()) {
            roundsRun = 1;
            return RepqRule.matmul(id, a, groups * heads * m * k, b, groups * heads * k * n, cfg);
        }
        if (perTensor) return runPerTensor();
        if (cfg.logSoftmax() && id.endsWith(".matmul2")) return runLogSoftmax();
        if (cfg.adaLog() && id.endsWith(".matmul2")) return runAdaLogSoftmax();
        int bits = cfg.activationBits();
        UniformQuantizer uq = new UniformQuantizer(bits);
        Grid bGrid = grid(b, k * n);
        float[] bScale = bGrid.init().clone();
        Grid aGrid = twin ? null : grid(a, m * k);
        float[] aScale = twin ? null : aGrid.init().clone();
        float split = Float.NaN;
        float[] prevA = null;
        for (int round = 0; round < cfg.rounds(); round++) {
            roundsRun = round + 1;
            if (twin) {
                float[] splits = ScaleGrid.softmaxSplits(cfg.softmaxSplits());
                double[] s = summedOverHeads(raceHeads(splits.length, true, i -> {
                    TwinSoftmaxQuantizer tq = new TwinSoftmaxQuantizer(bits, splits[i], cfg.softmaxMode());
                    return (h, src, off, dst, len) -> tq.fakeQuant(id, src, off, dst, 0, len);
                }, i -> null));
                split = splits[OutputScores.argmax(s)];
            } else {
                float[] bs = bScale.clone();
                aScale = search("A", aGrid, i -> uniform(uq, aGrid.column(i)), i -> uniform(uq, bs));
                if (Arrays.equals(aScale, prevA)) break;
                prevA = aScale.clone();
            }
            final SliceQuant aq;
            if (twin) {
                TwinSoftmaxQuantizer tq = new TwinSoftmaxQuantizer(bits, split, cfg.softmaxMode());
                aq = (h, src, off, dst, len) -> tq.fakeQuant(id, src, off, dst, 0, len);
            } else {
                aq = uniform(uq, aScale.clone());
            }
            bScale = search("B", bGrid, i -> aq, i -> uniform(uq, bGrid.column(i)));
            if (twin) break; // the split search ignores v: a second round would repeat this one exactly
        }
        OperandQuant aOp = twin ? new TwinSoftmaxOperand(bits, split, cfg.softmaxMode())
                : new UniformOperand(bits, Granularity.PER_HEAD, aScale);
        return new MatmulQuant(aOp, new UniformOperand(bits, Granularity.PER_HEAD, bScale),
                Map.of("rounds", Integer.toString(roundsRun)));
    }

    /**
     * matmul2 with RepQ-ViT's log√2 probabilities: δ by RepQ-ViT's own rule ({@link LogSoftmaxFit},
     * the probabilities alone), then v's per-head scales searched with the method's metric on the
     * probabilities so quantized. One round: δ does not depend on v.
     */
    private MatmulQuant runLogSoftmax() {
        int bits = cfg.activationBits();
        int len = groups * heads * m * k;
        LogSqrt2Operand p = LogSoftmaxFit.repq(id, a, len, bits);
        float[] quantized = new float[len];
        final int chunk = m * k;
        Parallel.forEach(groups * heads, t -> p.fakeQuant(id, 0, a, t * chunk, quantized, t * chunk, chunk));
        SliceQuant aq = (h, src, off, dst, n) -> System.arraycopy(quantized, off, dst, 0, n);
        UniformQuantizer uq = new UniformQuantizer(bits);
        Grid bGrid = grid(b, k * n);
        float[] bScale = search("B", bGrid, i -> aq, i -> uniform(uq, bGrid.column(i)));
        roundsRun = 1;
        return new MatmulQuant(p, new UniformOperand(bits, Granularity.PER_HEAD, bScale), Map.of("rounds", "1"));
    }

    /**
     * matmul2 with AdaLog's probabilities ({@link AdaLogOperand}, scale 1), AdaLog's search
     * ({@code PostSoftmaxAsymmetricallyBatchingQuantMatMul}): each round first the base, one q of
     * {@code 10 .. 137} for the whole tensor (the heads' scores summed) with v quantized at its
     * current scales, then v's per-head scales with the probabilities at that base; rounds stop at
     * the alternation's fixed point. [vitq] v's scales start from min-max and are searched on vitq's
     * grid, symmetric, where AdaLog's are asymmetric from percentile candidates.
     */
    private MatmulQuant runAdaLogSoftmax() {
        int bits = cfg.activationBits();
        UniformQuantizer uq = new UniformQuantizer(bits);
        Grid bGrid = grid(b, k * n);
        float[] bScale = bGrid.init().clone();
        int q = -1;
        for (int round = 0; round < cfg.rounds(); round++) {
            roundsRun = round + 1;
            float[] bs = bScale.clone();
            double[] s = summedOverHeads(raceHeads(AdaLogOperand.Q_CANDIDATES, true,
                    i -> adaLog(AdaLogOperand.probabilities(bits, AdaLogOperand.MIN_Q + i)), i -> uniform(uq, bs)));
            float[][] qTrace = {new float[s.length]};
            double[][] trace = new double[s.length][];
            for (int i = 0; i < s.length; i++) {
                qTrace[0][i] = AdaLogOperand.MIN_Q + i;
                trace[i] = new double[] {s[i]};
            }
            SearchTrace.emit(id, "q", qTrace, trace);
            int best = AdaLogOperand.MIN_Q + OutputScores.argmax(s);
            if (best == q && round > 0) break;   // the same base: v's search would repeat itself
            q = best;
            SliceQuant aq = adaLog(AdaLogOperand.probabilities(bits, q));
            bScale = search("B", bGrid, i -> aq, i -> uniform(uq, bGrid.column(i)));
        }
        return new MatmulQuant(AdaLogOperand.probabilities(bits, q), new UniformOperand(bits, Granularity.PER_HEAD, bScale),
                Map.of("rounds", Integer.toString(roundsRun)));
    }

    private SliceQuant adaLog(AdaLogOperand p) {
        return (h, src, off, dst, len) -> p.fakeQuant(id, 0, src, off, dst, 0, len);
    }

    /**
     * VT-PTQ: one scale per operand (the same for every head), alternating a then b while the
     * objective (mean Pearson, minus the weighted ranking loss on matmul1) improves; an iteration
     * that does not improve it is undone.
     */
    private MatmulQuant runPerTensor() {
        int bits = cfg.activationBits();
        UniformQuantizer uq = new UniformQuantizer(bits);
        Grid aGrid = grid(a, m * k), bGrid = grid(b, k * n);
        float[] aScale = aGrid.init().clone(), bScale = bGrid.init().clone();
        double best = Double.NEGATIVE_INFINITY;
        float[] keptA = aScale, keptB = bScale;
        for (int round = 0; round < cfg.rounds(); round++) {
            roundsRun = round + 1;
            float[] bs = bScale.clone();
            aScale = searchVt("A", aGrid, i -> uniform(uq, aGrid.column(i)), i -> uniform(uq, bs));
            float[] as = aScale.clone();
            bScale = searchVt("B", bGrid, i -> uniform(uq, as), i -> uniform(uq, bGrid.column(i)));
            if (round > 0 && Arrays.equals(aScale, keptA) && Arrays.equals(bScale, keptB)) break; // fixed point
            double j = evaluate(uniform(uq, aScale), uniform(uq, bScale))[0];
            if (j < best) {
                aScale = keptA;
                bScale = keptB;
                break;
            }
            boolean converged = Double.isFinite(best) && j - best <= LinearSearch.VT_TOLERANCE * Math.abs(best);
            best = j;
            keptA = aScale.clone();
            keptB = bScale.clone();
            if (converged) break;
        }
        return new MatmulQuant(UniformOperand.perTensor(bits, aScale[0]), UniformOperand.perTensor(bits, bScale[0]),
                Map.of("rounds", Integer.toString(roundsRun)));
    }

    /** Per-head init scales (min-max over all groups) and candidate grids {@code cand[head][i]}. */
    private record Grid(float[] init, float[][] cand) {
        /** Candidate i of every head. */
        float[] column(int i) {
            float[] s = new float[cand.length];
            for (int h = 0; h < s.length; h++) s[h] = cand[h][i];
            return s;
        }
    }

    private Grid grid(float[] x, int slice) {
        float[] init = new float[heads];
        float[][] c = new float[heads][];
        float all = perTensor ? ScaleGrid.maxAbs(id, x, 0, groups * heads * slice) : 0;
        for (int h = 0; h < heads; h++) {
            float max = all;
            if (!perTensor)
                for (int gr = 0; gr < groups; gr++) max = Math.max(max, ScaleGrid.maxAbs(id, x, (gr * heads + h) * slice, slice));
            init[h] = ScaleGrid.initScale(id, max, cfg.activationBits());
            c[h] = ScaleGrid.candidates(init[h], cfg.alpha(), cfg.beta(), cfg.candidates());
        }
        return new Grid(init, c);
    }

    /**
     * VT-PTQ's argmax of {@code J = P - gamma L} over one operand's candidates (one scale for all
     * heads). With the ranking loss on, branch and bound keeps it cheap and exact: the mean Pearson
     * P of every candidate is computed first (a product and its moments); since L >= 0, J <= P, so
     * candidates are visited in decreasing P, and once P falls below the best J found no later
     * candidate can win. Only the visited ones pay for the O(n²) ranking loss. Ties go to the
     * smaller index, as everywhere.
     */
    private float[] searchVt(String operand, Grid grid, java.util.function.IntFunction<SliceQuant> aqOf,
                             java.util.function.IntFunction<SliceQuant> bqOf) {
        if (ranking == null || exhaustive) return search(operand, grid, i -> evaluate(aqOf.apply(i), bqOf.apply(i)));
        int count = grid.cand()[0].length;
        double[] p = new double[count];
        for (int i = 0; i < count; i++) p[i] = evaluate(aqOf.apply(i), bqOf.apply(i), false)[0];
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(p[y], p[x])); // stable: equal P keep index order
        double[][] scores = new double[count][];
        for (int i = 0; i < count; i++) scores[i] = new double[] {Double.NEGATIVE_INFINITY}; // pruned: cannot win
        int best = -1;
        for (int i : order) {
            if (best >= 0 && p[i] < scores[best][0]) break;
            scores[i][0] = evaluate(aqOf.apply(i), bqOf.apply(i), true)[0];
            if (best < 0 || scores[i][0] > scores[best][0] || (scores[i][0] == scores[best][0] && i < best)) best = i;
        }
        SearchTrace.emit(id, operand, grid.cand(), scores);
        return grid.column(best);
    }

    /**
     * Per-head argmax over candidates (operand quantizers {@code aqOf(i)}, {@code bqOf(i)}), each
     * candidate evaluated for all heads at once; with a squared-error metric by {@link
     * CandidateRace} over the groups (images or windows), which stops scoring a head's candidate
     * once it cannot win that head: the same choice as scoring everything.
     */
    private float[] search(String operand, Grid grid, java.util.function.IntFunction<SliceQuant> aqOf,
                           java.util.function.IntFunction<SliceQuant> bqOf) {
        return argmaxPerHead(operand, grid, raceHeads(grid.cand()[0].length, false, aqOf, bqOf));
    }

    /**
     * Per-head scores {@code [candidate][head]} of {@code count} candidates (operands {@code aqOf(i)},
     * {@code bqOf(i)}; b float when null), each head's sum over the groups in group order as {@link
     * #evaluate} forms it, by {@link CandidateRace}: exact for each head's winner, or with {@code
     * summed} for the winner of the heads' sum (one quantizer for all heads).
     */
    private double[][] raceHeads(int count, boolean summed, java.util.function.IntFunction<SliceQuant> aqOf,
                                 java.util.function.IntFunction<SliceQuant> bqOf) {
        int chunk = exhaustive || SearchTrace.listener != null ? groups : CandidateRace.chunkFor(cfg.metric(), groups, Parallel.threads());
        CandidateRace race = new CandidateRace(count, heads, groups, chunk);
        if (summed) race.summed();
        double[][] scores = race.run(i -> {
            SliceQuant aq = aqOf.apply(i), bq = bqOf.apply(i);
            return (which, alive, part) -> {
                int[] live = new int[heads];
                int n = 0;
                for (int h = 0; h < heads; h++) if (alive[h]) live[n++] = h;
                int liveHeads = n;
                samplesScored += (long) which.length * liveHeads;
                Parallel.forEach(which.length * liveHeads, t -> {
                    int j = t / liveHeads, h = live[t % liveHeads];
                    part[j][h] = taskScore(aq, bq, which[j] * heads + h);
                });
            };
        });
        samplesExhaustive += (long) count * groups * heads;
        return scores;
    }

    /** Each candidate's heads' scores added in head order: the objective of a quantizer shared by all heads. */
    private static double[] summedOverHeads(double[][] perHead) {
        double[] s = new double[perHead.length];
        for (int i = 0; i < s.length; i++) s[i] = CandidateRace.objective(perHead[i]);
        return s;
    }

    /** Per-head argmax over candidates, each candidate's scores {@code eval(i)} for all heads at once. */
    private float[] search(String operand, Grid grid, java.util.function.IntFunction<double[]> eval) {
        int count = grid.cand()[0].length;
        double[][] scores = new double[count][];
        for (int i = 0; i < count; i++) scores[i] = eval.apply(i);
        return argmaxPerHead(operand, grid, scores);
    }

    /** Each head's first-maximum candidate ({@code scores[i][0]} for all heads when there is one objective). */
    private float[] argmaxPerHead(String operand, Grid grid, double[][] scores) {
        float[][] cand = grid.cand();
        int count = cand[0].length;
        float[] best = new float[heads];
        for (int h = 0; h < heads; h++) {
            int col = scores[0].length == 1 ? 0 : h; // one objective (VT-PTQ): one choice for every head
            int bi = 0;
            for (int i = 1; i < count; i++) if (scores[i][col] > scores[bi][col]) bi = i;
            best[h] = cand[h][bi];
        }
        SearchTrace.emit(id, operand, cand, scores);
        return best;
    }

    /**
     * VT-PTQ's objective: the mean over samples of the Pearson correlation of each sample's whole
     * output (all heads), minus gamma times the ranking loss (mean hinge over all pairs, or the
     * paper's raw sum over heads and pairs averaged over samples).
     */
    private double objective(OutputScores.Moments[] moments, double[] hinge) {
        double p = 0;
        for (int gr = 0; gr < groups; gr++) {
            OutputScores.Moments sample = new OutputScores.Moments();
            for (int h = 0; h < heads; h++) sample.merge(moments[gr * heads + h]);
            p += sample.pearson();
        }
        double j = p / groups;
        if (hinge != null) {
            double total = 0;
            for (double v : hinge) total += v;
            double loss = cfg.vt().normalizeRanking() ? total / ((double) groups * heads * m * ranking.pairsPerRow())
                    : total / groups;
            j -= cfg.vt().gamma() * loss;
        }
        return j;
    }

    private SliceQuant uniform(UniformQuantizer q, float[] scales) {
        return new UniformSlices(id, q, scales, cfg.integerProducts() ? int8Forms(q.bits(), scales) : null);
    }

    /** Each head's int8 code form (a candidate's, built once for all its products), or null for codes wider than a byte. */
    private CodeForm[] int8Forms(int bits, float[] scales) {
        UniformOperand op = new UniformOperand(bits, Granularity.PER_HEAD, scales);
        CodeForm[] forms = new CodeForm[scales.length];
        for (int h = 0; h < forms.length; h++) {
            CodeForm f = op.codeForm(id, h, 1f, false);
            if (!f.int8()) return null;
            forms[h] = f;
        }
        return forms;
    }

    /**
     * A uniform quantizer with one scale per head; with integer products on, also its int8 code forms
     * ({@code null} otherwise), so that a product of two such operands is an int32 sum of their codes
     * ({@link #integerProduct}).
     */
    private record UniformSlices(String id, UniformQuantizer q, float[] scales, CodeForm[] forms) implements SliceQuant {
        @Override
        public void apply(int head, float[] src, int off, float[] dst, int len) {
            q.fakeQuant(id, scales[head], src, off, dst, 0, len);
        }
    }

    /**
     * Per-head scores of one evaluation: a and b quantized slice by slice (b float when
     * {@code bq} is null), {@code Ô = â · b̂}, row scores averaged over rows, summed over groups
     * in group order. Parallel over (group, head).
     */
    private double[] evaluate(SliceQuant aq, SliceQuant bq) { return evaluate(aq, bq, true); }

    /** @param withRanking include the ranking loss in VT-PTQ's objective (when it is on for this op) */
    private double[] evaluate(SliceQuant aq, SliceQuant bq, boolean withRanking) {
        double[] perTask = new double[groups * heads];
        boolean pearson = cfg.metric() == Metric.PEARSON;
        OutputScores.Moments[] moments = pearson ? new OutputScores.Moments[groups * heads] : null;
        double[] hinge = ranking != null && withRanking ? new double[groups * heads] : null;
        Parallel.forEach(groups * heads, task -> {
            if (!pearson) {
                perTask[task] = taskScore(aq, bq, task);
                return;
            }
            float[] y = product(aq, bq, task);
            moments[task] = OutputScores.Moments.of(o, task * m * n, y, 0, m * n);
            if (hinge != null) hinge[task] = ranking.sumInto(y, task * m, m);
        });
        if (pearson) return new double[] {objective(moments, hinge)};
        double[] perHead = new double[heads];
        for (int t = 0; t < perTask.length; t++) perHead[t % heads] += perTask[t];
        return perHead;
    }

    /** One (group, head) task's score with a per-row metric: row scores averaged over the m rows. */
    private double taskScore(SliceQuant aq, SliceQuant bq, int task) {
        float[] y = product(aq, bq, task);
        int oOff = task * m * n;
        double s = 0;
        for (int r = 0; r < m; r++) s += OutputScores.row(cfg.metric(), o, oOff + r * n, y, r * n, g, oOff + r * n, n);
        return s / m;
    }

    /** One (group, head) task's output {@code â · b̂} ({@code m x n}, in the calling thread's scratch). */
    private float[] product(SliceQuant aq, SliceQuant bq, int task) {
        int h = task % heads;
        if (aq instanceof UniformSlices ua && ua.forms() != null && bq instanceof UniformSlices ub && ub.forms() != null)
            return integerProduct(ua.forms()[h], ub.forms()[h], task);
        Scratch sc = SCRATCH.get();
        if (sc.a.length < m * k) sc.a = new float[m * k];
        if (sc.b.length < k * n) sc.b = new float[k * n];
        if (sc.o.length < m * n) sc.o = new float[m * n];
        aq.apply(h, a, task * m * k, sc.a, m * k);
        if (bq != null) {
            bq.apply(h, b, task * k * n, sc.b, k * n);
            sc.pb.repack(sc.b, 0, n, k, n);
        } else {
            sc.pb.repack(b, task * k * n, n, k, n);
        }
        Gemm.gemm(sc.a, 0, k, m, sc.pb, sc.o, 0, n, null, Activation.NONE, false, false);
        return sc.o;
    }

    /**
     * {@link #product} on integer products ({@link CalibConfig#integerProducts()}): the int32 sums of the
     * operands' int8 codes times the product of their steps, {@code S = unit * acc} as the integer
     * runtime forms matmul1's scores; the same values as the float product of the fake-quantized
     * operands up to the float product's rounding.
     */
    private float[] integerProduct(CodeForm af, CodeForm bf, int task) {
        Scratch sc = SCRATCH.get();
        if (sc.aCodes.length < m * k) sc.aCodes = new byte[m * k];
        if (sc.bCodes.length < k * n) sc.bCodes = new byte[k * n];
        if (sc.acc.length < m * n) sc.acc = new int[m * n];
        if (sc.o.length < m * n) sc.o = new float[m * n];
        if (!af.encode(a, task * m * k, m * k, sc.aCodes, null, 0) || !bf.encode(b, task * k * n, k * n, sc.bCodes, null, 0))
            throw new IllegalArgumentException(id + ": a recorded operand holds NaN or infinity");
        sc.pbCodes.repack(sc.bCodes, 0, n, k, n);
        Int8Gemm.multiply(sc.aCodes, 0, k, m, sc.pbCodes, sc.acc, 0, n, false);
        integerTasks.increment();
        float unit = af.unit(0) * bf.unit(0);
        for (int i = 0; i < m * n; i++) sc.o[i] = unit * sc.acc[i];
        return sc.o;
    }
}
