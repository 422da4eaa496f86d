package io.vitq.cli;

import io.vitq.data.Dataset;
import io.vitq.io.ModelLoader;
import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import io.vitq.model.Model;
import io.vitq.quant.QuantPlan;
import io.vitq.runtime.IntegerDump;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

@Command(name = "dump", mixinStandardHelpOptions = true,
        description = {"Integer activations out: for each image and each quantized op, the input codes, weight codes, "
                + "int32 sums (int64 for codes over 8 bits) and dequantized outputs of the integer runtime, with every step, "
                + "as one safetensors file (layout: docs/INTEGER_LAYOUT.md).",
                "Twin GELU codes use the layout's clamp (-(2^(k-1) - 1) on the negative side, -127 at 8 bits; 'eval --integer' "
                        + "clamps at -2^(k-1) as fake quant does), so every code is a layout code."})
final class DumpCommand implements Callable<Integer> {
    /**
     * Refuse dumps whose file would pass this, before allocating (safetensors files over 2 GiB are
     * not read back here; the tensors are held in memory until written, 8-bit codes as ints).
     */
    static final long MAX_BYTES = (1L << 31) - (1L << 24);

    @Mixin ModelOptions modelOptions;

    @Option(names = "--plan", paramLabel = "FILE", description = "A plan JSON for a float --model (else --model is a quantized file); without --model, the model "
            + "the plan was made for.")
    Path plan;

    @ArgGroup(multiplicity = "1")
    Images images;

    static final class Images {
        @Option(names = "--images", arity = "1..*", paramLabel = "IMAGE", description = "JPEG or PNG files.")
        List<Path> files;

        @Option(names = {"-d", "--data"}, paramLabel = "DIR|LIST", description = "An image folder or list file (as for eval).")
        Path data;
    }

    @Option(names = "--limit", paramLabel = "N", description = "With --data: the first N images.")
    Integer limit;

    @Option(names = "--ops", paramLabel = "PATTERN", split = ",",
            description = "Only ops whose id matches (* matches any characters; e.g. 'blocks.0.*' or 'blocks.*.mlp.fc2'); "
                    + "repeatable or comma-separated. Default: every quantized op. Ids: 'vitq info --ops'.")
    List<String> opPatterns = new ArrayList<>();

    @Option(names = "--leave-out", paramLabel = "PART", split = ",",
            description = "Leave out large tensors: inputs, weights, accumulators, outputs (comma-separated). Steps, biases "
                    + "and the layout are always written.")
    List<String> leaveOut = new ArrayList<>();

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The safetensors file to write.")
    Path output;

    @Override
    public Integer call() throws Exception {
        if (limit != null) Inputs.checkPositive("--limit", limit);
        if (limit != null && images.data == null) throw new Main.UserException("--limit applies to --data");
        EnumSet<IntegerDump.Part> parts = parts(leaveOut);
        Predicate<String> ops = matcher(opPatterns);
        OutputFiles paths = new OutputFiles().output("--output", output, OutputKind.SAFETENSORS).input("--plan", plan)
                .input("--data", images.data);
        for (Path p : modelOptions.givenPaths()) paths.input("--model", p);
        if (images.files != null) for (Path p : images.files) paths.input("--images", p);
        paths.check(); // before the model loads; then against the files it loaded from
        ModelLoader.Loaded l = modelOptions.load(plan);
        Model m = l.model();
        paths.model("--model", l).check();
        QuantPlan qp = plan == null ? l.plan() : Plans.read(plan, m);
        if (qp == null) throw new Main.UserException("--model " + modelOptions.model + " is not quantized: give a quantized file or --plan FILE");
        l = Plans.modelFor(l, qp);
        m = l.model();
        List<Path> files = images.files;
        if (files == null) {
            Dataset ds = Inputs.dataset(images.data, limit);
            files = new ArrayList<>();
            for (int i = 0; i < ds.size(); i++) files.add(ds.path(i));
        }
        IntegerDump dump = new IntegerDump(files.size(), ops, parts, MAX_BYTES);
        IntegerExecutor ex;
        try {
            ex = new IntegerExecutor(qp, m, new IntegerExecutor.Options(IntegerExecutor.TwinForm.AUTO, true), dump);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException("integer execution: " + e.getMessage());
        }
        // every --ops pattern must name an op that runs in integers, before any work
        List<String> integerOps = ex.forms().entrySet().stream()
                .filter(e -> e.getValue() != IntegerExecutor.OpForm.FLOAT && e.getValue() != IntegerExecutor.OpForm.FLOAT_INPUT)
                .map(Map.Entry::getKey).toList();
        for (String p : opPatterns)
            if (integerOps.stream().noneMatch(matcher(List.of(p))))
                throw new Main.UserException("--ops " + p + ": matches no op that runs in integers ('vitq info --ops' lists the ids; "
                        + "the patch embedding's input is the float image)");
        long t0 = System.nanoTime();
        float[] logits = null;
        int classes = m.numClasses();
        try (ProgressBar bar = new ProgressBar("dump", files.size())) {
            for (int i = 0; i < files.size(); i++) {
                Tensor x = Inputs.preprocess(List.of(files.get(i)), m.preprocessing());
                dump.nextImage();
                Tensor y;
                try {
                    y = m.forward(x, ex);
                } catch (IntegerDump.TooLargeException e) {
                    throw new Main.UserException(e.getMessage() + " (--limit, --ops, --leave-out)");
                }
                if (logits == null) logits = new float[files.size() * classes];
                System.arraycopy(y.data(), 0, logits, i * classes, classes);
                bar.update(i + 1);
            }
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", m.name());
        meta.put("plan", qp.info().method() + " " + qp.info().bitsLabel());
        meta.put("gelu_negative_clamp", "layout");
        meta.put("image_paths", new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(files.stream().map(Path::toString).toList()));
        try {
            dump.write(output, logits, classes, meta);
        } catch (IntegerDump.TooLargeException e) {
            throw new Main.UserException(e.getMessage() + " (--limit, --ops, --leave-out)");
        }
        System.out.printf(Locale.ROOT, "dump of %d image%s, %d ops in integers, %.1f MB written to %s in %.1f s%n", files.size(),
                files.size() == 1 ? "" : "s", dump.opIds().size(), java.nio.file.Files.size(output) / 1e6, output,
                (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    static EnumSet<IntegerDump.Part> parts(List<String> leaveOut) {
        EnumSet<IntegerDump.Part> parts = EnumSet.allOf(IntegerDump.Part.class);
        for (String s : leaveOut) {
            IntegerDump.Part p;
            try {
                p = IntegerDump.Part.valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new Main.UserException("--leave-out " + s + ": expected inputs, weights, accumulators or outputs");
            }
            parts.remove(p);
        }
        return parts;
    }

    static Predicate<String> matcher(List<String> patterns) {
        if (patterns.isEmpty()) return id -> true;
        List<java.util.regex.Pattern> ps = new ArrayList<>();
        for (String p : patterns) {
            if (p.isBlank()) throw new Main.UserException("--ops: empty pattern");
            ps.add(io.vitq.model.OpPattern.compile(p));
        }
        return id -> ps.stream().anyMatch(p -> p.matcher(id).matches());
    }
}
