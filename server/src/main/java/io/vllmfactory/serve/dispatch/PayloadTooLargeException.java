package io.vllmfactory.serve.dispatch;

/** The request body is larger than the configured cap (413). */
public final class PayloadTooLargeException extends RuntimeException {
    PayloadTooLargeException(long size, long max) {
        super("request body of " + size + " bytes exceeds max-body-size " + max);
    }
}
