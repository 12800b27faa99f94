package io.vllmfactory.simulator;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * vLLM's model endpoints: {@code /pooling} (answered by the {@link IoPlugin} for requests with {@code data}),
 * {@code /v1/embeddings}, {@code /v1/completions} and {@code /v1/chat/completions}. A request is validated
 * first (as vLLM does before scheduling), then waits for a {@link Scheduler} slot and holds it for its
 * simulated service time or token-by-token generation.
 */
final class InferenceService implements HttpService {
    static final HeaderName SERVICE_TIME = HeaderNames.create("X-Sim-Service-Time-Ms");
    static final HeaderName TOKEN_DELAY = HeaderNames.create("X-Sim-Token-Delay-Ms");
    private static final int MAX_DIMENSIONS = 65_536;
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final RequestChecks checks;
    private final SimKnobs sim;
    private final Scheduler scheduler;
    private final Stats stats;
    private final Faults faults;
    private final Json json;
    private final AtomicLong ids = new AtomicLong();
    private final Optional<IoPlugin> plugin;
    private final Optional<GpuEngine> gpu;

    InferenceService(ServeOptions serve, SimKnobs sim, Optional<GpuEngine> gpu, Scheduler scheduler, Stats stats,
                     Faults faults, Json json) {
        this.gpu = gpu;
        this.checks = new RequestChecks(serve);
        this.plugin = serve.ioProcessorPlugin().flatMap(IoPlugin::named);
        this.sim = sim;
        this.scheduler = scheduler;
        this.stats = stats;
        this.faults = faults;
        this.json = json;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/pooling", this::pooling)
                .post("/v1/embeddings", this::embeddings)
                .post("/v1/completions", this::completions)
                .post("/v1/chat/completions", this::chat);
    }

    private void pooling(ServerRequest req, ServerResponse res) throws Exception {
        ObjectNode body = json.readObject(req);
        String model = checks.model(body);
        if (!body.has("input") && !body.has("messages") && body.has("data")) {
            pluginPooling(req, res, body.get("data"));
            return;
        }
        List<String> items = body.has("input") ? FakeModel.items(body.get("input"))
                : body.has("messages") ? List.of(FakeModel.chatText(body.get("messages")))
                : List.of();
        if (items.isEmpty()) {
            throw ApiError.badRequest("Either `input`, `messages` or `data` must be provided");
        }
        faults.inputsReceived(items);
        int tokens = checks.inputTokens(items);
        long serviceTime = RequestChecks.millis(req, SERVICE_TIME, sim.serviceTimeMs());
        infer(res, () -> {
            compute(tokens, serviceTime);
            ObjectNode response = envelope("pool-", "list", model);
            ArrayNode data = response.putArray("data");
            for (int i = 0; i < items.size(); i++) {
                ObjectNode item = data.addObject().put("index", i).put("object", "pooling");
                floats(item.putArray("data"), FakeModel.vector(items.get(i), FakeModel.DIMENSIONS));
            }
            response.set("usage", usage(tokens));
            lastBytes(req);
            json.send(res, 200, response);
        });
    }

    /**
     * A request with {@code data} is vLLM's {@code IOProcessorRequest}: the plugin checks it and shapes the answer,
     * which vLLM wraps with a request id and a time. Without a plugin vLLM refuses it.
     */
    private void pluginPooling(ServerRequest req, ServerResponse res, JsonNode data) throws Exception {
        IoPlugin installed = plugin.orElseThrow(() -> ApiError.badRequest("No IOProcessor plugin installed. "
                + "Please refer to the documentation and to the 'prithvi_geospatial_mae_io_processor' offline inference example "
                + "for more details."));
        int tokens = checks.inputTokens(IoPlugin.texts(data));
        JsonNode answer = installed.answer(data);
        long serviceTime = RequestChecks.millis(req, SERVICE_TIME, sim.serviceTimeMs());
        infer(res, () -> {
            compute(tokens, serviceTime);
            ObjectNode response = json.object();
            response.put("request_id", "pooling-" + ids.incrementAndGet());
            response.put("created_at", now());
            response.set("data", answer);
            lastBytes(req);
            json.send(res, 200, response);
        });
    }

    private void embeddings(ServerRequest req, ServerResponse res) throws Exception {
        ObjectNode body = json.readObject(req);
        String model = checks.model(body);
        List<String> items = FakeModel.items(body.get("input"));
        if (items.isEmpty()) {
            throw ApiError.badRequest("`input` must be a non-empty string or list");
        }
        faults.inputsReceived(items);
        int dimensions = FakeModel.DIMENSIONS;
        if (body.hasNonNull("dimensions")) {
            dimensions = body.get("dimensions").asInt(0);
            if (!body.get("dimensions").canConvertToInt() || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
                throw ApiError.badRequest("dimensions: " + body.get("dimensions") + " (expected: 1.." + MAX_DIMENSIONS + ")");
            }
        }
        boolean base64 = body.path("encoding_format").asText("float").equals("base64");
        int tokens = checks.inputTokens(items);
        long serviceTime = RequestChecks.millis(req, SERVICE_TIME, sim.serviceTimeMs());
        int dims = dimensions;
        infer(res, () -> {
            compute(tokens, serviceTime);
            ObjectNode response = envelope("embd-", "list", model);
            ArrayNode data = response.putArray("data");
            for (int i = 0; i < items.size(); i++) {
                ObjectNode item = data.addObject().put("index", i).put("object", "embedding");
                float[] vector = FakeModel.vector(items.get(i), dims);
                if (base64) {
                    item.put("embedding", FakeModel.base64(vector));
                } else {
                    floats(item.putArray("embedding"), vector);
                }
            }
            response.set("usage", usage(tokens));
            lastBytes(req);
            json.send(res, 200, response);
        });
    }

    private void completions(ServerRequest req, ServerResponse res) throws Exception {
        ObjectNode body = json.readObject(req);
        String model = checks.model(body);
        List<String> prompts = FakeModel.items(body.get("prompt"));
        if (prompts.isEmpty()) {
            throw ApiError.badRequest("`prompt` must be a non-empty string or list");
        }
        int maxTokens = RequestChecks.maxTokens(body, "max_tokens");
        generate(req, res, body, new Generation(false, "cmpl-" + ids.incrementAndGet(), now(), model, prompts,
                checks.promptTokens(prompts, maxTokens), maxTokens));
    }

    private void chat(ServerRequest req, ServerResponse res) throws Exception {
        ObjectNode body = json.readObject(req);
        String model = checks.model(body);
        if (!body.path("messages").isArray() || body.get("messages").isEmpty()) {
            throw ApiError.badRequest("`messages` must be a non-empty list");
        }
        List<String> prompts = List.of(FakeModel.chatText(body.get("messages")));
        int maxTokens = body.hasNonNull("max_completion_tokens")
                ? RequestChecks.maxTokens(body, "max_completion_tokens")
                : RequestChecks.maxTokens(body, "max_tokens");
        generate(req, res, body, new Generation(true, "chatcmpl-" + ids.incrementAndGet(), now(), model, prompts,
                checks.promptTokens(prompts, maxTokens), maxTokens));
    }

    private void generate(ServerRequest req, ServerResponse res, ObjectNode body, Generation generation)
            throws Exception {
        long tokenDelay = RequestChecks.millis(req, TOKEN_DELAY, sim.tokenDelayMs());
        boolean stream = body.path("stream").asBoolean(false);
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        infer(res, () -> {
            if (stream) {
                stream(req, res, generation, tokenDelay, includeUsage);
            } else {
                for (int t = 0; t < generation.maxTokens(); t++) {
                    pause(tokenDelay);
                }
                lastBytes(req);
                json.send(res, 200, generation.response());
            }
        });
    }

    /** Server-sent events, one flushed event per token so clients see tokens arrive one by one. */
    private void stream(ServerRequest req, ServerResponse res, Generation generation, long tokenDelay,
                        boolean includeUsage)
            throws InterruptedException {
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        try (OutputStream out = res.outputStream()) {
            if (generation.chat()) {
                event(out, generation.roleChunk());
            }
            for (int t = 0; t < generation.maxTokens(); t++) {
                pause(tokenDelay);
                for (int p = 0; p < generation.prompts().size(); p++) {
                    event(out, generation.tokenChunk(p, t));
                }
            }
            if (includeUsage) {
                event(out, generation.usageChunk());
            }
            lastBytes(req);
            out.write(DONE);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // A client that goes away ends the stream with Helidon's connection exception; the slot is freed on
        // the way out, as vLLM aborts a request whose client disconnected.
    }

    /** The request stops counting as in flight: its answer's last bytes go out next ({@link Stats}). */
    private static void lastBytes(ServerRequest req) {
        req.context().get(Stats.Ticket.class).ifPresent(Stats.Ticket::end);
    }

    private void event(OutputStream out, ObjectNode chunk) throws IOException {
        out.write(("data: " + json.write(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /**
     * Runs admitted work: the injected failure status answers without a slot, as a broken engine would;
     * otherwise the request waits for a slot. Either way it counts as answered for crash and hang faults.
     */
    private void infer(ServerResponse res, Work work) throws Exception {
        try {
            if (sim.failStatus() != 0) {
                json.sendError(res, sim.failStatus(), "InternalServerError",
                        "Simulated engine failure (--sim-fail-status " + sim.failStatus() + ")");
                return;
            }
            try (Scheduler.Slot ignored = scheduler.admit()) {
                work.run();
            }
            stats.recordInferenceSuccess();
        } finally {
            faults.inferenceAnswered();
        }
    }

    /** A pooling or embeddings request's work: a step on the pretend GPU if it has a model, else the service time. */
    private void compute(int tokens, long serviceTime) throws Exception {
        if (gpu.isPresent()) {
            faults.awaitIfHung();
            gpu.get().run(tokens);
        } else {
            pause(serviceTime);
        }
    }

    private void pause(long millis) throws InterruptedException {
        faults.awaitIfHung();
        if (millis > 0) {
            Thread.sleep(millis);
        }
    }

    private ObjectNode envelope(String idPrefix, String object, String model) {
        ObjectNode node = json.object();
        node.put("id", idPrefix + ids.incrementAndGet());
        node.put("object", object);
        node.put("created", now());
        node.put("model", model);
        return node;
    }

    private ObjectNode usage(int promptTokens) {
        return json.object().put("prompt_tokens", promptTokens).put("total_tokens", promptTokens);
    }

    private static long now() {
        return Instant.now().getEpochSecond();
    }

    private static void floats(ArrayNode array, float[] values) {
        for (float value : values) {
            array.add(value);
        }
    }


    @FunctionalInterface
    private interface Work {
        void run() throws Exception;
    }
}
