package io.vitq.cli;

import io.vitq.io.ModelLoader;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.runtime.Int8Gemm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Architecture, parameter count, preprocessing and quantizable ops of a model.")
final class InfoCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = "--ops", description = "Also list every quantizable op id with its shape.")
    boolean ops;

    @Override
    public Integer call() {
        ModelLoader.Loaded l = modelOptions.load();
        Model m = l.model();
        System.out.println("model:         " + m.name());
        System.out.println("checkpoint:    " + l.checkpoint());
        List<String> arch = m.describe();
        for (int i = 0; i < arch.size(); i++) System.out.println((i == 0 ? "architecture:  " : "               ") + arch.get(i));
        System.out.printf(Locale.ROOT, "parameters:    %,d (%.1f MB as float32)%n", m.parameterCount(), m.parameterCount() * 4 / 1e6);
        System.out.println("preprocessing: " + m.preprocessing().describe());
        if (l.quantized()) {
            System.out.println("quantized:     " + l.plan().info().method() + " " + l.plan().info().bitsLabel() + ", "
                    + l.plan().ops().size() + " ops (plan: 'vitq inspect " + l.checkpoint() + "')");
        }
        System.out.println("int8 kernel:   " + Int8Gemm.kernelReason() + " (used by 'eval --integer' and 'dump')");
        System.out.println("quantizable:   " + m.linears().size() + " linear layers, " + 2 * m.attentionOps().size()
                + " attention matmuls");
        if (!m.spec().classNames().isEmpty()) {
            var n = m.spec().classNames();
            System.out.println("class names:   " + n.size() + " from the model's config (" + n.getFirst()
                    + (n.size() > 1 ? ", " + n.get(1) : "") + (n.size() > 2 ? ", ..." : "") + ")");
        } else {
            // predict names the classes this way: say so, since a 1000-class fine-tune on other data would be misnamed
            System.out.println("class names:   " + (io.vitq.eval.ClassNames.imageNetNames(m.numClasses())
                    ? "none in the model; its 1000 classes are named as ImageNet-1k's (timm's order)"
                    : "none in the model; 'class 0' .. 'class " + (m.numClasses() - 1) + "'"));
        }
        if (ops) {
            for (Linear lin : m.linears()) {
                String origin = l.weights().origin(lin.id() + ".weight");
                System.out.printf(Locale.ROOT, "  %-40s linear  [%d, %d]%s%n", lin.id(), lin.out(), lin.in(),
                        origin.equals(lin.id() + ".weight") ? "" : "  <- " + origin.replaceFirst("\\.weight$", ""));
            }
            for (var a : m.attentionOps()) {
                System.out.printf(Locale.ROOT, "  %-40s matmul  q.k^T, %d heads x %d tokens%n", a.matmul1Id(), a.spec().heads(), a.spec().tokens());
                System.out.printf(Locale.ROOT, "  %-40s matmul  softmax.v%n", a.matmul2Id());
            }
        }
        return 0;
    }
}
