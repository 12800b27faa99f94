package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.admission.Backend;

/**
 * What the request path tells observers about each request: how long the backend took to its first
 * byte, and how the request ended (with its time in line). The dispatcher's metrics and its access
 * log listen; with neither, nothing is recorded. Called on the request's thread: keep it cheap.
 */
public interface RequestEvents {
    /** Nothing recorded. */
    RequestEvents NONE = new RequestEvents() {
    };

    /** {@code backend} sent the first byte of its answer {@code nanos} after the request was written. */
    default void firstByte(Backend backend, long nanos) {
    }

    /**
     * The request ended.
     *
     * @param method  its method
     * @param rawPath its path, as sent
     * @param backend the backend whose answer it got, or null when the dispatcher answered (or nobody)
     * @param status  the answer's status, or 0 when the client got none (it left, or the answer broke off)
     * @param waited  its time in line, over all its attempts
     * @param nanos   its whole time in the dispatcher
     */
    default void finished(String method, String rawPath, Backend backend, int status, long waited, long nanos) {
    }

    /** Both {@code a} and {@code b} hear every event. */
    static RequestEvents both(RequestEvents a, RequestEvents b) {
        if (a == NONE) {
            return b;
        }
        if (b == NONE) {
            return a;
        }
        return new RequestEvents() {
            @Override
            public void firstByte(Backend backend, long nanos) {
                a.firstByte(backend, nanos);
                b.firstByte(backend, nanos);
            }

            @Override
            public void finished(String method, String rawPath, Backend backend, int status, long waited, long nanos) {
                a.finished(method, rawPath, backend, status, waited, nanos);
                b.finished(method, rawPath, backend, status, waited, nanos);
            }
        };
    }
}
