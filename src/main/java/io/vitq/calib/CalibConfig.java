package io.vitq.calib;

import io.vitq.model.RotatedInputs;
import io.vitq.quant.TwinSoftmaxQuantizer;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Everything a calibration method decides (ALGORITHMS sections 4 and 5): bit widths, the search
 * (metric, candidate grid {@code [alpha, beta] x init} with {@code candidates} scored values,
 * rounds), granularities and the twin quantizers. {@link #basePtq} and {@link #ptq4vit} give the
 * reference settings; the {@code with*} methods are the ablation switches.
 *
 * @param method               "basePTQ", "ptq4vit", "vtptq", "vitq", "repq" or "adalog" (the plan's method name)
 * @param patchEmbedPerChannel patch-embedding weight per output channel (PTQ4ViT) or per tensor (BasePTQ)
 * @param twinSoftmax          matmul2's probabilities through the twin-uniform quantizer (else signed per head)
 * @param twinGelu             fc2's input through the twin-uniform GELU quantizer (else signed per tensor)
 * @param geluPowerOfTwo       twin GELU positive step restricted to {@code 2^m · Δ_neg} (paper; integer shifts)
 * @param trueLabels           Hessian gradients from the images' labels instead of the float model's own top-1
 * @param sequential           calibrate op by op on inputs that carry the quantization of the ops before
 *                             (else "parallel": every op on float inputs, as the reference does)
 * @param biasCorrection       basePTQ, ptq4vit: each Linear's mean output error removed from its bias after the search
 * @param geluCodebook         fc2's input through a codebook quantizer with these levels (overrides twinGelu), or null
 * @param integerProducts      score a Linear's candidates on the integer runtime's outputs (int8 or uint8 codes,
 *                             int32 sums, the native VNNI kernel where it loads) instead of float products of
 *                             fake-quantized values; ops without byte codes (float input, over 8 bits) stay float;
 *                             an attention product's candidates too where both operands are uniform int8 codes
 *                             (q and k; not the twin softmax's probabilities)
 * @param logSoftmax           matmul2's probabilities through RepQ-ViT's log√2 quantizer, δ by its percentile rule
 *                             (overrides twinSoftmax; not for VT-PTQ)
 * @param perChannelWeights    every Linear's weight with one scale per output channel, each searched on its
 *                             own output column (else the method's: per tensor, qkv's three row blocks)
 * @param adaLog               AdaLog's logarithmic quantizer on matmul2's probabilities (base searched) and fc2's
 *                             input (base and scale by its progressive search), instead of the twins or codebook
 * @param asymmetricWeights    weights below 8 bits with a zero point per scale (per output channel with
 *                             {@code perChannelWeights}), for each candidate step the one of least squared weight
 *                             error, so the codes can sit off centre on a row (not for VT-PTQ)
 * @param rotation             calibrate the equivalent ViT whose Linears it names read their input through a
 *                             randomized block Hadamard rotation ({@code model.InputRotation}, docs/LOWBIT.md
 *                             section 2.1): qkv and fc1 instead of folding their inputs, and with
 *                             {@code ALL} proj and fc2 too, fc2's input then uniform (not with folds or VT-PTQ)
 * @param chooseQuantizers     calibrate twice, as this config without the choice and as {@link #adaLogCandidate()},
 *                             and keep the plan whose logits on the calibration images are closer to the float
 *                             model's ({@code eval.Pipeline}; {@link #vitq} at 6 activation bits)
 * @param weightTable          weights below 8 bits on the searched uniform grid, or on a table per Linear with a
 *                             step per row instead ({@link WeightTable}): 2^k levels ({@link WeightLevelFit},
 *                             docs/LOWBIT.md section 1.2) or 2^(2k) pairs of codes ({@link WeightPairFit}, section
 *                             1.3); the uniform search (asymmetric or not) still sets the input's scale first, and
 *                             GPTQ, when on, rounds to the table (not with VT-PTQ or the bias correction)
 */
public record CalibConfig(String method, int weightBits, int activationBits, Metric metric,
                          double alpha, double beta, int candidates, int rounds,
                          boolean patchEmbedPerChannel, boolean twinSoftmax, TwinSoftmaxQuantizer.Mode softmaxMode,
                          int softmaxSplits, boolean twinGelu, boolean geluPowerOfTwo, int geluMaxShift,
                          boolean trueLabels, java.util.List<OpBits> opBits, VtOptions vt, boolean sequential,
                          boolean perChannelWeights, boolean reparamNorms, boolean gptq, GeluLevels geluCodebook, boolean biasCorrection,
                          Map<String, io.vitq.quant.OperandQuant> fixedInputs, boolean integerProducts,
                          boolean logSoftmax, boolean adaLog, boolean asymmetricWeights, RotatedInputs rotation,
                          boolean chooseQuantizers, WeightTable weightTable) {

    /**
     * VT-PTQ's settings (ALGORITHMS section 9; the unstated ones are the [INFERRED] defaults,
     * each switchable for ablations).
     *
     * @param ranking          add {@code -gamma * L_ranking} to matmul1's objective (attention-score order)
     * @param gamma            weight of the ranking loss (paper: 0.1)
     * @param theta            hinge margin of the ranking loss (paper: 0.2)
     * @param normalizeRanking divide the ranking loss by the number of pairs (mean hinge; [INFERRED])
     *                         instead of the paper's raw sum over heads and pairs
     * @param biasCorrection   after each iteration subtract the mean output error per output channel from the bias
     * @param qkvPerMatrix     the fused qkv weight as the paper's three matrices W^Q, W^K, W^V: one scale
     *                         each, each searched on the Pearson correlation of its own output (q, k or v),
     *                         the shared input's scale on the sum of the three ([INFERRED] option; off: one
     *                         scale for the fused weight)
     */
    public record VtOptions(boolean ranking, double gamma, double theta, boolean normalizeRanking, boolean biasCorrection,
                            boolean qkvPerMatrix) {
        public VtOptions(boolean ranking, double gamma, double theta, boolean normalizeRanking, boolean biasCorrection) {
            this(ranking, gamma, theta, normalizeRanking, biasCorrection, false);
        }

        public static VtOptions defaults() { return new VtOptions(true, 0.1, 0.2, true, true); }

        /** The record's form, with qkvPerMatrix only when set: results files written before it existed still match. */
        @Override
        public String toString() {
            return "VtOptions[ranking=" + ranking + ", gamma=" + gamma + ", theta=" + theta + ", normalizeRanking="
                    + normalizeRanking + ", biasCorrection=" + biasCorrection + (qkvPerMatrix ? ", qkvPerMatrix=true" : "") + "]";
        }
    }

    /**
     * A per-op precision override: ops whose id matches {@code pattern} ({@code *} matches any
     * characters, e.g. {@code head} or {@code blocks.*.mlp.fc2}) get these bit widths.
     */
    public record OpBits(String pattern, int weightBits, int activationBits) {
        public OpBits {
            if (weightBits < 2 || weightBits > 16 || activationBits < 2 || activationBits > 16)
                throw new IllegalArgumentException("bits must be in 2..16, got W" + weightBits + "A" + activationBits);
        }

        boolean matches(String opId) {
            return io.vitq.model.OpPattern.compile(pattern).matcher(opId).matches();
        }
    }

    public CalibConfig {
        if (perChannelWeights && vt != null) throw new IllegalArgumentException(PER_CHANNEL_VT);
        if (weightBits < 2 || weightBits > 16 || activationBits < 2 || activationBits > 16)
            throw new IllegalArgumentException("bits must be in 2..16, got W" + weightBits + "A" + activationBits);
        if (!(alpha > 0) || !(beta > alpha)) throw new IllegalArgumentException("need 0 < alpha < beta, got " + alpha + ", " + beta);
        if (candidates < 1) throw new IllegalArgumentException("--candidates must be at least 1, got " + candidates);
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be at least 1, got " + rounds);
        if (reparamNorms && vt != null) throw new IllegalArgumentException(REPARAM_VT);
        if (gptq && vt != null) throw new IllegalArgumentException(GPTQ_VT);
        if (asymmetricWeights && vt != null)
            throw new IllegalArgumentException("asymmetric weights: VT-PTQ searches one symmetric scale per tensor");
        if (gptq && sequential) throw new IllegalArgumentException(GPTQ_SEQUENTIAL);
        if (logSoftmax && vt != null) throw new IllegalArgumentException(LOG_SOFTMAX_VT);
        if (adaLog && vt != null) throw new IllegalArgumentException(ADALOG_VT);
        if (adaLog && (logSoftmax || geluCodebook != null))
            throw new IllegalArgumentException("AdaLog's quantizers replace the log-sqrt2 probabilities and the GELU codebook");
        if (rotation == null) throw new IllegalArgumentException("input rotation: RotatedInputs.NONE for none");
        if (weightTable == null) throw new IllegalArgumentException("weight table: WeightTable.UNIFORM for none");
        if (weightTable != WeightTable.UNIFORM && vt != null)
            throw new IllegalArgumentException("weight " + weightTable.cliName() + ": VT-PTQ searches one uniform scale per tensor");
        if (weightTable != WeightTable.UNIFORM && biasCorrection)
            throw new IllegalArgumentException("weight " + weightTable.cliName() + ": the bias correction is computed on the searched uniform grid");
        boolean rotateInputs = rotation != RotatedInputs.NONE;
        if (rotateInputs && vt != null) throw new IllegalArgumentException("input rotation: not for VT-PTQ (its mixed precision sizes "
                + "the unrotated layers)");
        if (rotateInputs && reparamNorms)
            throw new IllegalArgumentException("input rotation replaces the folded post-LayerNorm inputs (--reparam-norms)");
        opBits = opBits == null ? java.util.List.of() : java.util.List.copyOf(opBits);
        fixedInputs = fixedInputs == null ? Map.of() : Map.copyOf(fixedInputs);
    }

    /**
     * BasePTQ as the PTQ4ViT README describes it (ALGORITHMS section 4): cosine, alpha 0.5, beta
     * 1.2, 100 candidates, 1 round, per-tensor patch-embedding weight, no twin quantizers.
     */
    public static CalibConfig basePtq(int w, int a) {
        return new CalibConfig("basePTQ", w, a, Metric.COSINE, 0.5, 1.2, 100, 1, false, false,
                TwinSoftmaxQuantizer.Mode.CLEAN, 20, false, false, 15, false, null, null, false, false, false, false, null, false, null, false, false, false, false, RotatedInputs.NONE, false, WeightTable.UNIFORM);
    }

    /**
     * PTQ4ViT with the reference's settings (ALGORITHMS section 5.1): Hessian metric, alpha 0.01,
     * beta 1.2, 100 candidates, 3 rounds, per-channel patch embedding, both twin quantizers
     * (clean softmax quantizer, linear GELU grid: vitq's decisions 2 and 3).
     */
    public static CalibConfig ptq4vit(int w, int a) {
        return new CalibConfig("ptq4vit", w, a, Metric.HESSIAN, 0.01, 1.2, 100, 3, true, true,
                TwinSoftmaxQuantizer.Mode.CLEAN, 20, true, false, 15, false, null, null, false, false, false, false, null, false, null, false, false, false, false, RotatedInputs.NONE, false, WeightTable.UNIFORM);
    }

    /**
     * VT-PTQ (Liu et al., NeurIPS 2021; ALGORITHMS section 9): Pearson correlation of each
     * sample's output, alpha 0.5, beta 1.2, 100 candidates, up to 20 alternating iterations while
     * the objective improves, one scale per tensor (weights, inputs, both matmul operands; the
     * softmax output through the signed quantizer), ranking loss on matmul1, bias correction.
     */
    public static CalibConfig vtptq(int w, int a) {
        return new CalibConfig("vtptq", w, a, Metric.PEARSON, 0.5, 1.2, 100, 20, false, false,
                TwinSoftmaxQuantizer.Mode.CLEAN, 20, false, false, 15, false, null, VtOptions.defaults(), false, false, false, false, null, false, null, false, false, false, false, RotatedInputs.NONE, false, WeightTable.UNIFORM);
    }

    /**
     * vitq's low-bit recipe (docs/LOWBIT.md section 5): PTQ4ViT's search and twin quantizers with
     * per-channel weights and, below 8 activation bits, RepQ-ViT's reparameterised post-LayerNorm
     * inputs (at 8 bits one scale per tensor already resolves those inputs, and the fold's scaled
     * weight columns cost more than it gains: ViT-Ti W4A8 80.08 % without, 77.69 % with). Below 6
     * activation bits AdaLog's logarithmic quantizers replace the twins on the probabilities and on
     * fc2's input, and every scale is searched on the output's squared error, as AdaLog does: ViT-Ti
     * W4A4 64.23 % against 57.77 % with the twin softmax and the fitted GELU codebook, DeiT-Ti 73.46 %
     * against 71.54 % (the codebook recipe, which runs in integers, is {@code ptq4vit} with per-channel
     * weights, folds and the codebook); the Hessian metric with AdaLog's quantizers gave ViT-Ti
     * 62.69 %. At 6 bits both are calibrated and the closer to float kept (below). Below 6 weight bits the
     * weights are rounded by GPTQ with the weight compensated for the input's quantization, chosen
     * per Linear on held-out calibration images ({@link Gptq#crossValidated}; docs/LOWBIT.md
     * section 4); at 6 bits that rounding cost ViT-Ti and DeiT-Ti 0.5-0.7 points, so rounding to
     * nearest stays there. Below 8 weight bits the weights are asymmetric (a zero point per output
     * channel; docs/LOWBIT.md section 1.1): over three calibration sets, two models and W6A6, W4A8
     * and W4A4 they scored higher in 11 of 18 runs, lower in 5 (by at most 0.54 point), +0.52 points
     * on average. Below 6 activation bits the post-LayerNorm inputs are rotated instead of folded
     * ({@link #rotateInputs}; docs/LOWBIT.md section 2.1): ViT-Ti W4A4 74.69 / 75.31 / 75.92 % on
     * three calibration sets against 71.31 / 70.69 / 70.92 % with the folds, DeiT-Ti 77.69 % against
     * 76.23 %; a Swin keeps the folds ({@link #forArchitecture}). Below 6 weight bits from 8 activation
     * bits on (W4A8) every block Linear's input is rotated, proj's and fc2's too, fc2's then uniform
     * ({@link #ROTATE_ALL_BELOW_WEIGHT_BITS}; docs/LOWBIT.md section 2.2): ViT-Ti 80.69 / 81.46 / 80.54 %
     * on the three calibration sets against 80.46 / 80.23 / 78.69 %, DeiT-Ti 80.85 / 80.31 / 80.15 %
     * against 80.15 / 80.00 / 80.23 %. With that rotation the weights take one table of 256 code pairs per
     * Linear ({@link #weightTable}, {@link WeightPairFit}; docs/LOWBIT.md sections 1.3 and 5): against 16 levels
     * per Linear (section 1.2), the -log p of the float model's top-1 and the agreement with its top-1 improved
     * in nine of ten runs of two models, three calibration sets and three sign draws; ViT-Ti 82.00 / 81.08 /
     * 81.38 % (levels 81.85 / 82.08 / 80.77 %), DeiT-Ti 81.00 / 80.46 / 80.46 % (79.54 / 80.23 / 79.38 %). The
     * levels had replaced the uniform grid the same way. At 6 activation bits it calibrates
     * twice, with the twins and the Hessian metric and with AdaLog's quantizers and the squared-error
     * metric, and keeps the plan whose outputs on the calibration images are closer to the float
     * model's ({@link #chooseQuantizers}; docs/LOWBIT.md section 5): on three calibration sets that
     * chose AdaLog's for ViT-Ti (82.23 / 82.38 / 82.23 % against the twins' 81.31 / 80.08 / 79.85 %)
     * and DeiT-Ti's twins on two (81.00 / 81.38 / 81.08 % against 81.23 / 81.38 / 81.08 %).
     */
    public static CalibConfig vitq(int w, int a) {
        CalibConfig p = ptq4vit(w, a);
        boolean adaLog = a < ADALOG_BELOW_BITS;
        RotatedInputs rotation = a < ROTATE_BELOW_BITS ? RotatedInputs.NORMED
                : w < ROTATE_ALL_BELOW_WEIGHT_BITS && a >= ROTATE_ALL_FROM_ACTIVATION_BITS ? RotatedInputs.ALL : RotatedInputs.NONE;
        boolean rotate = rotation != RotatedInputs.NONE;
        WeightTable table = rotation == RotatedInputs.ALL ? WeightTable.PAIRS : WeightTable.UNIFORM;
        return new CalibConfig("vitq", w, a, adaLog ? Metric.MSE : p.metric, p.alpha, p.beta, p.candidates, p.rounds,
                p.patchEmbedPerChannel, p.twinSoftmax, p.softmaxMode, p.softmaxSplits, p.twinGelu, p.geluPowerOfTwo,
                p.geluMaxShift, false, null, null, false, true, a < FOLD_BELOW_BITS && !rotate, w < GPTQ_BELOW_BITS, null, false, null, false,
                false, adaLog, w <= io.vitq.quant.UniformOperand.MAX_ASYMMETRIC_BITS, rotation,
                a >= ADALOG_BELOW_BITS && a < CHOOSE_BELOW_BITS, table);
    }

    /**
     * RepQ-ViT (Li et al., ICCV 2023) on vitq's quantizer kinds ({@link RepqRule}, docs/LOWBIT.md
     * section 5.1): no search, every scale by RepQ-ViT's percentile rule; the post-LayerNorm inputs
     * reparameterised (folded) at every bit width, log-sqrt2 softmax probabilities, per-channel
     * weights, asymmetric Linear inputs.
     */
    public static CalibConfig repq(int w, int a) {
        return new CalibConfig("repq", w, a, Metric.COSINE, 0.5, 1.2, 100, 1, true, false,
                TwinSoftmaxQuantizer.Mode.CLEAN, 20, false, false, 15, false, null, null, false, true, true, false, null, false, null,
                false, true, false, false, RotatedInputs.NONE, false, WeightTable.UNIFORM);
    }

    /**
     * AdaLog (Wu et al., ECCV 2024) on vitq's quantizer kinds (docs/LOWBIT.md section 5.2): its
     * adaptive-base logarithmic quantizer for the softmax probabilities (base searched) and for fc2's
     * post-GELU input (base and scale by its progressive search), every other scale searched on the
     * output's squared error (its similarity), per-channel weights, and RepQ-ViT's reparameterised
     * post-LayerNorm inputs when weights and activations have the same width (AdaLog's rule), and
     * asymmetric weights below 8 bits, as AdaLog's. [vitq] the uniform scales by vitq's grid
     * (PTQ4ViT's alpha 0.01, beta 1.2, 100 candidates), each weight row's zero point by its weight
     * error at each step, the activations symmetric, where AdaLog searches asymmetric quantizers
     * over percentile ranges and zero points on the output.
     */
    public static CalibConfig adalog(int w, int a) {
        return new CalibConfig("adalog", w, a, Metric.MSE, 0.01, 1.2, 100, 3, true, false,
                TwinSoftmaxQuantizer.Mode.CLEAN, 20, false, false, 15, false, null, null, false, true, w == a, false, null, false, null,
                false, false, true, w <= io.vitq.quant.UniformOperand.MAX_ASYMMETRIC_BITS, RotatedInputs.NONE, false, WeightTable.UNIFORM);
    }

    /** RepQ-ViT's rule instead of a search ({@link #repq}). */
    public boolean isRepq() { return "repq".equals(method); }

    /** {@link #vitq} folds the post-LayerNorm inputs below this many activation bits. */
    public static final int FOLD_BELOW_BITS = 8;
    /** {@link #vitq} rounds the weights with GPTQ (and the input compensation) below this many weight bits. */
    public static final int GPTQ_BELOW_BITS = 6;
    /** {@link #vitq} takes AdaLog's quantizers and metric below this many activation bits. */
    public static final int ADALOG_BELOW_BITS = 6;
    /** {@link #vitq} rotates the inputs of qkv and fc1 (instead of folding them) below this many activation bits. */
    public static final int ROTATE_BELOW_BITS = 6;
    /**
     * {@link #vitq} rotates every block Linear's input ({@code RotatedInputs.ALL}) below this many weight
     * bits, from {@link #ROTATE_ALL_FROM_ACTIVATION_BITS} activation bits on (W4A8): there the 4-bit
     * weights carry the loss, and a uniform 8-bit code holds fc2's rotated input.
     */
    public static final int ROTATE_ALL_BELOW_WEIGHT_BITS = 6;
    public static final int ROTATE_ALL_FROM_ACTIVATION_BITS = 8;
    /**
     * {@link #vitq} calibrates with the twins and with AdaLog's quantizers and keeps the closer to the
     * float model ({@link #chooseQuantizers}) from {@link #ADALOG_BELOW_BITS} to below this many activation bits.
     */
    public static final int CHOOSE_BELOW_BITS = 7;
    /** Plan-info key of {@link #chooseQuantizers}: in the config, the rule; in the plan, which was kept and both KLs. */
    public static final String QUANTIZER_CHOICE = "quantizer_choice";

    /**
     * The choice's first candidate: the twins (or the method's own quantizers) with the method's metric.
     */
    public CalibConfig withoutChoice() { return with(c -> c.chooseQuantizers = false); }

    /**
     * The choice's second candidate: AdaLog's quantizers with the squared-error metric, AdaLog's own
     * pairing (the twins with that metric lose 7-8 points on ViT-Ti W6A6; docs/LOWBIT.md section 5).
     */
    public CalibConfig adaLogCandidate() { return withoutChoice().withAdaLog(true).with(c -> c.metric = Metric.MSE); }

    /** The method by its command-line name. */
    public static CalibConfig forMethod(String method, int w, int a) {
        return switch (method.toLowerCase(Locale.ROOT)) {
            case "baseptq" -> basePtq(w, a);
            case "ptq4vit" -> ptq4vit(w, a);
            case "vtptq" -> vtptq(w, a);
            case "vitq" -> vitq(w, a);
            case "repq" -> repq(w, a);
            case "adalog" -> adalog(w, a);
            default -> throw unknownMethod(method);
        };
    }

    /** The error for a method name that is none of the methods' command-line names. */
    public static IllegalArgumentException unknownMethod(String method) {
        return new IllegalArgumentException("unknown method '" + method + "' (expected basePTQ, ptq4vit, vtptq, vitq, repq or adalog)");
    }

    /**
     * The mutable copy behind the {@code with*} methods: each changes one setting of a copy, so
     * adding a setting touches only the record, this class and {@link #options()}.
     */
    private static final class Copy {
        String method; int weightBits, activationBits; Metric metric; double alpha, beta; int candidates, rounds;
        boolean patchEmbedPerChannel, twinSoftmax; TwinSoftmaxQuantizer.Mode softmaxMode; int softmaxSplits;
        boolean twinGelu, geluPowerOfTwo; int geluMaxShift; boolean trueLabels; java.util.List<OpBits> opBits;
        VtOptions vt; boolean sequential, perChannelWeights, reparamNorms, gptq, biasCorrection; GeluLevels geluCodebook; Map<String, io.vitq.quant.OperandQuant> fixedInputs; boolean integerProducts, logSoftmax, adaLog, asymmetricWeights, chooseQuantizers; WeightTable weightTable; RotatedInputs rotation;

        Copy(CalibConfig c) {
            method = c.method; weightBits = c.weightBits; activationBits = c.activationBits; metric = c.metric;
            alpha = c.alpha; beta = c.beta; candidates = c.candidates; rounds = c.rounds;
            patchEmbedPerChannel = c.patchEmbedPerChannel; twinSoftmax = c.twinSoftmax; softmaxMode = c.softmaxMode;
            softmaxSplits = c.softmaxSplits; twinGelu = c.twinGelu; geluPowerOfTwo = c.geluPowerOfTwo;
            geluMaxShift = c.geluMaxShift; trueLabels = c.trueLabels; opBits = c.opBits; vt = c.vt; sequential = c.sequential;
            perChannelWeights = c.perChannelWeights; reparamNorms = c.reparamNorms; gptq = c.gptq; geluCodebook = c.geluCodebook; biasCorrection = c.biasCorrection; fixedInputs = c.fixedInputs;
            integerProducts = c.integerProducts;
            logSoftmax = c.logSoftmax;
            adaLog = c.adaLog;
            asymmetricWeights = c.asymmetricWeights;
            rotation = c.rotation;
            chooseQuantizers = c.chooseQuantizers;
            weightTable = c.weightTable;
        }

        CalibConfig build() {
            return new CalibConfig(method, weightBits, activationBits, metric, alpha, beta, candidates, rounds,
                    patchEmbedPerChannel, twinSoftmax, softmaxMode, softmaxSplits, twinGelu, geluPowerOfTwo, geluMaxShift,
                    trueLabels, opBits, vt, sequential, perChannelWeights, reparamNorms, gptq, geluCodebook, biasCorrection, fixedInputs, integerProducts, logSoftmax, adaLog, asymmetricWeights,
                    rotation, chooseQuantizers, weightTable);
        }
    }

    private CalibConfig with(java.util.function.Consumer<Copy> change) {
        Copy c = new Copy(this);
        change.accept(c);
        return c.build();
    }

    /**
     * Another search metric. Pearson is VT-PTQ's objective and VT-PTQ's search (per-tensor scales,
     * ranking term) is written for it alone, so the two go together: any other pairing is refused
     * rather than run half-right.
     */
    public CalibConfig withMetric(Metric m) {
        if (isVt() != (m == Metric.PEARSON))
            throw new IllegalArgumentException(isVt()
                    ? "metric " + m.cliName() + ": method vtptq scores with the pearson metric only"
                    : "metric pearson is vtptq's objective; method " + method + " uses cosine, hessian or mse");
        return with(c -> c.metric = m);
    }

    public CalibConfig withTwins(boolean softmax, boolean gelu) {
        return with(c -> {
            c.twinSoftmax = softmax;
            c.twinGelu = gelu;
        });
    }

    public CalibConfig withSearch(int newCandidates, int newRounds) {
        return with(c -> {
            c.candidates = newCandidates;
            c.rounds = newRounds;
        });
    }

    public CalibConfig withSoftmaxMode(TwinSoftmaxQuantizer.Mode mode) { return with(c -> c.softmaxMode = mode); }

    public CalibConfig withGeluPowerOfTwo(boolean p2) { return with(c -> c.geluPowerOfTwo = p2); }

    public CalibConfig withTrueLabels(boolean labels) { return with(c -> c.trueLabels = labels); }

    public CalibConfig withOpBits(java.util.List<OpBits> bits) { return with(c -> c.opBits = bits); }

    /** Sequential calibration: each op calibrated on inputs that carry the quantization of every op before it. */
    public CalibConfig withSequential(boolean seq) { return with(c -> c.sequential = seq); }

    /** The settings for one op: the default bits, or those of the last override whose pattern matches the id. */
    public CalibConfig forOp(String opId) {
        OpBits hit = null;
        for (OpBits o : opBits) if (o.matches(opId)) hit = o;
        if (hit == null || (hit.weightBits() == weightBits && hit.activationBits() == activationBits)) return this;
        OpBits bits = hit;
        return with(c -> {
            c.weightBits = bits.weightBits();
            c.activationBits = bits.activationBits();
            c.opBits = java.util.List.of();
        });
    }

    /** The same settings at other default bit widths (no per-op overrides). */
    public CalibConfig withBits(int w, int a) {
        return with(c -> {
            c.weightBits = w;
            c.activationBits = a;
            c.opBits = java.util.List.of();
        });
    }

    public CalibConfig withVt(VtOptions v) { return with(c -> c.vt = v); }

    private static final String PER_CHANNEL_VT = "per-channel weights: VT-PTQ's Pearson objective scores the whole output "
            + "(one scale per tensor, its Eq. 8); per-channel weights are for basePTQ and ptq4vit";

    /**
     * Every Linear's weight (the patch embedding's too) with one scale per output channel. Each
     * channel's scale is searched on its own output column, all channels in one product per
     * candidate (they govern disjoint columns), with the method's metric. Not for VT-PTQ, whose
     * Pearson objective is taken over the whole output.
     */
    public CalibConfig withPerChannelWeights(boolean perChannel) { return with(c -> c.perChannelWeights = perChannel); }

    private static final String REPARAM_VT = "LayerNorm reparameterisation: VT-PTQ's search keeps one input scale per tensor "
            + "and its own objective; the reparameterisation is for basePTQ and ptq4vit";

    /**
     * RepQ-ViT's scale reparameterisation of the post-LayerNorm inputs (qkv, fc1): calibrated per
     * channel, folded into the LayerNorm and the Linear ({@code quant.NormFold}).
     */
    public CalibConfig withReparamNorms(boolean reparam) { return with(c -> c.reparamNorms = reparam); }

    private static final String GPTQ_VT = "GPTQ rounding: VT-PTQ's bias correction assumes the round-to-nearest weights "
            + "it searched with; GPTQ is for basePTQ and ptq4vit";
    private static final String GPTQ_SEQUENTIAL = "GPTQ rounding runs after the parallel searches; calibrate in parallel";

    /**
     * GPTQ weight rounding ({@link Gptq}) on the searched scales, instead of rounding to nearest: the
     * calibration then returns the rounded weights beside the plan.
     */
    public CalibConfig withGptq(boolean on) { return with(c -> c.gptq = on); }

    /** Weights below 8 bits on the uniform grid or a fitted table per Linear ({@code weightTable}). */
    public CalibConfig withWeightTable(WeightTable table) { return with(c -> c.weightTable = table); }

    /** What the weights of an op at {@code bits} are coded on: {@code weightTable} below 8 bits, else the uniform grid. */
    public WeightTable tableAt(int bits) { return bits < 8 ? weightTable : WeightTable.UNIFORM; }

    /** What a weight below 8 bits is coded on, after the uniform search has set its input's scale. */
    public enum WeightTable {
        /** The searched uniform grid (symmetric or with zero points). */
        UNIFORM("uniform"),
        /** 2^k levels per Linear on the 8-bit grid, a step per row ({@link WeightLevelFit}). */
        LEVELS("levels"),
        /** 2^(2k) pairs of 8-bit codes per Linear for neighbouring columns, a step per row ({@link WeightPairFit}). */
        PAIRS("pairs");

        private final String cliName;

        WeightTable(String cliName) { this.cliName = cliName; }

        /** Its value of {@code --weight-table}. */
        public String cliName() { return cliName; }
    }

    /** Asymmetric weights below 8 bits ({@code asymmetricWeights}). */
    public CalibConfig withAsymmetricWeights(boolean on) { return with(c -> c.asymmetricWeights = on); }

    /**
     * The settings for a model of architecture {@code a}: input rotation is implemented for ViTs
     * only, so {@link #vitq} folds a Swin's post-LayerNorm inputs instead (its recipe below 8
     * activation bits before the rotation); another method that asks for it is refused.
     */
    public CalibConfig forArchitecture(io.vitq.model.Architecture a) {
        if (!rotateInputs() || a instanceof io.vitq.model.ViTConfig) return this;
        if (!"vitq".equals(method))
            throw new IllegalArgumentException("input rotation: implemented for ViT and DeiT models, not " + a.family());
        return withRotateInputs(false);
    }

    /** Whether some Linear inputs are rotated ({@link #rotation}). */
    public boolean rotateInputs() { return rotation != RotatedInputs.NONE; }

    /** {@link #withRotation}: qkv's and fc1's inputs rotated ({@code NORMED}), or none. */
    public CalibConfig withRotateInputs(boolean on) { return withRotation(on ? RotatedInputs.NORMED : RotatedInputs.NONE); }

    /**
     * These Linear inputs rotated ({@link #rotation}): a rotation drops the folds; none gives
     * {@link #vitq} its folds below 8 activation bits back.
     */
    public CalibConfig withRotation(RotatedInputs r) {
        return with(c -> {
            c.rotation = r;
            if (r != RotatedInputs.NONE) c.reparamNorms = false;
            else if ("vitq".equals(method)) c.reparamNorms = activationBits < FOLD_BELOW_BITS;
        });
    }

    /**
     * fc2's input (post-GELU) through a {@link io.vitq.quant.CodebookOperand}: 2^k levels on an
     * 8-bit grid fitted to the calibration values, the grid's reach searched with the method's metric
     * (instead of the twin GELU quantizer).
     */
    public CalibConfig withGeluCodebook(GeluLevels levels) { return with(c -> c.geluCodebook = levels); }

    /**
     * After each Linear's search (basePTQ, ptq4vit), subtract its mean output error per output
     * channel over the calibration tokens from the bias, VT-PTQ's bias correction applied once
     * (VT-PTQ's own is {@link VtOptions#biasCorrection()}).
     */
    public CalibConfig withBiasCorrection(boolean on) { return with(c -> c.biasCorrection = on); }

    /**
     * Score Linear candidates on integer products (the integer runtime's int32 sums of int8/uint8
     * codes) rather than float products of fake-quantized values: the outputs the quantized model
     * computes, several times faster with the native VNNI kernel. Scores differ from the float
     * products by float rounding only, so a near tie can choose differently.
     */
    public CalibConfig withIntegerProducts(boolean on) { return with(c -> c.integerProducts = on); }

    private static final String LOG_SOFTMAX_VT = "log-sqrt2 probabilities: VT-PTQ searches one uniform scale per tensor "
            + "for every operand; the log-sqrt2 quantizer is for basePTQ, ptq4vit and vitq";

    /**
     * matmul2's probabilities through RepQ-ViT's log√2 quantizer ({@link io.vitq.quant.LogSqrt2Operand}),
     * δ by RepQ-ViT's percentile rule, instead of the twin softmax (or uniform) quantizer.
     */
    public CalibConfig withLogSoftmax(boolean on) { return with(c -> c.logSoftmax = on); }

    private static final String ADALOG_VT = "AdaLog's quantizers: VT-PTQ searches one uniform scale per tensor for every operand; "
            + "AdaLog's quantizers are for basePTQ, ptq4vit, vitq and adalog";

    /**
     * AdaLog's quantizer ({@link io.vitq.quant.AdaLogOperand}) on matmul2's probabilities and fc2's
     * input, searched AdaLog's way with the method's metric, instead of the twins or the codebook.
     */
    public CalibConfig withAdaLog(boolean on) {
        return with(c -> {
            c.adaLog = on;
            if (on) c.geluCodebook = null;
        });
    }

    /** How a codebook input's levels are chosen (docs/LOWBIT.md section 3.1). */
    public enum GeluLevels {
        /** Fitted to the calibration values (exact dynamic program): vitq's. */
        FITTED,
        /** AdaLog's logarithmic levels on the shifted GELU output, snapped to the grid (the ablation). */
        ADALOG;

        public String cliName() { return name().toLowerCase(Locale.ROOT); }
    }

    /**
     * Input quantizers that the searches keep as given instead of searching (op id → quantizer):
     * the folded inputs' per-tensor quantizers. Not part of the settings ({@link #options()}): they
     * are data of one calibration.
     */
    CalibConfig withFixedInputs(Map<String, io.vitq.quant.OperandQuant> inputs) { return with(c -> c.fixedInputs = inputs); }

    /**
     * The record's usual form, but {@code perChannelWeights} only when set: results files key a
     * cell's settings by this string, so cells measured before the option existed stay valid.
     */
    @Override
    public String toString() {
        return "CalibConfig[method=" + method + ", weightBits=" + weightBits + ", activationBits=" + activationBits
                + ", metric=" + metric + ", alpha=" + alpha + ", beta=" + beta + ", candidates=" + candidates + ", rounds=" + rounds
                + ", patchEmbedPerChannel=" + patchEmbedPerChannel + ", twinSoftmax=" + twinSoftmax + ", softmaxMode=" + softmaxMode
                + ", softmaxSplits=" + softmaxSplits + ", twinGelu=" + twinGelu + ", geluPowerOfTwo=" + geluPowerOfTwo
                + ", geluMaxShift=" + geluMaxShift + ", trueLabels=" + trueLabels + ", opBits=" + opBits + ", vt=" + vt
                + ", sequential=" + sequential + (perChannelWeights ? ", perChannelWeights=true" : "")
                + (reparamNorms ? ", reparamNorms=true" : "") + (gptq ? ", gptq=true" : "")
                + (geluCodebook != null ? ", geluCodebook=" + geluCodebook.cliName() : "")
                + (biasCorrection ? ", biasCorrection=true" : "") + (integerProducts ? ", integerProducts=true" : "")
                + (logSoftmax ? ", logSoftmax=true" : "") + (adaLog && !"adalog".equals(method) ? ", adaLog=true" : "")
                + (asymmetricWeights ? ", asymmetricWeights=true" : "") + (rotateInputs() ? ", rotation=" + rotation : "") + "]";
    }

    /** Plan option saying the weights below 8 bits are on fitted tables ({@code weightTable}), and which. */
    public static final String WEIGHT_TABLE = "weight_table";
    static final String WEIGHT_LEVELS_TEXT = "2^k levels per Linear on the 8-bit grid, a step per row, fitted by k-means to the weights "
            + "(docs/LOWBIT.md 1.2); the uniform scales searched first set the input's scale";
    static final String WEIGHT_PAIRS_TEXT = "2^(2k) pairs of 8-bit codes per Linear for neighbouring columns, a step per row, fitted by "
            + "k-means to the weights (docs/LOWBIT.md 1.3); the uniform scales searched first set the input's scale";
    /** Plan option naming how the weights were rounded, when GPTQ was asked for. */
    public static final String WEIGHT_ROUNDING = "weight_rounding";
    /** Its value when GPTQ rounded some weights: the plan alone does not give them. */
    public static final String GPTQ_ROUNDING = "gptq (dampening cross-validated, blocks of 128; the quantized model file holds the weights)";
    /** Its value when the cross-validation chose rounding to nearest for every op: the scales give the weights. */
    public static final String NEAREST_ROUNDING = "nearest (GPTQ's cross-validation chose it for every op)";

    /** VT-PTQ: one scale per tensor for every operand, iterations while the objective improves. */
    public boolean isVt() { return vt != null; }

    /** Whether the search needs output gradients (only the Hessian metric does). */
    public boolean needsGradients() { return metric == Metric.HESSIAN; }

    /** "W8A8". */
    public String bitsLabel() { return "W" + weightBits + "A" + activationBits; }

    /** The settings as plan metadata strings. */
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>();
        if (isRepq()) {
            m.put("scales", "RepQ-ViT's percentile rule, no search (docs/LOWBIT.md 5.1)");
        } else {
            m.put("alpha", Double.toString(alpha));
            m.put("beta", Double.toString(beta));
            m.put("candidates", Integer.toString(candidates));
            m.put("rounds", Integer.toString(rounds));
        }
        m.put("patch_embed_weight", patchEmbedPerChannel || perChannelWeights ? "per-output-channel" : "per-tensor");
        if (perChannelWeights) m.put("linear_weights", "per-output-channel");
        if (asymmetricWeights && weightBits <= io.vitq.quant.UniformOperand.MAX_ASYMMETRIC_BITS)
            m.put("weight_zero_points", tableAt(weightBits) != WeightTable.UNIFORM
                    ? "asymmetric weights in the uniform search that sets the inputs' scales (the weights themselves take "
                            + tableAt(weightBits).cliName() + ")"
                    : "asymmetric weights: a zero point per scale, the one of least squared weight error at the searched step");
        else if (isRepq() && weightBits <= io.vitq.quant.UniformOperand.MAX_ASYMMETRIC_BITS)
            m.put("weight_zero_points", "asymmetric weights: a zero point per output channel, by RepQ-ViT's percentile rule");
        if (reparamNorms) m.put("post_norm_inputs", "per-channel asymmetric, folded into the LayerNorm (RepQ-ViT)");
        if (rotateInputs()) m.put(io.vitq.quant.PlanInfo.INPUT_ROTATION, rotation.planOption());
        if (tableAt(weightBits) != WeightTable.UNIFORM)
            m.put(WEIGHT_TABLE, tableAt(weightBits) == WeightTable.LEVELS ? WEIGHT_LEVELS_TEXT : WEIGHT_PAIRS_TEXT);
        if (gptq) m.put(WEIGHT_ROUNDING, GPTQ_ROUNDING);
        if (biasCorrection) m.put("bias_correction", "once, after each Linear's search");
        if (integerProducts) m.put("search_products", "integer (int32 sums of the codes, as the integer runtime computes them)");
        if (chooseQuantizers) m.put(QUANTIZER_CHOICE, "the twins (this metric) or AdaLog's quantizers (squared-error metric), "
                + "whichever calibration's logits on the calibration images are closer to the float model's");
        if (adaLog()) {
            m.put("softmax_output", "adalog (base 2^(q/37), q searched from 10 to 137, scale 1)");
            m.put("gelu_input", "adalog (shift 0.16997, base and scale by AdaLog's progressive search)");
        }
        if (logSoftmax) m.put("softmax_output", "log-sqrt2 (RepQ-ViT), delta from the 0.999 / 0.9999 / 0.99999 quantile of least squared error");
        m.put("twin_softmax", twinSoftmax && !logSoftmax && !adaLog ? softmaxMode.name().toLowerCase(Locale.ROOT).replace('_', '-') : "off");
        m.put("twin_gelu", geluCodebook != null || adaLog ? "off" : twinGelu ? (geluPowerOfTwo ? "power-of-two" : "linear") : "off");
        if (geluCodebook != null) m.put("gelu_input", geluCodebook == GeluLevels.FITTED
                ? "codebook: 2^k levels on an 8-bit grid, fitted to the calibration values"
                : "codebook: AdaLog's logarithmic levels on an 8-bit grid");
        if (vt != null) {
            m.put("granularity", vt.qkvPerMatrix() ? "per-tensor, qkv per matrix (q, k, v)" : "per-tensor");
            m.put("stop", "objective stops improving");
            m.put("ranking", vt.ranking() ? "gamma " + vt.gamma() + ", theta " + vt.theta()
                    + (vt.normalizeRanking() ? ", mean over pairs" : ", sum over heads and pairs") : "off");
            m.put("bias_correction", vt.biasCorrection() ? "on" : "off");
        }
        if (metric == Metric.HESSIAN) m.put("gradient", trueLabels ? "cross-entropy, true labels" : "cross-entropy, float top-1");
        m.put("paradigm", sequential ? "sequential" : "parallel");
        if (!opBits.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            for (OpBits o : opBits) sb.append(sb.length() == 0 ? "" : ", ").append(o.pattern()).append("=W")
                    .append(o.weightBits()).append('A').append(o.activationBits());
            m.put("op_bits", sb.toString());
        }
        return m;
    }
}
