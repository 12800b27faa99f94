package io.vllmfactory.simulator;

/** A command line the simulator cannot run with; {@link Main} prints the message with the usage and exits 2. */
final class UsageException extends Exception {
    UsageException(String message) {
        super(message);
    }
}
