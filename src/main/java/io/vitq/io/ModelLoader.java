package io.vitq.io;

import io.vitq.data.Preprocessing;
import io.vitq.model.Model;
import io.vitq.model.ModelException;
import io.vitq.model.ModelZoo;
import io.vitq.model.SwinTransformer;
import io.vitq.model.VisionTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.model.Weights;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Turns what the user typed ({@code --model} as a zoo name or a checkpoint path, optional
 * {@code --checkpoint}) into a model: finds the weights file, reads it, maps the keys and builds
 * the architecture. A quantized model file ({@link QuantizedModelFile}) is recognised by its
 * metadata and names its own architecture; its plan comes back in {@link Loaded#plan()}. Notes for
 * the user (assumptions, ignored tensors) are collected in {@link Loaded#notes()}.
 */
public final class ModelLoader {

    /**
     * A loaded model with the file it came from and notes for the user.
     *
     * @param plan the quantization plan when the file is a quantized model ({@link QuantizedModelFile}),
     *             whose weights are then the decoded codes; null for a float checkpoint
     */
    public record Loaded(Model model, Path checkpoint, List<String> notes, QuantPlan plan) {
        public boolean quantized() { return plan != null; }

        /** How the model runs: fake-quantized with its plan, or plain float. */
        public io.vitq.model.Executor executor() {
            return plan == null ? io.vitq.model.FloatExecutor.INSTANCE : new io.vitq.quant.FakeQuantExecutor(plan, model);
        }
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
        if (modelArg.isBlank()) throw new ModelException("--model: empty name (a zoo name or a checkpoint file)");
        ModelZoo.Entry named = ModelZoo.get(modelArg);
        Path file = checkpoint;
        if (named == null) {
            Path asPath = Path.of(modelArg);
            if (checkpoint == null && Files.exists(asPath)) {
                file = asPath;
            } else if (checkpoint == null) {
                throw new ModelException("unknown model '" + modelArg + "': not a zoo name (see 'vitq models') and no such file");
            } else if (Files.exists(asPath)) {
                throw new ModelException("--checkpoint " + checkpoint + ": goes with a zoo name, but the model " + modelArg
                        + " is a file already; give one or the other");
            } else {
                throw new ModelException("unknown model '" + modelArg + "' (see 'vitq models'); to use a checkpoint of"
                        + " another architecture pass it as --model FILE");
            }
        } else if (file == null) {
            file = find(named.name());
        }
        if (!Files.exists(file)) throw new ModelException(file + ": no such checkpoint file");
        if (QuantizedModelFile.isQuantizedModel(file)) {
            // the file names its own architecture; a zoo name given with it must agree
            Loaded q = QuantizedModelFile.load(file);
            if (named != null && !named.name().equals(q.model().name())) {
                throw new ModelException(file + ": is a quantized '" + q.model().name() + "', not '" + named.name() + "'");
            }
            return q;
        }
        List<String> notes = new ArrayList<>();
        ModelZoo.Entry entry = named;
        if (entry == null) {
            entry = ModelZoo.matchFileName(file.getFileName().toString());
            if (entry != null) notes.add("architecture and preprocessing of '" + entry.name() + "' (from the file name)");
        }
        Weights w = toWeights(file, Checkpoints.load(file));
        Model model = entry != null ? entry.build(w) : inferred(baseName(file), w, notes);
        noteUnused(w, notes);
        return new Loaded(model, file, notes, null);
    }

    /**
     * The model {@code name} built from {@code w}: the zoo's architecture when {@code name} is a zoo
     * name, else the architecture inferred from tensor shapes (assumptions added to {@code notes}).
     * Quantized model files are written and read through this, so both sides build the same model.
     */
    static Model build(String name, Weights w, List<String> notes) {
        ModelZoo.Entry entry = ModelZoo.get(name);
        return entry != null ? entry.build(w) : inferred(name, w, notes);
    }

    static void noteUnused(Weights w, List<String> notes) {
        List<String> unused = w.unused();
        if (!unused.isEmpty()) {
            notes.add("ignored " + unused.size() + " tensor(s) not used by the model: "
                    + String.join(", ", unused.subList(0, Math.min(8, unused.size())))
                    + (unused.size() > 8 ? ", ..." : ""));
        }
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
    public static java.util.Optional<Path> findCheckpoint(String name) {
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
        return java.util.Optional.empty();
    }

    /** An architecture not named in the zoo: infer it from the tensor shapes. */
    private static Model inferred(String name, Weights w, List<String> notes) {
        if (w.has("patch_embed.proj.weight") && w.has("blocks.0.norm1.weight")) {
            ViTConfig cfg = VisionTransformer.inferConfig(w, null);
            Preprocessing spec = Preprocessing.timm(cfg.imgSize(), true);
            notes.add("architecture inferred from tensor shapes: ViT, " + cfg.heads() + " heads assumed (head dim 64)");
            notes.add("preprocessing assumed (timm's ViT default): " + spec.describe());
            return VisionTransformer.load(name, cfg, spec, w);
        }
        if (SwinTransformer.looksLikeSwin(w)) {
            SwinTransformer m = SwinTransformer.fromCheckpoint(name, w);
            notes.add("architecture inferred from tensor shapes: Swin, image size " + m.config().imgSize() + " assumed");
            notes.add("preprocessing assumed (timm's Swin default): " + m.preprocessing().describe());
            return m;
        }
        throw new ModelException(w.source() + ": not a ViT/DeiT/Swin checkpoint with timm key names (no 'patch_embed.proj.weight' with 'blocks.0.*'"
                + " or 'layers.0.blocks.0.*' tensors)");
    }

    /**
     * The float tensors of a checkpoint file (safetensors or .pth) under its own key names, as the
     * model builders read them: the {@code source} that {@link QuantizedModelFile#write} takes.
     */
    public static Weights readWeights(Path file) {
        return toWeights(file, Checkpoints.load(file));
    }

    static Weights toWeights(Path file, Map<String, RawTensor> raw) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : raw.entrySet()) {
            RawTensor r = e.getValue();
            if (!r.dtype().isFloating()) continue; // index buffers (relative_position_index) are recomputed
            m.put(e.getKey(), new Tensor(r.toFloats(), r.shape()));
        }
        return new Weights(file.toString(), m);
    }
}
