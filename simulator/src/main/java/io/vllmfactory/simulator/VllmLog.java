package io.vllmfactory.simulator;

import java.io.PrintStream;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Lines on stdout in vLLM's format ({@code INFO 11-25 14:07:12 [api_server.py:1457] message}) and uvicorn's
 * ({@code INFO:     Uvicorn running on ...}), each flushed at once because launchers parse them to learn
 * that the server is up and on which port. This is the simulator's product output, not diagnostics; it
 * logs lifecycle and errors, nothing per request.
 */
final class VllmLog {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("MM-dd HH:mm:ss");

    private final PrintStream out;

    VllmLog(PrintStream out) {
        this.out = out;
    }

    /** A vLLM INFO line; {@code source} is the pretend Python file and line, e.g. {@code api_server.py:1457}. */
    void info(String source, String message) {
        line("INFO " + LocalDateTime.now().format(TIME) + " [" + source + "] " + message);
    }

    /** A vLLM ERROR line. */
    void error(String source, String message) {
        line("ERROR " + LocalDateTime.now().format(TIME) + " [" + source + "] " + message);
    }

    /** A line as is: uvicorn's lines and loading progress bars. */
    void line(String text) {
        synchronized (out) {
            out.println(text);
            out.flush();
        }
    }
}
