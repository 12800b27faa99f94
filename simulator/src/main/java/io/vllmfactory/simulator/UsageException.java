package io.vllmfactory.simulator;

/**
 * A command line the simulator cannot run with; {@link Main} prints the message with a usage line and exits 2.
 * Most are the simulator's own words; {@link #vllm(String)} ones are what vLLM's argparse says for the same
 * command line, so a launcher that passes a flag vLLM no longer takes fails here as it would on a GPU.
 */
final class UsageException extends Exception {
    private final boolean asVllm;

    UsageException(String message) {
        this(message, false);
    }

    private UsageException(String message, boolean asVllm) {
        super(message);
        this.asVllm = asVllm;
    }

    /** An error that {@code vllm serve} reports itself, with its program name and usage line. */
    static UsageException vllm(String message) {
        return new UsageException(message, true);
    }

    /** Whether to print it as {@code vllm serve} does. */
    boolean asVllm() {
        return asVllm;
    }
}
