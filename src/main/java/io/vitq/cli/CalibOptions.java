package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Metric;
import io.vitq.calib.MixedPrecisionCalibration;
import io.vitq.quant.TwinSoftmaxQuantizer;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Calibration options shared by {@code quantize}, {@code ablation} and {@code sweep}. */
public final class CalibOptions {
    @Option(names = "--calib", paramLabel = "DIR|LIST",
            description = "Calibration images (folder or list file). Default: the embedded CALIB32 (demo/calib/calib32.txt).")
    Path calib;

    @Option(names = "--calib-size", paramLabel = "N", defaultValue = "32",
            description = "Number of calibration images, the first N of --calib (default ${DEFAULT-VALUE}).")
    int calibSize;

    @Option(names = "--metric", paramLabel = "hessian|cosine|mse|pearson",
            description = "Search metric (default: the method's; basePTQ cosine, ptq4vit and vitq hessian, vtptq pearson, adalog mse; vtptq takes only pearson, the others cosine, hessian or mse).")
    String metric;

    @Option(names = "--rounds", paramLabel = "R", description = "Search rounds (default: the method's; basePTQ 1, ptq4vit, vitq and adalog 3, vtptq at most 20 while the "
            + "objective improves; repq has no search).")
    Integer rounds;

    /** Bounds far above any useful setting (100 candidates and 1-20 rounds are the methods' own), below the arrays' limits. */
    static final int MAX_CANDIDATES = 100_000, MAX_ROUNDS = 1_000;

    @Option(names = "--candidates", paramLabel = "N", description = "Scored candidates per scale (default 100).")
    Integer candidates;

    @Option(names = "--softmax-mode", paramLabel = "clean|quirk",
            description = "Twin softmax quantizer: clean (default) or the reference code's quirk (+s offset).")
    String softmaxMode;

    @Option(names = "--gelu-grid", paramLabel = "linear|power-of-two",
            description = "Twin GELU positive step: the reference's linear grid (default) or 2^m x the negative step (needed for integer shifts).")
    String geluGrid;

    @Option(names = "--no-ranking", description = "vtptq: no ranking loss on the attention scores (ablation).")
    boolean noRanking;

    @Option(names = "--no-bias-correction", description = "vtptq: no bias correction (ablation).")
    boolean noBiasCorrection;

    @Option(names = "--ranking-norm", paramLabel = "mean|sum",
            description = "vtptq: ranking loss as the mean hinge over pairs (default) or the paper's raw sum over heads and pairs.")
    String rankingNorm;

    @Option(names = "--gamma", paramLabel = "G", description = "vtptq: weight of the ranking loss (default 0.1).")
    Double gamma;

    @Option(names = "--theta", paramLabel = "T", description = "vtptq: hinge margin of the ranking loss (default 0.2).")
    Double theta;

    @Option(names = "--qkv-per-matrix",
            description = "vtptq: the fused qkv weight as the paper's W^Q, W^K, W^V, one scale each, each searched on the "
                    + "correlation of its own output (default: one scale for the fused weight).")
    boolean qkvPerMatrix;

    @Option(names = "--mp-msa-norm", paramLabel = "scores|softmax|output",
            description = "Mixed precision: the attention unit's nuclear norm of the pre-softmax scores q.k^T (default; the "
                    + "paper's ranking-loss attention map), of the softmax attention maps (ALGORITHMS 9.6's reading), or of the "
                    + "unit's output feature (proj's output, like the MLP unit).")
    String msaNorm;

    @Option(names = "--sequential",
            description = "Sequential calibration: each op calibrated on inputs carrying the quantization of the ops before it "
                    + "(default: parallel, every op on float inputs, as the reference does).")
    boolean sequential;

    @Option(names = "--per-channel-weights",
            description = "basePTQ, ptq4vit: every Linear's weight with one scale per output channel, each searched on its own "
                    + "output column (default: the method's per-tensor and qkv row-block scales).")
    boolean perChannelWeights;

    @Option(names = "--asymmetric-weights",
            description = "basePTQ, ptq4vit (always on in vitq, repq and adalog below 8 weight bits): weights below 8 bits with a "
                    + "zero point per scale (per output channel with --per-channel-weights), for each candidate step the one of "
                    + "least squared weight error, so a row's codes can sit off centre; the step is searched as before "
                    + "(docs/LOWBIT.md section 1.1). Ops that quantize's --op-bits gives 8 weight bits stay symmetric.")
    boolean asymmetricWeights;

    @Option(names = "--symmetric-weights",
            description = "vitq and adalog below 8 weight bits: symmetric weights (no zero points) instead of the method's "
                    + "asymmetric ones.")
    boolean symmetricWeights;

    @Option(names = "--weight-table", paramLabel = "TABLE",
            description = "basePTQ, ptq4vit, vitq, adalog: what weights below 8 bits are coded on, after the uniform search has set "
                    + "each Linear's input scale: 'uniform' (the searched grid), 'levels' (one table of 2^k levels per Linear on "
                    + "the 8-bit grid, a step per row, docs/LOWBIT.md section 1.2) or 'pairs' (one table of 2^(2k) pairs of 8-bit "
                    + "codes per Linear for neighbouring columns, a step per row, section 1.3; the default of vitq at W4A8 and "
                    + "the like, 'uniform' elsewhere). Tables are fitted by k-means to the weights and GPTQ rounds to them; "
                    + "files store a k-bit index per weight (2k bits per pair); integers and ONNX run them as 8-bit codes.")
    String weightTable;

    @Option(names = "--reparam-norms",
            description = "basePTQ, ptq4vit: RepQ-ViT's scale reparameterisation: the inputs of qkv and fc1 (LayerNorm outputs) "
                    + "calibrated per channel with an asymmetric quantizer, then folded into the LayerNorm and the Linear so that "
                    + "one scale and zero point per tensor remain (docs/LOWBIT.md).")
    boolean reparamNorms;

    @Option(names = "--rotate-inputs", arity = "0..1", fallbackValue = "normed", paramLabel = "WHICH",
            description = "basePTQ, ptq4vit, vitq, adalog (ViT and DeiT): calibrate the equivalent model whose Linears read their "
                    + "input through a randomized block Hadamard rotation (weights stored as W R^T): normed (the default) qkv and "
                    + "fc1, instead of folding their LayerNorm's output; all every block Linear, proj and fc2 too, fc2's input "
                    + "then uniform. vitq rotates normed below 6 activation bits and all at 8 activation bits below 6 weight bits "
                    + "(docs/LOWBIT.md sections 2.1, 2.2).")
    String rotateInputs;

    @Option(names = "--no-rotate-inputs",
            description = "vitq below 6 activation bits: fold the post-LayerNorm inputs (RepQ-ViT) instead of rotating them; "
                    + "at W4A8 and the like: rotate nothing.")
    boolean noRotateInputs;

    @Option(names = "--gptq",
            description = "basePTQ, ptq4vit: round the weights with GPTQ (closed-form error feedback over the calibration inputs) on "
                    + "the searched scales instead of to nearest. The rounded weights are in the quantized model file (-o); "
                    + "a --plan file holds the scales only (docs/LOWBIT.md).")
    boolean gptq;

    @Option(names = "--no-gptq",
            description = "vitq below 6 weight bits: round the weights to nearest on the searched scales instead of with GPTQ "
                    + "(then a --plan file alone holds the quantized model).")
    boolean noGptq;

    @Option(names = "--bias-correction",
            description = "basePTQ, ptq4vit: after each Linear's search subtract its mean output error per output channel "
                    + "(over the calibration tokens) from its bias, VT-PTQ's bias correction applied once.")
    boolean biasCorrection;

    @Option(names = "--integer-search",
            description = "Score each Linear's candidate scales on integer products (int32 sums of int8/uint8 codes, as 'eval "
                    + "--integer' computes them; the native VNNI kernel where it loads) instead of float products of "
                    + "fake-quantized values, and the attention's q . k^T where both are uniform int8 codes: several times "
                    + "faster, the same scores up to float rounding (docs/CALIBRATION_TIME.md).")
    boolean integerSearch;

    @Option(names = "--gelu-codebook", arity = "0..1", fallbackValue = "fitted", paramLabel = "LEVELS",
            description = "basePTQ, ptq4vit, vitq: fc2's input (post-GELU) through a codebook quantizer, at most 2^k levels on an 8-bit "
                    + "grid, instead of the twin GELU quantizer: 'fitted' (the default) fits the levels to the calibration "
                    + "values, 'adalog' places AdaLog's logarithmic levels on the grid (docs/LOWBIT.md section 3.1). With vitq "
                    + "below 6 activation bits it replaces AdaLog's quantizers (the softmax goes back to the twin): the recipe "
                    + "whose integer and ONNX forms are exact (AdaLog's run in integers on a 14-bit grid of their levels).")
    String geluCodebook;

    @Option(names = "--log-softmax",
            description = "basePTQ, ptq4vit, vitq: matmul2's softmax probabilities through RepQ-ViT's log-sqrt2 quantizer "
                    + "(levels delta * 2^(-q/2), delta by RepQ-ViT's percentile rule) instead of the twin softmax quantizer; "
                    + "integer form up to 4 bits (docs/LOWBIT.md section 3.2).")
    boolean logSoftmax;

    @Option(names = "--adalog-quantizers",
            description = "basePTQ, ptq4vit, vitq: AdaLog's adaptive-base logarithmic quantizer on matmul2's softmax probabilities "
                    + "(base searched) and fc2's input (base and scale by AdaLog's progressive search, with the method's metric) "
                    + "instead of the twins or the GELU codebook; in integers its levels on a 14-bit grid (docs/LOWBIT.md section 3.3). "
                    + "Always on in --method adalog.")
    boolean adaLogQuantizers;

    @Option(names = "--labels", description = "Hessian gradients from the calibration images' true labels instead of the float model's top-1.")
    boolean labels;

    /** The embedded calibration set, when --calib is not given. */
    Path calibPath() {
        if (calib != null) return calib;
        String home = System.getProperty("vitq.home", ".");
        Path p = Path.of(home, "demo", "calib", "calib32.txt");
        if (!Files.exists(p)) throw new Main.UserException("--calib is required (the embedded " + p + " is missing)");
        return p;
    }

    /** repq searches nothing and has its fixed quantizers: the options of a search or of another quantizer would be ignored. */
    private void refuseSearchOptions() {
        java.util.List<String> given = new java.util.ArrayList<>();
        if (metric != null) given.add("--metric");
        if (rounds != null) given.add("--rounds");
        if (candidates != null) given.add("--candidates");
        if (labels) given.add("--labels");
        if (sequential) given.add("--sequential");
        if (integerSearch) given.add("--integer-search");
        if (gptq) given.add("--gptq");
        if (noGptq) given.add("--no-gptq");
        if (biasCorrection) given.add("--bias-correction");
        if (geluCodebook != null) given.add("--gelu-codebook");
        if (adaLogQuantizers) given.add("--adalog-quantizers");
        if (softmaxMode != null) given.add("--softmax-mode");
        if (geluGrid != null) given.add("--gelu-grid");
        if (asymmetricWeights) given.add("--asymmetric-weights");
        if (symmetricWeights) given.add("--symmetric-weights");
        if (weightTable != null) given.add("--weight-table");
        if (rotateInputs != null) given.add("--rotate-inputs");
        if (noRotateInputs) given.add("--no-rotate-inputs");
        if (!given.isEmpty())
            throw new Main.UserException(String.join(", ", given) + ": method repq searches nothing (RepQ-ViT's percentile rule "
                    + "sets every scale) and has its own quantizers; drop " + (given.size() == 1 ? "it" : "them"));
    }

    /** {@code --rotate-inputs}'s value: normed (qkv and fc1) or all (every block Linear). */
    io.vitq.model.RotatedInputs rotation() {
        return switch (rotateInputs.toLowerCase(Locale.ROOT)) {
            case "normed" -> io.vitq.model.RotatedInputs.NORMED;
            case "all" -> io.vitq.model.RotatedInputs.ALL;
            default -> throw new Main.UserException("--rotate-inputs " + rotateInputs + ": expected normed (qkv and fc1) or all "
                    + "(every block Linear)");
        };
    }

    /** {@code --mp-msa-norm}, which must go with mixed-precision bits among {@code bits}. */
    void checkMsaNorm(java.util.List<BitsOption> bits) {
        msaNorm(); // a bad value is named first
        if (msaNorm != null && bits.stream().allMatch(b -> b.mixed() == null))
            throw new Main.UserException("--mp-msa-norm " + msaNorm + ": a mixed-precision option; it needs --bits mp6 or mp8");
    }

    /** {@code --mp-msa-norm} (default scores). */
    MixedPrecisionCalibration.MsaNorm msaNorm() {
        if (msaNorm == null) return MixedPrecisionCalibration.MsaNorm.SCORES;
        return switch (msaNorm.toLowerCase(Locale.ROOT)) {
            case "scores" -> MixedPrecisionCalibration.MsaNorm.SCORES;
            case "softmax" -> MixedPrecisionCalibration.MsaNorm.SOFTMAX_MAPS;
            case "output" -> MixedPrecisionCalibration.MsaNorm.OUTPUT_FEATURE;
            case "attention" -> throw new Main.UserException("--mp-msa-norm attention: now called softmax (the softmax attention"
                    + " maps); the default is scores");
            default -> throw new Main.UserException("--mp-msa-norm " + msaNorm + ": expected scores, softmax or output");
        };
    }

    /** A table column's bits, naming a non-default nuclear norm, qkv layout or weight granularity, so results files keep the variants apart. */
    String bitsLabel(BitsOption b) {
        String label = b.mixed() == null ? b.label() : switch (msaNorm()) {
            case SCORES -> b.label();
            case SOFTMAX_MAPS -> b.label() + " (softmax norm)";
            case OUTPUT_FEATURE -> b.label() + " (output norm)";
        };
        if (qkvPerMatrix) label += " (qkv per matrix)";
        if (reparamNorms) label += " (reparameterised norms)";
        if (gptq) label += " (GPTQ)";
        if (asymmetricWeights) label += " (asymmetric weights)";
        if (symmetricWeights) label += " (symmetric weights)";
        if (noGptq) label += " (no GPTQ)";
        if (weightTable != null) label += " (weight table " + weightTable + ")";
        if (rotateInputs != null) label += rotation() == io.vitq.model.RotatedInputs.ALL ? " (all inputs rotated)" : " (rotated inputs)";
        if (noRotateInputs) label += " (no input rotation)";
        if (biasCorrection) label += " (bias correction)";
        if (integerSearch) label += " (integer search)";
        if (logSoftmax) label += " (log-sqrt2 softmax)";
        if (adaLogQuantizers) label += " (AdaLog quantizers)";
        if (geluCodebook != null) label += " (GELU codebook" + (geluCodebook.equalsIgnoreCase("fitted") ? "" : ", " + geluCodebook.toLowerCase(Locale.ROOT)) + ")";
        return perChannelWeights ? label + " (per-channel weights)" : label;
    }

    /**
     * With --integer-search but without the native int8 kernel, a note that the search then runs slower
     * than on float products (the Java kernel multiplies int8 codes at a fraction of the native rate),
     * printed once before the calibration; nothing otherwise.
     */
    void noteIntegerSearchKernel() {
        if (integerSearch) noteIntegerSearchKernel(System.err);
    }

    /** {@link #noteIntegerSearchKernel()} for a search that scores on integer products, to {@code err}. */
    static void noteIntegerSearchKernel(java.io.PrintStream err) {
        if (io.vitq.runtime.Int8Gemm.DEFAULT_KERNEL == io.vitq.runtime.Int8Gemm.Int8Kernel.NATIVE_VNNI) return;
        err.println("vitq: note: --integer-search on the " + io.vitq.runtime.Int8Gemm.kernelReason() + ": slower than the "
                + "search on float products, which this machine should use instead (docs/CALIBRATION_TIME.md)");
    }

    /** The method's settings with the options applied; twin switches are the caller's. */
    CalibConfig config(String method, BitsOption bits) {
        Inputs.checkPositive("--calib-size", calibSize);
        CalibConfig c;
        try {
            c = CalibConfig.forMethod(method, bits.weight(), bits.activation());
            if (metric != null) c = c.withMetric(Metric.parse(metric));
        } catch (IllegalArgumentException e) {
            throw new Main.UserException((metric != null && e.getMessage().contains("metric") ? "--metric" : "--method") + ": " + e.getMessage());
        }
        if (c.isRepq()) refuseSearchOptions();
        if (rounds != null || candidates != null) {
            if (rounds != null) Inputs.checkPositive("--rounds", rounds, MAX_ROUNDS, "each round searches every scale again");
            if (candidates != null) Inputs.checkPositive("--candidates", candidates, MAX_CANDIDATES,
                    "the default is 100; each candidate costs a pass over the op's calibration outputs");
            c = c.withSearch(candidates != null ? candidates : c.candidates(), rounds != null ? rounds : c.rounds());
        }
        if (softmaxMode != null) {
            c = switch (softmaxMode.toLowerCase(Locale.ROOT)) {
                case "clean" -> c.withSoftmaxMode(TwinSoftmaxQuantizer.Mode.CLEAN);
                case "quirk" -> c.withSoftmaxMode(TwinSoftmaxQuantizer.Mode.REFERENCE_QUIRK);
                default -> throw new Main.UserException("--softmax-mode " + softmaxMode + ": expected clean or quirk");
            };
        }
        if (geluGrid != null) {
            c = switch (geluGrid.toLowerCase(Locale.ROOT)) {
                case "linear" -> c.withGeluPowerOfTwo(false);
                case "power-of-two" -> c.withGeluPowerOfTwo(true);
                default -> throw new Main.UserException("--gelu-grid " + geluGrid + ": expected linear or power-of-two");
            };
        }
        // options of another method's machinery would be ignored silently: refuse them, whatever their value
        if (!c.twinSoftmax() && softmaxMode != null)
            throw new Main.UserException("--softmax-mode " + softmaxMode + ": method " + c.method() + " has no twin softmax quantizer");
        if (!c.twinGelu() && geluGrid != null)
            throw new Main.UserException("--gelu-grid " + geluGrid + ": method " + c.method() + " has no twin GELU quantizer");
        if (labels && c.metric() != Metric.HESSIAN)
            throw new Main.UserException("--labels sets the Hessian metric's gradients; method " + c.method() + " uses the "
                    + c.metric().cliName() + " metric (add --metric hessian)");
        if (gptq && noGptq) throw new Main.UserException("--gptq and --no-gptq: give one");
        // the method's own GPTQ rounding (vitq below 6 weight bits), unless turned off
        boolean methodGptq = c.gptq();
        String methodRounding = "method " + c.method() + " at " + bits.label() + " rounds the weights with GPTQ";
        if (noGptq) {
            if (!methodGptq) throw new Main.UserException("--no-gptq: method " + c.method() + " at " + bits.label()
                    + " rounds its weights to nearest already");
            c = c.withGptq(false);
        }
        if (c.gptq() && sequential)
            throw new Main.UserException("--sequential: " + methodRounding + " after the parallel searches; add --no-gptq");
        if (c.gptq() && biasCorrection)
            throw new Main.UserException("--bias-correction is computed for round-to-nearest weights; " + methodRounding + ": add --no-gptq");
        c = c.withTrueLabels(labels).withSequential(sequential);
        if (perChannelWeights) {
            if (c.isVt())
                throw new Main.UserException("--per-channel-weights: VT-PTQ's Pearson objective scores the whole output with one "
                        + "scale per tensor; the option is for basePTQ and ptq4vit");
            c = c.withPerChannelWeights(true);
        }
        if (asymmetricWeights) {
            if (c.isVt())
                throw new Main.UserException("--asymmetric-weights: VT-PTQ searches one symmetric scale per tensor; the option is "
                        + "for basePTQ, ptq4vit, vitq and adalog");
            if (bits.weight() > io.vitq.quant.UniformOperand.MAX_ASYMMETRIC_BITS)
                throw new Main.UserException("--asymmetric-weights: " + bits.label() + " has " + bits.weight() + "-bit weights; "
                        + "asymmetric weights are for at most " + io.vitq.quant.UniformOperand.MAX_ASYMMETRIC_BITS
                        + " bits (their codes relative to the zero point must fit a signed byte)");
            if (symmetricWeights) throw new Main.UserException("--asymmetric-weights and --symmetric-weights: give one");
            c = c.withAsymmetricWeights(true);
        }
        if (symmetricWeights) {
            if (!c.asymmetricWeights()) // no method asks for them above MAX_ASYMMETRIC_BITS, and the option is refused there
                throw new Main.UserException("--symmetric-weights: method " + c.method() + " at " + bits.label()
                        + " has symmetric weights already");
            c = c.withAsymmetricWeights(false);
        }
        if (weightTable != null) {
            CalibConfig.WeightTable table = java.util.Arrays.stream(CalibConfig.WeightTable.values())
                    .filter(t -> t.cliName().equals(weightTable)).findFirst()
                    .orElseThrow(() -> new Main.UserException("--weight-table: expected uniform, levels or pairs, got '" + weightTable + "'"));
            if (table != CalibConfig.WeightTable.UNIFORM) {
                if (c.isVt())
                    throw new Main.UserException("--weight-table " + weightTable + ": VT-PTQ searches one uniform scale per tensor; "
                            + "the option is for basePTQ, ptq4vit, vitq and adalog");
                if (bits.weight() >= 8)
                    throw new Main.UserException("--weight-table " + weightTable + ": " + bits.label() + " has " + bits.weight()
                            + "-bit weights; a table is for weights below 8 bits (its entries are 8-bit codes)");
                if (biasCorrection) throw new Main.UserException("--weight-table " + weightTable + " and --bias-correction: the "
                        + "correction is computed on the searched uniform grid; give one");
            }
            if (c.tableAt(bits.weight()) == table)
                throw new Main.UserException("--weight-table " + weightTable + ": method " + c.method() + " at " + bits.label()
                        + " has " + (table == CalibConfig.WeightTable.UNIFORM ? "uniform weights" : "them") + " already");
            c = c.withWeightTable(table);
        }
        if (rotateInputs != null && noRotateInputs) throw new Main.UserException("--rotate-inputs and --no-rotate-inputs: give one");
        if (rotateInputs != null) {
            if (c.isVt())
                throw new Main.UserException("--rotate-inputs: VT-PTQ's mixed precision sizes the layers as the checkpoint has them; "
                        + "the option is for basePTQ, ptq4vit, vitq and adalog");
            if (reparamNorms) throw new Main.UserException("--rotate-inputs and --reparam-norms: the rotation replaces the folds; give one");
            io.vitq.model.RotatedInputs r = rotation();
            if (c.rotation() == r)
                throw new Main.UserException("--rotate-inputs " + rotateInputs + ": method " + c.method() + " at " + bits.label()
                        + " rotates them already");
            c = c.withRotation(r);
        }
        if (noRotateInputs) {
            if (!c.rotateInputs())
                throw new Main.UserException("--no-rotate-inputs: method " + c.method() + " at " + bits.label()
                        + " does not rotate its inputs");
            c = c.withRotateInputs(false);
        }
        if (reparamNorms) {
            if (c.isVt())
                throw new Main.UserException("--reparam-norms: VT-PTQ's search keeps one input scale per tensor and its own "
                        + "objective; the option is for basePTQ and ptq4vit");
            if (c.rotateInputs())
                throw new Main.UserException("--reparam-norms: method " + c.method() + " at " + bits.label() + " rotates the "
                        + "post-LayerNorm inputs instead of folding them; add --no-rotate-inputs for the folds");
            c = c.withReparamNorms(true);
        }
        // vitq at 6 activation bits chooses between the twins and AdaLog's quantizers: a quantizer or metric given explicitly decides
        if (c.chooseQuantizers() && (adaLogQuantizers || geluCodebook != null || logSoftmax || softmaxMode != null || geluGrid != null
                || metric != null))
            c = c.withoutChoice();
        // vitq below 6 activation bits takes AdaLog's quantizers; the codebook or log-sqrt2 given explicitly replace them
        if (c.adaLog() && "vitq".equals(c.method()) && !adaLogQuantizers && (geluCodebook != null || logSoftmax))
            c = c.withAdaLog(false);
        String adaLogSource = c.adaLog() ? "method " + c.method() + " at " + bits.label() : "--adalog-quantizers";
        if ((c.adaLog() || adaLogQuantizers) && (geluCodebook != null || logSoftmax))
            throw new Main.UserException((geluCodebook != null ? "--gelu-codebook" : "--log-softmax") + ": " + adaLogSource
                    + " quantizes fc2's input and the softmax probabilities with AdaLog's own logarithmic quantizer; drop it");
        if ((c.adaLog() || adaLogQuantizers) && (softmaxMode != null || geluGrid != null))
            throw new Main.UserException((softmaxMode != null ? "--softmax-mode " + softmaxMode : "--gelu-grid " + geluGrid) + ": "
                    + adaLogSource + " replaces the twin quantizers with AdaLog's");
        if (adaLogQuantizers) {
            if (c.isVt())
                throw new Main.UserException("--adalog-quantizers: VT-PTQ searches one uniform scale per tensor for every operand; "
                        + "the option is for basePTQ, ptq4vit and vitq");
            c = c.withAdaLog(true);
        }
        if (geluCodebook != null) {
            if (c.isVt())
                throw new Main.UserException("--gelu-codebook: VT-PTQ quantizes every Linear input with one uniform scale; "
                        + "the option is for basePTQ and ptq4vit");
            if (geluGrid != null) throw new Main.UserException("--gelu-grid " + geluGrid + ": --gelu-codebook replaces the twin GELU quantizer");
            c = c.withGeluCodebook(switch (geluCodebook.toLowerCase(Locale.ROOT)) {
                case "fitted" -> CalibConfig.GeluLevels.FITTED;
                case "adalog" -> CalibConfig.GeluLevels.ADALOG;
                default -> throw new Main.UserException("--gelu-codebook " + geluCodebook + ": expected fitted or adalog");
            });
        }
        if (integerSearch) c = c.withIntegerProducts(true);
        if (logSoftmax) {
            if (c.isVt())
                throw new Main.UserException("--log-softmax: VT-PTQ searches one uniform scale per tensor for every operand; "
                        + "the option is for basePTQ, ptq4vit and vitq");
            if (softmaxMode != null) throw new Main.UserException("--softmax-mode " + softmaxMode + ": --log-softmax replaces the twin softmax quantizer");
            c = c.withLogSoftmax(true);
        }
        if (biasCorrection) {
            if (c.isVt())
                throw new Main.UserException("--bias-correction: VT-PTQ corrects its biases already (--no-bias-correction turns "
                        + "it off); the option is for basePTQ and ptq4vit");
            if (gptq) throw new Main.UserException("--bias-correction is computed for round-to-nearest weights; drop --gptq");
            if (c.tableAt(bits.weight()) != CalibConfig.WeightTable.UNIFORM)
                throw new Main.UserException("--bias-correction is computed on the searched uniform grid; method " + c.method() + " at "
                        + bits.label() + " fits a weight table: add --weight-table uniform");
            c = c.withBiasCorrection(true);
        }
        if (gptq) {
            if (c.isVt())
                throw new Main.UserException("--gptq: VT-PTQ's bias correction is computed for the round-to-nearest weights it "
                        + "searched with; the option is for basePTQ and ptq4vit");
            if (c.sequential()) throw new Main.UserException("--gptq rounds after the parallel searches; drop --sequential");
            c = c.withGptq(true);
        }
        if (c.isVt()) {
            CalibConfig.VtOptions v = c.vt();
            boolean norm = rankingNorm == null || switch (rankingNorm.toLowerCase(Locale.ROOT)) {
                case "mean" -> true;
                case "sum" -> false;
                default -> throw new Main.UserException("--ranking-norm " + rankingNorm + ": expected mean or sum");
            };
            if (gamma != null && !(gamma >= 0 && gamma < Double.POSITIVE_INFINITY))
                throw new Main.UserException("--gamma must be a finite number >= 0, got " + gamma);
            if (theta != null && !(theta >= 0 && theta < Double.POSITIVE_INFINITY))
                throw new Main.UserException("--theta must be a finite number >= 0, got " + theta);
            c = c.withVt(new CalibConfig.VtOptions(v.ranking() && !noRanking, gamma != null ? gamma : v.gamma(),
                    theta != null ? theta : v.theta(), norm, v.biasCorrection() && !noBiasCorrection, qkvPerMatrix));
        } else if (noRanking || noBiasCorrection || gamma != null || theta != null || qkvPerMatrix || rankingNorm != null) {
            throw new Main.UserException("--no-ranking, --no-bias-correction, --gamma, --theta, --ranking-norm and --qkv-per-matrix"
                    + " apply to --method vtptq only (basePTQ and ptq4vit have no ranking loss or bias correction, and always"
                    + " give q, k and v a scale each)");
        }
        return c;
    }
}
