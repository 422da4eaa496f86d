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
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
    public record Loaded(Model model, Path checkpoint, List<Path> files, Weights weights, List<String> notes, QuantPlan plan,
                         List<io.vitq.quant.NormFold> folds) {
        public Loaded {
            folds = List.copyOf(folds);
        }

        /** A checkpoint as it was read: no folds applied. */
        public Loaded(Model model, Path checkpoint, List<Path> files, Weights weights, List<String> notes, QuantPlan plan) {
            this(model, checkpoint, files, weights, notes, plan, List.of());
        }

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
        List<Path> dirs = new ArrayList<>(modelsVariable());
        String home = System.getProperty("vitq.home");
        if (home != null) {
            dirs.add(Path.of(home, "models"));
            dirs.add(Path.of(home, "demo", "models"));
        }
        dirs.add(Path.of("models"));
        dirs.add(Path.of("demo", "models"));
        dirs.add(Path.of(System.getProperty("user.home"), ".cache", "vitq", "models"));
        // the launcher's vitq.home is usually the working directory: list each folder once
        Set<Path> seen = new HashSet<>();
        dirs.removeIf(d -> !seen.add(d.toAbsolutePath().normalize()));
        return dirs;
    }

    public static Loaded load(String modelArg, Path checkpoint) {
        return load(modelArg, checkpoint, ModelOverrides.NONE);
    }

    public static Loaded load(String modelArg, Path checkpoint, ModelOverrides options) {
        if (modelArg.isBlank()) throw new ModelException("--model: empty name (a zoo name, a model folder or a checkpoint file)");
        ModelZoo.Entry named = ModelZoo.get(modelArg);
        Path file = checkpoint;
        String hubName = null; // the model's name when a Hub cache snapshot folder is loaded for a name
        if (named == null) {
            Path asPath = Path.of(modelArg);
            if (checkpoint == null && Files.exists(asPath)) {
                file = asPath;
            } else if (checkpoint == null && looksLikePath(modelArg, asPath) && !HubCache.has(HubCache.location(), modelArg)) {
                // a mistyped path must not read as a Hub name that was never downloaded
                throw new ModelException(modelArg + ": no such file or folder");
            } else if (checkpoint == null && HubCache.isRepoId(modelArg)) {
                file = HubCache.snapshot(HubCache.location(), modelArg);
                hubName = modelArg.substring(modelArg.indexOf('/') + 1);
            } else if (checkpoint == null) {
                throw new ModelException("unknown model '" + modelArg + "': not a zoo name (see 'vitq models'), a Hub name"
                        + " (ORG/NAME, e.g. timm/vit_small_patch16_224.augreg_in21k_ft_in1k), or a file or folder");
            } else if (Files.exists(asPath)) {
                throw new ModelException("--checkpoint " + checkpoint + ": goes with a zoo name, but the model " + modelArg
                        + " is a file or folder already; give one or the other");
            } else {
                throw new ModelException("unknown model '" + modelArg + "' (see 'vitq models'); to use a checkpoint of"
                        + " another architecture pass it as --model FILE");
            }
        } else if (file == null) {
            Optional<Path> found = findCheckpoint(named.name());
            if (found.isPresent()) {
                file = found.get();
            } else {
                file = HubCache.snapshotForZooName(HubCache.location(), named.name()).orElseThrow(() -> noWeights(named.name()));
                hubName = named.name();
            }
        }
        if (!Files.exists(file)) throw new ModelException(file + ": no such checkpoint file");
        List<String> notes = new ArrayList<>();
        if (Files.isDirectory(file)) {
            if (named != null && hubName == null) {
                throw new ModelException("--checkpoint " + file + ": a folder; pass a model folder as --model " + file
                        + " (its config.json names the architecture)");
            }
            ModelFolder.Contents c = ModelFolder.read(file, options);
            ModelSpec spec = c.spec();
            if (hubName != null) {
                // a snapshot folder is named by its commit hash: name the model as the user did
                spec = new ModelSpec(hubName, spec.architecture(), spec.preprocessing(), spec.classNames());
                notes.add("weights from the Hugging Face cache: " + file);
            }
            notes.add("model folder in " + c.layout() + " layout: architecture " + (c.transformInConfig() ? "and preprocessing " : "")
                    + "from its config" + (c.transformInConfig() ? "" : ", preprocessing from the options"));
            return build(options.apply(spec, c.weights()), c.weights(), file, c.files(), options, notes, c.transformInConfig());
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
        return build(spec, w, file, List.of(file), options, notes, entry != null);
    }

    /**
     * {@code transformInCheckpoint}: false when the options gave the transform the checkpoint lacked (a bare
     * checkpoint file, a folder without it), so they are not an override.
     */
    private static Loaded build(ModelSpec spec, Weights w, Path source, List<Path> files, ModelOverrides options,
                                List<String> notes, boolean transformInCheckpoint) {
        if (!options.isEmpty()) {
            notes.add((transformInCheckpoint ? "options over the checkpoint's own settings: " : "options: ") + options.describe());
        }
        return new Loaded(spec.build(w), source, List.copyOf(files), w, notes, null);
    }

    /** The file-name endings of the checkpoint files vitq reads and the zoo looks for. */
    private static final String CHECKPOINT_ENDING = "\\.(safetensors|pth|pt|bin)$";

    /** Whether a file's name ends like a checkpoint file's ({@code .safetensors|.pth|.pt|.bin}). */
    static boolean isCheckpointName(String fileName) {
        return fileName.matches(".*" + CHECKPOINT_ENDING);
    }

    private static String baseName(Path file) {
        return file.getFileName().toString().replaceFirst(CHECKPOINT_ENDING, "");
    }

    private static ModelException noWeights(String name) {
        return new ModelException("no weights found for '" + name + "': give a checkpoint file (--checkpoint FILE, a timm"
                + " safetensors or .pth; Vitq.load(name, file) in Java), put " + name + ".safetensors in one of the folders"
                + " searched (" + searchPath() + "; $VITQ_MODELS adds folders in front), or have timm/" + name + ".<tag> in the Hugging Face"
                + " cache (" + HubCache.location() + "; vitq never downloads)" + modelsVariableProblems());
    }

    /** The folders $VITQ_MODELS names, in order (none when it is not set). */
    private static List<Path> modelsVariable() {
        List<Path> dirs = new ArrayList<>();
        String env = System.getenv("VITQ_MODELS");
        if (env != null) for (String s : env.split(java.io.File.pathSeparator)) if (!s.isBlank()) dirs.add(Path.of(s));
        return dirs;
    }

    /** What is wrong with $VITQ_MODELS's entries, if anything: each names a folder to search. */
    private static String modelsVariableProblems() {
        StringBuilder b = new StringBuilder();
        for (Path p : modelsVariable()) {
            if (Files.isRegularFile(p))
                b.append("; $VITQ_MODELS names the file ").append(p).append(", but takes folders (this one's folder is ")
                        .append(p.toAbsolutePath().getParent()).append("; or give the file as --checkpoint)");
            else if (!Files.isDirectory(p)) b.append("; $VITQ_MODELS names ").append(p).append(", which does not exist");
        }
        return b.toString();
    }

    /** The first {@code <name>.*} or {@code <name>-*} checkpoint file ({@link #isCheckpointOf}) in the {@link #searchPath()}, if any. */
    public static Optional<Path> findCheckpoint(String name) {
        for (Path dir : searchPath()) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.list(dir)) {
                var hit = s.filter(p -> isCheckpointOf(name, p.getFileName().toString())).sorted().findFirst();
                if (hit.isPresent()) return hit;
            } catch (IOException ignored) {
                // unreadable directory: keep searching
            }
        }
        return Optional.empty();
    }

    /**
     * True for a checkpoint file of zoo model {@code name} on the search path: the name, then a tag,
     * a hash or the extension ({@code vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors},
     * {@code deit_tiny_patch16_224-a1311bcf.pth}). A name followed by '_' is another model
     * ({@code vit_base_patch16_224_miil}) or vitq's own output ({@code vit_tiny_patch16_224_ptq4vit_w8a8.safetensors}).
     */
    public static boolean isCheckpointOf(String name, String fileName) {
        if (!fileName.startsWith(name) || fileName.length() == name.length() || !isCheckpointName(fileName)) return false;
        char next = fileName.charAt(name.length());
        return next == '.' || next == '-';
    }

    /** File extensions a --model path has and a Hub repository name does not end with. */
    private static final List<String> MODEL_FILE_SUFFIXES = List.of(".safetensors", ".pth", ".pt", ".bin", ".vitq", ".json");

    /**
     * True for a --model argument that can only mean a path: absolute, relative to {@code .}, {@code ..} or
     * {@code ~}, ending in a separator, or ending in a model file's extension (a zoo or Hub name ends in
     * neither). {@code asPath} is the argument as a Path, for the absolute test; only the string keeps a
     * trailing separator.
     */
    static boolean looksLikePath(String arg, Path asPath) {
        String lower = arg.toLowerCase(java.util.Locale.ROOT);
        return asPath.isAbsolute() || arg.startsWith("./") || arg.startsWith("../") || arg.startsWith("~")
                || arg.endsWith("/") || arg.endsWith(java.io.File.separator)
                || MODEL_FILE_SUFFIXES.stream().anyMatch(lower::endsWith);
    }

    /**
     * The Hugging Face Hub cache, read only (vitq never downloads): where {@code huggingface_hub},
     * and so timm's {@code create_model(..., pretrained=True)} and transformers'
     * {@code from_pretrained}, keep what they fetched. A repository {@code ORG/NAME} is the folder
     * {@code models--ORG--NAME}; its files are in {@code snapshots/<commit>/} (usually symbolic links
     * into {@code ../../blobs/}), and {@code refs/main} names the commit the Hub's main branch had
     * when it was fetched. A snapshot with a {@code config.json} is a Hugging Face model folder
     * ({@link ModelFolder}), timm's or transformers' layout.
     *
     * <p>Which snapshot: the one {@code refs/main} names (what {@code huggingface_hub} itself loads
     * offline); without {@code refs/main}, the only snapshot with a {@code config.json}; several and
     * no {@code refs/main} is an error that lists them. A bare zoo name {@code NAME} matches
     * {@code models--timm--NAME} and the tagged {@code models--timm--NAME.<tag>}: the untagged
     * repository if present, else the only tag; several tags are an error listing them (the tags
     * are different weights, often with different preprocessing, so vitq does not pick one).
     */
    public static final class HubCache {
        private HubCache() {}

        /** True when {@code name} is a repository id with a folder in {@code cache}. */
        static boolean has(Path cache, String name) {
            return isRepoId(name) && Files.isDirectory(cache.resolve(folderName(name)));
        }

        /** A repository found in the cache: its id, the snapshot vitq would load, or why none. */
        public record Repo(String id, Path folder, Path snapshot, String problem, String describe) {}

        /**
         * The cache folder as {@code huggingface_hub} finds it: {@code $HF_HUB_CACHE},
         * {@code $HUGGINGFACE_HUB_CACHE}, {@code $HF_HOME/hub}, {@code $XDG_CACHE_HOME/huggingface/hub},
         * else {@code ~/.cache/huggingface/hub}.
         */
        public static Path location() {
            return location(System.getenv(), System.getProperty("user.home"));
        }

        static Path location(Map<String, String> env, String home) {
            for (String k : List.of("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")) {
                String v = env.get(k);
                if (v != null && !v.isBlank()) return Path.of(v);
            }
            String hf = env.get("HF_HOME");
            if (hf != null && !hf.isBlank()) return Path.of(hf, "hub");
            String xdg = env.get("XDG_CACHE_HOME");
            if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "huggingface", "hub");
            return Path.of(home, ".cache", "huggingface", "hub");
        }

        private static final java.util.regex.Pattern REPO_ID =
                java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*");

        /** True for a Hub repository id, {@code ORG/NAME}. */
        public static boolean isRepoId(String s) {
            return REPO_ID.matcher(s).matches() && !s.contains("--") && !s.contains("..");
        }

        /** {@code ORG/NAME} -> {@code models--ORG--NAME}, the Hub cache's folder name. */
        public static String folderName(String repoId) { return "models--" + repoId.replace("/", "--"); }

        /** The snapshot folder of repository {@code repoId} in {@code cache}; an error says what is missing. */
        public static Path snapshot(Path cache, String repoId) {
            Path repo = cache.resolve(folderName(repoId));
            if (!Files.isDirectory(repo)) {
                throw new ModelException(repoId + ": not in the Hugging Face cache (no " + repo + "); vitq never downloads:"
                        + " fetch it with the Hugging Face tools (huggingface-cli download " + repoId + ", or timm.create_model("
                        + "'hf-hub:" + repoId + "', pretrained=True)), or pass a model folder");
            }
            return snapshotOf(repo, repoId);
        }

        private static Path snapshotOf(Path repo, String repoId) {
            Path snapshots = repo.resolve("snapshots");
            Path ref = repo.resolve("refs").resolve("main");
            if (Files.isRegularFile(ref)) {
                String commit;
                try {
                    commit = Files.readString(ref).strip();
                } catch (IOException e) {
                    throw new CheckpointException(ref + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
                }
                Path snap = snapshots.resolve(commit);
                if (!commit.isEmpty() && !commit.contains("/") && ModelFolder.isModelFolder(snap)) return snap;
                throw new ModelException(repoId + ": " + ref + " names snapshot '" + commit + "', but " + snap
                        + " has no config.json (an incomplete download?)");
            }
            List<Path> found = new ArrayList<>();
            if (Files.isDirectory(snapshots)) {
                try (Stream<Path> s = Files.list(snapshots)) {
                    s.filter(ModelFolder::isModelFolder).sorted().forEach(found::add);
                } catch (IOException e) {
                    throw new CheckpointException(snapshots + ": cannot list (" + io.vitq.data.FileErrors.reason(e) + ")", e);
                }
            }
            if (found.size() == 1) return found.get(0);
            if (found.isEmpty()) {
                throw new ModelException(repoId + ": " + repo + " has no snapshot with a config.json (snapshots/<commit>/config.json)");
            }
            throw new ModelException(repoId + ": " + repo + " has " + found.size() + " snapshots and no refs/main to choose"
                    + " between them; pass the one to load as --model FOLDER: " + found);
        }

        /**
         * The snapshot for a bare zoo name: {@code models--timm--NAME}, else the only
         * {@code models--timm--NAME.<tag>}; empty when there is neither.
         *
         * @throws ModelException when several tags are cached (listing them as {@code timm/NAME.<tag>})
         */
        public static Optional<Path> snapshotForZooName(Path cache, String name) {
            String exact = folderName("timm/" + name);
            if (Files.isDirectory(cache.resolve(exact))) return Optional.of(snapshot(cache, "timm/" + name));
            List<String> tagged = new ArrayList<>();
            if (Files.isDirectory(cache)) {
                try (Stream<Path> s = Files.list(cache)) {
                    s.map(p -> p.getFileName().toString()).filter(f -> f.startsWith(exact + ".")).sorted()
                            .filter(f -> Files.isDirectory(cache.resolve(f))).forEach(tagged::add);
                } catch (IOException e) {
                    return Optional.empty(); // an unreadable cache holds nothing for us
                }
            }
            if (tagged.isEmpty()) return Optional.empty();
            if (tagged.size() > 1) {
                throw new ModelException(name + ": the Hugging Face cache " + cache + " has " + tagged.size() + " tags of it ("
                        + String.join(", ", tagged.stream().map(HubCache::repoId).toList()) + "), which are different weights;"
                        + " give the one to load, e.g. --model " + repoId(tagged.get(0)));
            }
            return Optional.of(snapshot(cache, repoId(tagged.get(0))));
        }

        /** {@code models--ORG--NAME} -> {@code ORG/NAME}. */
        static String repoId(String folder) {
            String rest = folder.substring("models--".length());
            int i = rest.indexOf("--");
            return i < 0 ? rest : rest.substring(0, i) + "/" + rest.substring(i + 2);
        }

        /** Every model repository in {@code cache} (sorted), with the snapshot vitq would load or why it cannot. */
        public static List<Repo> list(Path cache) {
            List<Repo> out = new ArrayList<>();
            if (!Files.isDirectory(cache)) return out;
            List<Path> repos;
            try (Stream<Path> s = Files.list(cache)) {
                repos = s.filter(p -> p.getFileName().toString().startsWith("models--") && Files.isDirectory(p)).sorted().toList();
            } catch (IOException e) {
                return out;
            }
            for (Path repo : repos) {
                String id = repoId(repo.getFileName().toString());
                try {
                    Path snap = snapshotOf(repo, id);
                    out.add(new Repo(id, repo, snap, null, describe(snap.resolve("config.json"))));
                } catch (RuntimeException e) {
                    out.add(new Repo(id, repo, null, e.getMessage(), null));
                }
            }
            return out;
        }

        /** "timm layout, vit_small_patch16_224" or "transformers layout, vit" from a config.json; the error otherwise. */
        private static String describe(Path config) {
            try {
                ConfigJson c = ConfigJson.read(config);
                if (TimmHubConfig.matches(c)) {
                    String arch = c.string("architecture", "?");
                    return "timm layout, architecture " + arch + (ModelZoo.get(arch) == null ? " (not one vitq implements)" : "");
                }
                if (TransformersFolder.matches(c)) return "transformers layout, model_type " + c.string("model_type", "?");
                return "config.json in neither timm's nor transformers' layout";
            } catch (RuntimeException e) {
                return e.getMessage();
            }
        }
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
