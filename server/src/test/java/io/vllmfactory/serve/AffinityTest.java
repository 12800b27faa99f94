package io.vllmfactory.serve;

import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/** Similar requests prefer the backend that served their shape last, while it has room. */
class AffinityTest {
    @Test
    void similarRequestsMissThenHitThenFallBackWhenThePinnedBackendIsFull() throws Exception {
        try (SimulatorProcess a = SimulatorProcess.start();
             SimulatorProcess b = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(a, b), "--max-batch-size", "1", "--enable-request-affinity");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            int port = sidecar.port();
            HttpResponse<String> first = Clients.pooling(port, Clients.gliner("Alice flew to Paris", "person", "city"), 0);
            assertThat(state(first), is("miss"));
            assertThat(first.headers().firstValue("X-VLLM-Factory-Schema-Size").orElse(""), is("2"));
            int pinned = Clients.backendIndex(first);

            HttpResponse<String> again = Clients.pooling(port, Clients.gliner("Bob drove to Rome", "person", "city"), 0);
            assertThat(state(again), is("hit"));
            assertThat(Clients.backendIndex(again), is(pinned));

            HttpResponse<String> otherShape = Clients.pooling(port, Clients.gliner("Bob drove to Rome", "person"), 0);
            assertThat(state(otherShape), is("miss"));

            Future<HttpResponse<String>> blocker = clients.submit(
                    () -> Clients.pooling(port, Clients.gliner("Carol", "person", "city"), 800));
            Poll.until(Duration.ofSeconds(10), "the pinned backend is full",
                    () -> sidecar.dispatcher().pool().backend(pinned).orElseThrow().inFlight() == 1);
            HttpResponse<String> fallback = Clients.pooling(port, Clients.gliner("Dan", "person", "city"), 0);
            assertThat(state(fallback), is("fallback"));
            assertThat(Clients.backendIndex(fallback), is(not(pinned)));
            assertThat(state(blocker.get()), is("hit"));

            HttpResponse<String> repinned = Clients.pooling(port, Clients.gliner("Eve", "person", "city"), 0);
            assertThat(state(repinned), is("hit"));
            assertThat(Clients.backendIndex(repinned), is(Clients.backendIndex(fallback)));
        }
    }

    @Test
    void withAffinityOffTheStateSaysDisabled() throws Exception {
        try (SimulatorProcess a = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(a))) {
            assertThat(state(Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0)), is("disabled"));
        }
    }

    private static String state(HttpResponse<?> r) {
        return r.headers().firstValue("X-VLLM-Factory-Affinity-State").orElseThrow();
    }
}
