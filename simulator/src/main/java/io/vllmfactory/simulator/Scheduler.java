package io.vllmfactory.simulator;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * vLLM's batch limit: at most {@code maxNumSeqs} inference requests run at once, later ones wait inside the
 * server in arrival order (a fair semaphore) rather than being rejected.
 */
final class Scheduler {
    private final Semaphore slots;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger peakRunning = new AtomicInteger();

    Scheduler(int maxNumSeqs) {
        this.slots = new Semaphore(maxNumSeqs, true);
    }

    /** Waits for a slot; close the returned slot to free it. */
    Slot admit() throws InterruptedException {
        waiting.incrementAndGet();
        try {
            slots.acquire();
        } finally {
            waiting.decrementAndGet();
        }
        peakRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
        return new Slot();
    }

    int running() {
        return running.get();
    }

    int waiting() {
        return waiting.get();
    }

    /** The most requests that ran at once since start or {@link #resetPeak()}; never above maxNumSeqs. */
    int peakRunning() {
        return peakRunning.get();
    }

    void resetPeak() {
        peakRunning.set(running.get());
    }

    /** A held scheduler slot. */
    final class Slot implements AutoCloseable {
        private boolean closed;

        private Slot() {
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                running.decrementAndGet();
                slots.release();
            }
        }
    }
}
