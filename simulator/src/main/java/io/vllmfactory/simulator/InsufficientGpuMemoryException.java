package io.vllmfactory.simulator;

/** The pretend GPU has too little free memory; the message is vLLM's, ready for stderr. */
final class InsufficientGpuMemoryException extends Exception {
    InsufficientGpuMemoryException(String message) {
        super(message);
    }
}
