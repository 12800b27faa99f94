package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;

/** The dispatcher is transparent: what the client sends reaches a backend unchanged, and back. */
class DispatcherProxyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SimulatorProcess sim1;
    private static SimulatorProcess sim2;
    private static Sidecar sidecar;

    @BeforeAll
    static void start() throws Exception {
        sim1 = SimulatorProcess.start("--sim-token-delay-ms", "150");
        sim2 = SimulatorProcess.start("--sim-token-delay-ms", "150");
        sidecar = TestSidecars.start(List.of(sim1, sim2));
    }

    @AfterAll
    static void stop() throws Exception {
        sidecar.close();
        sim1.close();
        sim2.close();
    }

    @Test
    void forwardsMethodPathQueryHeadersAndBinaryBodyUnchanged() throws Exception {
        byte[] body = new byte[1024];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) i;
        }
        String path = "/sim/echo/a%2Fb;x=1/%7Euser";
        String query = "q=%20a+b&q=2&empty=&utf=%C3%A9";
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("PATCH " + path + "?" + query + " HTTP/1.1\r\n"
                      + "Host: dispatcher.example\r\n"
                      + "X-Custom: one\r\n"
                      + "X-Custom: two\r\n"
                      + "Cookie: session=abc\r\n"
                      + "Authorization: Bearer secret-token\r\n"
                      + "Keep-Alive: timeout=5\r\n"
                      + "Connection: keep-alive, X-Hop\r\n"
                      + "X-Hop: must-not-pass\r\n"
                      + "Content-Type: application/octet-stream\r\n"
                      + "Content-Length: " + body.length + "\r\n\r\n", body);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            JsonNode echo = JSON.readTree(r.body());
            assertThat(echo.get("method").asText(), is("PATCH"));
            assertThat(echo.get("path").asText(), is(path));
            assertThat(echo.get("query").asText(), is(query));
            assertThat(echo.get("bodyLength").asLong(), is((long) body.length));
            assertThat(echo.get("bodySha256").asText(), is(sha256(body)));
            List<String> names = new ArrayList<>();
            List<String> custom = new ArrayList<>();
            String host = null;
            String forwardedFor = null;
            for (JsonNode h : echo.get("headers")) {
                String name = h.get(0).asText().toLowerCase();
                names.add(name);
                switch (name) {
                    case "x-custom" -> custom.add(h.get(1).asText());
                    case "host" -> host = h.get(1).asText();
                    case "x-forwarded-for" -> forwardedFor = h.get(1).asText();
                    default -> {
                    }
                }
            }
            assertThat(custom, contains("one", "two"));
            assertThat(names, hasItem("cookie"));
            assertThat(names, hasItem("authorization"));
            assertThat(names, hasItem("content-type"));
            assertThat(names, hasItem("x-forwarded-proto"));
            assertThat(names, not(hasItem("keep-alive")));
            assertThat(names, not(hasItem("x-hop")));
            assertThat(names, not(hasItem("connection")));
            assertThat(forwardedFor, is("127.0.0.1"));
            assertThat(host, containsString("127.0.0.1:"));
        }
    }

    @Test
    void appendsToAnExistingForwardedForChain() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /sim/echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.1.2.3\r\n"
                      + "X-Forwarded-Proto: https\r\n\r\n", null);
            JsonNode echo = JSON.readTree(http.read().body());
            List<String> xff = new ArrayList<>();
            List<String> proto = new ArrayList<>();
            for (JsonNode h : echo.get("headers")) {
                if (h.get(0).asText().equalsIgnoreCase("x-forwarded-for")) {
                    xff.add(h.get(1).asText());
                }
                if (h.get(0).asText().equalsIgnoreCase("x-forwarded-proto")) {
                    proto.add(h.get(1).asText());
                }
            }
            assertThat(xff, contains("10.1.2.3, 127.0.0.1"));
            assertThat(proto, contains("https"));
        }
    }

    @Test
    void relaysStatusAndEveryResponseHeaderIncludingRepeatedOnes() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("DELETE /sim/echo/thing HTTP/1.1\r\nHost: x\r\n"
                      + "X-Sim-Status: 418\r\n"
                      + "X-Sim-Response-Header: Set-Cookie: a=1; Path=/\r\n"
                      + "X-Sim-Response-Header: Set-Cookie: b=2; HttpOnly\r\n"
                      + "X-Sim-Response-Header: X-Multi: x\r\n"
                      + "X-Sim-Response-Header: X-Multi: y\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(418));
            assertThat(r.all("set-cookie"), contains("a=1; Path=/", "b=2; HttpOnly"));
            assertThat(String.join(",", r.all("x-multi")).replace(" ", ""), is("x,y"));
            assertThat(r.header("x-vllm-factory-backend-index"), notNullValue());
            assertThat(r.header("x-vllm-factory-affinity-state"), is("disabled"));
        }
    }

    @Test
    void forwardsAChunkedRequestBody() throws Exception {
        byte[] part1 = "hello ".getBytes(StandardCharsets.US_ASCII);
        byte[] part2 = "chunked world".getBytes(StandardCharsets.US_ASCII);
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("POST /sim/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + "6\r\nhello \r\nd\r\nchunked world\r\n0\r\n\r\n", null);
            JsonNode echo = JSON.readTree(http.read().body());
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.write(part1);
            all.write(part2);
            assertThat(echo.get("bodyLength").asLong(), is(19L));
            assertThat(echo.get("bodySha256").asText(), is(sha256(all.toByteArray())));
        }
    }

    @Test
    void keepsTheConnectionAliveAcrossRequests() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            for (int i = 0; i < 5; i++) {
                http.send("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", null);
                RawHttp.Response r = http.read();
                assertThat(r.status(), is(200));
                assertThat(r.text(), containsString("test-model"));
            }
        }
    }

    @Test
    void streamsServerSentEventsAsTheBackendProducesThem() throws Exception {
        String body = "{\"model\":\"test-model\",\"stream\":true,\"max_tokens\":6,"
                      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + "Content-Length: " + body.length() + "\r\n\r\n", body.getBytes(StandardCharsets.UTF_8));
            String status = http.line();
            assertThat(status, containsString(" 200 "));
            String line;
            boolean eventStream = false;
            while (!(line = http.line()).isEmpty()) {
                eventStream |= line.toLowerCase().startsWith("content-type: text/event-stream");
            }
            assertThat("content type is text/event-stream", eventStream, is(true));
            // Read the chunked body event by event and note when each data line arrives.
            List<Long> arrivals = new ArrayList<>();
            StringBuilder events = new StringBuilder();
            InputStream in = http.input();
            while (true) {
                int size = Integer.parseInt(http.line().trim(), 16);
                if (size == 0) {
                    break;
                }
                String chunk = new String(in.readNBytes(size), StandardCharsets.UTF_8);
                http.line();
                for (int i = chunk.indexOf("data:"); i >= 0; i = chunk.indexOf("data:", i + 1)) {
                    arrivals.add(System.nanoTime());
                }
                events.append(chunk);
            }
            assertThat(events.toString(), containsString("data: [DONE]"));
            assertThat(arrivals.size(), greaterThanOrEqualTo(6));
            long spreadMs = (arrivals.getLast() - arrivals.getFirst()) / 1_000_000;
            // 6 tokens 150 ms apart: a buffering proxy would deliver them all at once at the end.
            assertThat("ms between first and last event", spreadMs, greaterThan(400L));
        }
    }

    @Test
    void relaysLargeBodiesBothWays() throws Exception {
        int size = 20 * 1024 * 1024;
        byte[] body = new byte[size];
        new java.util.Random(7).nextBytes(body);
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("PUT /sim/echo/big HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\n\r\n", body);
            JsonNode echo = JSON.readTree(http.read().body());
            assertThat(echo.get("bodyLength").asLong(), is((long) size));
            assertThat(echo.get("bodySha256").asText(), is(sha256(body)));

            http.send("GET /sim/bytes?n=" + size + " HTTP/1.1\r\nHost: x\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            assertThat(r.body().length, is(size));
            for (int i = 0; i < size; i += 4099) {
                assertThat(r.body()[i], is((byte) ((i * 31 + 7) & 0xFF)));
            }
        }
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {16_000, 17_000, 100_000, 262_000, 300_000})
    void forwardsBodiesAroundTheEventLoopsLimitsUnchanged(int size) throws Exception {
        // below and above one write buffer (16 KiB) and the largest request a loop takes (256 KiB),
        // twice on one connection, answered small and large (past the 64 KiB a loop buffers)
        byte[] body = new byte[size];
        new java.util.Random(size).nextBytes(body);
        try (RawHttp http = new RawHttp(sidecar.port())) {
            for (int i = 0; i < 2; i++) {
                http.send("POST /sim/echo/sized HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\n\r\n", body);
                JsonNode echo = JSON.readTree(http.read().body());
                assertThat(echo.get("bodyLength").asLong(), is((long) size));
                assertThat(echo.get("bodySha256").asText(), is(sha256(body)));
                http.send("GET /sim/bytes?n=" + size + " HTTP/1.1\r\nHost: x\r\n\r\n", null);
                RawHttp.Response r = http.read();
                assertThat(r.body().length, is(size));
                assertThat(r.body()[size - 1], is((byte) (((size - 1) * 31 + 7) & 0xFF)));
            }
        }
    }

    @Test
    void answersHealthItself() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            assertThat(JSON.readTree(r.body()).get("healthy_backends").asInt(), is(2));
            assertThat(r.header("x-vllm-factory-backend-index"), is((String) null));
        }
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
