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

/**
 * The public listener serves plain requests on its fast path and hands a connection to Helidon's
 * HTTP/1 at the first request that needs the general path; either way every request is answered,
 * in order, on the same connection.
 */
class DispatcherFastPathTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SimulatorProcess sim;
    private static Sidecar sidecar;

    @BeforeAll
    static void start() throws Exception {
        sim = SimulatorProcess.start();
        // A small retry buffer: a body past it is streamed, which only the general path does.
        sidecar = TestSidecars.start(List.of(sim), "--retry-body-limit", "1KiB");
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
    void keepsAnsweringOnOneConnectionAcrossTheHandOver() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(post("/sim/echo/fast", "{\"a\":1}"), null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/fast"));

            // Chunked upload: the general path takes the connection from here on.
            http.send("POST /sim/echo/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + "5\r\nhello\r\n0\r\n\r\n", null);
            JsonNode chunked = echo(http.read());
            assertThat(chunked.get("path").asText(), is("/sim/echo/chunked"));
            assertThat(chunked.get("bodyLength").asLong(), is(5L));

            http.send(post("/sim/echo/after", "x".repeat(4096)), null);
            JsonNode large = echo(http.read());
            assertThat(large.get("path").asText(), is("/sim/echo/after"));
            assertThat(large.get("bodyLength").asLong(), is(4096L));

            http.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", null);
            assertThat(http.read().text(), containsString("\"status\": \"ok\""));
        }
    }

    @Test
    void handsOverForABodyPastTheBufferAndForHealth() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(post("/sim/echo/big", "y".repeat(3000)), null);
            assertThat(echo(http.read()).get("bodyLength").asLong(), is(3000L));
        }
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            http.send(post("/sim/echo/then", "{}"), null);
            assertThat(echo(http.read()).get("path").asText(), is("/sim/echo/then"));
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
    void servesHttp10ClientsAndClosesUnlessAskedToKeepAlive() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("POST /sim/echo/ten HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}", null);
            RawHttp.Response r = http.read();
            assertThat(echo(r).get("path").asText(), is("/sim/echo/ten"));
            assertThat(r.header("connection"), is("close"));
            assertThat("the server closed its end", http.input().read(), is(-1));
        }
        try (RawHttp http = new RawHttp(sidecar.port())) {
            for (int i = 0; i < 2; i++) {
                http.send("GET /sim/echo/" + i + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", null);
                RawHttp.Response r = http.read();
                assertThat(echo(r).get("path").asText(), is("/sim/echo/" + i));
                assertThat(r.header("connection"), is("keep-alive"));
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
            "GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nHost: y\\r\\n\\r\\n | more than one Host header",
            "GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nX-A: 1\\r\\n folded\\r\\n\\r\\n | obsolete line folding",
            "POST /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1\\r\\nContent-Length: 2\\r\\n\\r\\nab | more than one Content-Length",
            "GET /sim/echo HTTP/1.1\\r\\nHost: x\\r\\nBad Name: 1\\r\\n\\r\\n | not 'name: value'",
    })
    void answersAMalformedRequestWithAProblemAndClosesWithoutForwardingIt(String request, String why)
            throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(request.translateEscapes(), null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(400));
            assertThat(r.header("content-type"), is("application/problem+json"));
            assertThat(r.header("connection"), is("close"));
            assertThat(JSON.readTree(r.body()).get("detail").asText(), containsString(why));
            // A relayed answer names its backend; this one comes from the dispatcher itself.
            assertThat(r.header("x-vllm-factory-backend-index"), nullValue());
            assertThat("the server closed its end", http.input().read(), is(-1));
        }
    }

    @Test
    void leavesBareLineFeedsToHelidonWhichRefusesThem() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /sim/echo HTTP/1.1\nHost: x\n\n", null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(400));
            assertThat(r.header("x-vllm-factory-backend-index"), nullValue());
        }
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(post("/sim/echo", "{}"), null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            assertThat(r.header("x-vllm-factory-backend-index"), is("0"));
        }
    }
}
