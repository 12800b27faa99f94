package io.vllmfactory.simulator;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** The simulator as the sidecar meets it: a child process started with {@code java -cp CP Main serve ...}. */
final class SimProcess implements AutoCloseable {
    private final Process process;
    private final List<String> stdout = new CopyOnWriteArrayList<>();
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final List<Thread> readers = new CopyOnWriteArrayList<>();

    private SimProcess(Process process) {
        this.process = process;
        collect(process.getInputStream(), stdout);
        collect(process.getErrorStream(), stderr);
    }

    static SimProcess start(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().keySet().removeIf(name -> name.startsWith("VLLM_SIM_"));
        return new SimProcess(builder.start());
    }

    /** Waits for a stdout line matching {@code match}. */
    String awaitStdout(Duration timeout, Predicate<String> match) {
        Poll.until(timeout, "a matching stdout line; stdout: " + stdout + " stderr: " + stderr,
                () -> stdout.stream().anyMatch(match) || !process.isAlive() && drained());
        return stdout.stream().filter(match).findFirst()
                .orElseThrow(() -> new AssertionError("exited with " + process.exitValue() + "; stdout: " + stdout
                        + " stderr: " + stderr));
    }

    /** The port from uvicorn's "Uvicorn running on http://HOST:PORT" line. */
    int awaitPort(Duration timeout) {
        String line = awaitStdout(timeout, l -> l.startsWith("INFO:     Uvicorn running on http://"));
        String url = line.substring(line.indexOf("http://") + "http://".length(), line.indexOf(" (Press"));
        return Integer.parseInt(url.substring(url.lastIndexOf(':') + 1));
    }

    /** Waits for the process to end; its exit status. */
    int awaitExit(Duration timeout) {
        Poll.until(timeout, "the simulator to exit; stdout: " + stdout + " stderr: " + stderr,
                () -> !process.isAlive());
        Poll.until(Duration.ofSeconds(5), "its output to be read", this::drained);
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    void terminate() {
        process.destroy();
    }

    List<String> stderr() {
        return stderr;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }

    private boolean drained() {
        return readers.stream().noneMatch(Thread::isAlive);
    }

    private void collect(InputStream stream, List<String> lines) {
        readers.add(Thread.ofVirtual().start(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }));
    }
}
