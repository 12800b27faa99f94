package io.vllmfactory.serve.supervise;

import java.util.List;

/** The fleet could not be started; the message names the cause, {@link #lastLines()} is the backend's own say. */
public final class StartFailure extends RuntimeException {
    private final List<String> lastLines;

    public StartFailure(String message, List<String> lastLines) {
        super(message);
        this.lastLines = List.copyOf(lastLines);
    }

    /** The failed backend's last output lines, oldest first; empty when no backend was involved. */
    public List<String> lastLines() {
        return lastLines;
    }
}
