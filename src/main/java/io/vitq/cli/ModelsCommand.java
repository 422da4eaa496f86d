package io.vitq.cli;

import io.vitq.io.ModelLoader;
import io.vitq.model.ModelZoo;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "models", mixinStandardHelpOptions = true, description = "List the model zoo names and where weights are looked for.")
final class ModelsCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.printf("%-36s %-26s %s%n", "name", "model", "preprocessing");
        for (ModelZoo.Entry e : ModelZoo.entries()) {
            System.out.printf("%-36s %-26s %s%n", e.name(), e.summary(), e.input().describe());
        }
        System.out.println();
        System.out.println("Weights are never downloaded. For a zoo name, vitq looks for <name>*.safetensors|.pth in: "
                + ModelLoader.searchPath() + " (VITQ_MODELS adds directories), or pass --checkpoint FILE.");
        return 0;
    }
}
