package io.vllmfactory.serve.dispatch.admission;

/** The client closed its connection while its request waited in line: nobody is left to answer. */
public final class ClientLeftException extends RuntimeException {
    ClientLeftException() {
        super("the client closed its connection while its request waited", null, false, false);
    }
}
