package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.is;

/** Backends die, stall and come back; clients notice as little as possible. */
class DispatcherFailureTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aKilledBackendCostsNoClientRequest() throws Exception {
        try (SimulatorProcess victim = SimulatorProcess.start("--sim-service-time-ms", "30");
             SimulatorProcess survivor = SimulatorProcess.start("--sim-service-time-ms", "30");
             Sidecar sidecar = TestSidecars.start(List.of(victim, survivor), "--max-batch-size", "8");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            AtomicInteger done = new AtomicInteger();
            List<Future<List<Integer>>> loops = new ArrayList<>();
            for (int c = 0; c < 12; c++) {
                loops.add(clients.submit(() -> {
                    List<Integer> statuses = new ArrayList<>();
                    for (int i = 0; i < 40; i++) {
                        statuses.add(Clients.pooling(sidecar.port(), Clients.gliner("text " + i, "a"), 0).statusCode());
                        done.incrementAndGet();
                    }
                    return statuses;
                }));
            }
            Poll.until(Duration.ofSeconds(30), "load is flowing through both backends",
                    () -> done.get() > 60 && sidecar.dispatcher().pool().backends().getFirst().inFlight() > 0);
            victim.kill();
            List<Integer> all = new ArrayList<>();
            for (Future<List<Integer>> f : loops) {
                all.addAll(f.get());
            }
            assertThat(all.size(), is(480));
            assertThat(all, everyItem(is(200)));
            Poll.until(Duration.ofSeconds(5), "the dead backend is out of routing",
                    () -> !sidecar.dispatcher().pool().backends().getFirst().healthy());
        }
    }

    @Test
    void whenNoBackendCanTakeARequestWithinTheUnavailableTimeoutTheClientGets502ProblemJson() throws Exception {
        SimulatorProcess sim = SimulatorProcess.start();
        // Probes far apart, so the dead backend still looks healthy when the request arrives; the
        // request then waits for a backend it may use, up to the unavailable timeout.
        try (Sidecar sidecar = TestSidecars.start(List.of(sim), "--health-interval", "1h",
                "--unavailable-timeout", "300ms")) {
            sim.kill();
            HttpResponse<String> r = Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0);
            assertThat(r.statusCode(), is(502));
            assertThat(r.headers().firstValue("Content-Type").orElse(""), is("application/problem+json"));
            JsonNode problem = JSON.readTree(r.body());
            assertThat(problem.get("status").asInt(), is(502));
            assertThat(problem.get("detail").asText(), containsString("backend 0"));
        } finally {
            sim.close();
        }
    }

    @Test
    void aBackendSilentPastTheUpstreamTimeoutGives504() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(sim), "--upstream-timeout", "300ms")) {
            HttpResponse<String> r = Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 3000);
            assertThat(r.statusCode(), is(504));
            assertThat(JSON.readTree(r.body()).get("title").asText(), is("backend timeout"));
        }
    }

    @Test
    void aStreamLongerThanTheUpstreamTimeoutIsNotCutWhileItsTokensKeepComing() throws Exception {
        // 12 tokens 100 ms apart: 1.2 s in all, four times the timeout, never silent for 300 ms.
        String body = "{\"model\":\"test-model\",\"stream\":true,\"max_tokens\":12,"
                      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        try (SimulatorProcess sim = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(sim), "--upstream-timeout", "300ms")) {
            HttpResponse<String> r = Clients.HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + sidecar.port() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").header("X-Sim-Token-Delay-Ms", "100")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode(), is(200));
            assertThat("the stream ran to its end", r.body(), containsString("data: [DONE]"));
        }
    }

    @Test
    void healthTurns503WhenNoBackendIsHealthyAndRecovers() throws Exception {
        SimulatorProcess sim = SimulatorProcess.start();
        int port = sim.port();
        try (Sidecar sidecar = TestSidecars.start(List.of(sim))) {
            assertThat(Clients.get(sidecar.port(), "/health").statusCode(), is(200));
            sim.kill();
            Poll.until(Duration.ofSeconds(10), "/health says 503", () -> status(sidecar) == 503);
            HttpResponse<String> down = Clients.get(sidecar.port(), "/health");
            assertThat(JSON.readTree(down.body()).get("error").asText(), is("no healthy backends"));
            sim = SimulatorProcess.startOn(port);
            Poll.until(Duration.ofSeconds(20), "/health says 200 again", () -> status(sidecar) == 200);
            assertThat(Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0).statusCode(), is(200));
        } finally {
            sim.close();
        }
    }

    @Test
    void requestsWaitingWhileEveryBackendIsDownGet503AfterTheUnavailableTimeout() throws Exception {
        SimulatorProcess sim = SimulatorProcess.start();
        try (Sidecar sidecar = TestSidecars.start(List.of(sim), "--unavailable-timeout", "300ms")) {
            sim.kill();
            Poll.until(Duration.ofSeconds(10), "/health says 503", () -> status(sidecar) == 503);
            HttpResponse<String> r = Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0);
            assertThat(r.statusCode(), is(503));
            assertThat(JSON.readTree(r.body()).get("title").asText(), is("no healthy backends"));
        } finally {
            sim.close();
        }
    }

    @Test
    void aRequestWaitingInLineWhenTheLastBackendLeavesRoutingGets503AfterTheUnavailableTimeout() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(sim), "--max-batch-size", "1", "--unavailable-timeout", "300ms");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            var pool = sidecar.dispatcher().pool();
            Future<HttpResponse<String>> blocker =
                    clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 1500));
            Poll.until(Duration.ofSeconds(10), "the blocker holds the only slot",
                    () -> pool.backends().getFirst().inFlight() == 1);
            Future<HttpResponse<String>> waiter =
                    clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("wait", "y"), 0));
            Poll.until(Duration.ofSeconds(10), "the second request waits in line", () -> pool.waiting() == 1);
            pool.draining(pool.backends().getFirst(), true);
            HttpResponse<String> r = waiter.get();
            assertThat(r.body(), r.statusCode(), is(503));
            assertThat(JSON.readTree(r.body()).get("title").asText(), is("no healthy backends"));
            assertThat("the request in flight finishes", blocker.get().statusCode(), is(200));
        }
    }

    private static int status(Sidecar sidecar) {
        try {
            return Clients.get(sidecar.port(), "/health").statusCode();
        } catch (Exception e) {
            return -1;
        }
    }
}
