package io.vllmfactory.serve.dispatch.admission;

import java.time.Duration;

/** No backend was healthy for as long as a request may wait for one (503). */
public final class NoBackendException extends RuntimeException {
    NoBackendException(long waitedNanos) {
        super("no healthy backend for " + Duration.ofNanos(waitedNanos) + " (unavailable-timeout)");
    }
}
