package io.vllmfactory.simulator;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Request counters the tests and the metrics endpoint read. "In flight" counts a request from the moment its
 * handler starts until it has answered, including time spent waiting for a scheduler slot, so the peak shows
 * how many requests a proxy had open against this backend at once.
 */
final class Stats {
    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicLong peakInFlight = new AtomicLong();
    private final AtomicLong requestsTotal = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong inferenceSucceeded = new AtomicLong();

    /** A tracked request started. */
    void begin() {
        requestsTotal.incrementAndGet();
        long now = inFlight.incrementAndGet();
        peakInFlight.accumulateAndGet(now, Math::max);
    }

    /** A tracked request finished, whatever its outcome. */
    void end() {
        inFlight.decrementAndGet();
        served.incrementAndGet();
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
