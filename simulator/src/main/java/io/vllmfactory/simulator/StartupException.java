package io.vllmfactory.simulator;

/** Start-up failed the way vLLM's would; the message is the last line vLLM prints on stderr. */
final class StartupException extends Exception {
    StartupException(String message) {
        super(message);
    }
}
