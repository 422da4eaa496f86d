package io.vitq.io;

import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.model.ModelException;
import io.vitq.model.ModelSpec;
import io.vitq.model.ModelZoo;
import io.vitq.model.Weights;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Turns what the user typed ({@code --model} as a zoo name, a Hugging Face model folder or a
 * checkpoint file; optional {@code --checkpoint}; the {@link ModelOverrides} options) into a model,
 * exactly or not at all: the architecture and eval transform come from a zoo name, a folder's config
 * files or the user's options, never from a guess, and the weights are loaded strictly (a tensor
 * missing or left over is an error naming it). A quantized model file ({@link QuantizedModelFile})
 * carries its own spec and plan. Notes for the user are collected in {@link Loaded#notes()}.
 */
public final class ModelLoader {

    /**
     * A loaded model with where it came from and notes for the user.
     *
     * @param checkpoint the file or folder given
     * @param files      the files read (config files and weights), whose bytes identify the checkpoint
     * @param weights    the tensors the model was built from, under timm's names (the decoded codes for a quantized file)
     * @param plan       the quantization plan when the file is a quantized model; null for a float checkpoint
     */
    public record Loaded(Model model, Path checkpoint, List<Path> files, Weights weights, List<String> notes, QuantPlan plan) {
        public boolean quantized() { return plan != null; }

        /** How the model runs: fake-quantized with its plan, or plain float. */
        public Executor executor() {
            return plan == null ? FloatExecutor.INSTANCE : new FakeQuantExecutor(plan, model);
        }

        /** SHA-256 of the files read, in order (hex): what a results file keys the checkpoint by. */
        public String identity() { return sha256(files); }
    }

    private ModelLoader() {}

    /** Directories searched for {@code <zoo-name>*.safetensors|.pth} when only a zoo name is given. */
    public static List<Path> searchPath() {
        List<Path> dirs = new ArrayList<>();
        String env = System.getenv("VITQ_MODELS");
        if (env != null) for (String s : env.split(java.io.File.pathSeparator)) if (!s.isBlank()) dirs.add(Path.of(s));
        String home = System.getProperty("vitq.home");
        if (home != null) {
            dirs.add(Path.of(home, "models"));
            dirs.add(Path.of(home, "demo", "models"));
        }
        dirs.add(Path.of("models"));
        dirs.add(Path.of("demo", "models"));
        dirs.add(Path.of(System.getProperty("user.home"), ".cache", "vitq", "models"));
        return dirs;
    }

    public static Loaded load(String modelArg, Path checkpoint) {
        return load(modelArg, checkpoint, ModelOverrides.NONE);
    }

    public static Loaded load(String modelArg, Path checkpoint, ModelOverrides options) {
        if (modelArg.isBlank()) throw new ModelException("--model: empty name (a zoo name, a model folder or a checkpoint file)");
        ModelZoo.Entry named = ModelZoo.get(modelArg);
        Path file = checkpoint;
        if (named == null) {
            Path asPath = Path.of(modelArg);
            if (checkpoint == null && Files.exists(asPath)) {
                file = asPath;
            } else if (checkpoint == null) {
                throw new ModelException("unknown model '" + modelArg + "': not a zoo name (see 'vitq models'), and no such file or folder");
            } else if (Files.exists(asPath)) {
                throw new ModelException("--checkpoint " + checkpoint + ": goes with a zoo name, but the model " + modelArg
                        + " is a file or folder already; give one or the other");
            } else {
                throw new ModelException("unknown model '" + modelArg + "' (see 'vitq models'); to use a checkpoint of"
                        + " another architecture pass it as --model FILE");
            }
        } else if (file == null) {
            file = find(named.name());
        }
        if (!Files.exists(file)) throw new ModelException(file + ": no such checkpoint file");
        List<String> notes = new ArrayList<>();
        if (Files.isDirectory(file)) {
            if (named != null) {
                throw new ModelException("--checkpoint " + file + ": a folder; pass a model folder as --model " + file
                        + " (its config.json names the architecture)");
            }
            ModelFolder.Contents c = ModelFolder.read(file);
            notes.add("model folder in " + c.layout() + " layout: architecture and preprocessing from its config");
            return build(options.apply(c.spec(), c.weights()), c.weights(), file, c.files(), options, notes);
        }
        if (QuantizedModelFile.isQuantizedModel(file)) {
            if (!options.isEmpty()) {
                throw new ModelException(options.describe() + ": " + file + " is a quantized model, which keeps the"
                        + " architecture and preprocessing it was made with");
            }
            Loaded q = QuantizedModelFile.load(file);
            if (named != null && !named.name().equals(q.model().name())) {
                throw new ModelException(file + ": is a quantized '" + q.model().name() + "', not '" + named.name() + "'");
            }
            return q;
        }
        Weights w = readWeights(file);
        ModelSpec spec;
        ModelZoo.Entry entry = named;
        if (entry == null) {
            entry = ModelZoo.matchFileName(file.getFileName().toString());
            if (entry != null) notes.add("architecture and preprocessing of '" + entry.name() + "' (from the file name)");
        }
        if (entry != null) {
            spec = options.apply(entry.specFor(w), w);
        } else {
            spec = options.forBareCheckpoint(baseName(file), w, file);
        }
        return build(spec, w, file, List.of(file), options, notes);
    }

    private static Loaded build(ModelSpec spec, Weights w, Path source, List<Path> files, ModelOverrides options,
                                List<String> notes) {
        if (!options.isEmpty()) notes.add("options over the checkpoint's own settings: " + options.describe());
        return new Loaded(spec.build(w), source, List.copyOf(files), w, notes, null);
    }

    private static String baseName(Path file) {
        return file.getFileName().toString().replaceFirst("\\.(safetensors|pth|pt|bin)$", "");
    }

    private static Path find(String name) {
        return findCheckpoint(name).orElseThrow(() -> new ModelException("no weights found for '" + name
                + "': pass --checkpoint FILE (timm safetensors or .pth), or put " + name + ".safetensors in one of "
                + searchPath()));
    }

    /** The first {@code <name>*.safetensors|.pth|.pt|.bin} in the {@link #searchPath()}, if any. */
    public static Optional<Path> findCheckpoint(String name) {
        for (Path dir : searchPath()) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.list(dir)) {
                var hit = s.filter(p -> {
                    String f = p.getFileName().toString();
                    return f.startsWith(name) && (f.endsWith(".safetensors") || f.endsWith(".pth") || f.endsWith(".pt")
                            || f.endsWith(".bin"));
                }).sorted().findFirst();
                if (hit.isPresent()) return hit;
            } catch (IOException ignored) {
                // unreadable directory: keep searching
            }
        }
        return Optional.empty();
    }

    /**
     * The float tensors of a checkpoint file (safetensors or .pth) under its own key names, as the
     * model builders read them. Integer tensors are allowed only as the buffers the models recompute.
     */
    public static Weights readWeights(Path file) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : Checkpoints.load(file).entrySet()) {
            RawTensor r = e.getValue();
            if (r.dtype().isFloating()) {
                m.put(e.getKey(), new Tensor(r.toFloats(), r.shape()));
            } else if (!Weights.isRecomputedBuffer(e.getKey())) {
                throw new CheckpointException(file + ": tensor '" + e.getKey() + "' is " + r.dtype()
                        + ", not a weight of a ViT, DeiT or Swin");
            }
        }
        return new Weights(file.toString(), m);
    }

    /** SHA-256 over the bytes of {@code files} in order, hex. */
    static String sha256(List<Path> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (Path f : files) {
                try (InputStream in = Files.newInputStream(f)) {
                    for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new CheckpointException(files + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
