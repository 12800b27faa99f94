package io.vllmfactory.simulator;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Injected failures that depend on traffic: a crash (the process dies as on a CUDA error) or a hang (every
 * endpoint, health included, stops answering as on a stuck GPU) once a number of inference requests have
 * been answered, or a crash on a poison input, whichever instance it reaches.
 */
final class Faults {
    private final long crashAfter;
    private final long hangAfter;
    private final Optional<String> crashOn;
    private final Runnable crash;
    private final AtomicLong answered = new AtomicLong();
    // never counted down: a hung simulator stays hung until the process ends
    private final CountDownLatch never = new CountDownLatch(1);
    private volatile boolean hung;

    /**
     * @param crashAfter answered inference requests before {@code crash} runs; 0 = never
     * @param hangAfter  answered inference requests before hanging; 0 = never
     * @param crashOn    an input text that makes {@code crash} run when a request brings it
     * @param crash      what a crash does ({@code Runtime.halt(1)} in the real process)
     */
    Faults(long crashAfter, long hangAfter, Optional<String> crashOn, Runnable crash) {
        this.crashAfter = crashAfter;
        this.hangAfter = hangAfter;
        this.crashOn = crashOn;
        this.crash = crash;
    }

    /** Call with an inference request's inputs once they are read: a poison input crashes the process. */
    void inputsReceived(List<String> inputs) {
        if (crashOn.isPresent() && inputs.stream().anyMatch(i -> i.contains(crashOn.get()))) {
            crash.run();
        }
    }

    /** Call after an inference request has been answered. */
    void inferenceAnswered() {
        long count = answered.incrementAndGet();
        if (hangAfter > 0 && count >= hangAfter) {
            hung = true;
        }
        if (crashAfter > 0 && count >= crashAfter) {
            crash.run();
        }
    }

    /** Blocks for good once the simulator hangs; returns at once before that. */
    void awaitIfHung() throws InterruptedException {
        if (hung) {
            never.await();
        }
    }

    boolean hung() {
        return hung;
    }
}
