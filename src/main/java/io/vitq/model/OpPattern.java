package io.vitq.model;

import java.util.regex.Pattern;

/** An op-id pattern as the command line takes it: {@code *} matches any characters ({@code blocks.*.mlp.fc2}), all else literally. */
public final class OpPattern {
    private OpPattern() {}

    /** The pattern as a regular expression that must match a whole op id. */
    public static Pattern compile(String pattern) {
        return Pattern.compile(Pattern.quote(pattern).replace("*", "\\E.*\\Q"));
    }
}
