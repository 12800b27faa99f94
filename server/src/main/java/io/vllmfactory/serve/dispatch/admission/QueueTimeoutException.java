package io.vllmfactory.serve.dispatch.admission;

import java.time.Duration;

/** A request waited longer than the configured queue timeout for a free slot (503). */
public final class QueueTimeoutException extends RuntimeException {
    QueueTimeoutException(long waitedNanos) {
        super("no backend had a free slot within the queue timeout of " + Duration.ofNanos(waitedNanos));
    }
}
