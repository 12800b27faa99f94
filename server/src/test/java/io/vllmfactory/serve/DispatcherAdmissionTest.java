package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/** Per-backend caps, waiting in arrival order, late binding, and the optional queue bounds. */
class DispatcherAdmissionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void perBackendCapIsNeverExceededUnderHeavyConcurrency() throws Exception {
        try (SimulatorProcess a = SimulatorProcess.start("--sim-service-time-ms", "15");
             SimulatorProcess b = SimulatorProcess.start("--sim-service-time-ms", "15");
             Sidecar sidecar = TestSidecars.start(List.of(a, b), "--max-batch-size", "4");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            int n = 1000;
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0).statusCode()));
            }
            List<Integer> statuses = new ArrayList<>();
            for (Future<Integer> f : results) {
                statuses.add(f.get());
            }
            assertThat(statuses, everyItem(is(200)));
            for (SimulatorProcess sim : List.of(a, b)) {
                // The simulator counts every request open inside it, waiting ones included.
                assertThat(sim.stats().get("peakInFlight").asInt(), lessThanOrEqualTo(4));
                assertThat(sim.stats().get("served").asInt(), greaterThan(0));
            }
            assertThat(a.stats().get("served").asInt() + b.stats().get("served").asInt(), is(n));
        }
    }

    @Test
    void aClientThatLeavesWhileWaitingGivesUpItsPlace() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(sim), "--max-batch-size", "1");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<HttpResponse<String>> blocker =
                    clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 3000));
            Poll.until(Duration.ofSeconds(10), "the blocker holds the only slot",
                    () -> sidecar.dispatcher().pool().backends().getFirst().inFlight() == 1);
            String body = Clients.gliner("gone", "y");
            try (RawHttp leaver = new RawHttp(sidecar.port())) {
                leaver.send("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Content-Length: " + body.length() + "\r\n\r\n" + body, null);
                Poll.until(Duration.ofSeconds(10), "the second request waits",
                        () -> sidecar.dispatcher().pool().waiting() == 1);
            } // the client closes its connection while its request waits
            Poll.until(Duration.ofSeconds(10), "the departed client's request left the line",
                    () -> sidecar.dispatcher().pool().waiting() == 0);
            assertThat("the blocker is still being served", blocker.isDone(), is(false));
            assertThat(blocker.get().statusCode(), is(200));
            assertThat(Clients.pooling(sidecar.port(), Clients.gliner("next", "y"), 0).statusCode(), is(200));
            // The simulator counts a request once it has answered: wait until none is open.
            Poll.until(Duration.ofSeconds(10), "the backend finished its requests", () -> {
                try {
                    return sim.stats().get("inFlight").asInt() == 0;
                } catch (Exception e) {
                    return false;
                }
            });
            assertThat("only the blocker and the next request reached the backend",
                    sim.stats().get("served").asInt(), is(2));
        }
    }

    @Test
    void queuedRequestsAreServedInArrivalOrder() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(sim), "--max-batch-size", "1");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<HttpResponse<String>> blocker = clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 800));
            Poll.until(Duration.ofSeconds(10), "the blocker holds the only slot",
                    () -> sidecar.dispatcher().pool().backends().getFirst().inFlight() == 1);
            ConcurrentLinkedQueue<Integer> completed = new ConcurrentLinkedQueue<>();
            List<Future<?>> waiters = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                int id = i;
                waiters.add(clients.submit(() -> {
                    HttpResponse<String> r = Clients.pooling(sidecar.port(), Clients.gliner("request " + id, "y"), 60);
                    assertThat(r.statusCode(), is(200));
                    completed.add(id);
                    return null;
                }));
                Poll.until(Duration.ofSeconds(10), "request " + id + " waits",
                        () -> sidecar.dispatcher().pool().waiting() == id + 1);
            }
            assertThat(blocker.get().statusCode(), is(200));
            for (Future<?> w : waiters) {
                w.get();
            }
            assertThat(List.copyOf(completed), contains(0, 1, 2, 3, 4));
        }
    }

    @Test
    void requestsBindLateSoASlowBackendDoesNotHoardAQueue() throws Exception {
        try (SimulatorProcess slow = SimulatorProcess.start("--sim-service-time-ms", "1500");
             SimulatorProcess fast = SimulatorProcess.start("--sim-service-time-ms", "20");
             Sidecar sidecar = TestSidecars.start(List.of(slow, fast), "--max-batch-size", "1");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> results = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                results.add(clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0)));
            }
            int onSlow = 0;
            for (Future<HttpResponse<String>> f : results) {
                HttpResponse<String> r = f.get();
                assertThat(r.statusCode(), is(200));
                onSlow += Clients.backendIndex(r) == 0 ? 1 : 0;
            }
            // Bound at arrival, half of them would queue behind the slow backend.
            assertThat(onSlow, lessThanOrEqualTo(2));
            assertThat(fast.stats().get("served").asInt(), greaterThan(9));
        }
    }

    @Test
    void aFullQueueAnswers503WithRetryAfter() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(sim), "--max-batch-size", "1", "--max-queue", "2");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> admitted = new ArrayList<>();
            admitted.add(clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 600)));
            Poll.until(Duration.ofSeconds(10), "the slot is taken",
                    () -> sidecar.dispatcher().pool().backends().getFirst().inFlight() == 1);
            for (int i = 0; i < 2; i++) {
                admitted.add(clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 10)));
                int queued = i + 1;
                Poll.until(Duration.ofSeconds(10), queued + " waiting", () -> sidecar.dispatcher().pool().waiting() == queued);
            }
            HttpResponse<String> rejected = Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0);
            assertThat(rejected.statusCode(), is(503));
            assertThat(rejected.headers().firstValue("Retry-After").orElse(""), is("1"));
            assertThat(rejected.headers().firstValue("Content-Type").orElse(""), is("application/problem+json"));
            assertThat(JSON.readTree(rejected.body()).get("title").asText(), is("queue full"));
            for (Future<HttpResponse<String>> f : admitted) {
                assertThat(f.get().statusCode(), is(200));
            }
        }
    }

    @Test
    void aRequestWaitingLongerThanTheQueueTimeoutGets503() throws Exception {
        try (SimulatorProcess sim = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(sim), "--max-batch-size", "1", "--queue-timeout", "200ms");
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<HttpResponse<String>> blocker = clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 1500));
            Poll.until(Duration.ofSeconds(10), "the slot is taken",
                    () -> sidecar.dispatcher().pool().backends().getFirst().inFlight() == 1);
            HttpResponse<String> late = Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0);
            assertThat(late.statusCode(), is(503));
            assertThat(JSON.readTree(late.body()).get("title").asText(), is("queue timeout"));
            assertThat(blocker.get().statusCode(), is(200));
            assertThat(sidecar.dispatcher().pool().waiting(), is(0));
        }
    }
}
