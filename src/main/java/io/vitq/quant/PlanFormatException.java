package io.vitq.quant;

/** A plan file that cannot be read as a plan; the message names the file and the offending field. */
public class PlanFormatException extends RuntimeException {
    public PlanFormatException(String message) { super(message); }

    public PlanFormatException(String message, Throwable cause) { super(message, cause); }
}
