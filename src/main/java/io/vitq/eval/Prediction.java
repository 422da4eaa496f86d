package io.vitq.eval;

/** One image's result: its path, true label (-1 if unknown) and top-5. */
public record Prediction(String path, int label, TopK top) implements java.io.Serializable {}
