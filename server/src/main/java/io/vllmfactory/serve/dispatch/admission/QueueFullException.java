package io.vllmfactory.serve.dispatch.admission;

/** The waiting line is at its configured bound: the client is told to come back later (503). */
public final class QueueFullException extends RuntimeException {
    QueueFullException(int waiting) {
        super("all backends are busy and " + waiting + " requests are already waiting (max-queue)");
    }
}
