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
    private boolean failing;

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
            } catch (IOException e) {
                failed(e);
                return;
            }
            write("===== " + Instant.now() + " " + header);
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
        write(line);
    }

    /**
     * Appends a line to the file. A line that cannot be written (a full disk) is dropped, the next one is
     * tried again: the backend keeps running and its output keeps being read either way.
     */
    private void write(String line) {
        if (writer == null) {
            return;
        }
        try {
            writer.write(line);
            writer.newLine();
            writer.flush(); // a crash's last words must reach the file
            if (failing) {
                failing = false;
                LOG.log(System.Logger.Level.INFO, "backend {0}: its log {1} is written again", id, file);
            }
        } catch (IOException e) {
            failed(e);
            reopen(); // a BufferedWriter keeps what it could not flush: start the next line on a clean one
        }
    }

    /** Says once, not once a line, that the log cannot be written. */
    private void failed(IOException e) {
        if (!failing) {
            failing = true;
            LOG.log(System.Logger.Level.WARNING, "backend {0}: cannot write its log {1}: {2}; its lines are"
                    + " dropped from the file (the backend keeps running) until it can be written again", id, file,
                    e.toString());
        }
    }

    private void reopen() {
        closeFile();
        try {
            writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            writer = null;
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
