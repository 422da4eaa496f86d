package io.vitq.model;

import java.util.regex.Pattern;

/** An op-id pattern as the command line takes it: {@code *} matches any characters ({@code blocks.*.mlp.fc2}), all else literally. */
public final class OpPattern {
    private OpPattern() {}

    /** The pattern as a regular expression that must match a whole op id. */
    public static Pattern compile(String pattern) {
        return Pattern.compile(Pattern.quote(pattern).replace("*", "\\E.*\\Q"));
    }

    /**
     * The kind of op {@code id}: every block or stage index replaced by {@code *}
     * ({@code blocks.3.mlp.fc2} and {@code layers.0.blocks.1.mlp.fc2} give {@code blocks.*.mlp.fc2} and
     * {@code layers.*.blocks.*.mlp.fc2}), a pattern that matches the op in every block.
     */
    public static String kind(String id) { return id.replaceAll("\\.\\d+\\.", ".*."); }
}
