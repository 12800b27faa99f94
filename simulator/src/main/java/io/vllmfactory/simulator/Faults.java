package io.vllmfactory.simulator;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Injected failures that depend on traffic: a crash (the process dies as on a CUDA error) or a hang (every
 * endpoint, health included, stops answering as on a stuck GPU) once a number of inference requests have
 * been answered.
 */
final class Faults {
    private final long crashAfter;
    private final long hangAfter;
    private final Runnable crash;
    private final AtomicLong answered = new AtomicLong();
    // never counted down: a hung simulator stays hung until the process ends
    private final CountDownLatch never = new CountDownLatch(1);
    private volatile boolean hung;

    /**
     * @param crashAfter answered inference requests before {@code crash} runs; 0 = never
     * @param hangAfter  answered inference requests before hanging; 0 = never
     * @param crash      what a crash does ({@code Runtime.halt(1)} in the real process)
     */
    Faults(long crashAfter, long hangAfter, Runnable crash) {
        this.crashAfter = crashAfter;
        this.hangAfter = hangAfter;
        this.crash = crash;
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
