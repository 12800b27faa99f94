package io.vllmfactory.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;

/** The sidecar as its own process, as systemd or a terminal runs it: signals, exit statuses, leftovers. */
class SidecarProcessTest {
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    @RegisterExtension
    final LaunchedSidecar sidecars = new LaunchedSidecar();

    private Process launch(List<String> args, String path) throws IOException {
        return sidecars.launch(args, dir.resolve("sidecar.out"),
                path == null ? Map.of() : Map.of("PATH", path));
    }

    /** Live processes whose command line names this test's pretend GPU: its backends and their guards. */
    private List<Long> backendProcesses(Process sidecar) {
        String ledger = SupervisedSidecars.ledger(dir).toString();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("\\d+")).filter(p -> {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    String state = Files.readString(p.resolve("stat"));
                    return cmd.contains(ledger) && !state.substring(state.lastIndexOf(')') + 2).startsWith("Z");
                } catch (IOException e) {
                    return false; // gone meanwhile
                }
            }).map(p -> Long.parseLong(p.getFileName().toString())).filter(pid -> pid != sidecar.pid()).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private Process startFleet(int port) throws Exception {
        List<String> args = SupervisedSidecars.args(dir, List.of("--num-instances", "2", "--port", Integer.toString(port)),
                List.of());
        Process sidecar = launch(args, null);
        try {
            Poll.until(DEADLINE, "the sidecar serves", () -> {
                if (!sidecar.isAlive()) {
                    throw new AssertionError("the sidecar exited with status " + sidecar.exitValue());
                }
                return Clients.statusOrNone(port, "/health") == 200;
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; its output:\n" + sidecars.output(), e);
        }
        assertThat(Clients.pooling(port, Clients.gliner("x", "y"), 0).statusCode(), is(200));
        // each backend and its guard (main shell and pipe watcher)
        assertThat(backendProcesses(sidecar).size(), is(6));
        return sidecar;
    }

    @Test
    void sigtermStopsEveryBackendAndExitsZero() throws Exception {
        int port = FreePorts.one();
        Process sidecar = startFleet(port);
        sidecar.destroy();
        assertThat(sidecar.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(0));
        assertThat(backendProcesses(sidecar), is(empty()));
        assertThat(sidecars.output(), containsString("STOPPING -> STOPPED"));
    }

    @Test
    void sigkillOfTheSidecarLeavesNoBackendBehind() throws Exception {
        int port = FreePorts.one();
        Process sidecar = startFleet(port);
        sidecar.destroyForcibly();
        assertThat(sidecar.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS), is(true));
        Poll.until(DEADLINE, "every backend of the killed sidecar is gone", () -> backendProcesses(sidecar).isEmpty());
    }

    @Test
    void aBackendThatCannotStartEndsTheSidecarWithItsOwnErrorAndExitStatusOne() throws Exception {
        Process sidecar = launch(SupervisedSidecars.args(dir, List.of("--num-instances", "2"),
                List.of("--sim-fail-startup", "CUDA error: out of memory")), null);
        assertThat(sidecar.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(1));
        String last = sidecars.output().strip().lines().toList().getLast();
        assertThat(last, containsString("vllm-factory-serve: error: backend 1/2 (port "));
        assertThat(last, containsString("exited with status 1 while loading: CUDA error: out of memory"));
        assertThat(sidecars.output(), containsString("  | CUDA error: out of memory"));
        assertThat(backendProcesses(sidecar), is(empty()));
    }

    @Test
    void aGpuWithoutTheMemoryAskedForIsReportedBeforeAnyBackendStarts() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path smi = Files.writeString(bin.resolve("nvidia-smi"), "#!/bin/sh\necho '81920, 30720'\n");
        Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        Process sidecar = launch(SupervisedSidecars.args(dir, List.of("--num-instances", "4"), List.of()),
                bin + ":" + System.getenv("PATH"));
        assertThat(sidecar.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(1));
        assertThat(sidecars.output().strip().lines().toList().getLast(), is("vllm-factory-serve: error: GPU 0 has 30.0 GiB free"
                + " of 80.0 GiB, but 4 instances at --gpu-memory-utilization 0.23 need 73.6 GiB: free the GPU"
                + " (nvidia-smi lists what holds it), or lower --num-instances or --gpu-memory-utilization"));
        assertThat(Files.exists(dir.resolve("logs/backend-0.log")), is(false));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unknown flag", "overlapping ports", "port taken", "no backend command"})
    void aBadConfigurationIsOneLineNamingTheSettingAndExitStatusTwo(String problem) throws Exception {
        int port = FreePorts.block(4);
        List<String> flags = new ArrayList<>(List.of("--port", Integer.toString(port)));
        String expected;
        try (ServerSocket holder = new ServerSocket()) {
            holder.bind(new InetSocketAddress("127.0.0.1", port));
            switch (problem) {
                case "unknown flag" -> {
                    flags.add("--instances");
                    expected = "unknown flag --instances (see --help; arguments for the backends go after --)";
                }
                case "overlapping ports" -> {
                    flags.addAll(List.of("--num-instances", "2", "--port-start", Integer.toString(port + 1),
                            "--admin-port", Integer.toString(port + 2)));
                    expected = "--admin-port: " + (port + 2) + " is among the backend ports " + (port + 1) + ".."
                               + (port + 2) + " (--port-start " + (port + 1) + ", --num-instances 2) (expected: a port"
                               + " outside them, or another --port-start)";
                }
                case "port taken" -> expected = "--port: 127.0.0.1:" + port + " is already in use (expected: a free"
                                                + " port; 'ss -ltnp sport = :" + port + "' shows who holds it)";
                default -> {
                    flags.addAll(List.of("--backend-command", "no-such-vllm serve"));
                    expected = "--backend-command: 'no-such-vllm' is not on PATH (expected: the command that starts"
                               + " one backend, e.g. 'vllm serve' with vLLM installed)";
                }
            }
            if (!problem.equals("port taken")) {
                holder.close();
            }
            Process sidecar = launch(SupervisedSidecars.args(dir, flags, List.of()), null);
            assertThat(sidecar.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS), is(true));
            assertThat(sidecars.output(), sidecar.exitValue(), is(2));
            assertThat(sidecars.output().strip().lines().toList(), is(List.of("vllm-factory-serve: error: " + expected)));
        }
    }
}
