package io.vitq;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.MixedPrecisionCalibration;
import io.vitq.data.DatasetException;
import io.vitq.data.ImageLoadException;
import io.vitq.eval.ClassNames;
import io.vitq.eval.EvalResult;
import io.vitq.eval.FpComparison;
import io.vitq.eval.Pipeline;
import io.vitq.eval.TopK;
import io.vitq.export.OnnxExporter;
import io.vitq.io.CheckpointException;
import io.vitq.io.ModelLoader;
import io.vitq.io.QuantizedModelFile;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.model.ModelException;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * vitq from Java code: load a vision transformer (ViT, DeiT, Swin), quantize it after training
 * with a few calibration images, evaluate it, save it, export it to ONNX and classify images. This
 * class and its nested types are vitq's public API; every other class is internal and may change.
 *
 * <pre>{@code
 * Vitq model = Vitq.load("vit_tiny_patch16_224");        // zoo name, Hub name, model folder or file
 * Vitq int8 = model.quantize(Vitq.Method.PTQ4VIT, "w8a8", Path.of("calib/"), 32);
 * Vitq.Evaluation e = int8.evaluate(Path.of("val/"));     // top-1, and agreement with the float model
 * int8.save(Path.of("vit_tiny_w8a8.safetensors"));        // loads again with Vitq.load(...)
 * int8.exportOnnx(Path.of("vit_tiny_w8a8.onnx"));         // QDQ graph for ONNX Runtime
 * for (Vitq.Prediction p : int8.predict(Path.of("cat.jpg"))) System.out.println(p.top5().get(0).name());
 * }</pre>
 *
 * <p>A {@code Vitq} is immutable: {@link #quantize} returns a new one and leaves its float model
 * as it was. Weights are never downloaded. The JVM needs {@code --add-modules jdk.incubator.vector}
 * (the float and integer kernels use the Vector API). Every failure the caller can fix (a missing
 * file, a malformed checkpoint, labels that do not fit the model, an unknown bit setting) is a
 * {@link VitqException} whose message names the file or value (a list of images that are not
 * images names each, a line apiece); a null argument is a {@link NullPointerException} naming the
 * parameter.
 */
public final class Vitq {

    /** The post-training quantization methods. */
    public enum Method {
        /** PTQ4ViT's base PTQ: cosine metric, one search round. */
        BASE_PTQ("basePTQ"),
        /** PTQ4ViT: Hessian-guided search, twin uniform quantizers for softmax and GELU outputs. */
        PTQ4VIT("ptq4vit"),
        /** Ranking-aware PTQ (Liu et al.): Pearson objective, ranking loss, bias correction; mixed precision with "mp6"/"mp8". */
        VT_PTQ("vtptq"),
        /**
         * vitq's low-bit recipe: PTQ4ViT with per-channel weights (asymmetric below 8 bits) and, below
         * 8 activation bits, RepQ-ViT's reparameterised post-LayerNorm inputs; below 6, on ViT and DeiT,
         * those inputs rotated instead (the model gets rotated qkv and fc1 inputs), and AdaLog's
         * quantizers and metric; below 6 weight bits GPTQ rounding, and at 8 activation bits every block
         * Linear's input rotated. {@link Vitq#save} keeps the rounded and rotated weights (docs/LOWBIT.md).
         */
        VITQ("vitq"),
        /**
         * RepQ-ViT's calibration on vitq's quantizer kinds: no search, its percentile rule for every
         * scale, reparameterised post-LayerNorm inputs, log-sqrt2 softmax probabilities (docs/LOWBIT.md 5.1).
         */
        REPQ("repq"),
        /**
         * AdaLog's calibration on vitq's quantizer kinds: its adaptive-base logarithmic quantizers for
         * the softmax probabilities and fc2's post-GELU input, every scale searched on the output's
         * squared error (docs/LOWBIT.md 5.2). In integers the log levels run on a 14-bit grid (docs/LOWBIT.md 3.3).
         */
        ADALOG("adalog");

        private final String cliName;

        Method(String cliName) { this.cliName = cliName; }

        /** @return the name the command line uses ({@code --method}) */
        public String cliName() { return cliName; }
    }

    /** Progress of a long step (calibration, evaluation). */
    @FunctionalInterface
    public interface Progress {
        /**
         * Called with {@code done} 0 when a step starts, then as items are done.
         *
         * @param step  what runs, e.g. {@code "calibrate ptq4vit W8A8"}
         * @param done  items done (ops calibrated, images evaluated)
         * @param total items in the step
         */
        void update(String step, int done, int total);
    }

    /**
     * An evaluation's accuracy. For a quantized model the float model runs on the same images too:
     * its top-1, the top-1 agreement and the mean KL divergence; these are NaN for a float model.
     * The float model of a model from {@link #quantize} is the one it was calibrated from; that of a
     * quantized file loaded with {@link #load} is its decoded weights run without quantization (the
     * original float weights are not in the file).
     *
     * @param model            the model's name, with the method and bits when quantized
     * @param images           images evaluated
     * @param top1             top-1 accuracy, % of the labelled images (NaN when none is labelled)
     * @param top5             top-5 accuracy, %
     * @param floatTop1        the float model's top-1 on the same images, %
     * @param agreement        % of images where the quantized and the float model have the same top-1
     * @param meanKl           mean KL(float || quantized) of the softmax outputs, nats
     * @param imagesPerSecond  the model's forward alone
     */
    public record Evaluation(String model, int images, double top1, double top5, double floatTop1, double agreement,
                             double meanKl, double imagesPerSecond) {}

    /**
     * One class of a prediction.
     *
     * @param index       the class index
     * @param name        its name: the model's own class names (a folder's labels), else ImageNet's for 1000 classes
     * @param probability its softmax probability
     */
    public record ClassScore(int index, String name, double probability) {}

    /**
     * The top-5 classes of one image.
     *
     * @param image the image file
     * @param top5  most probable first
     */
    public record Prediction(Path image, List<ClassScore> top5) {
        public Prediction {
            top5 = List.copyOf(top5);
        }
    }

    /** A failure the caller can fix: the message names the file, tensor or value, in one line. */
    public static final class VitqException extends RuntimeException {
        /**
         * @param message one line naming what is wrong
         * @param cause   the internal exception it comes from
         */
        public VitqException(String message, Throwable cause) { super(message, cause); }
    }

    /**
     * What a checkpoint may not say about itself, given by the caller: the head count of a bare ViT
     * checkpoint file, a Swin's input size, and the eval transform of a bare file or of a model folder
     * whose config has none (all four of mean, std, crop ratio and interpolation). Over a model that
     * says them they override it. Immutable; each method returns a copy with one value set. Error
     * messages name these by their command-line options ({@code --heads}, {@code --img-size},
     * {@code --mean}, {@code --std}, {@code --crop-pct}, {@code --interpolation}).
     */
    public static final class LoadOptions {
        private final Integer heads, imageSize;
        private final float[] mean, std;
        private final Double cropPct;
        private final String interpolation;

        private LoadOptions(Integer heads, Integer imageSize, float[] mean, float[] std, Double cropPct, String interpolation) {
            this.heads = heads;
            this.imageSize = imageSize;
            this.mean = mean;
            this.std = std;
            this.cropPct = cropPct;
            this.interpolation = interpolation;
        }

        /** @return no options: what the checkpoint says, as {@link #load(String)} takes it */
        public static LoadOptions none() { return new LoadOptions(null, null, null, null, null, null); }

        /** @param n attention heads of a ViT/DeiT (no tensor stores them) */
        public LoadOptions heads(int n) { return new LoadOptions(n, imageSize, mean, std, cropPct, interpolation); }

        /** @param size the input size of a bare Swin checkpoint (a ViT's is its position embedding's) */
        public LoadOptions imageSize(int size) { return new LoadOptions(heads, size, mean, std, cropPct, interpolation); }

        /** @param rgb the normalisation mean, three channels (e.g. 0.485, 0.456, 0.406) */
        public LoadOptions mean(float... rgb) { return new LoadOptions(heads, imageSize, channels("mean", rgb), std, cropPct, interpolation); }

        /** @param rgb the normalisation standard deviation, three channels */
        public LoadOptions std(float... rgb) { return new LoadOptions(heads, imageSize, mean, channels("std", rgb), cropPct, interpolation); }

        /** @param p the centre crop ratio: resize to floor(size / p), crop size (timm's crop_pct) */
        public LoadOptions cropPct(double p) { return new LoadOptions(heads, imageSize, mean, std, p, interpolation); }

        /** @param name the resize filter: bicubic, bilinear or nearest (PIL's) */
        public LoadOptions interpolation(String name) {
            return new LoadOptions(heads, imageSize, mean, std, cropPct, Objects.requireNonNull(name, "interpolation"));
        }

        private static float[] channels(String what, float[] rgb) {
            if (rgb == null || rgb.length != 3) throw new VitqException("--" + what + ": three values (R, G, B) expected", null);
            return rgb.clone();
        }

        io.vitq.io.ModelOverrides overrides() {
            return new io.vitq.io.ModelOverrides(heads, imageSize, null, null, mean, std, cropPct,
                    io.vitq.io.ModelOverrides.parseInterpolation(interpolation));
        }
    }

    private final ModelLoader.Loaded loaded;
    private final QuantPlan plan;
    private final double calibrationSeconds;
    private final Progress progress;

    private Vitq(ModelLoader.Loaded loaded, QuantPlan plan, double calibrationSeconds, Progress progress) {
        // the float model the plan's ops quantize (a plan with LayerNorm folds changes it)
        this.loaded = plan == null ? loaded : io.vitq.io.Reparameterization.apply(loaded, plan);
        this.plan = plan;
        this.calibrationSeconds = calibrationSeconds;
        this.progress = progress;
    }

    // ---------------------------------------------------------------- loading

    /**
     * Loads a model: a zoo name ({@code vit_tiny_patch16_224}; the weights are looked for in
     * {@code $VITQ_MODELS}, the vitq folder's {@code models} and {@code demo/models}, {@code ./models},
     * {@code ./demo/models}, {@code ~/.cache/vitq/models} and the Hugging Face cache), a Hugging
     * Face name ({@code timm/vit_small_patch16_224.augreg_in21k_ft_in1k}, from the Hugging Face
     * cache), a model folder (config.json beside the weights), a timm checkpoint file named after a
     * zoo entry, or a quantized model file written by {@link #save}.
     *
     * @param model the name, folder or file
     * @return the loaded model (float, or quantized for a quantized file)
     * @throws VitqException when nothing loads under that name, or the files are not a model vitq implements
     */
    public static Vitq load(String model) {
        Objects.requireNonNull(model, "model");
        return call(() -> new Vitq(ModelLoader.load(model, null), null, Double.NaN, null));
    }

    /**
     * {@link #load(String)} with what the checkpoint does not say (or is to be overridden).
     *
     * <pre>{@code
     * Vitq m = Vitq.load("my_deit.pth", Vitq.LoadOptions.none().heads(3)
     *         .mean(0.485f, 0.456f, 0.406f).std(0.229f, 0.224f, 0.225f).cropPct(0.875).interpolation("bicubic"));
     * }</pre>
     *
     * @param model   the name, folder or file
     * @param options what the checkpoint does not say; {@link LoadOptions#none()} for none
     * @return the loaded model
     * @throws VitqException when nothing loads, or a value the checkpoint lacks is not given (the message names it)
     */
    public static Vitq load(String model, LoadOptions options) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(options, "options");
        return call(() -> new Vitq(ModelLoader.load(model, null, options.overrides()), null, Double.NaN, null));
    }

    /**
     * Loads a zoo model with the weights of a checkpoint file.
     *
     * @param zooName    a zoo name ({@code vitq models} lists them), which gives the architecture and preprocessing
     * @param checkpoint timm's weights for it (safetensors or PyTorch .pth)
     * @return the float model
     */
    public static Vitq load(String zooName, Path checkpoint) {
        Objects.requireNonNull(zooName, "zooName");
        Objects.requireNonNull(checkpoint, "checkpoint");
        return call(() -> new Vitq(ModelLoader.load(zooName, checkpoint), null, Double.NaN, null));
    }

    /**
     * @param p where to report the progress of long steps (null: silent, the default)
     * @return the same model, reporting its progress to {@code p}
     */
    public Vitq withProgress(Progress p) {
        return new Vitq(loaded, plan, calibrationSeconds, p);
    }

    // ---------------------------------------------------------------- what it is

    /** @return the model's name (zoo name, folder name or the Hugging Face name it was loaded by) */
    public String name() { return loaded.model().name(); }

    /** @return true for a quantized model (from {@link #quantize} or a quantized file) */
    public boolean isQuantized() { return plan() != null; }

    /** @return {@code FP32}, or the quantization's bits: {@code W8A8}, {@code W6A6}, {@code MP8} ... */
    public String bits() {
        QuantPlan p = plan();
        return p == null ? "FP32" : p.info().bitsLabel();
    }

    /** @return the quantization method's name ({@code ptq4vit} ...), or null for a float model */
    public String method() { return plan() == null ? null : plan().info().method(); }

    /** @return the number of parameters (weights, biases, embeddings) */
    public long parameterCount() { return loaded.model().parameterCount(); }

    /** @return the number of classes the model predicts */
    public int numClasses() { return loaded.model().numClasses(); }

    /** @return the files the model was read from (a checkpoint, or a folder's config and weights) */
    public List<Path> files() { return loaded.files(); }

    /** @return seconds the calibration took (images included) when this model came from {@link #quantize}; NaN otherwise */
    public double calibrationSeconds() { return calibrationSeconds; }

    private QuantPlan plan() { return plan != null ? plan : loaded.plan(); }

    // ---------------------------------------------------------------- quantizing

    /**
     * Post-training quantization: calibrates this float model on the first {@code calibrationSize}
     * images of {@code calibrationImages} (an ImageNet-style folder {@code root/<wnid>/*.JPEG} or a
     * list file, {@code path label} per line) with {@code method}'s settings and returns the
     * quantized model. Takes minutes on a laptop CPU for ViT-Ti (32 images).
     *
     * @param method            the calibration method, with its published settings
     * @param bits              {@code "w8a8"}, {@code "w6a6"}, any {@code "wXaY"} with 2..16 bits, or, with
     *                          {@link Method#VT_PTQ}, {@code "mp8"} / {@code "mp6"} (mixed precision at the size of 8 or 6 bits)
     * @param calibrationImages a folder or list file of images
     * @param calibrationSize   how many of them (the papers use 32)
     * @return the quantized model; this one is unchanged
     */
    public Vitq quantize(Method method, String bits, Path calibrationImages, int calibrationSize) {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(bits, "bits");
        Objects.requireNonNull(calibrationImages, "calibrationImages");
        return call(() -> {
            if (isQuantized()) throw new IllegalArgumentException(name() + " is already quantized: quantize the float model");
            if (calibrationSize <= 0) throw new IllegalArgumentException("calibration size must be positive, got " + calibrationSize);
            Pipeline.Bits b;
            try {
                b = Pipeline.Bits.parse(bits);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bits '" + bits + "': " + e.getMessage());
            }
            CalibConfig cfg = CalibConfig.forMethod(method.cliName(), b.weight(), b.activation());
            Pipeline.Calibration c = Pipeline.calibrate(loaded, calibrationImages, calibrationSize, cfg, b.mixed(), null,
                    MixedPrecisionCalibration.MsaNorm.SCORES, progresses());
            return new Vitq(c.model(), c.plan(), c.seconds(), progress);
        });
    }

    // ---------------------------------------------------------------- using

    /**
     * @param data a labelled ImageNet-style folder ({@code root/<wnid>/*.JPEG}) or list file ({@code path label} per line)
     * @return the accuracy on all its images
     */
    public Evaluation evaluate(Path data) { return evaluate(data, Integer.MAX_VALUE); }

    /**
     * @param data  as for {@link #evaluate(Path)}
     * @param limit how many images, from the first
     * @return the accuracy on the first {@code limit} images of {@code data}
     */
    public Evaluation evaluate(Path data, int limit) {
        Objects.requireNonNull(data, "data");
        return call(() -> {
            if (limit <= 0) throw new IllegalArgumentException("limit must be positive, got " + limit);
            QuantPlan p = plan();
            Model m = loaded.model();
            Executor ex = p == null ? FloatExecutor.INSTANCE : new FakeQuantExecutor(p, m);
            EvalResult r = Pipeline.evaluate(m, ex, p == null ? null : FloatExecutor.INSTANCE, data,
                    limit == Integer.MAX_VALUE ? null : limit, 32, "eval " + name() + (p == null ? "" : " " + method() + " " + bits() + " and float"), progresses());
            FpComparison c = r.comparison();
            double fpTop1 = c == null || r.labelled() == 0 ? Double.NaN : 100.0 * c.referenceTop1Correct() / r.labelled();
            return new Evaluation(name() + (p == null ? "" : " " + method() + " " + bits()), r.images(), r.top1(), r.top5(),
                    fpTop1, c == null ? Double.NaN : c.agreementPercent(), c == null ? Double.NaN : c.meanKl(),
                    r.forwardImagesPerSecond());
        });
    }

    /** Images per forward in {@link #predict} ({@link Pipeline#forward}: the memory of a few batches, however many images). */
    private static final int PREDICT_BATCH = 32;

    /**
     * @param images JPEG or PNG files (run 32 at a time)
     * @return the top-5 classes of each image, in the order given (none given: an empty list, as a loop over them
     *         would give; the command line's {@code predict} asks for one at least, since there it is a slip)
     */
    public List<Prediction> predict(Path... images) {
        Objects.requireNonNull(images, "images");
        for (int i = 0; i < images.length; i++) Objects.requireNonNull(images[i], "images[" + i + "]");
        List<Path> list = List.of(images);
        return call(() -> {
            if (list.isEmpty()) return List.of();
            Model m = loaded.model();
            QuantPlan p = plan();
            Executor ex = p == null ? FloatExecutor.INSTANCE : new FakeQuantExecutor(p, m);
            int nc = m.numClasses();
            List<Prediction> out = new ArrayList<>();
            Pipeline.forward(m, ex, list, PREDICT_BATCH, (start, inputs, logits) -> {
                for (int i = 0; i < inputs.dim(0); i++) {
                    TopK top = TopK.of(logits, i * nc, nc, 5);
                    List<ClassScore> scores = new ArrayList<>();
                    for (int j = 0; j < top.classes().length; j++) {
                        int c = top.classes()[j];
                        scores.add(new ClassScore(c, ClassNames.name(m.spec().classNames(), c, nc), top.probs()[j]));
                    }
                    out.add(new Prediction(list.get(start + i), scores));
                }
            });
            return out;
        });
    }

    /**
     * Writes the quantized model file (int8 codes of the weights, the plan, the architecture and
     * preprocessing) to {@code file}, through a temporary file renamed at the end; {@link #load}
     * reads it back.
     *
     * @param file the file to write (safetensors)
     * @return {@code file}
     */
    public Path save(Path file) {
        Objects.requireNonNull(file, "file");
        return call(() -> {
            if (plan() == null) throw new IllegalArgumentException(file + ": " + name() + " is a float model; quantize it first");
            if (loaded.quantized()) throw new IllegalArgumentException(file + ": " + name()
                    + " was loaded from a quantized file already (" + loaded.checkpoint() + ")");
            checkOutput(file, io.vitq.io.OutputKind.SAFETENSORS);
            QuantizedModelFile.write(file, loaded.model().spec(), loaded.weights(), io.vitq.io.Reparameterization.storedPlan(plan));
            return file;
        });
    }

    /**
     * Exports to ONNX (opset 17): a quantized model as a QDQ graph, a float model as a float graph.
     * Input {@code images} [N, 3, S, S] (preprocessed), output {@code logits} [N, classes].
     *
     * @param file the file to write
     * @return {@code file}
     */
    public Path exportOnnx(Path file) {
        Objects.requireNonNull(file, "file");
        return call(() -> {
            checkOutput(file, io.vitq.io.OutputKind.ONNX);
            OnnxExporter.write(file, loaded.model(), plan(), OnnxExporter.DEFAULT_OPSET);
            return file;
        });
    }

    /**
     * Exports a quantized model in the deployment form for ONNX Runtime ({@code vitq export
     * --float-attention --integer-linears}): each quantized Linear as an integer product that ONNX
     * Runtime fuses with its bias, the attention products on float operands, uint8 activation codes;
     * opset 17, or 21 where fc2's inputs are AdaLog's, whose codes are then looked up from fc1's
     * output. Faster in ONNX Runtime than {@link #exportOnnx}, and a slightly different model (its
     * attention unquantized; AdaLog's fc2 codes looked up, docs/LOWBIT.md 3.3): docs/ONNX.md
     * has its accuracy, docs/INTEGER.md its speed.
     *
     * @param file the file to write
     * @return {@code file}
     * @throws VitqException for a float model, or when the file cannot be written
     */
    public Path exportOnnxForOnnxRuntime(Path file) {
        Objects.requireNonNull(file, "file");
        return call(() -> {
            if (plan() == null) throw new IllegalArgumentException(file + ": " + name() + " is a float model; quantize it first");
            checkOutput(file, io.vitq.io.OutputKind.ONNX);
            OnnxExporter.writeForOnnxRuntime(file, loaded.model(), plan(), OnnxExporter.integerLinearsOpset(plan()));
            return file;
        });
    }

    @Override
    public String toString() {
        return name() + " (" + bits() + (method() == null ? "" : ", " + method()) + ", " + parameterCount() + " parameters)";
    }

    // ---------------------------------------------------------------- internals

    /**
     * The file an output goes to: in a directory that exists, not a directory itself (nor a link to one),
     * not one of the model's files, not named as another format's file ({@link io.vitq.io.OutputFiles}).
     */
    private void checkOutput(Path file, io.vitq.io.OutputKind kind) {
        new io.vitq.io.OutputFiles().output("", file, kind).model("model", loaded).check();
    }

    private Pipeline.Progresses progresses() {
        Progress p = progress;
        if (p == null) return Pipeline.Progresses.NONE;
        return (label, total) -> {
            p.update(label, 0, total); // the step starts now
            return new Pipeline.Progress() {
                @Override public void update(int done) { p.update(label, done, total); }

                @Override public void close() {}
            };
        };
    }

    private interface Body<T> {
        T run() throws IOException;
    }

    /** Runs {@code body}; the exceptions a caller can act on become a {@link VitqException} with the same message. */
    private static <T> T call(Body<T> body) {
        try {
            return body.run();
        } catch (ModelException | CheckpointException | DatasetException | ImageLoadException | IllegalArgumentException e) {
            throw new VitqException(e.getMessage(), e);
        } catch (IOException e) {
            throw new VitqException(message(e), e);
        } catch (UncheckedIOException e) {
            throw new VitqException(message(e.getCause()), e);
        }
    }

    private static String message(IOException e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException) return m + ": no such file";
        if (e instanceof java.nio.file.AccessDeniedException) return m + ": permission denied";
        return m;
    }
}
