package io.vitq.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Problems found with a dataset's files (missing, not images), counted in full and shown up to
 * {@link #SHOWN}, one per line, so that one error names several at once without flooding the terminal.
 */
final class FileProblems {
    static final int SHOWN = 5;

    private final List<String> shown = new ArrayList<>();
    private int count;

    void add(String problem) {
        if (count++ < SHOWN) shown.add(problem);
    }

    int count() { return count; }

    /** Throws {@code "N <what>:"} and the problems shown, one per indented line, when there is any. */
    void throwIfAny(String what) {
        if (count == 0) return;
        throw new DatasetException(count + " " + what + ":\n  " + String.join("\n  ", shown) + (count > shown.size() ? "\n  ..." : ""));
    }
}
