package io.vllmfactory.serve;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * SIGTERM and SIGINT start an orderly stop that ends with exit status 0 (systemd's stop and Ctrl-C
 * are requests, not failures). A second signal during the stop is ignored: the drain timeout bounds it.
 */
final class Signals {
    private Signals() {
    }

    static void onTermination(Runnable stop) {
        AtomicBoolean once = new AtomicBoolean();
        SignalHandler handler = sig -> {
            if (once.compareAndSet(false, true)) {
                Thread.ofPlatform().name("shutdown").start(stop);
            }
        };
        Signal.handle(new Signal("TERM"), handler);
        Signal.handle(new Signal("INT"), handler);
    }
}
