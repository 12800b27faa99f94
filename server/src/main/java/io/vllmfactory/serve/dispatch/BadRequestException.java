package io.vllmfactory.serve.dispatch;

/** The client's request cannot be forwarded as it is (400, 431, 413); the connection closes after the answer. */
final class BadRequestException extends RuntimeException {
    private final int status;

    BadRequestException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    int status() {
        return status;
    }
}
