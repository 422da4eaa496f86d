package io.vitq.eval;

import io.vitq.tensor.Tensor;

/** A preprocessed batch: images [B, 3, S, S] with their labels (-1 when unknown) and source paths. */
public record Batch(Tensor images, int[] labels, String[] paths) {}
