package io.vitq.data;

import io.vitq.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;

/**
 * A batch of preprocessed images from a {@link BatchLoader}.
 *
 * @param index  batch number, from 0
 * @param start  dataset index of the first image
 * @param images [size, 3, S, S] float32, CHW per image
 * @param labels per image, {@link Dataset#NO_LABEL} if unknown
 * @param paths  per image
 */
public record Batch(int index, int start, Tensor images, int[] labels, List<Path> paths) {
    public int size() { return labels.length; }
}
