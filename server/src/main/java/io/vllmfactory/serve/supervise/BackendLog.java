package io.vllmfactory.serve.supervise;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One backend's output across its restarts: appended to {@code backend-<id>.log} under the log directory
 * and/or echoed to the sidecar's stderr as {@code [backend <id>] line}; the last lines of the current run
 * are kept for error reports.
 */
final class BackendLog {
    private static final System.Logger LOG = System.getLogger(BackendLog.class.getName());
    static final int TAIL = 20;

    private final int id;
    private final Path file;
    private final PrintStream echo;
    private final ArrayDeque<String> tail = new ArrayDeque<>(TAIL);
    private BufferedWriter writer;

    /**
     * @param id   the backend's id
     * @param dir  directory of the log file, or null for no file
     * @param echo where prefixed lines go, or null for nowhere
     */
    BackendLog(int id, Path dir, PrintStream echo) {
        this.id = id;
        this.file = dir == null ? null : dir.resolve("backend-" + id + ".log");
        this.echo = echo;
    }

    /** The log file, or null when output goes to stderr only. */
    Path file() {
        return file;
    }

    /** Starts the record of a new run with a header line. */
    synchronized void begin(String header) {
        tail.clear();
        closeFile();
        if (file != null) {
            try {
                writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
                writer.write("===== " + Instant.now() + " " + header);
                writer.newLine();
                writer.flush();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "backend {0}: cannot write its log {1}: {2}", id, file, e.toString());
                writer = null;
            }
        }
    }

    synchronized void line(String line) {
        if (tail.size() == TAIL) {
            tail.removeFirst();
        }
        tail.addLast(line);
        if (echo != null) {
            echo.println("[backend " + id + "] " + line);
        }
        if (writer != null) {
            try {
                writer.write(line);
                writer.newLine();
                writer.flush(); // a crash's last words must reach the file
            } catch (IOException e) {
                writer = null;
            }
        }
    }

    /** The last lines of the current run, oldest first. */
    synchronized List<String> tail() {
        return List.copyOf(tail);
    }

    /** The last non-blank line of the current run: usually the backend's own error. */
    synchronized String lastLine() {
        var it = tail.descendingIterator();
        while (it.hasNext()) {
            String l = it.next().strip();
            if (!l.isEmpty()) {
                return l;
            }
        }
        return "";
    }

    synchronized void end() {
        closeFile();
    }

    private void closeFile() {
        if (writer != null) {
            try {
                writer.close();
            } catch (IOException ignored) {
                // nothing more to write
            }
            writer = null;
        }
    }
}
