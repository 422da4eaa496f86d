package io.vitq.io;

import io.vitq.model.ModelSpec;
import io.vitq.model.Weights;
import io.vitq.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A Hugging Face model folder, in either layout the Hub has for ViT, DeiT and Swin: timm's
 * ({@link TimmHubConfig}) or transformers' ({@link TransformersFolder}); {@code config.json} says
 * which. The weights are {@code model.safetensors}, its shards ({@code model.safetensors.index.json})
 * or {@code pytorch_model.bin}, in that order of preference, as transformers picks them.
 */
public final class ModelFolder {
    private ModelFolder() {}

    /**
     * What a folder holds: the spec from its config files, the weights under timm's names, the
     * files read (for the checkpoint's identity), the layout and whether the config gave the eval
     * transform (else the command line did), for notes.
     */
    public record Contents(ModelSpec spec, Weights weights, List<Path> files, String layout, boolean transformInConfig) {}

    /** True when {@code dir} is a directory with a {@code config.json}. */
    public static boolean isModelFolder(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve("config.json"));
    }

    /**
     * For a folder without config.json that holds checkpoint files (as a folder of downloaded timm
     * weights does): the two ways to load one, since the folder alone says nothing of the architecture.
     */
    private static String checkpointHint(Path dir) {
        List<String> files;
        try (var s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .filter(f -> ModelLoader.isCheckpointName(f) && !f.startsWith(".")).sorted().toList();
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return "";
        }
        if (files.isEmpty()) return "";
        String f = files.get(0);
        io.vitq.model.ModelZoo.Entry zoo = io.vitq.model.ModelZoo.matchFileName(f);
        return ". It holds " + (files.size() == 1 ? f + ": give the file (--model " + dir.resolve(f) + ")"
                : files.size() + " checkpoint files (" + String.join(", ", files.subList(0, Math.min(3, files.size())))
                        + (files.size() > 3 ? ", ..." : "") + "): give one, e.g. --model " + dir.resolve(f))
                + (zoo == null ? "" : ", or the folder on the zoo's search path with the architecture's name (VITQ_MODELS="
                        + dir + " ... --model " + zoo.name() + ")");
    }

    /**
     * Reads the folder; {@code options} give the eval transform where its config gives none (a
     * transformers folder without preprocessor_config.json, a timm config without pretrained_cfg).
     */
    public static Contents read(Path dir, ModelOverrides options) {
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException(dir + ": a directory without config.json; vitq reads Hugging Face model folders"
                    + " (config.json beside model.safetensors or pytorch_model.bin, in timm's or transformers' layout)"
                    + " or a checkpoint file" + checkpointHint(dir));
        }
        ConfigJson config = ConfigJson.read(configFile);
        List<Path> files = new ArrayList<>(List.of(configFile));
        Map<String, RawTensor> raw = tensors(dir, files);
        String name = dir.toAbsolutePath().normalize().getFileName().toString();
        if (TimmHubConfig.matches(config)) {
            ModelSpec spec = TimmHubConfig.spec(config, name, options);
            Map<String, Tensor> m = new LinkedHashMap<>();
            raw.forEach((k, r) -> {
                if (r.dtype().isFloating()) m.put(k, new Tensor(r.toFloats(), r.shape()));
                else if (!Weights.isRecomputedBuffer(k))
                    throw new CheckpointException(dir + ": tensor '" + k + "' is " + r.dtype() + ", not a weight of the model");
            });
            return new Contents(spec, new Weights(dir.toString(), m), files, "timm (config.json 'architecture')",
                    TimmHubConfig.hasTransform(config));
        }
        if (TransformersFolder.matches(config)) {
            Path pre = dir.resolve("preprocessor_config.json");
            boolean transform = Files.isRegularFile(pre);
            if (transform) files.add(pre);
            var r = TransformersFolder.read(dir, config, raw, dir.toString(), options);
            return new Contents(r.spec(), r.weights(), files, "transformers (config.json 'model_type')", transform);
        }
        throw config.error("neither timm's layout ('architecture') nor transformers' ('model_type', 'architectures')");
    }

    /** The folder's tensors; the weight files read are added to {@code files}. */
    private static Map<String, RawTensor> tensors(Path dir, List<Path> files) {
        Path st = dir.resolve("model.safetensors"), index = dir.resolve("model.safetensors.index.json"),
                bin = dir.resolve("pytorch_model.bin");
        if (Files.isRegularFile(st)) {
            files.add(st);
            return Checkpoints.load(st);
        }
        if (Files.isRegularFile(index)) return shards(dir, index, files);
        if (Files.isRegularFile(bin)) {
            files.add(bin);
            return Checkpoints.load(bin);
        }
        throw new CheckpointException(dir + ": no weights (model.safetensors, model.safetensors.index.json with its shards,"
                + " or pytorch_model.bin)");
    }

    /** The shards named by the index's {@code weight_map}, each tensor from the shard the index names. */
    private static Map<String, RawTensor> shards(Path dir, Path index, List<Path> files) {
        ConfigJson c = ConfigJson.read(index);
        ConfigJson map = c.object("weight_map");
        if (map == null) throw c.error("no 'weight_map'");
        files.add(index);
        Map<String, Map<String, RawTensor>> byShard = new LinkedHashMap<>();
        for (String shard : new TreeSet<>(map.keys().stream().map(k -> map.string(k, "")).toList())) {
            Path f = dir.resolve(shard).normalize();
            if (!f.getParent().equals(dir.toAbsolutePath().normalize()) && !f.getParent().equals(dir.normalize())) {
                throw c.error("weight_map names '" + shard + "', outside the folder");
            }
            if (!Files.isRegularFile(f)) throw c.error("weight_map names '" + shard + "', which is missing");
            files.add(f);
            byShard.put(shard, Checkpoints.load(f));
        }
        Map<String, RawTensor> out = new LinkedHashMap<>();
        for (String k : map.keys()) {
            String shard = map.string(k, "");
            RawTensor t = byShard.get(shard).get(k);
            if (t == null) throw new CheckpointException(dir.resolve(shard) + ": no tensor '" + k + "', which " + index.getFileName() + " places there");
            out.put(k, t);
        }
        for (var e : byShard.entrySet()) {
            for (String k : e.getValue().keySet()) {
                if (!out.containsKey(k)) {
                    throw new CheckpointException(dir.resolve(e.getKey()) + ": tensor '" + k + "' is not in "
                            + index.getFileName() + "'s weight_map");
                }
            }
        }
        return out;
    }
}
