package io.vitq.model;

/** A model that cannot be built: missing or misshapen tensors, unknown names. */
public class ModelException extends RuntimeException {
    public ModelException(String message) { super(message); }
}
