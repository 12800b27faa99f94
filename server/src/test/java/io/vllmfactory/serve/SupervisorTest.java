package io.vllmfactory.serve;

import io.vllmfactory.serve.supervise.BackendState;
import io.vllmfactory.serve.supervise.FleetException;
import io.vllmfactory.serve.supervise.InstanceView;
import io.vllmfactory.serve.supervise.StartFailure;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import static io.vllmfactory.serve.SupervisedSidecars.alive;
import static io.vllmfactory.serve.SupervisedSidecars.fleet;
import static io.vllmfactory.serve.SupervisedSidecars.instance;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The sidecar launches its backends, keeps them alive and stops them, against real simulator processes. */
class SupervisorTest {
    /** Upper bounds only: a backend's start is slow on a busy machine. */
    private static final Duration DEADLINE = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @Test
    void backendsStartOneAfterAnotherAndAllServeOnceTheSidecarIsUp() throws Exception {
        List<Long> pids;
        try (Transitions log = new Transitions();
             Sidecar sidecar = SupervisedSidecars.create(dir, List.of("--num-instances", "3"), List.of())) {
            // started by a thread that ends at once: the backends do not depend on it
            Thread starter = Thread.ofPlatform().start(sidecar::start);
            starter.join();
            for (int id = 0; id < 3; id++) {
                int starting = log.indexOf(id, "-> STARTING");
                int ready = log.indexOf(id, "STARTING -> READY");
                assertThat("backend " + id + " loads before it is ready", starting, lessThan(ready));
                if (id > 0) {
                    assertThat("backend " + id + " starts once backend " + (id - 1) + " is ready", starting,
                            greaterThan(log.indexOf(id - 1, "STARTING -> READY")));
                }
            }
            assertThat(log.lines().get(0).text(), containsString("STOPPED -> STARTING: start 1/3"));
            Set<Integer> servedBy = new HashSet<>();
            for (int k = 0; k < 9; k++) {
                HttpResponse<String> r = Clients.pooling(sidecar.port(), Clients.gliner("Apple in Cupertino", "org"), 0);
                assertThat(r.statusCode(), is(200));
                servedBy.add(Clients.backendIndex(r));
            }
            assertThat(servedBy, is(Set.of(0, 1, 2)));
            pids = SupervisedSidecars.pids(sidecar);
            assertThat(pids.size(), is(3));
            assertThat(fleet(sidecar).instances().stream().map(InstanceView::state).toList(),
                    everyItem(is(BackendState.READY)));
        }
        assertThat("a clean stop leaves no backend", pids.stream().filter(SupervisedSidecars::alive).toList(), is(empty()));
    }

    @Test
    void eachBackendRunsTheExactCommandLineWithItsShareOfTheGpu() throws Exception {
        // the simulator refuses --task as vLLM 0.19 does: the backends come up only if it became --runner/--convert
        try (Sidecar sidecar = SupervisedSidecars.start(dir, List.of("--num-instances", "2", "--max-batch-size", "4",
                "--dtype", "half", "--cuda-devices", "1", "--task", "embed", "--io-processor-plugin", "embeddinggemma_io"),
                List.of("--seed", "3", "--gpu-memory-utilization", "0.9"))) {
            for (int id = 0; id < 2; id++) {
                InstanceView v = instance(sidecar, id);
                List<String> expected = new ArrayList<>(SimulatorProcess.command());
                expected.addAll(List.of("test-model", "--host", "127.0.0.1", "--port", Integer.toString(v.port()),
                        "--gpu-memory-utilization", "0.46", "--max-num-seqs", "4", "--dtype", "half",
                        "--runner", "pooling", "--convert", "embed", "--io-processor-plugin", "embeddinggemma_io",
                        "--trust-remote-code", "--no-enable-prefix-caching", "--no-enable-chunked-prefill",
                        "--uvicorn-log-level", "warning", "--disable-log-stats",
                        "--sim-startup-delay", "0.1", "--sim-gpu-ledger", SupervisedSidecars.ledger(dir).toString(),
                        "--seed", "3"));
                assertThat(SupervisedSidecars.commandLine(v.pid()), is(expected));
                assertThat(SupervisedSidecars.environment(v.pid(), "CUDA_VISIBLE_DEVICES").orElseThrow(), is("1"));
                assertThat(v.gpuMemoryFraction(), is(java.util.OptionalDouble.of(0.46)));
                assertThat(v.device(), is("1"));
            }
            assertThat(instance(sidecar, 1).port(), is(instance(sidecar, 0).port() + 1));
            assertThat(Files.readString(dir.resolve("logs/backend-1.log")), containsString("Uvicorn running on"));
        }
    }

    @Test
    void aStartFailureReportsTheBackendsOwnErrorAndLeavesNoProcess() throws Exception {
        // another process holds half of the pretend GPU: the second backend finds too little free
        Files.writeString(SupervisedSidecars.ledger(dir), ProcessHandle.current().pid() + " 0.5\n");
        Sidecar sidecar = SupervisedSidecars.create(dir, List.of("--num-instances", "2"), List.of());
        StartFailure e;
        List<Long> started;
        try {
            e = assertThrows(StartFailure.class, sidecar::start);
            started = SupervisedSidecars.pids(sidecar);
        } finally {
            sidecar.close();
        }
        assertThat(e.getMessage(), containsString("backend 2/2 (port "));
        assertThat(e.getMessage(), containsString("exited with status 1 while loading: ValueError: Free memory on device"));
        assertThat(e.lastLines().getLast(), containsString("Free memory on device"));
        assertThat("the first backend was running", started.size(), is(1));
        Poll.until(DEADLINE, "no backend is left", () -> started.stream().noneMatch(SupervisedSidecars::alive));
    }

    @Test
    void aCrashedBackendIsRestartedAndRejoinsRoutingWhileClientsLoseNothing() throws Exception {
        try (Sidecar sidecar = SupervisedSidecars.start(dir, List.of("--num-instances", "2", "--max-batch-size", "4"),
                List.of("--sim-service-time-ms", "20"));
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            long victim = instance(sidecar, 0).pid();
            List<Future<List<Integer>>> loops = new ArrayList<>();
            AtomicReference<Boolean> stop = new AtomicReference<>(false);
            for (int c = 0; c < 8; c++) {
                loops.add(clients.submit(() -> {
                    List<Integer> statuses = new ArrayList<>();
                    for (int k = 0; k < 400 && !stop.get(); k++) {
                        statuses.add(Clients.pooling(sidecar.port(), Clients.gliner("text " + k, "a"), 0).statusCode());
                    }
                    return statuses;
                }));
            }
            try {
                Poll.until(DEADLINE, "load reaches the victim", () -> instance(sidecar, 0).inFlight() > 0);
                ProcessHandle.of(victim).orElseThrow().destroyForcibly(); // as a CUDA error kills it
                Poll.until(DEADLINE, "the crashed backend is back", () -> {
                    InstanceView v = instance(sidecar, 0);
                    return v.state() == BackendState.READY && v.pid() != victim;
                });
                Poll.until(DEADLINE, "the restarted backend takes requests again",
                        () -> sidecar.dispatcher().pool().backend(0).orElseThrow().served() > 0);
            } finally {
                stop.set(true);
            }
            List<Integer> all = new ArrayList<>();
            for (Future<List<Integer>> f : loops) {
                all.addAll(f.get());
            }
            assertThat(all, everyItem(is(200)));
            InstanceView v = instance(sidecar, 0);
            assertThat(v.restarts(), is(1));
            assertThat(v.lastError(), containsString("exited with status 137"));
        }
    }

    @Test
    void aBackendThatKeepsFailingWaitsLongerEachTimeThenStaysFailedUntilRestarted() throws Exception {
        try (Transitions log = new Transitions();
             Sidecar sidecar = SupervisedSidecars.start(dir, List.of("--always-proxy", "--restart-backoff", "300ms",
                     "--restart-max-failures", "3", "--restart-failure-window", "1m", "--unavailable-timeout", "1s"),
                     List.of("--sim-crash-after", "1"));
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            AtomicReference<Boolean> stop = new AtomicReference<>(false);
            Future<?> load = clients.submit(() -> {
                while (instance(sidecar, 0).state() != BackendState.FAILED && !stop.get()) {
                    HttpResponse<String> r = Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0);
                    if (r.statusCode() == 200) {
                        assertThat(Clients.backendIndex(r), is(0)); // the dispatcher is in front of one instance
                    }
                }
                return null;
            });
            try {
                Poll.until(DEADLINE, "the backend is FAILED", () -> instance(sidecar, 0).state() == BackendState.FAILED);
            } finally {
                stop.set(true);
            }
            load.get();
            List<Transitions.Line> backoffs = log.of(0, "-> BACKOFF");
            assertThat(backoffs.size(), is(2));
            assertThat(backoffs.get(0).text(), containsString("restart in 300 ms"));
            assertThat(backoffs.get(1).text(), containsString("restart in 600 ms"));
            List<Transitions.Line> restarts = log.of(0, "BACKOFF -> STARTING");
            for (int k = 0; k < 2; k++) {
                Duration waited = Duration.between(backoffs.get(k).at(), restarts.get(k).at());
                assertThat("wait " + (k + 1), waited.toMillis(), greaterThanOrEqualTo(300L << k));
            }
            assertThat(log.of(0, "-> FAILED").getFirst().text(), containsString("3 failures within 60 s"));
            InstanceView failed = instance(sidecar, 0);
            assertThat(failed.pid(), is(-1L));
            assertThat(failed.restarts(), is(2));

            fleet(sidecar).restart(0);
            Poll.until(DEADLINE, "an operator's restart brings it back", () -> instance(sidecar, 0).state() == BackendState.READY);
        }
    }

    @Test
    void aHungBackendIsKilledAndRestarted() throws Exception {
        try (Sidecar sidecar = SupervisedSidecars.start(dir, List.of("--always-proxy", "--health-timeout", "300ms",
                "--unhealthy-restart-after", "500ms"), List.of("--sim-hang-after", "1"))) {
            long hung = instance(sidecar, 0).pid();
            assertThat(Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0).statusCode(), is(200));
            Poll.until(DEADLINE, "the hung backend is replaced", () -> {
                InstanceView v = instance(sidecar, 0);
                return v.state() == BackendState.READY && v.pid() != hung;
            });
            assertThat(instance(sidecar, 0).lastError(), containsString("hung"));
            Poll.until(DEADLINE, "the hung process is gone", () -> !alive(hung));
            assertThat(Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0).statusCode(), is(200));
        }
    }

    @Test
    void oneInstanceServesThePublicPortItselfAndIsStillSupervised() throws Exception {
        int port = FreePorts.one();
        try (Sidecar sidecar = SupervisedSidecars.start(dir, List.of("--port", Integer.toString(port)), List.of())) {
            assertThat(sidecar.direct(), is(true));
            assertThat(sidecar.port(), is(port));
            HttpResponse<String> r = Clients.pooling(port, Clients.gliner("x", "y"), 0);
            assertThat(r.statusCode(), is(200));
            assertThat("no dispatcher in between", r.headers().firstValue("X-VLLM-Factory-Backend-Index").isPresent(),
                    is(false));
            long first = instance(sidecar, 0).pid();
            assertThat(instance(sidecar, 0).port(), is(port));
            FleetException.DirectMode e = assertThrows(FleetException.DirectMode.class, () -> fleet(sidecar).add(1, false));
            assertThat(e.getMessage(), containsString("--always-proxy"));

            ProcessHandle.of(first).orElseThrow().destroyForcibly();
            Poll.until(DEADLINE, "the backend is back on the public port", () -> {
                InstanceView v = instance(sidecar, 0);
                return v.state() == BackendState.READY && v.pid() != first;
            });
            assertThat(Clients.pooling(port, Clients.gliner("x", "y"), 0).statusCode(), is(200));
            assertThat(instance(sidecar, 0).pid(), is(not(first)));
        }
    }
}
