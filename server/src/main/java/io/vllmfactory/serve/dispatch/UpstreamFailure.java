package io.vllmfactory.serve.dispatch;

/**
 * A backend failed before the client saw any byte of its response. {@code replayable} says whether
 * the request can still go to another backend (its body was not consumed beyond recall).
 */
final class UpstreamFailure extends Exception {
    private final boolean timeout;

    UpstreamFailure(String message, Throwable cause, boolean timeout) {
        super(message, cause, false, false);
        this.timeout = timeout;
    }

    /** The backend accepted the request but did not answer within the upstream timeout. */
    boolean timeout() {
        return timeout;
    }
}
