package io.vitq.io;

/** A checkpoint or model file that cannot be read as expected; the message names the file or tensor. */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) { super(message); }

    public CheckpointException(String message, Throwable cause) { super(message, cause); }
}
