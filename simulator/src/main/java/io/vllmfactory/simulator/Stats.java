package io.vllmfactory.simulator;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Request counters the tests and the metrics endpoint read. "In flight" counts a request from the moment its
 * handler starts until it answers, including time spent waiting for a scheduler slot, so the peak shows
 * how many requests a proxy had open against this backend at once. An inference request stops counting
 * just before the last bytes of its answer go out ({@link Ticket#end()}): a proxy that sees the whole answer
 * may send the next request at once, and that one must not find this one still counted.
 */
final class Stats {
    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicLong peakInFlight = new AtomicLong();
    private final AtomicLong requestsTotal = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong inferenceSucceeded = new AtomicLong();

    /** A tracked request started; end it once with the ticket. */
    Ticket begin() {
        requestsTotal.incrementAndGet();
        long now = inFlight.incrementAndGet();
        peakInFlight.accumulateAndGet(now, Math::max);
        return new Ticket();
    }

    /** One tracked request: counted in flight until {@link #end()}, which counts once however often it is called. */
    final class Ticket {
        private final AtomicBoolean ended = new AtomicBoolean();

        /** The request finished (or is about to write its last bytes), whatever its outcome. */
        void end() {
            if (ended.compareAndSet(false, true)) {
                inFlight.decrementAndGet();
                served.incrementAndGet();
            }
        }
    }

    /** An inference request finished successfully (vLLM's {@code request_success_total}). */
    void recordInferenceSuccess() {
        inferenceSucceeded.incrementAndGet();
    }

    /** Restarts the peak from the requests open now and the served count from zero. */
    void reset() {
        peakInFlight.set(inFlight.get());
        served.set(0);
    }

    long inFlight() {
        return inFlight.get();
    }

    long peakInFlight() {
        return peakInFlight.get();
    }

    long requestsTotal() {
        return requestsTotal.get();
    }

    long served() {
        return served.get();
    }

    long inferenceSucceeded() {
        return inferenceSucceeded.get();
    }
}
