package io.vitq.model;

/**
 * A named piece of a model's forward (the embedding, one block, a patch merging, the head): the
 * model is the sequence of its segments. The backward recomputes and differentiates one segment at
 * a time from its stored input, so memory stays at a few segment-sized buffers.
 */
public interface Segment {
    /** The timm module name ({@code blocks.3}, {@code layers.1.downsample}), or {@code embed} / {@code head}. */
    String name();

    <T> T forward(T x, Ops<T> ops);
}
