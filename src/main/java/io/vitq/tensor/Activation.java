package io.vitq.tensor;

/** Elementwise function fused into a GEMM's output store. */
public enum Activation {
    NONE, GELU
}
