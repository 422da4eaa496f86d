package io.vitq.model;

/**
 * Observes named intermediate tensors of a forward (block outputs, embeddings) without copying
 * unless the observer wants to: used by golden tests and, later, by calibration.
 */
@FunctionalInterface
public interface Probe {
    Probe NONE = (name, data, shape) -> {};

    /** {@code data} is live: copy what you keep. */
    void observe(String name, float[] data, int... shape);
}
