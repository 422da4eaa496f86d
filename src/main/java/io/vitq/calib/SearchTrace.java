package io.vitq.calib;

import java.util.function.Consumer;

/**
 * One argmax decision of the interval search, for diagnostics (e.g. showing that a scale that
 * differs from the reference implementation's was a near-tie): the candidates of each scale
 * group and every candidate's score.
 *
 * @param operand    "w", "a" (a Linear's weight and input) or "A", "B" (a matmul's operands)
 * @param candidates {@code [group][i]}
 * @param scores     {@code [i][group]}
 */
public record SearchTrace(String opId, String operand, float[][] candidates, double[][] scores) {

    /** Receives every decision while set (tests only; null in normal runs). */
    static volatile Consumer<SearchTrace> listener;

    static void emit(String opId, String operand, float[][] candidates, double[][] scores) {
        Consumer<SearchTrace> l = listener;
        if (l != null) l.accept(new SearchTrace(opId, operand, candidates, scores));
    }
}
