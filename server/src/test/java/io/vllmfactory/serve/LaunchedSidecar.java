package io.vllmfactory.serve;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The sidecar processes a test launches ({@link SidecarProcesses}), each writing its output to a file. Whatever
 * still runs after the test is SIGKILLed, which the backend guards answer by stopping the backends, so a failed
 * test leaves nothing behind. Register it per test instance: {@code @RegisterExtension final LaunchedSidecar
 * sidecars = new LaunchedSidecar();}.
 */
final class LaunchedSidecar implements AfterEachCallback {
    private final List<Process> launched = new ArrayList<>();
    private Path output;

    /**
     * @param args   the sidecar's command line
     * @param output file that receives its stdout and stderr
     * @param env    environment entries to set or replace
     */
    Process launch(List<String> args, Path output, Map<String, String> env) throws IOException {
        Process p = SidecarProcesses.launch(List.of(), args, output, env);
        launched.add(p);
        this.output = output;
        return p;
    }

    /** What the last sidecar launched wrote so far, or why it cannot be read. */
    String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        for (Process p : launched) {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }
}
