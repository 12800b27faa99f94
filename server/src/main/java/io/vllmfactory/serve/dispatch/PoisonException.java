package io.vllmfactory.serve.dispatch;

/**
 * Backends died while they held this request, as many as the poison limit allows: it goes to no
 * other one (502), so that a request that crashes whatever serves it cannot take the fleet down.
 */
final class PoisonException extends RuntimeException {
    PoisonException(int died, String last) {
        super("backends failed " + died + " times while they held this request (poison-limit " + died
                + "): it is not sent to another one; last: " + last, null, false, false);
    }
}
