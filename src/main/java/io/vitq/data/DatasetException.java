package io.vitq.data;

/**
 * A dataset description that cannot be used: a malformed list file, a missing image, an empty
 * folder. The message names the file (and line, for list files).
 */
public class DatasetException extends RuntimeException {
    public DatasetException(String message) { super(message); }

    public DatasetException(String message, Throwable cause) { super(message, cause); }
}
