package io.vitq.cli;

import io.vitq.io.ModelLoader;
import io.vitq.model.ModelException;
import io.vitq.model.ModelZoo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List the model zoo names, the weights vitq finds for them and where (the model search path and the "
                + "Hugging Face cache), and every model in the Hugging Face cache. Nothing is downloaded.")
final class ModelsCommand implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "PATTERN", description = "Only the zoo names that match (* matches any characters;"
            + " e.g. '*clip*', 'deit3_*' or 'swin_*'). Default: every name.")
    String pattern;

    @Override
    public Integer call() {
        Path hub = ModelLoader.HubCache.location();
        List<ModelZoo.Entry> entries = ModelZoo.entries();
        if (pattern != null) {
            if (pattern.isBlank()) throw new Main.UserException("models: empty PATTERN");
            java.util.regex.Pattern p = io.vitq.model.OpPattern.compile(pattern);
            entries = entries.stream().filter(e -> p.matcher(e.name()).matches()).toList();
            if (entries.isEmpty())
                throw new Main.UserException("models " + pattern + ": matches no zoo name ('*' matches any characters; 'vitq models' lists them all)");
        }
        int w = entries.stream().mapToInt(e -> e.name().length()).max().orElse(0);
        int m = Math.max(5, entries.stream().mapToInt(e -> e.summary().length()).max().orElse(0));
        String row = "%-" + w + "s %-" + m + "s %s%n";
        System.out.printf(row, "name", "model", "weights for the bare name (- : none found)");
        for (ModelZoo.Entry e : entries) {
            System.out.printf(row, e.name(), e.summary(), weightsFor(e.name(), hub));
            System.out.printf("%-" + w + "s preprocessing: %s%n", "", e.input().describe());
        }
        System.out.println();
        System.out.println("Checkpoint files in the model search path (VITQ_MODELS, then these folders; a zoo name loads the first"
                + " <name>.*, <name>.<tag>.* or <name>-<hash>.* (.safetensors|.pth|.pt|.bin), sorted by file name):");
        int files = 0;
        java.util.Set<Path> seen = new java.util.HashSet<>();
        for (Path dir : ModelLoader.searchPath()) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.filter(ModelsCommand::isCheckpoint).sorted().toList()) {
                    if (!seen.add(p.toRealPath())) continue; // the same folder reached twice (./demo/models and $home/demo/models)
                    ModelZoo.Entry e = ModelZoo.matchFileName(p.getFileName().toString());
                    String f = p.getFileName().toString();
                    System.out.printf("  %-80s %s%n", p, e == null ? "(no zoo name: load with --model FILE and the architecture options)"
                            : ModelLoader.isCheckpointOf(e.name(), f) ? e.name()
                            : "(not the bare name's: load with --model FILE, read as " + e.name() + ")");
                    files++;
                }
            } catch (IOException ignored) {
                // unreadable directory: nothing to list
            }
        }
        if (files == 0) System.out.println("  (none)");
        System.out.println("  searched: " + ModelLoader.searchPath());
        System.out.println();
        System.out.println("Hugging Face cache " + hub + " ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub); load one as"
                + " --model ORG/NAME:");
        List<ModelLoader.HubCache.Repo> repos = ModelLoader.HubCache.list(hub);
        if (repos.isEmpty()) System.out.println("  (none" + (Files.isDirectory(hub) ? ")" : ": no such folder)"));
        for (ModelLoader.HubCache.Repo r : repos) {
            if (r.problem() == null) System.out.printf("  %-56s %s  (%s)%n", r.id(), r.describe(), r.snapshot());
            else System.out.printf("  %-56s cannot be loaded: %s%n", r.id(), r.problem());
        }
        System.out.println();
        System.out.println("Weights are never downloaded. A bare zoo name loads the first match in the search path, else"
                + " timm/<name> or the only timm/<name>.<tag> in the Hugging Face cache (several tags: name one).");
        return 0;
    }

    private static boolean isCheckpoint(Path p) {
        String f = p.getFileName().toString();
        return Files.isRegularFile(p) && (f.endsWith(".safetensors") || f.endsWith(".pth") || f.endsWith(".pt") || f.endsWith(".bin"));
    }

    /** What {@code --model name} would load, without loading it. */
    static String weightsFor(String name, Path hub) {
        Optional<Path> file = ModelLoader.findCheckpoint(name);
        if (file.isPresent()) return file.get().toString();
        try {
            return ModelLoader.HubCache.snapshotForZooName(hub, name).map(p -> "HF cache: " + p).orElse("-");
        } catch (ModelException e) {
            return "HF cache: several tags, name one (see below)";
        }
    }
}
