package io.vitq.cli;

import io.vitq.io.CheckpointException;
import io.vitq.model.ModelException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.Callable;

/** Entry point: picocli subcommands; user mistakes become one-line errors with a non-zero exit code. */
@Command(name = "vitq", mixinStandardHelpOptions = true, version = "vitq 0.1.0",
        description = "Post-training quantization of vision transformers for the JVM.%n"
                + "Without a command, runs the main job on the embedded data ('vitq demo'): quantizes the shipped ViT-Ti with "
                + "PTQ4ViT W8A8, evaluates float and quantized on 200 ImageNet images, writes the quantized model and its ONNX "
                + "export to a new folder.",
        subcommands = {DemoCommand.class, EvalCommand.class, PredictCommand.class, QuantizeCommand.class, DumpCommand.class,
                InspectCommand.class, CompareCommand.class, ExportCommand.class, AblationCommand.class, SweepCommand.class, BenchCommand.class, InfoCommand.class,
                ModelsCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {

    /**
     * Exit codes: 0 ok; 1 failed (a bad input file or data, or an option value the command refuses);
     * 2 the command line could not be parsed (an unknown or missing option, a value of the wrong type).
     */
    public static final int EXIT_ERROR = 1;

    @Override
    public Integer call() {
        return run("demo");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        if (args.length == 0) args = new String[] {"demo"};
        CommandLine cl = new CommandLine(new Main());
        shareVersion(cl, cl.getCommandSpec().version());
        AblationCommand.hideRefusedOptions(cl.getSubcommands().get("ablation").getCommandSpec());
        cl.setUsageHelpAutoWidth(true); // a wide terminal gets wide help (fewer paths and keys broken at a dot); else 80 columns
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("vitq: error: " + userMessage(ex));
            if (Boolean.getBoolean("vitq.debug")) ex.printStackTrace(cmd.getErr());
            return EXIT_ERROR;
        });
        cl.setParameterExceptionHandler(Main::usageError);
        // picocli hands Exceptions to the handler above; an Error such as running out of heap passes through it
        cl.setExecutionStrategy(parsed -> {
            String empty = emptyListItem(parsed);
            if (empty != null) { // a usage error like picocli's own: usageError reports it
                List<CommandLine> chain = parsed.asCommandLineList();
                throw new CommandLine.ParameterException(chain.get(chain.size() - 1), empty);
            }
            try {
                return new CommandLine.RunLast().execute(parsed);
            } catch (Error e) {
                List<CommandLine> chain = parsed.asCommandLineList();
                CommandLine last = chain.get(chain.size() - 1);
                last.getErr().println("vitq: error: " + (e instanceof OutOfMemoryError ? outOfMemory(last.getCommandSpec()) : userMessage(e)));
                if (Boolean.getBoolean("vitq.debug")) e.printStackTrace(last.getErr());
                return EXIT_ERROR;
            }
        });
        // 'vitq table --help': picocli would print the top-level help for the --help and drop the unknown command
        if (!args[0].startsWith("-") && !cl.getSubcommands().containsKey(args[0])) return cl.execute(args[0]);
        return cl.execute(args);
    }

    /**
     * An empty item in a comma-separated option ({@code --models a,,b}, a trailing comma, or an empty
     * value), as typed: picocli drops trailing empty items and passes inner ones on as "", so a typo
     * would either vanish or surface later as a confusing "no such model ''". Null when there is none.
     */
    static String emptyListItem(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult pr = parsed; pr != null; pr = pr.subcommand())
            for (CommandLine.Model.OptionSpec o : pr.matchedOptions()) {
                if (o.splitRegex().isEmpty()) continue;
                for (String v : o.originalStringValues())
                    for (String item : v.split(o.splitRegex(), -1))
                        if (item.isBlank())
                            return o.longestName() + " '" + v + "': an empty item in the comma-separated list";
            }
        return null;
    }

    /** Every subcommand's -V prints the tool's version (picocli gives a subcommand none of its own). */
    private static void shareVersion(CommandLine cmd, String[] version) {
        for (CommandLine sub : cmd.getSubcommands().values()) {
            sub.getCommandSpec().version(version);
            shareVersion(sub, version);
        }
    }

    /**
     * A command line picocli cannot parse: the error, any unknown options and close matches, and where
     * the options are listed; not the whole usage, which would scroll the one line that matters away.
     */
    private static int usageError(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        java.io.PrintWriter err = cmd.getErr();
        String message = ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
        if (message.startsWith("Error: ")) message = message.substring("Error: ".length());
        // picocli names an option of a group by its shortest name in its synopsis form (-d=DIR|LIST): the long
        // one says what it is; only that exact form is rewritten, not an argument quoted from the command line
        for (CommandLine.Model.OptionSpec o : cmd.getCommandSpec().options())
            if (!o.shortestName().equals(o.longestName()))
                message = message.replace(o.shortestName() + "=" + o.paramLabel(), o.longestName() + "=" + o.paramLabel());
        err.println("vitq: error: " + message);
        java.util.List<String> unknown = cmd.getUnmatchedArguments();
        if (!(ex instanceof CommandLine.UnmatchedArgumentException) && !unknown.isEmpty()) {
            err.println("vitq: also not understood: " + String.join(" ", unknown));
            // a misspelt option behind another error (--dat for a required --data): its close matches too
            CommandLine.UnmatchedArgumentException.printSuggestions(new CommandLine.UnmatchedArgumentException(cmd, unknown), err);
        } else {
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
        }
        // export and inspect take the model as their first argument, where the other commands have --model
        if (unknown.contains("--model") && cmd.getCommandSpec().findOption("--model") == null
                && cmd.getCommandSpec().positionalParameters().stream().anyMatch(p -> List.of("MODEL", "QUANTIZED").contains(p.paramLabel())))
            err.println("vitq: '" + cmd.getCommandSpec().qualifiedName() + "' takes the model as its first argument, without --model");
        err.println("Run '" + cmd.getCommandSpec().qualifiedName() + " --help' for the options.");
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** A one-line message for an exception; unexpected ones keep their type so a bug report is useful. */
    static String userMessage(Throwable ex) {
        if (ex instanceof UncheckedIOException u) ex = u.getCause();
        if (isUserError(ex)) {
            String m = ex.getMessage();
            if (ex instanceof java.nio.file.NoSuchFileException) m = m + ": no such file";
            if (ex instanceof java.nio.file.AccessDeniedException) m = m + ": permission denied";
            return m;
        }
        if (ex instanceof OutOfMemoryError) return outOfMemory(null);
        if (ex instanceof NoClassDefFoundError && String.valueOf(ex.getMessage()).startsWith("org/apache/spark/"))
            return "--spark: Spark's jars are not on the class path (the ./vitq launcher adds target/spark/jars/* with --spark;"
                    + " run through it, or add them to -cp with the flags of pom.xml's spark.jvm.args)";
        return ex + " (internal error; rerun with -Dvitq.debug=true for the stack trace)";
    }

    /**
     * What to do when a command runs out of heap: the options of that command that make it hold less
     * (the evaluation's batch, the calibration's images), then the heap; every option when the command
     * is not known.
     */
    static String outOfMemory(CommandLine.Model.CommandSpec command) {
        List<String> less = new java.util.ArrayList<>();
        if (command == null || command.findOption("--batch") != null) less.add("a smaller --batch");
        if (command == null || command.findOption("--calib-size") != null) less.add("fewer calibration images (--calib-size)");
        return "out of memory: " + (less.isEmpty() ? "" : "use " + String.join(" or ", less) + ", or ")
                + "raise the heap (VITQ_HEAP=-Xmx20g ./vitq ...)";
    }

    /** Exceptions that report a mistake in the input or the options: one line, their message. */
    static boolean isUserError(Throwable ex) {
        return ex instanceof ModelException || ex instanceof CheckpointException || ex instanceof UserException
                || ex instanceof io.vitq.data.DatasetException || ex instanceof io.vitq.data.ImageLoadException
                || ex instanceof IllegalArgumentException || ex instanceof IOException || ex instanceof io.vitq.Vitq.VitqException;
    }

    /** A user mistake detected by a command (bad option value, missing output directory). */
    public static final class UserException extends RuntimeException {
        public UserException(String message) { super(message); }
    }
}
