package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * Backends that crash, hang or poison, under load, against the sidecar in its own process with simulated
 * backends in theirs. A slow backend collecting no queue is {@code DispatcherAdmissionTest}'s, a silent one
 * giving 504 is {@code DispatcherFailureTest}'s.
 */
class ReliabilityBackendFaultsProcessTest {
    @TempDir
    Path dir;

    @Test
    void killingARandomBackendEveryFewSecondsUnderLoadLosesNoRequestAndEveryBackendComesBack() throws Exception {
        int instances = 3;
        int clients = Reliability.scaled(16, 64);
        Duration length = Duration.ofSeconds(Reliability.scaled(12, 60));
        // A random killer can hit two backends in turn while they hold one request: with the default
        // --poison-limit 2 that request gets 502 as if it had killed them (the long form saw 3 in 60 s).
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", Integer.toString(instances),
                "--max-batch-size", "8", "--restart-max-failures", "1000", "--unavailable-timeout", "60s",
                "--poison-limit", "3"), List.of());
             ExecutorService load = Executors.newVirtualThreadPerTaskExecutor();
             ScheduledExecutorService killer = Executors.newSingleThreadScheduledExecutor()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong served = new AtomicLong();
            Queue<String> failures = new ConcurrentLinkedQueue<>();
            List<Future<?>> loops = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                loops.add(load.submit(() -> loop(fleet.port(), stop, served, failures)));
            }
            Set<Long> killed = java.util.concurrent.ConcurrentHashMap.newKeySet();
            AtomicInteger kills = new AtomicInteger();
            Runnable killOne = () -> {
                List<Long> pids = fleet.backendPids().stream().filter(SupervisedSidecars::alive).toList();
                if (!pids.isEmpty()) {
                    long pid = pids.get(ThreadLocalRandom.current().nextInt(pids.size()));
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL
                    killed.add(pid);
                    kills.incrementAndGet();
                }
            };
            // a kill every 2 to 3 s: the load's shape, not a synchronisation
            long started = System.nanoTime();
            while (System.nanoTime() - started < length.toNanos()) {
                killer.schedule(killOne, ThreadLocalRandom.current().nextLong(2000, 3001), TimeUnit.MILLISECONDS).get();
            }
            stop.set(true);
            for (Future<?> f : loops) {
                f.get(120, TimeUnit.SECONDS);
            }
            assertThat("requests that failed; sidecar output:\n" + tail(fleet), List.copyOf(failures), is(empty()));
            assertThat(kills.get(), greaterThanOrEqualTo((int) (length.toSeconds() / 3) - 1));
            Poll.until(Duration.ofSeconds(90), "every backend is back, ready and in routing",
                    () -> fleet.allReady(instances));
            for (long pid : fleet.backendPids()) {
                assertThat("a live process, not one that was killed", killed.contains(pid), is(false));
                assertThat(SupervisedSidecars.alive(pid), is(true));
            }
            JsonNode d = fleet.dispatcher();
            assertThat(d.path("failed").asLong(), is(0L));
            Reliability.figure("backend SIGKILL every 2-3 s", "clients, seconds", clients + ", " + length.toSeconds());
            Reliability.figure("backend SIGKILL every 2-3 s", "backends killed", kills.get());
            Reliability.figure("backend SIGKILL every 2-3 s", "requests served, failed", served.get() + ", 0");
            Reliability.figure("backend SIGKILL every 2-3 s", "requests retried", d.path("retried").asLong());
        }
    }

    @Test
    void aHungBackendIsReplacedAndTheRequestItHeldIsServedByAnother() throws Exception {
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", "2", "--max-batch-size", "1",
                "--unhealthy-restart-after", "1500ms", "--health-timeout", "500ms", "--upstream-timeout", "120s"),
                List.of());
             ExecutorService load = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> held = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                held.add(load.submit(() -> Clients.pooling(fleet.port(), Clients.gliner("held", "x"), 1500)));
            }
            Poll.until(Duration.ofSeconds(20), "each backend holds one request", () -> inFlight(fleet).equals(List.of(1, 1)));
            long hung = fleet.backendPids().getFirst();
            assertThat(signal("STOP", hung), is(0)); // accepts connections, answers nothing, health included
            try {
                for (Future<HttpResponse<String>> f : held) {
                    HttpResponse<String> r = f.get(90, TimeUnit.SECONDS);
                    assertThat(r.body(), r.statusCode(), is(200));
                }
                Poll.until(Duration.ofSeconds(60), "the hung backend is replaced", () -> fleet.allReady(2)
                        && !fleet.backendPids().contains(hung));
                assertThat(SupervisedSidecars.alive(hung), is(false));
                assertThat(fleet.dispatcher().path("retried").asLong(), greaterThanOrEqualTo(1L));
                assertThat(fleet.output(), containsString("(--unhealthy-restart-after): hung"));
            } finally {
                signal("CONT", hung); // in case it is still there: the fleet's close then stops it
            }
        }
    }

    @Test
    void aPoisonRequestKillsThePoisonLimitOfBackendsThenGets502WhileA500IsRelayedAndNotRetried() throws Exception {
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", "3"),
                List.of("--sim-crash-on", "POISON"))) {
            List<Long> before = fleet.backendPids();
            HttpResponse<String> poison = Clients.pooling(fleet.port(), Clients.gliner("a POISON input", "x"), 0);
            assertThat(poison.statusCode(), is(502));
            assertThat(poison.headers().firstValue("Content-Type").orElseThrow(), is("application/problem+json"));
            assertThat(poison.body(), containsString("poison-limit"));
            Poll.until(Duration.ofSeconds(20), "two backends died, the third never saw it",
                    () -> before.stream().filter(SupervisedSidecars::alive).count() == 1);
            assertThat(Clients.pooling(fleet.port(), Clients.gliner("harmless", "x"), 0).statusCode(), is(200));
            Poll.until(FleetProcess.START, "the two are restarted", () -> fleet.allReady(3));
            assertThat(fleet.backendPids(), not(is(before)));

            long retried = fleet.dispatcher().path("retried").asLong();
            try (RawHttp http = new RawHttp(fleet.port())) {
                http.send("POST /sim/echo HTTP/1.1\r\nHost: x\r\nX-Sim-Status: 500\r\nContent-Length: 2\r\n\r\n{}", null);
                RawHttp.Response r = http.read();
                assertThat(r.status(), is(500));
                assertThat("the backend's own answer", r.header("X-VLLM-Factory-Backend-Index"), not(is((String) null)));
            }
            assertThat(fleet.dispatcher().path("retried").asLong(), is(retried));
            assertThat(new HashSet<>(fleet.backendPids()).size(), is(3));
        }
    }

    private static void loop(int port, AtomicBoolean stop, AtomicLong served, Queue<String> failures) {
        int i = 0;
        while (!stop.get()) {
            try {
                HttpResponse<String> r = Clients.pooling(port, Clients.gliner("loop" + i++, "x"), 0);
                if (r.statusCode() == 200) {
                    served.incrementAndGet();
                } else {
                    failures.add(r.statusCode() + " " + r.body());
                }
            } catch (IOException e) {
                failures.add(e.toString());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static List<Integer> inFlight(FleetProcess fleet) {
        List<Integer> out = new ArrayList<>();
        fleet.dispatcher().path("backends").forEach(b -> out.add(b.path("in_flight").asInt()));
        return out;
    }

    /** {@code kill -NAME pid}; its exit status (1 when the process is gone). */
    static int signal(String name, long pid) throws IOException, InterruptedException {
        return new ProcessBuilder("kill", "-" + name, Long.toString(pid)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    }

    static String tail(FleetProcess fleet) {
        String out = fleet.output();
        return out.length() > 6000 ? out.substring(out.length() - 6000) : out;
    }
}
