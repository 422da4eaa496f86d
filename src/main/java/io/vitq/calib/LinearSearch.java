package io.vitq.calib;

import io.vitq.model.Linear;
import io.vitq.quant.AdaLogOperand;
import io.vitq.quant.CodebookOperand;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.ScaleGrid;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinGeluQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;

import java.util.Arrays;
import java.util.Map;

/**
 * The alternating interval search of one Linear op (ALGORITHMS section 3) on its recorded float
 * input X {@code [rows, in]}, float output O {@code [rows, out]} and output gradient G: each round
 * first searches the weight scales with the input quantized at its current scale, then the input
 * scale with the weight quantized at the new scales. Every candidate is scored on the whole
 * calibration set: {@code Ô = Q(X) Q(W)^T + b}, row scores averaged over each sample's tokens and
 * summed over samples, first maximum wins.
 *
 * <p>The weight's scale groups (q/k/v row blocks, output channels) govern disjoint output columns,
 * so candidate i is tried for all groups in one product and each group takes its own argmax, as
 * the reference does. A round whose weight search returns the previous round's scales has reached
 * the fixed point of the alternation (the input search would repeat itself too), so the remaining
 * rounds are skipped: the result equals running them.
 *
 * <p>VT-PTQ ({@link CalibConfig#isVt()}): one scale per tensor (qkv optionally as three matrices,
 * {@link CalibConfig.VtOptions#qkvPerMatrix()}), the Pearson objective, bias
 * correction after each iteration (ALGORITHMS 9.5), and iterations continue while the objective
 * improves (at most {@code rounds}); an iteration that does not improve it is undone.
 */
final class LinearSearch {
    private final Linear op;
    private final float[] x, o, g;
    private final int rows, samples, tokens, in, out;
    private final CalibConfig cfg;
    private final Granularity wGran;
    private final int wScales;
    private final InputKind inputKind;
    /** The input's quantizer when it is given, not searched ({@link InputKind#FIXED}). */
    private final OperandQuant fixedInput;
    /**
     * Groups of output columns the Pearson objective is taken over, summed: 1 (the whole output), or
     * the weight's 3 row blocks when VT-PTQ treats qkv as the matrices W^Q, W^K, W^V.
     */
    private final int objectiveGroups;
    private final boolean biasCorrection;
    /** The bias used in every candidate output: the layer's, or the corrected one (VT-PTQ). */
    private float[] bias;
    /** Time spent in bias correction, for the calibration's per-phase report. */
    private long biasCorrectionNanos;
    private int roundsRun;
    /** Asymmetric weights: each scale group's zero point for the current scales ({@link #zeroPoints}); else null. */
    private int[] wZero;
    /** Asymmetric weights: the zero point of candidate i of group s, {@code zCand[s][i]}, else null. */
    private int[][] zCand;
    /** With GPTQ: the rounded weight after {@link #run()}; else null. */
    private float[] roundedWeight;
    private long gptqNanos;
    private Gptq.Choice gptqChoice;
    private int integerCandidates;
    /** (candidate, sample) pairs the searches scored, and what scoring every candidate on every sample takes. */
    private long samplesScored, samplesExhaustive;
    /** Candidates built on a subset of the output columns (tests: the subsets ran). */
    int columnSubsets;
    /** Tests: score every candidate on every sample instead of branch and bound ({@link CandidateRace}). */
    boolean exhaustive;
    /** AdaLog's scale range of fc2's input ({@link AdaLogSearch#range}), for {@link InputKind#ADALOG}. */
    private float[] adaLogRange;

    /**
     * VT-PTQ stops when an iteration improves the objective (a sum of per-sample correlations near
     * the number of samples) by less than this fraction: "until the target function converges".
     */
    static final double VT_TOLERANCE = 1e-6;

    /**
     * A codebook input's grid tops tried: the largest value times {@code CODEBOOK_CLIP_RATIO^i}
     * ([vitq], docs/LOWBIT.md): the levels follow the values, the grid's reach sets its resolution.
     */
    static final int CODEBOOK_CLIPS = 8;
    static final double CODEBOOK_CLIP_RATIO = 0.8;
    /** AdaLog-levelled candidates kept, by squared error, for the metric to choose among. */
    static final int ADALOG_KEEP = 16;

    /** How the op's input is quantized: FIXED is a quantizer given by the caller (a folded LayerNorm's). */
    enum InputKind { FLOAT, UNIFORM, TWIN_GELU, CODEBOOK, ADALOG, FIXED }

    /** Per-thread buffers: one sample's quantized input and candidate output. */
    private static final class Scratch {
        float[] x = new float[0], o = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * @param samples number of calibration images; rows must be a multiple of it (tokens per image)
     * @param g       output gradient (needed by the Hessian metric only; may be null otherwise)
     */
    LinearSearch(Linear op, float[] x, float[] o, float[] g, int rows, int samples, CalibConfig cfg) {
        if (rows % samples != 0) throw new IllegalArgumentException(op.id() + ": " + rows + " rows for " + samples + " samples");
        if (cfg.metric() == Metric.HESSIAN && g == null) throw new IllegalArgumentException(op.id() + ": Hessian metric needs gradients");
        this.op = op;
        this.x = x;
        this.o = o;
        this.g = g;
        this.rows = rows;
        this.samples = samples;
        this.tokens = rows / samples;
        this.in = op.in();
        this.out = op.out();
        this.cfg = cfg;
        String id = op.id();
        if (id.endsWith("patch_embed.proj")) {
            wGran = cfg.patchEmbedPerChannel() || cfg.perChannelWeights() ? Granularity.PER_OUTPUT_CHANNEL : Granularity.PER_TENSOR;
            inputKind = InputKind.FLOAT; // the image stays float
        } else {
            boolean qkvBlocks = id.endsWith(".qkv") && (!cfg.isVt() || cfg.vt().qkvPerMatrix());
            wGran = cfg.perChannelWeights() ? Granularity.PER_OUTPUT_CHANNEL : qkvBlocks ? Granularity.ROW_BLOCKS : Granularity.PER_TENSOR;
            // a rotated fc2 input is no GELU output: uniform, whatever the post-GELU quantizer
            boolean geluInput = id.endsWith("mlp.fc2") && !cfg.rotation().fc2();
            inputKind = cfg.fixedInputs().containsKey(id) ? InputKind.FIXED
                    : cfg.adaLog() && geluInput ? InputKind.ADALOG
                    : cfg.geluCodebook() != null && geluInput ? InputKind.CODEBOOK
                    : cfg.twinGelu() && geluInput ? InputKind.TWIN_GELU : InputKind.UNIFORM;
        }
        fixedInput = cfg.fixedInputs().get(id);
        wScales = switch (wGran) {
            case PER_OUTPUT_CHANNEL -> out;
            case ROW_BLOCKS -> 3;
            default -> 1;
        };
        objectiveGroups = cfg.metric() == Metric.PEARSON && wGran == Granularity.ROW_BLOCKS ? wScales : 1;
        biasCorrection = cfg.isVt() ? cfg.vt().biasCorrection() : cfg.biasCorrection();
        float[] b = op.bias();
        bias = b != null ? b.clone() : biasCorrection ? new float[out] : null;
    }

    /** Rounds actually searched (fewer than configured when the alternation reached its fixed point). */
    int roundsRun() { return roundsRun; }

    LinearQuant run() {
        if (cfg.isRepq()) {
            roundsRun = 1;
            return RepqRule.linear(op, x, rows, cfg, fixedInput, inputKind == InputKind.FLOAT);
        }
        String id = op.id();
        int wb = cfg.weightBits(), ab = cfg.activationBits();

        // weight candidates per scale group, from the min-max init of each group
        float[] wScale = symmetricInit();
        float[][] wCand = new float[wScales][];
        for (int s = 0; s < wScales; s++) wCand[s] = ScaleGrid.candidates(wScale[s], cfg.alpha(), cfg.beta(), cfg.candidates());
        if (asymmetric()) {
            zCand = zeroPoints(wCand);
            wZero = new int[wScales];
            for (int s = 0; s < wScales; s++) wZero[s] = zCand[s][0];
        }
        // input candidates: the quantizers tried, and the value that names each in a search trace
        float[] xCand = null;
        OperandQuant[] xQuants = null;
        OperandQuant xq = null;
        if (inputKind == InputKind.UNIFORM) {
            float init = ScaleGrid.initScale(id, ScaleGrid.maxAbs(id, x, 0, rows * in), ab);
            xCand = ScaleGrid.candidates(init, cfg.alpha(), cfg.beta(), cfg.candidates());
            xQuants = new OperandQuant[xCand.length];
            for (int i = 0; i < xCand.length; i++) xQuants[i] = UniformOperand.perTensor(ab, xCand[i]);
            xq = UniformOperand.perTensor(ab, init);
        } else if (inputKind == InputKind.TWIN_GELU) {
            float init = ScaleGrid.geluPositiveInit(id, ScaleGrid.max(id, x, 0, rows * in), ab);
            xCand = cfg.geluPowerOfTwo() ? ScaleGrid.geluPowerOfTwoSteps(ab, cfg.geluMaxShift())
                    : ScaleGrid.candidates(init, cfg.alpha(), cfg.beta(), cfg.candidates());
            if (cfg.geluPowerOfTwo()) init = xCand[nearestPowerOfTwo(xCand, init)];
            xQuants = new OperandQuant[xCand.length];
            for (int i = 0; i < xCand.length; i++) xQuants[i] = TwinGeluOperand.withDefaultNegativeStep(ab, xCand[i]);
            xq = TwinGeluOperand.withDefaultNegativeStep(ab, init);
        } else if (inputKind == InputKind.CODEBOOK) {
            float lo = Math.min(ScaleGrid.min(id, x, 0, rows * in), 0f), hi = ScaleGrid.max(id, x, 0, rows * in);
            float[] tops = new float[CODEBOOK_CLIPS];
            for (int i = 0; i < CODEBOOK_CLIPS; i++) tops[i] = (float) (hi * Math.pow(CODEBOOK_CLIP_RATIO, i));
            if (cfg.geluCodebook() == CalibConfig.GeluLevels.FITTED) {
                xCand = tops;
                xQuants = new OperandQuant[CODEBOOK_CLIPS];
                for (int i = 0; i < CODEBOOK_CLIPS; i++) xQuants[i] = CodebookFit.fit(id, x, 0, rows * in, ab, lo, tops[i]);
            } else {   // AdaLog's levels: reaches of the shifted values, the best by squared error
                for (int i = 0; i < CODEBOOK_CLIPS; i++) tops[i] += CodebookFit.ADALOG_SHIFT;
                xQuants = CodebookFit.adalogCandidates(id, x, 0, rows * in, ab, tops, ADALOG_KEEP);
                xCand = new float[xQuants.length];
                for (int i = 0; i < xCand.length; i++) xCand[i] = ((CodebookOperand) xQuants[i]).scale();
            }
            xq = xQuants[0];
        } else if (inputKind == InputKind.ADALOG) {
            adaLogRange = AdaLogSearch.range(id, x, rows * in, AdaLogOperand.GELU_SHIFT);
            xq = AdaLogSearch.start(ab, adaLogRange, AdaLogOperand.GELU_SHIFT);
        } else if (inputKind == InputKind.FIXED) {
            xq = fixedInput;
        }

        float[] prevW = null;
        OperandQuant prevX = null;
        double best = Double.NEGATIVE_INFINITY;        // VT-PTQ: objective of the kept state
        float[] keptW = null, keptBias = null;
        OperandQuant keptX = null;
        for (int round = 0; round < cfg.rounds(); round++) {
            roundsRun = round + 1;
            wScale = searchWeight(wCand, xq);
            boolean inputGiven = inputKind == InputKind.FLOAT || inputKind == InputKind.FIXED;
            if (!cfg.isVt() && (inputGiven || Arrays.equals(wScale, prevW))) break;
            if (inputKind == InputKind.ADALOG) {
                PackedB packed = packWeight(wScale);
                xq = AdaLogSearch.gelu((AdaLogOperand) xq, adaLogRange,
                        (c, keep) -> stageScores(c, keep, packed, AdaLogSearch.COARSE_STRIDE), (c, keep) -> stageScores(c, keep, packed, 1));
            } else if (!inputGiven) {
                xq = searchInput(xCand, xQuants, wScale);
            }
            if (cfg.isVt()) {
                // the same scales again: the bias is already corrected for them, nothing can change
                if (Arrays.equals(wScale, prevW) && java.util.Objects.equals(xq, prevX)) break;
                if (biasCorrection) correctBias(wScale, xq);
                double j = objective(candidate(wScale, xq));
                if (j < best) {  // worse: undo this iteration and stop
                    wScale = keptW;
                    xq = keptX;
                    bias = keptBias;
                    break;
                }
                boolean converged = Double.isFinite(best) && j - best <= VT_TOLERANCE * Math.abs(best);
                best = j;
                keptW = wScale.clone();
                keptX = xq;
                keptBias = bias == null ? null : bias.clone();
                if (converged) break;
            }
            prevW = wScale.clone();
            prevX = xq;
        }

        UniformOperand w = weightQuant(wScale);
        OperandQuant input = xq;
        if (biasCorrection && !cfg.isVt()) correctBias(wScale, xq);   // once, on the searched scales
        // the uniform search above set the input's scale; the weight then takes its own table (pairs need
        // an even row: a Linear with an odd number of inputs takes levels)
        w = switch (cfg.tableAt(cfg.weightBits())) {
            case UNIFORM -> w;
            case LEVELS -> WeightLevelFit.fit(id, op.weight(), out, in, cfg.weightBits());
            case PAIRS -> in % 2 == 0 ? WeightPairFit.fit(id, op.weight(), out, in, cfg.weightBits())
                    : WeightLevelFit.fit(id, op.weight(), out, in, cfg.weightBits());
        };
        float[] corrected = biasCorrection ? bias : null;
        if (cfg.gptq()) {
            long t0 = System.nanoTime();
            Gptq.Choice c = Gptq.crossValidated(id, op.weight(), out, in, x, input == null ? null : quantizedInput(input),
                    cfg.metric() == Metric.HESSIAN ? g : null, rows, samples, w);
            roundedWeight = c.weight();
            gptqChoice = c;
            gptqNanos = System.nanoTime() - t0;
        }
        Map<String, String> info = new java.util.LinkedHashMap<>();
        info.put("rounds", Integer.toString(roundsRun));
        if (cfg.gptq()) info.put("gptq_damp", gptqChoice.describe());
        return new LinearQuant(w, input, corrected, info);
    }

    /** Asymmetric weights (a zero point per scale group, {@link #zeroPoints}) where the config asks and the width allows. */
    private boolean asymmetric() { return cfg.asymmetricWeights() && cfg.weightBits() <= UniformOperand.MAX_ASYMMETRIC_BITS; }

    /** Each group's max |w| over the largest code: the symmetric search's starting scales. */
    private float[] symmetricInit() {
        float[] wMax = ScaledRanges.maxAbsRows(op.id(), wGran, wScales, op.weight(), out, in);
        float[] init = new float[wScales];
        for (int s = 0; s < wScales; s++) init[s] = ScaleGrid.initScale(op.id(), wMax[s], cfg.weightBits());
        return init;
    }

    /**
     * Asymmetric weights: for each group and candidate step s, the zero point z that minimises the
     * group's squared weight error {@code sum (w - s clamp(rint(w / s), -z, 2^k - 1 - z))^2}, so
     * that a range clipped by the search still sits on the bulk of the weights, wherever the
     * outliers are. A zero point fixed by the [min, max] range instead made every clipped candidate
     * clip the short side too, and the search then preferred far worse steps (ViT-Ti W4A8 78.46 %
     * against 80.08 % symmetric; docs/LOWBIT.md section 1). z = 2^(k-1) is the symmetric grid.
     * Ties keep the zero point nearest 2^(k-1) [INFERRED]. Each by {@link ZeroPointChoice}.
     */
    private int[][] zeroPoints(float[][] wCand) {
        int n = wCand[0].length;
        float[] w = op.weight();
        int[][] z = new int[wScales][n];
        Parallel.forEach(wScales, g -> {
            int[] groupRows = java.util.stream.IntStream.range(0, out).filter(r -> wGran.scaleIndexOfRow(r, out, wScales) == g).toArray();
            ZeroPointChoice c = new ZeroPointChoice(cfg.weightBits());
            for (int i = 0; i < n; i++) z[g][i] = c.best(w, groupRows, in, wCand[g][i]);
        });
        return z;
    }

    /** The weight quantizer with these scales (and the current zero points, when asymmetric). */
    private UniformOperand weightQuant(float[] scales) { return new UniformOperand(cfg.weightBits(), wGran, scales, wZero); }

    /** Weight scales: candidate i for every group at once, each group's own argmax. */
    private float[] searchWeight(float[][] wCand, OperandQuant xq) {
        // the input is the same for every weight candidate: quantized once, on the float path
        float[][] xQuantized = new float[1][];
        double[][] scores = race(wCand[0].length, wScales, (i, cols) -> {
            float[] trial = new float[wScales];
            for (int s = 0; s < wScales; s++) trial[s] = wCand[s][i];
            int[] trialZero = null;
            if (zCand != null) {
                trialZero = new int[wScales];
                for (int s = 0; s < wScales; s++) trialZero[s] = zCand[s][i];
            }
            UniformOperand wTrial = new UniformOperand(cfg.weightBits(), wGran, trial, trialZero);
            Candidate c = cols == null ? integerCandidate(wTrial, xq) : integerColumns(wTrial, xq, cols);
            if (c != null) return c;
            float[] wq0 = new float[out * in];
            ScaledRanges.fakeQuantRows(wTrial, op.id(), op.weight(), out, in, wq0);
            if (xQuantized[0] == null && xq != null) xQuantized[0] = quantizedInput(xq);
            float[] xa = xQuantized[0] != null ? xQuantized[0] : x;
            if (cols == null) return productCandidate(xa, PackedB.packTransposed(wq0, 0, in, out, in), bias);
            return productCandidate(xa, PackedB.packTransposed(rows(wq0, cols, in), 0, in, cols.length, in), columns(bias, cols));
        });
        float[] best = new float[wScales];
        for (int s = 0; s < wScales; s++) {
            int b = 0;
            for (int i = 1; i < scores.length; i++) if (scores[i][s] > scores[b][s]) b = i;
            best[s] = wCand[s][b];
            if (zCand != null) wZero[s] = zCand[s][b];
        }
        SearchTrace.emit(op.id(), "w", wCand, scores);
        return best;
    }

    /** The input quantizer with the weight quantized at {@code wScale}: the best of {@code xQuants} (traced by {@code xCand}). */
    private OperandQuant searchInput(float[] xCand, OperandQuant[] xQuants, float[] wScale) {
        PackedB[] packed = new PackedB[1];
        double[] xs = new double[xQuants.length];
        double[][] scores = race(xQuants.length, objectiveGroups, (i, cols) -> {
            Candidate c = integerCandidate(weightQuant(wScale), xQuants[i]);
            return c != null ? c : floatCandidate(xQuants[i], packed[0] != null ? packed[0] : (packed[0] = packWeight(wScale)));
        });
        for (int i = 0; i < xs.length; i++) xs[i] = CandidateRace.objective(scores[i]);
        double[][] trace = new double[xs.length][];
        for (int i = 0; i < xs.length; i++) trace[i] = new double[] {xs[i]};
        SearchTrace.emit(op.id(), "a", new float[][] {xCand}, trace);
        return xQuants[OutputScores.argmax(xs)];
    }

    /**
     * The score of the whole op: per sample, one score per group of the objective's output columns,
     * summed over samples in sample order (parallel over samples, deterministic), then over groups.
     */
    private double objective(Candidate c) {
        boolean perColumn = objectiveGroups == out && wGran == Granularity.PER_OUTPUT_CHANNEL && out > 1;
        double[][] perSample = new double[samples][];
        Parallel.forEach(samples, s -> perSample[s] = sampleScores(c, objectiveGroups, s, perColumn));
        double[] total = new double[objectiveGroups];
        for (double[] r : perSample) for (int k = 0; k < objectiveGroups; k++) total[k] += r[k];
        return CandidateRace.objective(total);
    }

    /** The op with weight scales {@code wScale} and input quantizer {@code xq}, as the search scores it. */
    private Candidate candidate(float[] wScale, OperandQuant xq) {
        Candidate c = integerCandidate(weightQuant(wScale), xq);
        return c != null ? c : floatCandidate(xq, packWeight(wScale));
    }

    private PackedB packWeight(float[] wScale) {
        float[] wq = new float[out * in];
        ScaledRanges.fakeQuantRows(weightQuant(wScale), op.id(), op.weight(), out, in, wq);
        return PackedB.packTransposed(wq, 0, in, out, in);
    }

    /**
     * VT-PTQ's bias correction: {@code b -= mean over samples and tokens of (Ô - O)} per output
     * channel, Ô computed with the current bias (so a second correction would remove nothing).
     */
    private void correctBias(float[] wScale, OperandQuant xq) {
        long t0 = System.nanoTime();
        Candidate cand = candidate(wScale, xq);
        double[][] perSample = new double[samples][];
        Parallel.forEach(samples, s -> {
            float[] y = cand.output(s);
            double[] e = new double[out];
            int oOff = s * tokens * out;
            for (int t = 0; t < tokens; t++)
                for (int c = 0; c < out; c++) e[c] += (double) y[t * out + c] - o[oOff + t * out + c];
            perSample[s] = e;
        });
        double[] sum = new double[out];
        for (double[] e : perSample) for (int c = 0; c < out; c++) sum[c] += e[c];
        for (int c = 0; c < out; c++) bias[c] = (float) (bias[c] - sum[c] / rows);
        biasCorrectionNanos += System.nanoTime() - t0;
    }

    /** GPTQ's weight {@code [out, in]} (on the grid of the returned quantizer), or null without GPTQ. */
    float[] roundedWeight() { return roundedWeight; }

    /** Candidates scored on integer products (tests: the integer path ran). */
    int integerCandidates() { return integerCandidates; }

    /** (candidate, sample) pairs the weight and input searches scored. */
    long samplesScored() { return samplesScored; }

    /** (candidate, sample) pairs the same searches would have scored without branch and bound. */
    long samplesExhaustive() { return samplesExhaustive; }

    /** Nanoseconds spent in GPTQ during {@link #run()}. */
    long gptqNanos() { return gptqNanos; }

    /** Nanoseconds spent in bias correction during {@link #run()}. */
    long biasCorrectionNanos() { return biasCorrectionNanos; }

    /**
     * Sample s's scores of one candidate (its output {@code Q(X_s) Q(W)^T + b}), one per group of
     * output columns: the weight's scale groups in the weight search, the objective's in the input search.
     */
    private double[] sampleScores(Candidate cand, int groups, int s, boolean perColumn) {
        if (cfg.metric() == Metric.PEARSON && groups != 1 && groups != objectiveGroups)
            throw new IllegalStateException(op.id() + ": the Pearson objective scores the whole output or the qkv matrices, not "
                    + groups + " groups");
        float[] y = cand.output(s);
        double[] r = new double[groups];
        int oOff = s * tokens * out;
        if (cfg.metric() == Metric.PEARSON && groups == 1) {
            r[0] = OutputScores.pearson(o, oOff, y, 0, tokens * out);
        } else if (cfg.metric() == Metric.PEARSON) {
            OutputScores.pearsonColumnBlocks(o, oOff, y, 0, tokens, out, groups, r);
        } else if (perColumn) {
            OutputScores.perColumn(cfg.metric(), o, oOff, y, 0, cfg.metric() == Metric.MSE ? null : g, oOff, tokens, out, r);
        } else {
            int width = out / groups;
            for (int t = 0; t < tokens; t++)
                for (int k = 0; k < groups; k++) {
                    int c = t * out + k * width;
                    r[k] += OutputScores.row(cfg.metric(), o, oOff + c, y, c, g, oOff + c, width);
                }
            for (int k = 0; k < groups; k++) r[k] /= tokens;
        }
        return r;
    }

    /**
     * The objective of each of AdaLog's input candidates {@code c} (the weight {@code packed}) over
     * every {@code stride}-th sample, exact for the best {@code keep} and for any candidate that
     * could be among them, summed as {@link #objective(Candidate)} sums its samples and groups.
     */
    private double[] stageScores(OperandQuant[] c, int keep, PackedB packed, int stride) {
        int n = (samples + stride - 1) / stride;
        double[][] scores = race(c.length, objectiveGroups, n, keep, (i, cols) -> floatCandidate(c[i], packed), v -> v * stride);
        double[] s = new double[c.length];
        for (int i = 0; i < s.length; i++) s[i] = CandidateRace.objective(scores[i]);
        return s;
    }

    /**
     * Scores {@code [candidate][group]} of {@code count} candidates on every sample, summed in sample
     * order, by {@link CandidateRace}: exactly {@link #objective(Candidate)}'s sums where a candidate
     * can win, a partial sum below the winner where it cannot (squared-error metrics only; the
     * others score everything). With per-output-channel weights a candidate can be built for a
     * subset of the output columns ({@code candidate.of(i, cols)}, all when cols is null): once it
     * has lost most of its channels, only the rest are computed.
     */
    private double[][] race(int count, int groups, Columns candidate) {
        return race(count, groups, samples, 1, candidate, v -> v);
    }

    /** A candidate restricted to output columns {@code cols} ({@code [tokens, cols.length]} outputs; all columns when null). */
    @FunctionalInterface
    private interface Columns {
        Candidate of(int i, int[] cols);
    }

    /**
     * {@link #race(int, int, Columns)} over {@code n} of the samples ({@code sample.applyAsInt(v)}
     * for v = 0..n-1, summed in that order), keeping the best {@code keep} exact.
     */
    private double[][] race(int count, int groups, int n, int keep, Columns candidate, java.util.function.IntUnaryOperator sample) {
        boolean perColumn = groups == out && wGran == Granularity.PER_OUTPUT_CHANNEL && out > 1;
        boolean subsets = perColumn && (cfg.metric() == Metric.HESSIAN || cfg.metric() == Metric.MSE);
        int chunk = exhaustive || SearchTrace.listener != null ? n : CandidateRace.chunkFor(cfg.metric(), n, Parallel.threads());
        CandidateRace race = new CandidateRace(count, groups, n, chunk).keeping(keep);
        double[][] scores = race.run(i -> new CandidateRace.Scorer() {
            Candidate c;
            int[] cols;   // the columns c computes; null: all

            @Override
            public void score(int[] which, boolean[] alive, double[][] part) {
                int live = 0;
                for (boolean a : alive) if (a) live++;
                // rebuild on fewer columns once at most half of those computed are still alive
                if (c == null || (subsets && 2 * live <= (cols == null ? out : cols.length))) {
                    cols = null;
                    if (subsets && live < out) {
                        cols = new int[live];
                        for (int col = 0, j = 0; col < out; col++) if (alive[col]) cols[j++] = col;
                    }
                    c = candidate.of(i, cols);
                    if (cols != null) columnSubsets++;
                }
                Candidate cc = c;
                int[] cs = cols;
                Parallel.forEach(which.length, j -> part[j] = cs == null ? sampleScores(cc, groups, sample.applyAsInt(which[j]), perColumn)
                        : columnScores(cc, cs, sample.applyAsInt(which[j])));
            }
        });
        samplesScored += race.scored();
        samplesExhaustive += (long) count * n;
        return scores;
    }

    /**
     * Sample s's per-column scores (per-output-channel weights, squared-error metrics) from a
     * candidate computing only {@code cols}: {@link OutputScores#perColumn}'s sums, term for term,
     * for those columns; the others are left 0 (the race ignores them).
     */
    private double[] columnScores(Candidate cand, int[] cols, int s) {
        float[] y = cand.output(s);
        double[] r = new double[out];
        int n = cols.length, oOff = s * tokens * out;
        float[] gg = cfg.metric() == Metric.MSE ? null : g;
        for (int t = 0; t < tokens; t++) {
            int ro = oOff + t * out;
            for (int j = 0; j < n; j++) {
                int c = cols[j];
                double e = (double) y[t * n + j] - o[ro + c], ge = gg == null ? e : gg[ro + c] * e;
                r[c] -= ge * ge;
            }
        }
        for (int c : cols) r[c] /= tokens;
        return r;
    }

    /** Rows {@code rows} of a row-major {@code [*, width]} matrix. */
    private static float[] rows(float[] m, int[] rows, int width) {
        float[] r = new float[rows.length * width];
        for (int j = 0; j < rows.length; j++) System.arraycopy(m, rows[j] * width, r, j * width, width);
        return r;
    }

    /** Entries {@code cols} of v. */
    private static int[] columns(int[] v, int[] cols) {
        int[] r = new int[cols.length];
        for (int j = 0; j < cols.length; j++) r[j] = v[cols[j]];
        return r;
    }

    /** Entries {@code cols} of v, or null for null. */
    private static float[] columns(float[] v, int[] cols) {
        if (v == null) return null;
        float[] r = new float[cols.length];
        for (int j = 0; j < cols.length; j++) r[j] = v[cols[j]];
        return r;
    }

    /**
     * One candidate (weight scales and input quantizer) of the op: its output {@code Q(X_s) Q(W)^T
     * + bias} for sample s ({@code tokens x out} from index 0 of the returned array, the calling
     * thread's scratch), computed in the calling thread (the search runs samples in parallel).
     */
    @FunctionalInterface
    private interface Candidate {
        float[] output(int s);
    }

    /** Float products of the fake-quantized input and the packed fake-quantized weight, in the thread's scratch. */
    private Candidate floatCandidate(OperandQuant xq, PackedB w) { return s -> candidateOutput(s, xq, w).o; }

    /** The whole input {@code [rows, in]} through {@code xq}, sample by sample in parallel. */
    private float[] quantizedInput(OperandQuant xq) {
        float[] q = new float[rows * in];
        Parallel.forEach(samples, s -> xq.fakeQuant(op.id(), 0, x, s * tokens * in, q, s * tokens * in, tokens * in));
        return q;
    }

    /** Float products of an input already quantized ({@code [rows, in]}) and the packed weight, in the thread's scratch. */
    private Candidate productCandidate(float[] xa, PackedB w, float[] b) {
        int n = w.n();
        return s -> {
            Scratch sc = SCRATCH.get();
            if (sc.o.length < tokens * n) sc.o = new float[tokens * n];
            Gemm.gemm(xa, s * tokens * in, in, tokens, w, sc.o, 0, n, b, Activation.NONE, false, false);
            return sc.o;
        };
    }

    /**
     * {@link #integerCandidate} computing only the output columns {@code cols} (per-output-channel
     * weights): an op of those weight rows, their scales and bias entries. Each column's int32 sums
     * and dequantization are the full op's, so its outputs are the same floats.
     */
    private Candidate integerColumns(UniformOperand w, OperandQuant xq, int[] cols) {
        if (!integerProducts(xq)) return null;
        Linear sub = new Linear(op.id(), rows(op.weight(), cols, in), columns(op.bias(), cols), cols.length, in);
        int[] z = w.zeroPoints();
        return kernelCandidate(new IntegerExecutor.LinearKernel(sub, new LinearQuant(
                new UniformOperand(w.bits(), Granularity.PER_OUTPUT_CHANNEL, columns(w.scales(), cols),
                        z == null ? null : columns(z, cols)), xq,
                biasCorrection ? columns(bias, cols) : null, Map.of())));
    }

    /**
     * The integer runtime's output for these scales ({@link CalibConfig#integerProducts()}): int32
     * sums of the input's and the weight's byte codes, dequantized, in the calling thread's scratch;
     * null when integer products are off or the op has no byte codes (float input, codes over 8 bits).
     */
    private Candidate integerCandidate(UniformOperand w, OperandQuant xq) {
        if (!integerProducts(xq)) return null;
        return kernelCandidate(new IntegerExecutor.LinearKernel(op,
                new LinearQuant(w, xq, biasCorrection ? bias.clone() : null, Map.of())));
    }

    /**
     * Whether candidates with input quantizer xq can be scored on integer products at all: only with
     * an exact integer form (AdaLog's moves its levels onto a grid; the search scores its own levels).
     */
    private boolean integerProducts(OperandQuant xq) {
        return cfg.integerProducts() && xq != null && xq.codeFormMissing() == null && xq.codeFormExact() && cfg.weightBits() <= 8;
    }

    /** The kernel's outputs ({@code [tokens, its out]}) in the thread's scratch, or null when it has no byte codes. */
    private Candidate kernelCandidate(IntegerExecutor.LinearKernel k) {
        if (!k.integer()) return null;
        integerCandidates++;
        int n = k.out();
        return s -> {
            Scratch sc = SCRATCH.get();
            if (sc.o.length < tokens * n) sc.o = new float[tokens * n];
            k.rows(x, s * tokens, tokens, sc.o, 0);
            return sc.o;
        };
    }

    /** Sample s's candidate output {@code Q(X_s) W^T + bias} in the calling thread's scratch. */
    private Scratch candidateOutput(int s, OperandQuant xq, PackedB w) {
        Scratch sc = SCRATCH.get();
        if (sc.x.length < tokens * in) sc.x = new float[tokens * in];
        if (sc.o.length < tokens * out) sc.o = new float[tokens * out];
        float[] xa = x;
        int xOff = s * tokens * in;
        if (xq != null) {
            xq.fakeQuant(op.id(), 0, x, xOff, sc.x, 0, tokens * in);
            xa = sc.x;
            xOff = 0;
        }
        Gemm.gemm(xa, xOff, in, tokens, w, sc.o, 0, out, bias, Activation.NONE, false, false);
        return sc;
    }

    /** Index of the power-of-two step closest (in log scale) to the min-max init. */
    private static int nearestPowerOfTwo(float[] steps, float init) {
        int best = 0;
        for (int i = 1; i < steps.length; i++)
            if (Math.abs(Math.log(steps[i] / init)) < Math.abs(Math.log(steps[best] / init))) best = i;
        return best;
    }
}
