package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.calib.mp.MpTarget;
import io.vitq.eval.Pipeline;
import io.vitq.io.ModelLoader;
import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import io.vitq.quant.QuantPlanJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Post-training quantization: calibrate a float model on a few images and write the quantized model "
                + "(int codes of the weights, float biases, the plan) and/or the plan as JSON.")
final class QuantizeCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Mixin CalibOptions calibOptions;

    @Option(names = "--method", paramLabel = "basePTQ|ptq4vit|vtptq|vitq|repq|adalog", defaultValue = "ptq4vit",
            description = "Calibration method (default ${DEFAULT-VALUE}); vitq: the project's recipe, measured at 3 to 8 bits (below 6 weight "
                    + "bits its GPTQ-rounded weights need -o); repq: RepQ-ViT's percentile rule, no search; adalog: AdaLog's "
                    + "logarithmic quantizers (docs/LOWBIT.md).")
    String method;

    @Option(names = "--bits", paramLabel = "wXaY|mp6|mp8", defaultValue = "w8a8",
            description = "Weight and activation bits, e.g. w8a8 (default), w6a6, w4a8; mp6/mp8: VT-PTQ mixed precision "
                    + "(per block, the MSA and MLP units get 4..8 or 6..10 bits under the size budget).")
    String bits;

    @Option(names = "--size-mb", paramLabel = "MB",
            description = "Mixed precision: model-size budget in MB (10^6 bytes, all parameters x bits / 8); default: "
                    + "every parameter at the target's 6 or 8 bits.")
    Double sizeMb;

    @Option(names = "--no-twin-softmax", description = "ptq4vit: signed per-head quantizer for the softmax output (ablation).")
    boolean noTwinSoftmax;

    @Option(names = "--no-twin-gelu", description = "ptq4vit: signed per-tensor quantizer for fc2's post-GELU input (ablation).")
    boolean noTwinGelu;

    @Option(names = "--op-bits", paramLabel = "PATTERN=wXaY",
            description = "Per-op precision override, repeatable; * matches any characters (e.g. --op-bits head=w8a8 "
                    + "--op-bits 'blocks.*.mlp.fc2=w8a8'). Op ids: 'vitq info --ops'.")
    java.util.List<String> opBits = new java.util.ArrayList<>();

    @Option(names = "--no-mixed-precision",
            description = "vtptq with --bits mp6/mp8: every op at the target's 6 or 8 bits instead (VT-PTQ's Table 3 ablation).")
    boolean noMixedPrecision;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Write the quantized model: a safetensors file (integer weight codes, float biases, the plan) under any "
                    + "name, e.g. model.vitq.")
    Path output;

    @Option(names = "--plan", paramLabel = "FILE", description = "Write the quantization plan as JSON.")
    Path planFile;

    @Override
    public Integer call() throws Exception {
        CalibConfig cfg = config();
        BitsOption b = BitsOption.parse(bits);
        if (noMixedPrecision) {
            if (b.mixed() == null) throw new Main.UserException("--no-mixed-precision goes with --bits mp6 or mp8");
            if (sizeMb != null) throw new Main.UserException("--no-mixed-precision: --size-mb is a mixed-precision budget");
            b = new BitsOption(b.weight(), b.activation(), null);
        }
        if (sizeMb != null && b.mixed() == null) throw new Main.UserException("--size-mb needs --bits mp6 or mp8");
        if (sizeMb != null && !(sizeMb > 0)) throw new Main.UserException("--size-mb must be positive, got " + sizeMb);
        if (output == null && planFile == null) throw new Main.UserException("give -o FILE (quantized model) and/or --plan FILE");
        if (output == null && cfg.gptq())
            throw new Main.UserException((calibOptions.gptq ? "--gptq" : "method " + cfg.method() + " at " + b.label()
                    + " rounds the weights with GPTQ") + ": the rounded weights are kept only in the quantized model file; add -o FILE"
                    + (calibOptions.gptq ? "" : " (or --no-gptq for a plan of round-to-nearest weights)"));
        Inputs.calibration(calibOptions.calibPath(), calibOptions.calibSize);
        ModelLoader.Loaded l = modelOptions.loadFloat();
        new OutputFiles().output("--output", output, OutputKind.SAFETENSORS).output("--plan", planFile, OutputKind.JSON)
                .model("--model", l).input("--calib", calibOptions.calibPath()).check();
        calibOptions.checkMsaNorm(java.util.List.of(b));
        calibOptions.noteIntegerSearchKernel();
        Pipeline.Calibration r = calibrate(l, calibOptions, cfg, b.mixed(), sizeMb);
        System.out.println(r.plan().summary());
        boolean planIsNew = planFile != null && !java.nio.file.Files.exists(planFile);
        if (planFile != null) {
            QuantPlanJson.write(r.plan(), planFile);
            System.out.println("plan written to " + planFile + (cfg.gptq()
                    ? " (scales only: the GPTQ-rounded weights are in the quantized model file)" : ""));
        }
        if (output != null) {
            try {
                QuantizedOutput.write(output, r.model(), r.plan());
            } catch (java.io.IOException | RuntimeException e) {
                // the two outputs are one result: a plan written just now goes with the model that failed
                if (planIsNew && java.nio.file.Files.deleteIfExists(planFile))
                    System.err.println("vitq: " + planFile + " removed: the quantized model it belongs to was not written");
                throw e;
            }
            System.out.println("quantized model written to " + output);
        }
        return 0;
    }

    CalibConfig config() {
        BitsOption parsed = BitsOption.parse(bits);
        CalibConfig c = calibOptions.config(method, parsed);
        // an ablation switch of a quantizer the method does not use would be ignored silently
        if (noTwinSoftmax && !c.twinSoftmax())
            throw new Main.UserException("--no-twin-softmax: method " + c.method() + " at " + parsed.label() + " has no twin softmax quantizer to turn off");
        if (noTwinGelu && !c.twinGelu())
            throw new Main.UserException("--no-twin-gelu: method " + c.method() + " at " + parsed.label() + " has no twin GELU quantizer to turn off");
        // ... and so would one of a twin that another quantizer replaces, or that the W6A6 choice may discard
        String adaLogSource = calibOptions.adaLogQuantizers ? "--adalog-quantizers" : "method " + c.method() + " at " + parsed.label();
        if (noTwinGelu && (c.geluCodebook() != null || c.adaLog()))
            throw new Main.UserException("--no-twin-gelu: " + (c.adaLog() ? adaLogSource + " quantizes fc2's input with AdaLog's "
                    + "quantizer" : "--gelu-codebook quantizes fc2's input with a codebook") + ", not the twin GELU quantizer; drop one of them");
        if (noTwinSoftmax && (c.logSoftmax() || c.adaLog()))
            throw new Main.UserException("--no-twin-softmax: " + (c.adaLog() ? adaLogSource + " quantizes the softmax probabilities with "
                    + "AdaLog's quantizer" : "--log-softmax quantizes the softmax probabilities with log-sqrt2") + ", not the twin "
                    + "softmax quantizer; drop one of them");
        if ((noTwinSoftmax || noTwinGelu) && c.chooseQuantizers())
            throw new Main.UserException((noTwinSoftmax ? "--no-twin-softmax" : "--no-twin-gelu") + ": method " + c.method() + " at "
                    + parsed.label() + " chooses between the twins and AdaLog's quantizers, and may keep AdaLog's; add --metric hessian "
                    + "to calibrate the twins alone");
        if (noTwinSoftmax || noTwinGelu) c = c.withTwins(c.twinSoftmax() && !noTwinSoftmax, c.twinGelu() && !noTwinGelu);
        if (noTwinSoftmax && calibOptions.softmaxMode != null)
            throw new Main.UserException("--softmax-mode: a twin softmax setting, but --no-twin-softmax turns the twin off");
        if (noTwinGelu && calibOptions.geluGrid != null)
            throw new Main.UserException("--gelu-grid: a twin GELU setting, but --no-twin-gelu turns the twin off");
        if (!opBits.isEmpty() && parsed.mixed() != null)
            throw new Main.UserException("--op-bits: mixed precision (--bits " + bits + ") chooses every unit's bits itself; "
                    + "use fixed bits (wXaY) with --op-bits");
        java.util.List<CalibConfig.OpBits> list = new java.util.ArrayList<>();
        for (String o : opBits) {
            int eq = o.lastIndexOf('=');
            if (eq <= 0) throw new Main.UserException("--op-bits " + o + ": expected PATTERN=wXaY, e.g. head=w8a8");
            BitsOption b = BitsOption.parseFixed("--op-bits " + o, o.substring(eq + 1));
            String pattern = o.substring(0, eq);
            for (CalibConfig.OpBits earlier : list)
                if (earlier.pattern().equals(pattern))
                    throw new Main.UserException("--op-bits " + o + ": " + pattern + " is given twice (also =w" + earlier.weightBits()
                            + "a" + earlier.activationBits() + "); give each pattern once");
            list.add(new CalibConfig.OpBits(pattern, b.weight(), b.activation()));
        }
        return list.isEmpty() ? c : c.withOpBits(list);
    }

    /** The combinations of a method and mixed-precision bits that calibration refuses. */
    static void checkCalibration(CalibConfig cfg, MpTarget mixed) {
        if (mixed != null && !cfg.isVt()) throw new Main.UserException("--bits " + mixed.cliName() + ": mixed precision is VT-PTQ's (--method vtptq)");
        if (mixed != null && cfg.sequential())
            throw new Main.UserException("--sequential: mixed precision chooses the bits after the searches; calibrate it in parallel");
    }

    /**
     * Loads the calibration images and runs the calibration with a progress bar; prints the timing
     * (and, for mixed precision, the bits per unit and the model size) on stdout.
     *
     * @param mixed  mixed-precision target (VT-PTQ only), or null for fixed bits
     * @param sizeMb mixed precision's size budget, or null for the target's default
     */
    static Pipeline.Calibration calibrate(ModelLoader.Loaded l, CalibOptions o, CalibConfig cfg, MpTarget mixed, Double sizeMb) {
        return calibrate(l, o, cfg, mixed, sizeMb, System.out, "");
    }

    /** As above, the report on {@code out}, each line after {@code prefix} (a table's cell: stderr, naming the cell). */
    static Pipeline.Calibration calibrate(ModelLoader.Loaded l, CalibOptions o, CalibConfig cfg, MpTarget mixed, Double sizeMb,
                                          java.io.PrintStream out, String prefix) {
        checkCalibration(cfg, mixed);
        Path data = o.calibPath();
        Pipeline.Calibration c = Pipeline.calibrate(l, data, o.calibSize, cfg, mixed, sizeMb, o.msaNorm(),
                ProgressBar.counting("ops"));
        if (mixed != null) {
            c.mixedPrecisionReport().forEach(line -> out.println(prefix + line));
            out.print(prefix);
            out.printf(Locale.ROOT, "mixed precision: nuclear norms (SVD) %.1f s, unit errors and allocation %.1f s%n",
                    c.nuclearNormSeconds(), c.unitErrorSeconds());
        }
        double load = c.imageSeconds();
        Calibrator.Timing t = c.timing();
        out.print(prefix);
        out.printf(Locale.ROOT, "calibration: %.1f s (images %.1f s, %sfloat forward+backward %.1f s, "
                        + "search %.1f s: linear %.1f s%s%s, matmul %.1f s%s)%n",
                c.seconds(), load, c.reparamSeconds() > 0
                        ? String.format(Locale.ROOT, "LayerNorm reparameterisation %.1f s, ", c.reparamSeconds()) : "",
                t.forwardBackward(), t.search(), t.linearSearch(),
                cfg.isVt() || cfg.biasCorrection() ? String.format(Locale.ROOT, " of which bias correction %.1f s", t.biasCorrection()) : "",
                cfg.gptq() ? String.format(Locale.ROOT, " of which GPTQ %.1f s", t.gptq()) : "",
                t.matmulSearch(), Double.isNaN(t.scoredShare()) ? "" : t.scoredShare() >= 0.9995 ? "; every candidate scored in full"
                        : String.format(Locale.ROOT, "; candidates scored on %.0f %% of their products, branch and bound skipping the rest",
                        100 * t.scoredShare()));
        String choice = c.plan().info().options().get(CalibConfig.QUANTIZER_CHOICE);
        if (choice != null) out.println(prefix + "kept: " + choice);
        return c;
    }
}
