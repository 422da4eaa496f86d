package io.vitq.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A command's arguments as a Spark worker must see them: every path absolute (workers run in their
 * own directories), so that re-parsing them there builds the same command.
 */
final class WorkerArgs {
    private WorkerArgs() {}

    /** Options naming a model: a zoo name stays as it is, a file that exists here becomes absolute. */
    private static final java.util.Set<String> MODEL_OPTIONS = java.util.Set.of("--models", "--model", "-m");

    /** The subcommand's name followed by its arguments, with path values made absolute. */
    static String[] of(CommandSpec spec) {
        // after @file expansion: a worker would read an argument file relative to its own folder
        List<String> original = spec.commandLine().getParseResult().expandedArgs();
        List<String> out = new ArrayList<>();
        out.add(spec.name());
        int start = original.indexOf(spec.name()) + 1; // the arguments after the subcommand
        for (int i = start; i < original.size(); i++) {
            String a = original.get(i);
            int eq = a.indexOf('=');
            String name = a.startsWith("-") && eq > 0 ? a.substring(0, eq) : a;
            OptionSpec o = a.startsWith("-") ? spec.findOption(name) : null;
            OptionSpec attached = o == null && a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-'
                    ? spec.findOption(a.substring(0, 2)) : null; // a short option with its value attached: -dDIR
            if (attached != null && takesPath(attached)) {
                out.add(a.substring(0, 2) + absolute(attached, a.substring(2)));
            } else if (o == null || !takesPath(o)) {
                out.add(a);
            } else if (eq > 0 && a.startsWith("-")) {
                out.add(name + "=" + absolute(o, a.substring(eq + 1)));
            } else {
                out.add(a);
                if (i + 1 < original.size()) out.add(absolute(o, original.get(++i)));
            }
        }
        return out.toArray(String[]::new);
    }

    private static boolean takesPath(OptionSpec o) {
        if (o.arity().max() == 0) return false;
        if (MODEL_OPTIONS.contains(o.longestName())) return true;
        if (o.type() == Path.class) return true;
        Class<?>[] aux = o.auxiliaryTypes();
        return aux.length > 0 && aux[0] == Path.class;
    }

    private static String absolute(OptionSpec o, String value) {
        String split = o.splitRegex();
        if (split == null || split.isEmpty()) return absolute1(o, value);
        List<String> parts = new ArrayList<>();
        for (String v : value.split(split, -1)) parts.add(absolute1(o, v));
        return String.join(",", parts);
    }

    private static String absolute1(OptionSpec o, String v) {
        if (v.isEmpty()) return v;
        if (MODEL_OPTIONS.contains(o.longestName())) return model(v);
        return Path.of(v).toAbsolutePath().normalize().toString();
    }

    /** A model argument as a worker must see it: a file that exists here made absolute, a zoo name as it is. */
    static String model(String v) {
        Path p = Path.of(v);
        return Files.exists(p) ? p.toAbsolutePath().normalize().toString() : v;
    }

    /** The command a worker rebuilds from {@link #of}: parsed by the same command line as the user's. */
    static Object parse(String[] args) {
        CommandLine.ParseResult pr = new CommandLine(new Main()).parseArgs(args);
        return pr.subcommand().commandSpec().userObject();
    }
}
