package io.vllmfactory.simulator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.isIn;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The simulator's HTTP API, against a real server on port 0 in this JVM. */
class SimulatorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    static Path dir;

    private static Simulator simulator;
    private static ByteArrayOutputStream stdout;

    @BeforeAll
    static void start() throws Exception {
        stdout = new ByteArrayOutputStream();
        simulator = start(stdout, "--max-num-seqs", "2", "--served-model-name", "sim-model",
                "--sim-service-time-ms", "0", "--sim-token-delay-ms", "1", "--dtype", "auto", "--enforce-eager");
    }

    @AfterAll
    static void stop() {
        simulator.close();
    }

    static Simulator start(ByteArrayOutputStream out, String... extra) throws Exception {
        return start(out, () -> { }, extra);
    }

    static Simulator start(ByteArrayOutputStream out, Runnable crash, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("serve", "org/model", "--port", "0", "--sim-startup-delay", "0",
                "--sim-gpu-ledger", dir.resolve("gpu.ledger").toString(), "--gpu-memory-utilization", "0.01"));
        args.addAll(List.of(extra));
        Command.Serve serve = (Command.Serve) CommandLine.parse(args, Map.of(), dir.toString());
        Simulator started = new Simulator(serve.config(), new VllmLog(new PrintStream(out, true, StandardCharsets.UTF_8)),
                crash);
        started.start();
        return started;
    }

    private static URI uri(Simulator sim, String path) {
        return URI.create("http://127.0.0.1:" + sim.port() + path);
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(uri(simulator, path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(Simulator sim, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(sim, path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }

    @Test
    void announcesTheBoundPortAsUvicornDoes() {
        assertThat(stdout.toString(StandardCharsets.UTF_8), containsString(
                "INFO:     Uvicorn running on http://127.0.0.1:" + simulator.port() + " (Press CTRL+C to quit)\n"));
    }

    @Test
    void healthAnswersEmpty() throws Exception {
        HttpResponse<String> response = get("/health");

        assertThat(response.statusCode(), is(200));
        assertThat(response.body(), is(""));
    }

    @Test
    void modelsListsTheServedName() throws Exception {
        JsonNode models = json(get("/v1/models"));

        assertThat(models.path("object").asText(), is("list"));
        JsonNode card = models.path("data").path(0);
        assertThat(card.path("id").asText(), is("sim-model"));
        assertThat(card.path("root").asText(), is("org/model"));
        assertThat(card.path("owned_by").asText(), is("vllm"));
        assertThat(card.path("max_model_len").asInt(), is(8192));
    }

    @Test
    void poolingIsDeterministicPerInput() throws Exception {
        String body = "{\"model\":\"sim-model\",\"input\":\"Barack Obama was born in Hawaii\"}";
        JsonNode first = json(post(simulator, "/pooling", body));
        JsonNode again = json(post(simulator, "/pooling", body));
        JsonNode other = json(post(simulator, "/pooling", "{\"input\":\"something else\"}"));

        assertThat(first.path("id").asText(), startsWith("pool-"));
        assertThat(first.path("object").asText(), is("list"));
        assertThat(first.path("model").asText(), is("sim-model"));
        JsonNode item = first.path("data").path(0);
        assertThat(item.path("object").asText(), is("pooling"));
        assertThat(item.path("data").size(), is(FakeModel.DIMENSIONS));
        assertThat(item.path("data"), is(again.path("data").path(0).path("data")));
        assertThat(item.path("data"), not(other.path("data").path(0).path("data")));
        assertThat(first.path("usage").path("prompt_tokens").asInt(), is(6));
    }

    @Test
    void theSeedsGlinerRequestIsAnsweredWithEntitiesByItsPlugin() throws Exception {
        // vllm-factory's docs/multi_instance_serving.md, verbatim
        String seed = """
                {
                  "model": "/tmp/sauerkraut-gliner-vllm",
                  "data": {
                    "text": "Apple Inc. announced a partnership with OpenAI in San Francisco.",
                    "labels": ["company", "location", "person"],
                    "threshold": 0.3
                  }
                }""";
        Simulator gliner = start(new ByteArrayOutputStream(), "--served-model-name", "/tmp/sauerkraut-gliner-vllm",
                "--io-processor-plugin", "mmbert_gliner_io", "--dtype", "bfloat16", "--enforce-eager");
        try {
            HttpResponse<String> response = post(gliner, "/pooling", seed);
            assertThat(response.body(), response.statusCode(), is(200));
            JsonNode body = json(response);
            assertThat(body.path("request_id").asText(), startsWith("pooling-"));
            assertThat(body.path("created_at").isIntegralNumber(), is(true));
            List<String> found = new ArrayList<>();
            for (JsonNode entity : body.path("data")) {
                assertThat(entity.path("label").asText(), isIn(List.of("company", "location", "person")));
                assertThat(entity.path("score").asDouble(), greaterThanOrEqualTo(0.3));
                found.add(entity.path("text").asText());
            }
            assertThat(found, is(List.of("Apple Inc", "OpenAI", "San Francisco")));
            assertThat("an input request still gets vectors", json(post(gliner, "/pooling", "{\"input\":\"x\"}"))
                    .path("data").path(0).path("data").size(), is(FakeModel.DIMENSIONS));
        } finally {
            gliner.close();
        }
    }

    @Test
    void aPluginRequestWithoutAPluginIsRefusedAsVllmRefusesIt() throws Exception {
        HttpResponse<String> response = post(simulator, "/pooling",
                "{\"model\":\"sim-model\",\"data\":{\"text\":\"Apple\",\"labels\":[\"company\"]}}");

        assertThat(response.statusCode(), is(400));
        assertThat(json(response).path("message").asText(), startsWith("No IOProcessor plugin installed."));
    }

    @Test
    void malformedJsonIsVllmsBadRequest() throws Exception {
        HttpResponse<String> response = post(simulator, "/pooling", "{\"input\": ");

        assertThat(response.statusCode(), is(400));
        JsonNode error = json(response);
        assertThat(error.path("object").asText(), is("error"));
        assertThat(error.path("type").asText(), is("BadRequestError"));
        assertThat(error.path("code").asInt(), is(400));
        assertThat(error.has("param"), is(true));
    }

    @Test
    void anUnknownModelIsNotFound() throws Exception {
        HttpResponse<String> response = post(simulator, "/v1/embeddings", "{\"model\":\"other\",\"input\":\"x\"}");

        assertThat(response.statusCode(), is(404));
        assertThat(json(response).path("message").asText(), is("The model `other` does not exist."));
    }

    @Test
    void embeddingsAnswerOneVectorPerInput() throws Exception {
        JsonNode response = json(post(simulator, "/v1/embeddings", "{\"input\":[\"a b\",\"c\",\"d e f\"]}"));

        assertThat(response.path("data").size(), is(3));
        assertThat(response.path("data").path(2).path("index").asInt(), is(2));
        assertThat(response.path("data").path(2).path("object").asText(), is("embedding"));
        assertThat(response.path("data").path(2).path("embedding").size(), is(FakeModel.DIMENSIONS));
        assertThat(response.path("usage").path("total_tokens").asInt(), is(6));
    }

    @Test
    void chatCompletionStreamsTokenByTokenThenDone() throws Exception {
        String body = "{\"model\":\"sim-model\",\"stream\":true,\"max_tokens\":5,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
        HttpRequest request = HttpRequest.newBuilder(uri(simulator, "/v1/chat/completions"))
                .header("X-Sim-Token-Delay-Ms", "60")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();

        HttpResponse<Stream<String>> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofLines());
        List<String> events = new ArrayList<>();
        List<Long> arrivals = new ArrayList<>();
        response.body().filter(line -> !line.isEmpty()).forEach(line -> {
            events.add(line);
            arrivals.add(System.nanoTime());
        });

        assertThat(response.headers().firstValue("Content-Type").orElse(""), startsWith("text/event-stream"));
        assertThat(events.size(), is(7)); // role, 5 tokens, [DONE]
        assertThat(events.getLast(), is("data: [DONE]"));
        StringBuilder content = new StringBuilder();
        for (String event : events.subList(0, 6)) {
            assertThat(event, startsWith("data: {"));
            JsonNode chunk = JSON.readTree(event.substring("data: ".length()));
            assertThat(chunk.path("object").asText(), is("chat.completion.chunk"));
            content.append(chunk.path("choices").path(0).path("delta").path("content").asText());
        }
        JsonNode last = JSON.readTree(events.get(5).substring("data: ".length()));
        assertThat(last.path("choices").path(0).path("finish_reason").asText(), is("length"));
        assertThat(content.toString().isBlank(), is(false));
        // flushed one by one: the first token arrived well before the last, not all in one buffer
        long spreadMillis = TimeUnit.NANOSECONDS.toMillis(arrivals.get(5) - arrivals.get(1));
        assertThat(spreadMillis, greaterThanOrEqualTo(150L));
    }

    @Test
    void completionAnswersMaxTokensWithUsage() throws Exception {
        JsonNode response = json(post(simulator, "/v1/completions",
                "{\"prompt\":\"one two three\",\"max_tokens\":4}"));

        assertThat(response.path("object").asText(), is("text_completion"));
        assertThat(response.path("choices").path(0).path("finish_reason").asText(), is("length"));
        assertThat(response.path("usage").path("prompt_tokens").asInt(), is(3));
        assertThat(response.path("usage").path("completion_tokens").asInt(), is(4));
    }

    @Test
    void echoReportsRawPathQueryAndRepeatedHeadersByteForByte() throws Exception {
        String request = "POST /sim/echo/a%2Fb;x=1?q=%20a+b&q=2 HTTP/1.1\r\n"
                + "Host: localhost\r\n"
                + "X-Repeated: one\r\n"
                + "X-Repeated: two\r\n"
                + "X-Sim-Status: 207\r\n"
                + "X-Sim-Response-Header: Set-Cookie: a=1; Path=/\r\n"
                + "X-Sim-Response-Header: Set-Cookie: b=2\r\n"
                + "Content-Length: 5\r\n"
                + "Connection: close\r\n"
                + "\r\n"
                + "hello";

        String response = exchange(request);

        assertThat(response, startsWith("HTTP/1.1 207 "));
        assertThat(response, containsString("\r\nSet-Cookie: a=1; Path=/\r\n"));
        assertThat(response, containsString("\r\nSet-Cookie: b=2\r\n"));
        JsonNode echo = JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
        assertThat(echo.path("method").asText(), is("POST"));
        assertThat(echo.path("path").asText(), is("/sim/echo/a%2Fb;x=1"));
        assertThat(echo.path("query").asText(), is("q=%20a+b&q=2"));
        assertThat(echo.path("bodyLength").asLong(), is(5L));
        assertThat(echo.path("bodySha256").asText(), is(sha256("hello".getBytes(StandardCharsets.US_ASCII))));
        List<String> repeated = new ArrayList<>();
        for (JsonNode header : echo.path("headers")) {
            if (header.path(0).asText().equalsIgnoreCase("X-Repeated")) {
                repeated.add(header.path(1).asText());
            }
        }
        assertThat(repeated, is(List.of("one", "two")));
    }

    @Test
    void echoStreamsLargeBodiesAndHashesThem() throws Exception {
        int length = 8 * 1024 * 1024 + 3;
        byte[] body = new byte[length];
        for (int i = 0; i < length; i++) {
            body[i] = (byte) (i * 7);
        }
        HttpRequest request = HttpRequest.newBuilder(uri(simulator, "/sim/echo"))
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body)))
                .build();

        JsonNode echo = json(CLIENT.send(request, HttpResponse.BodyHandlers.ofString()));

        assertThat(echo.path("method").asText(), is("PUT"));
        assertThat(echo.path("query").asText(), is(""));
        assertThat(echo.path("bodyLength").asLong(), is((long) length));
        assertThat(echo.path("bodySha256").asText(), is(sha256(body)));
    }

    @Test
    void bytesAreDeterministicWithContentLength() throws Exception {
        int n = 300_001;
        HttpResponse<byte[]> response = CLIENT.send(HttpRequest.newBuilder(uri(simulator, "/sim/bytes?n=" + n)).build(),
                HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.headers().firstValue("Content-Length").orElse(""), is(String.valueOf(n)));
        byte[] body = response.body();
        assertThat(body.length, is(n));
        for (int i = 0; i < n; i++) {
            if (body[i] != (byte) ((i * 31 + 7) & 0xFF)) {
                throw new AssertionError("byte " + i + " is " + body[i]);
            }
        }
    }

    @Test
    void requestsAboveMaxNumSeqsWaitInsideTheServer() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Simulator small = start(out, "--max-num-seqs", "2", "--sim-service-time-ms", "150")) {
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                responses.add(CLIENT.sendAsync(HttpRequest.newBuilder(uri(small, "/pooling"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"input\":\"request " + i + "\"}")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            Poll.until(Duration.ofSeconds(10), "requests waiting for a slot",
                    () -> metric(small, "vllm:num_requests_waiting") >= 1);
            for (CompletableFuture<HttpResponse<String>> response : responses) {
                assertThat(response.get(20, TimeUnit.SECONDS).statusCode(), is(200));
            }

            JsonNode stats = JSON.readTree(CLIENT.send(HttpRequest.newBuilder(uri(small, "/sim/stats")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertThat(stats.path("peakRunning").asInt(), is(2));
            assertThat(stats.path("peakInFlight").asInt(), greaterThan(2)); // waiting requests count as open
            assertThat(stats.path("served").asInt(), is(6));
            assertThat(stats.path("inFlight").asInt(), is(0));
            assertThat(metric(small, "vllm:request_success_total"), is(6.0));
        }
    }

    @Test
    void statsResetRestartsPeakAndServed() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Simulator sim = start(out, "--sim-service-time-ms", "0")) {
            post(sim, "/pooling", "{\"input\":\"x\"}");
            JsonNode reset = json(post(sim, "/sim/stats/reset", ""));

            assertThat(reset.path("served").asInt(), is(0));
            assertThat(reset.path("peakInFlight").asInt(), is(0));
            assertThat(reset.path("maxNumSeqs").asInt(), is(256));
            assertThat(reset.path("gpuMemoryUtilization").asDouble(), is(0.01));
        }
    }

    @Test
    void failStatusAnswersVllmsErrorBody() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Simulator failing = start(out, "--sim-fail-status", "503")) {
            HttpResponse<String> response = post(failing, "/v1/completions", "{\"prompt\":\"x\"}");

            assertThat(response.statusCode(), is(503));
            JsonNode error = json(response);
            assertThat(error.path("object").asText(), is("error"));
            assertThat(error.path("type").asText(), is("InternalServerError"));
            assertThat(error.path("code").asInt(), is(503));
            assertThat(error.path("param").isNull(), is(true));
        }
    }

    @Test
    void hangAfterStopsEveryEndpointIncludingHealth() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Simulator hanging = start(out, "--sim-hang-after", "1", "--sim-service-time-ms", "0")) {
            assertThat(post(hanging, "/pooling", "{\"input\":\"x\"}").statusCode(), is(200));

            HttpRequest health = HttpRequest.newBuilder(uri(hanging, "/health"))
                    .timeout(Duration.ofMillis(300)).build();
            assertThrows(HttpTimeoutException.class, () -> CLIENT.send(health, HttpResponse.BodyHandlers.ofString()));
        }
    }

    @Test
    void crashAfterRunsTheCrashOnceEnoughRequestsWereAnswered() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CountDownLatch crashed = new CountDownLatch(1);
        try (Simulator crashing = start(out, crashed::countDown, "--sim-crash-after", "2",
                "--sim-service-time-ms", "0")) {
            post(crashing, "/pooling", "{\"input\":\"x\"}");
            assertThat(crashed.getCount(), is(1L));

            assertThat(post(crashing, "/v1/embeddings", "{\"input\":\"x\"}").statusCode(), is(200));
            assertThat(crashed.await(5, TimeUnit.SECONDS), is(true));
        }
    }

    @Test
    void crashOnRunsTheCrashForAPoisonInputOnlyWhicheverEndpointItReaches() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        java.util.concurrent.atomic.AtomicInteger crashes = new java.util.concurrent.atomic.AtomicInteger();
        try (Simulator crashing = start(out, crashes::incrementAndGet, "--sim-crash-on", "POISON",
                "--sim-service-time-ms", "0")) {
            assertThat(post(crashing, "/pooling", "{\"input\":\"harmless\"}").statusCode(), is(200));
            assertThat(crashes.get(), is(0));
            post(crashing, "/pooling", "{\"input\":[\"a\",\"a POISON b\"]}");
            assertThat(crashes.get(), is(1));
            post(crashing, "/v1/embeddings", "{\"input\":\"POISON\"}");
            assertThat(crashes.get(), is(2));
        }
    }

    private static double metric(Simulator sim, String name) {
        try {
            String text = CLIENT.send(HttpRequest.newBuilder(uri(sim, "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            for (String line : text.split("\n")) {
                if (line.startsWith(name + "{")) {
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            throw new AssertionError("no " + name + " in\n" + text);
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private String exchange(String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", simulator.port())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
