package io.vitq.cli;

import io.vitq.Vitq;
import io.vitq.io.AtomicFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * The main job on the embedded model and images, what {@code ./vitq} runs without arguments:
 * quantize the shipped ViT-Ti (PTQ4ViT W8A8 on the shipped CALIB32), evaluate the float and the
 * quantized model on the shipped 200 validation images, write the quantized model and its ONNX
 * export to a new folder, print one short table and the commands to go further. It runs through
 * the public Java API ({@link Vitq}), as a user's program would.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The main job on the embedded data (what ./vitq runs): quantize the shipped ViT-Ti with PTQ4ViT W8A8 on "
                + "the shipped 32 calibration images, evaluate float and quantized on the shipped 200 ImageNet validation "
                + "images, write the quantized model and its ONNX export to a new folder, print a summary.")
final class DemoCommand implements Callable<Integer> {
    static final String MODEL = "vit_tiny_patch16_224";
    static final String WEIGHTS = "models/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors";

    @Option(names = {"-o", "--output"}, paramLabel = "DIR",
            description = "The folder to create (must not exist). Default: vitq-demo in the current directory, or vitq-demo-2, "
                    + "-3, ... when that exists.")
    Path output;

    @Option(names = "--method", paramLabel = "basePTQ|ptq4vit|vtptq|vitq|repq|adalog", defaultValue = "ptq4vit",
            description = "Calibration method (default ${DEFAULT-VALUE}); repq: RepQ-ViT's percentile rule, no search; adalog: AdaLog's logarithmic quantizers (docs/LOWBIT.md).")
    String method;

    @Option(names = "--bits", paramLabel = "wXaY|mp6|mp8", defaultValue = "w8a8", description = "Bits (default ${DEFAULT-VALUE}).")
    String bits;

    @Option(names = "--calib-size", paramLabel = "N", defaultValue = "32",
            description = "Calibration images, the first N of the embedded CALIB32 (default ${DEFAULT-VALUE}).")
    int calibSize;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate on the first N of the 200 embedded images only.")
    Integer limit;

    /** The demo's folder when --output is not given, or the first free {@code vitq-demo-N}. */
    static final Path DEFAULT_FOLDER = Path.of("vitq-demo");

    static Path demoDir() {
        String home = System.getProperty("vitq.home");
        Path d = home != null ? Path.of(home, "demo") : Path.of("demo");
        if (!Files.isDirectory(d)) throw new Main.UserException(d + ": embedded demo folder not found (run from the vitq checkout)");
        return d;
    }

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        Vitq.Method m = method(method);
        BitsOption b = BitsOption.parse(bits);
        if (b.mixed() != null && m != Vitq.Method.VT_PTQ)
            throw new Main.UserException("--bits " + bits + ": mixed precision is VT-PTQ's (--method vtptq)");
        Inputs.checkPositive("--calib-size", calibSize);
        if (calibSize > 32) throw new Main.UserException("--calib-size " + calibSize + ": the embedded CALIB32 has 32 images");
        if (limit != null) Inputs.checkPositive("--limit", limit);
        if (limit != null && limit > 200) throw new Main.UserException("--limit " + limit + ": the embedded validation set has 200 images");
        Path demo = demoDir();
        Path weights = demo.resolve(WEIGHTS), calib = demo.resolve("calib/calib32.txt"), val = demo.resolve("val/dataset.txt");
        if (output != null) checkNew(output);   // before the work; the name is taken when the folder is written
        else freshFolder(DEFAULT_FOLDER);
        String stem = MODEL + "_" + m.cliName().toLowerCase(Locale.ROOT) + "_" + b.label().toLowerCase(Locale.ROOT);
        try (ProgressBars bars = new ProgressBars()) {
            System.err.println("vitq: demo: " + MODEL + " (" + weights + "), " + m.cliName() + " " + b.label() + " on "
                    + calibSize + " images of " + calib + ", evaluation on " + (limit == null ? "" : "the first " + limit + " of ")
                    + val);
            Vitq fp = Vitq.load(MODEL, weights).withProgress(bars);
            Vitq q = fp.quantize(m, bits, calib, calibSize);
            bars.close();
            Vitq.Evaluation e = limit == null ? q.evaluate(val) : q.evaluate(val, limit);
            bars.close();
            // everything goes to a hidden folder first, renamed to the final name when complete
            String[] summary = new String[1];
            writeNewFolder(output, DEFAULT_FOLDER, (dir, name) -> {
                Path model = q.save(dir.resolve(stem + ".safetensors"));
                Path onnx = q.exportOnnx(dir.resolve(stem + ".onnx"));
                summary[0] = summary(e, q, weights, model, onnx, calibSize, name, val, stem);
                Files.writeString(dir.resolve("summary.md"), summary[0].stripLeading());
            });
            System.out.print(summary[0]);   // its first empty line ends a progress bar drawn on the same terminal
            System.err.printf(Locale.ROOT, "vitq: demo finished in %.0f s%n", (System.nanoTime() - start) / 1e9);
            return 0;
        }
    }

    private String summary(Vitq.Evaluation e, Vitq q, Path weights, Path model, Path onnx, int calibSize, Path out, Path val,
                           String stem) throws IOException {
        String name = methodLabel(q.method()) + " " + q.bits();
        int agree = (int) Math.round(e.agreement() * e.images() / 100);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%nViT-Ti (%s) quantized with %s: calibrated on %d images, evaluated on %d"
                + " ImageNet validation images%n%n", MODEL, name, calibSize, e.images()));
        sb.append("|  | float | ").append(name).append(" |\n|---|---:|---:|\n");
        sb.append(String.format(Locale.ROOT, "| top-1 (%d images) | %.2f %% | %.2f %% |%n", e.images(), e.floatTop1(), e.top1()));
        // how far a top-1 on this few images can be read (eval.TopOneUncertainty)
        sb.append(String.format(Locale.ROOT, "| its 95 %% interval (Wilson score) | %s | %s |%n", interval(e.floatTop1(), e.images()),
                interval(e.top1(), e.images())));
        sb.append(String.format(Locale.ROOT, "| top-1 agreement with float | | %.2f %% (%d/%d) |%n", e.agreement(), agree, e.images()));
        sb.append(String.format(Locale.ROOT, "| file size | %.1f MB (safetensors) | %.1f MB (vitq), %.1f MB (ONNX) |%n",
                Files.size(weights) / 1e6, Files.size(model) / 1e6, Files.size(onnx) / 1e6));
        sb.append(String.format(Locale.ROOT, "| calibration time | | %.1f s |%n", q.calibrationSeconds()));
        Path qm = out.resolve(stem + ".safetensors");
        sb.append("\nWritten to ").append(out).append("/: ").append(stem).append(".safetensors (the quantized model), ")
                .append(stem).append(".onnx (ONNX, QDQ), summary.md\n");
        String data = shown(val);
        String vitq = launcher();
        sb.append("\nGo further:\n");
        sb.append("  " + vitq + " eval --model ").append(qm).append(" --data ").append(data)
                .append(" --compare-fp --plot agreement.png   # where it differs from float\n");
        sb.append("  " + vitq + " inspect ").append(qm).append(" --plot plan.png   # bits and scales per layer\n");
        sb.append("  " + vitq + " predict --model ").append(qm).append(" IMAGE.jpg\n");
        sb.append("  " + vitq + " sweep --methods basePTQ,ptq4vit --bits w8a8,w6a6 --data ").append(data)
                .append(" --plot sweep.png   # methods x bits\n");
        sb.append("  " + vitq + " quantize --model timm/vit_small_patch16_224.augreg_in21k_ft_in1k --calib DIR -o q.safetensors"
                + "   # your own weights (Hugging Face cache, folders, files: " + vitq + " models)\n");
        return sb.toString();
    }

    /** The 95 % Wilson interval of a top-1 given in percent of {@code images}, as "lo-hi %". */
    private static String interval(double top1, int images) {
        double[] ci = io.vitq.eval.TopOneUncertainty.wilsonPercent((int) Math.round(top1 * images / 100), images);
        return String.format(Locale.ROOT, "%.1f-%.1f %%", ci[0], ci[1]);
    }

    /** The launcher as the user can type it from the current directory: ./vitq in the checkout. */
    private static String launcher() {
        String home = System.getProperty("vitq.home");
        if (home == null) return "vitq";
        String p = shown(Path.of(home, "vitq"));
        return p.startsWith("/") ? p : "./" + p;
    }

    /** A path as the user can type it from the current directory. */
    private static String shown(Path p) {
        Path abs = p.toAbsolutePath().normalize(), cwd = Path.of("").toAbsolutePath();
        return abs.startsWith(cwd) ? cwd.relativize(abs).toString() : abs.toString();
    }

    static String methodLabel(String cliName) {
        return switch (cliName) {
            case "basePTQ" -> "BasePTQ";
            case "ptq4vit" -> "PTQ4ViT";
            case "vtptq" -> "VT-PTQ";
            default -> cliName;
        };
    }

    static Vitq.Method method(String name) {
        for (Vitq.Method m : Vitq.Method.values()) if (m.cliName().equalsIgnoreCase(name)) return m;
        throw new Main.UserException("--method: " + io.vitq.calib.CalibConfig.unknownMethod(name).getMessage());   // as quantize says it
    }

    /** {@code -o DIR}: must not exist (nothing of the user's is overwritten); its parent must be a writable directory. */
    static Path checkNew(Path dir) {
        if (Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS))
            throw new Main.UserException("--output " + dir + ": exists; the demo writes a new folder (give a name that does not exist)");
        Path parent = dir.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent))
            throw new Main.UserException("--output " + dir + ": directory " + parent
                    + (parent != null && Files.exists(parent) ? " is not a directory" : " does not exist"));
        if (!Files.isWritable(parent)) throw new Main.UserException("--output " + dir + ": permission denied (cannot create it in " + parent + ")");
        return dir;
    }

    /** What goes into the demo's folder: written into {@code dir}, which becomes {@code name} when complete. */
    @FunctionalInterface
    interface FolderBody {
        void writeTo(Path dir, Path name) throws IOException;
    }

    /**
     * Writes the demo's folder whole ({@link AtomicFile#writeFolder}): at {@code given} (--output), or
     * else at the first free name of {@link #freshFolder}{@code (base)}, the next one when another run
     * takes that name while the folder is written (two demos started in one folder). A given name
     * that appears meanwhile is refused.
     *
     * @return the folder written
     */
    static Path writeNewFolder(Path given, Path base, FolderBody body) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path name = given != null ? given : freshFolder(base);
            try {
                AtomicFile.writeFolder(name, dir -> body.writeTo(dir, name));
                return name;
            } catch (java.nio.file.FileAlreadyExistsException taken) {
                if (given != null || attempt == 100) throw taken;
            }
        }
    }

    /** {@code base}, or {@code base-2}, {@code base-3} ... the first that does not exist. */
    static Path freshFolder(Path base) {
        for (int i = 1; i < 10_000; i++) {
            Path p = i == 1 ? base : base.resolveSibling(base.getFileName() + "-" + i);
            if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return checkNew(p);
        }
        throw new Main.UserException(base + ": no free name (" + base + "-2 ... taken); give --output DIR");
    }

    /** Progress bars for the API's steps: a new bar whenever the step changes. */
    static final class ProgressBars implements Vitq.Progress, AutoCloseable {
        private String step;
        private ProgressBar bar;
        private final List<String> steps = new ArrayList<>();

        @Override
        public synchronized void update(String s, int done, int total) {
            if (!s.equals(step)) {
                close();
                step = s;
                steps.add(s);
                bar = new ProgressBar(s + (s.startsWith("calibrate") ? " (ops)" : s.startsWith("eval") ? " (images)" : ""), total);
            }
            bar.update(done);
        }

        @Override
        public synchronized void close() {
            if (bar != null) bar.close();
            bar = null;
            step = null;
        }
    }
}
