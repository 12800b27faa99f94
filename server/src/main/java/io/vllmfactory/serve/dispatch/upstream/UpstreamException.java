package io.vllmfactory.serve.dispatch.upstream;

/**
 * An exchange with a backend failed. What the dispatcher may do next depends on the kind: a
 * backend that could not be reached never saw the request; one that was lost with the request may
 * have died of it; a timeout or a malformed answer is the request's final answer (504, 502).
 */
public abstract sealed class UpstreamException extends Exception {
    UpstreamException(String message, Throwable cause) {
        super(message, cause, false, false);
    }

    /** No connection could be opened: the backend is down, and never saw the request. */
    public static final class Unreachable extends UpstreamException {
        public Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The connection failed or ended after the request went out and before the whole answer came
     * back (reset, closed early, a body cut short).
     */
    public static final class Lost extends UpstreamException {
        private final boolean reusedIdle;

        Lost(String message, Throwable cause, boolean reusedIdle) {
            super(message, cause);
            this.reusedIdle = reusedIdle;
        }

        /**
         * Whether it was a pooled connection that ended before any byte of an answer: most likely
         * the backend closed it while idle, so the request may go again on a fresh one.
         */
        public boolean reusedIdle() {
            return reusedIdle;
        }
    }

    /** The backend sent nothing for the upstream timeout. */
    public static final class Timeout extends UpstreamException {
        Timeout(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The backend's answer broke HTTP/1.1's framing or syntax; nothing of it can be trusted. */
    public static final class BadResponse extends UpstreamException {
        public BadResponse(String message) {
            super(message, null);
        }
    }
}
