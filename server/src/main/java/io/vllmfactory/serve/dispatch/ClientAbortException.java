package io.vllmfactory.serve.dispatch;

/** The client went away (or sent a broken body) mid-request: nobody is left to answer. */
final class ClientAbortException extends RuntimeException {
    ClientAbortException(String message) {
        super(message, null, false, false);
    }
}
