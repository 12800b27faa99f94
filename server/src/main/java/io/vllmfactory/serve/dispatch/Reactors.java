package io.vllmfactory.serve.dispatch;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The dispatcher's event loops: one {@link Reactor} per core, each with its own poller thread and
 * selector, so that the fast lane ({@link FastLane}) runs on every core, as HAProxy's threads do.
 * A client connection stays on the loop it was given, and the lane uses only backend connections
 * of the same loop, so one thread runs all of a request's events.
 */
final class Reactors implements AutoCloseable {
    private final Reactor[] loops;
    private final AtomicInteger next = new AtomicInteger();

    /** @param count how many loops, at least one */
    Reactors(int count) {
        loops = new Reactor[Math.max(1, count)];
        for (int i = 0; i < loops.length; i++) {
            loops[i] = new Reactor(true, i);
        }
    }

    /** The loop for a new connection: round-robin. */
    Reactor next() {
        return loops[Math.floorMod(next.getAndIncrement(), loops.length)];
    }

    int size() {
        return loops.length;
    }

    @Override
    public void close() {
        for (Reactor r : loops) {
            r.close();
        }
    }
}
