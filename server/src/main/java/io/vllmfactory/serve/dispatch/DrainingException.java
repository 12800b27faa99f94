package io.vllmfactory.serve.dispatch;

/** The sidecar is shutting down and takes no new requests (503, Connection: close). */
final class DrainingException extends RuntimeException {
    DrainingException() {
        super("the dispatcher is shutting down and takes no new requests", null, false, false);
    }
}
