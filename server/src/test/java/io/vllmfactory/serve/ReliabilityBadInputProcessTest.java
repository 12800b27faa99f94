package io.vllmfactory.serve;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.notNullValue;

/**
 * Bad input on the public port of a running sidecar while a well-behaved client keeps going: each gets a
 * 4xx problem or a clean close, the other client notices nothing, and no permit leaks (afterwards the
 * fleet takes its full capacity at once). The wire-level refusals one by one, in process, are
 * {@code DispatcherClientConnectionTest}'s; this class sends them, bigger ones and slow ones, to the process.
 */
class ReliabilityBadInputProcessTest {
    private static final int BACKENDS = 2;
    private static final int MAX_BATCH = 2;

    @TempDir
    static Path dir;
    private static FleetProcess fleet;
    private static ExecutorService background;
    private static AtomicBoolean stop;
    private static Queue<String> noticed;
    private static AtomicInteger served;
    private static Future<?> bystander;

    @BeforeAll
    static void start() throws Exception {
        fleet = FleetProcess.start(dir, List.of("--num-instances", Integer.toString(BACKENDS), "--max-batch-size",
                Integer.toString(MAX_BATCH), "--client-header-timeout", "3s", "--client-body-timeout", "3s",
                "--enable-request-affinity"), List.of());
        background = Executors.newVirtualThreadPerTaskExecutor();
        noticed = new ConcurrentLinkedQueue<>();
        served = new AtomicInteger();
        startBystander();
    }

    /** A well-behaved client that loops until stopped and notes anything but a 200. */
    private static void startBystander() {
        stop = new AtomicBoolean();
        AtomicBoolean mine = stop;
        bystander = background.submit(() -> {
            while (!mine.get()) {
                try {
                    HttpResponse<String> r = Clients.pooling(fleet.port(), Clients.gliner("bystander", "x"), 0);
                    if (r.statusCode() == 200) {
                        served.incrementAndGet();
                    } else {
                        noticed.add(r.statusCode() + " " + r.body());
                    }
                } catch (IOException e) {
                    noticed.add(e.toString());
                }
            }
            return null;
        });
    }

    private static void stopBystander() throws Exception {
        stop.set(true);
        bystander.get(60, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stopAll() throws Exception {
        if (bystander != null) {
            stopBystander();
            background.close();
        }
        if (fleet != null) {
            fleet.close();
        }
    }

    /** After each case: the bystander noticed nothing, nothing is left open, and the full capacity is there. */
    @AfterEach
    void nothingLeaked() throws Exception {
        stopBystander();
        assertThat("what the well-behaved client noticed", List.copyOf(noticed), is(empty()));
        assertThat("the well-behaved client was served", served.get(), greaterThanOrEqualTo(1));
        Poll.until(Duration.ofSeconds(20), "no request is left open, no permit held", () -> fleet.openRequests() == 0);
        int capacity = BACKENDS * MAX_BATCH;
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < capacity; i++) {
                all.add(clients.submit(() -> Clients.pooling(fleet.port(), Clients.gliner("capacity", "x"), 1000)));
            }
            Poll.until(Duration.ofSeconds(10), "the fleet serves its full capacity at once", () -> {
                var d = fleet.dispatcher();
                int inFlight = 0;
                for (var b : d.path("backends")) {
                    inFlight += b.path("in_flight").asInt();
                }
                return inFlight == capacity;
            });
            for (Future<HttpResponse<String>> f : all) {
                assertThat(f.get().statusCode(), is(200));
            }
        }
        startBystander();
    }

    @Test
    void malformedOversizedAndSmuggledRequestsGetA4xxProblemOrACleanClose() throws Exception {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("garbage request line", "HELLO\r\n\r\n");
        cases.put("request line without a version", "GET /health\r\n\r\n");
        cases.put("unknown version", "GET /health HTTP/9.9\r\nHost: x\r\n\r\n");
        cases.put("control byte in the method", "G\u0001T /health HTTP/1.1\r\nHost: x\r\n\r\n");
        cases.put("space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n");
        cases.put("64 KiB header", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(64 * 1024) + "\r\n\r\n");
        cases.put("10,000 headers", "GET /health HTTP/1.1\r\nHost: x\r\n" + "X-N: 1\r\n".repeat(10_000) + "\r\n");
        cases.put("1 MB request line", "GET /?" + "q".repeat(1 << 20) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        cases.put("invalid chunk size", "POST /pooling HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
        cases.put("chunk longer than it says", "POST /pooling HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n");
        cases.put("Content-Length and chunked", "POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
        cases.put("two Content-Lengths", "POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
        cases.put("negative Content-Length", "POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n");
        cases.put("obs-fold", "GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n");
        cases.put("bare LF", "GET /health HTTP/1.1\nHost: x\n\n");
        cases.put("NUL byte in a header", "GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n");
        cases.put("HTTP/2 prior knowledge", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        List<String> outcomes = new ArrayList<>();
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String outcome = send(c.getValue().getBytes(StandardCharsets.ISO_8859_1));
            outcomes.add(c.getKey() + ": " + outcome);
            assertThat(c.getKey() + " -> " + outcome, outcome.startsWith("4") || outcome.equals("closed"), is(true));
        }
        Reliability.figure("bad input", "requests tried", cases.size() + " kinds: " + String.join("; ", outcomes));
    }

    @Test
    void invalidJsonWithAffinityOnIsTheBackendsOwn400() throws Exception {
        try (RawHttp http = new RawHttp(fleet.port())) {
            String body = "{\"input\": [\"unterminated";
            http.send("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                      + body.length() + "\r\n\r\n", body.getBytes(StandardCharsets.UTF_8));
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(400));
            assertThat("relayed from a backend", r.header("X-VLLM-Factory-Backend-Index"), notNullValue());
            assertThat(r.header("X-VLLM-Factory-Affinity-State"), notNullValue());
            assertThat(r.text(), containsString("JSON"));
        }
    }

    @Test
    void slowlorisConnectionsAreCutAtTheHeaderTimeoutWhileOthersAreServed() throws Exception {
        int count = Reliability.scaled(100, 500);
        List<Socket> slow = new ArrayList<>();
        List<Long> latencies = new ArrayList<>();
        long opened = System.nanoTime();
        try (ExecutorService tricklers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> ends = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Socket s = new Socket("127.0.0.1", fleet.port());
                slow.add(s);
                ends.add(tricklers.submit(() -> trickle(s)));
            }
            for (int i = 0; i < 20; i++) {
                long t0 = System.nanoTime();
                assertThat(Clients.pooling(fleet.port(), Clients.gliner("normal", "x"), 0).statusCode(), is(200));
                latencies.add((System.nanoTime() - t0) / 1_000_000);
            }
            int cut = 0;
            for (Future<String> end : ends) {
                String how = end.get(60, TimeUnit.SECONDS);
                assertThat(how, notNullValue());
                cut += how.equals("408") || how.equals("closed") ? 1 : 0;
            }
            long seconds = (System.nanoTime() - opened) / 1_000_000_000;
            assertThat("every trickling connection was cut", cut, is(count));
            assertThat("cut near the 3 s header timeout, not held", seconds, lessThan(30L));
            latencies.sort(null);
            Reliability.figure("slowloris", "connections trickling a header byte a second", count);
            Reliability.figure("slowloris", "normal requests meanwhile: p50, max ms",
                    latencies.get(latencies.size() / 2) + ", " + latencies.getLast());
        } finally {
            for (Socket s : slow) {
                s.close();
            }
        }
    }

    @Test
    void clientsThatVanishMidBodyInLineOrMidStreamLeaveNothingOpen() throws Exception {
        // mid-body: half a body, then gone
        try (Socket s = new Socket("127.0.0.1", fleet.port())) {
            s.getOutputStream().write(("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                       + "Content-Length: 1000\r\n\r\n{\"input\": \"").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
        }
        // mid-stream: the first events, then gone
        String body = "{\"model\":\"test-model\",\"stream\":true,\"max_tokens\":400,"
                      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        try (RawHttp http = new RawHttp(fleet.port())) {
            http.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + "X-Sim-Token-Delay-Ms: 50\r\nContent-Length: " + body.length() + "\r\n\r\n",
                    body.getBytes(StandardCharsets.UTF_8));
            assertThat(http.line(), is("HTTP/1.1 200 OK"));
            Poll.until(Duration.ofSeconds(10), "the stream is in flight", () -> fleet.openRequests() >= 1);
        }
        Poll.until(Duration.ofSeconds(20), "the vanished stream is released", () -> fleet.openRequests() <= 1);
        // in line: every permit taken, one more waits, then gone
        stopBystander(); // it would take the permits this case needs
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> holders = new ArrayList<>();
            for (int i = 0; i < BACKENDS * MAX_BATCH; i++) {
                holders.add(clients.submit(() -> Clients.pooling(fleet.port(), Clients.gliner("hold", "x"), 2000)));
            }
            Poll.until(Duration.ofSeconds(10), "every permit is taken", () -> fleet.openRequests() == BACKENDS * MAX_BATCH);
            try (RawHttp waiting = new RawHttp(fleet.port())) {
                String json = Clients.gliner("waits", "x");
                waiting.send("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                             + json.length() + "\r\n\r\n", json.getBytes(StandardCharsets.UTF_8));
                Poll.until(Duration.ofSeconds(10), "one waits in line", () -> fleet.dispatcher().path("waiting").asInt() == 1);
            }
            Poll.until(Duration.ofSeconds(10), "the line is empty", () -> fleet.dispatcher().path("waiting").asInt() == 0);
            for (Future<HttpResponse<String>> f : holders) {
                assertThat(f.get().statusCode(), is(200));
            }
        } finally {
            startBystander();
        }
    }

    /** Sends raw bytes; the answer's status, or "closed" when the connection ended without one. */
    private static String send(byte[] request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", fleet.port());
             ExecutorService writer = Executors.newVirtualThreadPerTaskExecutor()) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            writer.submit(() -> {
                try {
                    out.write(request);
                    out.flush();
                } catch (IOException e) {
                    // the server answered and closed before it all went: fine, the answer is what counts
                }
                return null;
            });
            RawHttp.Response r;
            try {
                r = new RawHttp(s).read();
            } catch (IOException e) {
                return "closed";
            }
            assertThat(r.header("content-type"), is("application/problem+json"));
            assertThat(r.header("connection"), is("close"));
            return Integer.toString(r.status());
        }
    }

    /** A header byte a second until the server gives up: its status, or "closed". */
    private static String trickle(Socket s) {
        try {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            var in = s.getInputStream();
            while (true) {
                if (in.available() > 0) {
                    break;
                }
                try {
                    out.write('a');
                    out.flush();
                } catch (IOException e) {
                    return "closed";
                }
                Thread.sleep(1000); // the attack's pace
            }
            return Integer.toString(new RawHttp(s).read().status());
        } catch (IOException e) {
            return "closed";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
