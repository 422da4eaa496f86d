package io.vitq.cli;

import java.nio.file.Path;
import java.util.Locale;

/** Checks of the {@code --plot} options. */
final class Plots {
    private Plots() {}

    /** A chart file must be named *.png (the only format written); null (not asked for) passes. */
    static void checkPng(String option, Path file) {
        if (file == null) return;
        if (java.nio.file.Files.isDirectory(file))
            throw new Main.UserException(option + " " + file + ": is a directory; name the chart's file, *.png");
        if (file.getFileName() == null || !file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))
            throw new Main.UserException(option + " " + file + ": charts are written as PNG; name the file *.png");
    }
}
