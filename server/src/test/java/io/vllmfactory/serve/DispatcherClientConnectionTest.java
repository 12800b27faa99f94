package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Client connections as clients meet them: Helidon's HTTP/1 parses every request, on one path,
 * whatever its framing; pipelined requests are answered in order; Connection: close and HTTP/1.0 are
 * honoured; slow and malformed requests get their 4xx and a closed connection.
 */
class DispatcherClientConnectionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SimulatorProcess sim;
    private static Sidecar sidecar;

    @BeforeAll
    static void start() throws Exception {
        sim = SimulatorProcess.start();
        // A small retry buffer: a body past it is streamed to the backend as it arrives.
        sidecar = TestSidecars.start(List.of(sim), "--retry-body-limit", "1KiB", "--client-header-timeout", "1s",
                "--client-body-timeout", "1s", "--client-idle-timeout", "2s", "--max-request-line", "1KiB",
                "--max-header-size", "4KiB", "--max-headers", "50");
    }

    @AfterAll
    static void stop() throws Exception {
        sidecar.close();
        sim.close();
    }

    private static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    private static JsonNode echo(RawHttp.Response r) throws Exception {
        assertThat(r.text(), r.status(), is(200));
        return JSON.readTree(r.body());
    }

    @Test
    void servesEveryFramingAndSizeOnOneConnection() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(post("/sim/echo/small", "{\"a\":1}"), null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/small"));

            http.send("POST /sim/echo/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + "5\r\nhello\r\n0\r\n\r\n", null);
            JsonNode chunked = echo(http.read());
            assertThat(chunked.get("path").asText(), is("/sim/echo/chunked"));
            assertThat(chunked.get("bodyLength").asLong(), is(5L));

            http.send(post("/sim/echo/streamed", "x".repeat(4096)), null); // past the retry buffer: streamed
            JsonNode large = echo(http.read());
            assertThat(large.get("bodyLength").asLong(), is(4096L));

            http.send("POST /sim/echo/expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
                    null);
            assertThat(http.line(), is("HTTP/1.1 100 Continue"));
            assertThat(http.line(), is(""));
            http.send("{}", null);
            assertThat(echo(http.read()).get("bodyLength").asLong(), is(2L));

            http.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", null);
            assertThat(http.read().text(), containsString("\"status\": \"ok\""));
        }
    }

    @Test
    void answersPipelinedRequestsInOrder() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(post("/sim/echo/1", "{}") + "GET /sim/echo/2?q=2 HTTP/1.1\r\nHost: x\r\n\r\n"
                      + post("/sim/echo/3", "{\"three\":3}"), null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/1"));
            JsonNode second = echo(http.read());
            assertThat(second.get("path").asText(), is("/sim/echo/2"));
            assertThat(second.get("query").asText(), is("q=2"));
            JsonNode third = echo(http.read());
            assertThat(third.get("path").asText(), is("/sim/echo/3"));
            assertThat(third.get("bodyLength").asLong(), is(11L));
        }
    }

    @Test
    void answersARequestWhoseHeadAndBodyArriveInPieces() throws Exception {
        String request = post("/sim/echo/pieces", "{\"pieces\": [1, 2, 3]}");
        try (RawHttp http = new RawHttp(sidecar.port())) {
            // The pauses only shape the traffic (the event loop sees a head, then a body, cut short);
            // the answer is the same however the pieces are read.
            int from = 0;
            for (int cut : new int[] {20, 45, 70}) { // in the request line, in the headers, in the body
                http.send(request.substring(from, cut), null);
                from = cut;
                Thread.sleep(30);
            }
            http.send(request.substring(from), null);
            JsonNode echo = echo(http.read());
            assertThat(echo.get("path").asText(), is("/sim/echo/pieces"));
            assertThat(echo.get("bodyLength").asLong(), is(21L));
            http.send(post("/sim/echo/next", "{}"), null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/next"));
        }
    }

    @Test
    void answersAPipelinedRequestThatSatUnreadWhileASlowAnswerWasBeingMade() throws Exception {
        // The second request's bytes wait in the client connection for the whole service time, with
        // nobody reading them: the reactor stops watching them, and must pick them up afterwards.
        try (SimulatorProcess slow = SimulatorProcess.start("--sim-service-time-ms", "400");
             Sidecar proxy = TestSidecars.start(List.of(slow));
             RawHttp http = new RawHttp(proxy.port())) {
            String body = "{\"input\": \"Paris\", \"labels\": [\"city\"]}";
            http.send(post("/pooling", body) + post("/pooling", body), null);
            for (int i = 0; i < 2; i++) {
                RawHttp.Response r = http.read();
                assertThat(r.text(), r.status(), is(200));
                assertThat(r.header("X-VLLM-Factory-Schema-Size"), is("1"));
            }
            http.send("GET /sim/echo/after HTTP/1.1\r\nHost: x\r\n\r\n", null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/after"));
        }
    }

    @Test
    void closesTheConnectionWhenTheClientAsks() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /sim/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            assertThat(r.header("connection"), is("close"));
            assertThat("the server closed its end", http.input().read(), is(-1));
        }
    }

    @Test
    void servesHttp10ClientsOneRequestPerConnectionHealthIncluded() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("POST /sim/echo/ten HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}", null);
            RawHttp.Response r = http.read();
            assertThat(echo(r).get("path").asText(), is("/sim/echo/ten"));
            assertThat(r.header("connection"), is("close"));
            assertThat("the server closed its end", http.input().read(), is(-1));
        }
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /sim/echo/alive HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat(echo(r).get("path").asText(), is("/sim/echo/alive"));
            assertThat("one request per HTTP/1.0 connection", r.header("connection"), is("close"));
            assertThat(http.input().read(), is(-1));
        }
        for (String probe : List.of("GET /health HTTP/1.0\r\n\r\n", "OPTIONS /health HTTP/1.0\r\nUser-Agent: HAProxy\r\n\r\n")) {
            try (RawHttp http = new RawHttp(sidecar.port())) { // what HAProxy's option httpchk sends
                http.send(probe, null);
                RawHttp.Response r = http.read();
                assertThat(r.status(), is(200));
                assertThat(r.text(), containsString("\"status\": \"ok\""));
                assertThat(http.input().read(), is(-1));
            }
        }
    }

    @Test
    void sendsAnHttp10ClientAStreamWithoutChunksAndEndsItByClosing() throws Exception {
        String body = "{\"model\":\"test-model\",\"stream\":true,\"max_tokens\":4,"
                      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("POST /v1/chat/completions HTTP/1.0\r\nConnection: keep-alive\r\n"
                      + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body, null);
            assertThat(http.line(), containsString(" 200 "));
            List<String> headers = new java.util.ArrayList<>();
            String line;
            while (!(line = http.line()).isEmpty()) {
                headers.add(line.toLowerCase());
            }
            assertThat(headers, hasItem("connection: close"));
            assertThat(headers, not(hasItem("transfer-encoding: chunked")));
            String rest = new String(http.input().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(rest, startsWith("data: "));
            assertThat(rest, containsString("data: [DONE]"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "two Hosts|GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nHost: y\\r\\n\\r\\n|400",
            "no Host|GET /sim/echo HTTP/1.1\\r\\nX-A: 1\\r\\n\\r\\n|400",
            "obsolete line folding|GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nX-A: 1\\r\\n folded\\r\\n\\r\\n|400",
            "two lengths|POST /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1\\r\\nContent-Length: 2\\r\\n\\r\\nab|400",
            "length and chunked (smuggling)|POST /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 3\\r\\n"
                    + "Transfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n|400",
            "not a header|GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nBad Name: 1\\r\\n\\r\\n|400",
            "bare line feeds|GET /sim/echo HTTP/1.1\\nHost: x\\n\\n|400",
            "NUL in a value|GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\0b\\r\\n\\r\\n|400",
            "a method that is no token|G\\1T /sim/echo HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n|400",
            "chunk extension|POST /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                    + "3;a=b\\r\\nabc\\r\\n0\\r\\n\\r\\n|400",
            "trailer|POST /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                    + "3\\r\\nabc\\r\\n0\\r\\nX-T: 1\\r\\n\\r\\n|400",
            "signed chunk size|POST /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                    + "-3\\r\\nabc\\r\\n0\\r\\n\\r\\n|400",
            "non-hex chunk size|POST /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                    + "zz\\r\\nabc\\r\\n0\\r\\n\\r\\n|400",
            "HTTP/2 prior knowledge|PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n|400",
            "a long request line|GET /sim/echo?q=" + "LONG" + " HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n|414",
            "a large header section|GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nX-Big: BIG\\r\\n\\r\\n|431",
            "too many headers|GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nMANY\\r\\n|431",
    })
    void answersAMalformedRequestWithAProblemAndClosesWithoutForwardingIt(String why, String request, int status)
            throws Exception {
        String raw = request.translateEscapes().replace("LONG", "q".repeat(2000)).replace("BIG", "b".repeat(5000))
                .replace("MANY", "X-N: 1\r\n".repeat(60));
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(raw, null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(status));
            assertThat(r.header("content-type"), is("application/problem+json"));
            assertThat(JSON.readTree(r.body()).get("status").asInt(), is(status));
            assertThat(r.header("connection"), is("close"));
            // A relayed answer names its backend; this one comes from the dispatcher itself.
            assertThat(r.header("x-vllm-factory-backend-index"), nullValue());
            assertThat("the server closed its end", http.input().read(), is(-1));
        }
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(post("/sim/echo/next", "{}"), null);
            assertThat("other clients are served as before", echo(http.read()).get("path").asText(), is("/sim/echo/next"));
        }
    }

    @Test
    void aHeadThatDoesNotArriveInTimeGets408AndTheConnectionCloses() throws Exception {
        try (RawHttp silent = new RawHttp(sidecar.port()); RawHttp slow = new RawHttp(sidecar.port())) {
            slow.send("GET /sim/echo HTTP/1.1\r\nHost: x\r\n", null); // the empty line never comes
            for (RawHttp http : List.of(silent, slow)) {
                RawHttp.Response r = http.read();
                assertThat(r.status(), is(408));
                assertThat(r.header("content-type"), is("application/problem+json"));
                assertThat(r.text(), containsString("client-header-timeout"));
                assertThat(http.input().read(), is(-1));
            }
        }
    }

    @Test
    void aBodyThatStopsComingEndsTheConnection() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("POST /sim/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part", null);
            assertThat("closed without an answer", http.input().read(), is(-1));
        }
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(post("/sim/echo/after", "{}"), null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/after"));
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            // timed from before the request: the connection's idle time cannot start earlier, however late
            // this thread gets to run on a loaded machine
            long start = System.nanoTime();
            http.send("GET /sim/echo/idle HTTP/1.1\r\nHost: x\r\n\r\n", null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/idle"));
            assertThat("the server closes the idle connection", http.input().read(), is(-1));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat("not before the 2 s idle timeout: closed after " + millis + " ms", millis >= 1_950, is(true));
        }
    }

    @Test
    void pastTheConnectionCapNewClientsWaitUntilOneLeavesAndTheLogSaysSoOnce() throws Exception {
        java.util.List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Logger log = java.util.logging.Logger.getLogger(
                "io.vllmfactory.serve.dispatch.client.ClientConnections");
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                warnings.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(handler);
        try (Sidecar capped = TestSidecars.start(List.of(sim), "--max-client-connections", "2");
             RawHttp first = new RawHttp(capped.port()); RawHttp second = new RawHttp(capped.port())) {
            for (RawHttp http : List.of(first, second)) {
                http.send(post("/sim/echo/held", "{}"), null);
                assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/held"));
            }
            try (RawHttp third = new RawHttp(capped.port())) { // accepted by the kernel, not yet by the server
                third.send(post("/sim/echo/third", "{}"), null);
                third.socketTimeout(500);
                assertThrows(java.net.SocketTimeoutException.class, third::line, "not served while two are open");
                first.close();
                third.socketTimeout(30_000);
                assertThat(echo(third.read()).get("path").asText(), is("/sim/echo/third"));
            }
            second.send(post("/sim/echo/still", "{}"), null);
            assertThat("those open are served as before", echo(second.read()).get("path").asText(), is("/sim/echo/still"));
            assertThat(warnings.stream().filter(w -> w.contains("max-client-connections")).count(), is(1L));
        } finally {
            log.removeHandler(handler);
        }
    }
}
