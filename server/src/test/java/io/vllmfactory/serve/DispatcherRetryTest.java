package io.vllmfactory.serve;

import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * Retries: a request whose backend fails before any byte of its answer reached the client goes to
 * another backend, never back to the one that just failed; a request that kills the backends it
 * reaches stops at the poison limit; with no backend left to try, it waits for one to come back.
 */
class DispatcherRetryTest {
    private static final String DIE = "/die";

    @Test
    void aPoisonRequestKillsAtMostThePoisonLimitOfBackendsThenGets502() throws Exception {
        try (RawBackend a = new RawBackend(); RawBackend b = new RawBackend(); RawBackend c = new RawBackend()) {
            for (RawBackend r : List.of(a, b, c)) {
                r.answer(DIE, out -> false); // reads the request and dies without a word
            }
            try (Sidecar sidecar = TestSidecars.startInFrontOf(List.of(a.url(), b.url(), c.url()))) {
                try (RawHttp http = new RawHttp(sidecar.port())) {
                    http.send("POST " + DIE + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", null);
                    RawHttp.Response r = http.read();
                    assertThat(r.status(), is(502));
                    assertThat(r.text(), containsString("poison-limit"));
                }
                int total = a.requests(DIE) + b.requests(DIE) + c.requests(DIE);
                assertThat("two backends saw it, no third", total, is(2));
                for (RawBackend r : List.of(a, b, c)) {
                    assertThat("never twice on one backend", r.requests(DIE), lessThanOrEqualTo(1));
                }
                assertThat(sidecar.dispatcher().counts().poisoned().sum(), is(1L));
                assertThat(sidecar.dispatcher().counts().retried().sum(), is(1L));
            }
        }
    }

    @Test
    void aBackendThatDiesWithTheRequestCostsTheClientNothing() throws Exception {
        try (RawBackend dying = new RawBackend(); RawBackend fine = new RawBackend()) {
            dying.answer("/work", out -> false);
            try (Sidecar sidecar = TestSidecars.startInFrontOf(List.of(dying.url(), fine.url()), "--poison-limit", "3")) {
                for (int i = 0; dying.requests("/work") == 0; i++) {
                    assertThat("round-robin reaches the dying backend", i < 20, is(true));
                    try (RawHttp http = new RawHttp(sidecar.port())) {
                        http.send("POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", null);
                        RawHttp.Response r = http.read();
                        assertThat(r.status(), is(200));
                        assertThat(r.text(), is("from /work"));
                        assertThat(r.header("X-VLLM-Factory-Backend-Index"), is("1"));
                    }
                }
                assertThat(sidecar.dispatcher().counts().retried().sum(), greaterThan(0L));
                assertThat(sidecar.dispatcher().counts().failed().sum(), is(0L));
            }
        }
    }

    @Test
    void whenEveryBackendIsDownTheRequestWaitsForOneToComeBack() throws Exception {
        SimulatorProcess first = SimulatorProcess.start();
        int port = first.port();
        try (Sidecar sidecar = TestSidecars.startInFrontOf(List.of(first.url()), "--unavailable-timeout", "60s")) {
            first.kill();
            CompletableFuture<HttpResponse<String>> answer = CompletableFuture.supplyAsync(() -> {
                try {
                    return Clients.pooling(sidecar.port(), Clients.gliner("Paris", "city"), 0);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Poll.until(java.time.Duration.ofSeconds(30), "the request waits in line",
                    () -> sidecar.dispatcher().pool().waiting() == 1);
            try (SimulatorProcess again = SimulatorProcess.startOn(port)) {
                HttpResponse<String> r = answer.get(60, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r.body(), r.statusCode(), is(200));
            }
        }
    }
}
