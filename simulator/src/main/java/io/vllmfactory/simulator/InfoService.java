package io.vllmfactory.simulator;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** What vLLM answers about itself: {@code /health}, {@code /ping}, {@code /version}, {@code /v1/models}, {@code /metrics}. */
final class InfoService implements HttpService {
    static final String VERSION = "0.0.0+vllm-sim";

    private final ServeOptions serve;
    private final Scheduler scheduler;
    private final Stats stats;
    private final Json json;
    private final long created = Instant.now().getEpochSecond();

    InfoService(ServeOptions serve, Scheduler scheduler, Stats stats, Json json) {
        this.serve = serve;
        this.scheduler = scheduler;
        this.stats = stats;
        this.json = json;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/health", (req, res) -> res.send())
                .get("/ping", (req, res) -> res.send())
                .post("/ping", (req, res) -> res.send())
                .get("/version", (req, res) -> json.send(res, 200, json.object().put("version", VERSION)))
                .get("/v1/models", this::models)
                .get("/metrics", this::metrics);
    }

    private void models(ServerRequest req, ServerResponse res) {
        ObjectNode list = json.object().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (String name : serve.servedModelNames()) {
            ObjectNode card = data.addObject();
            card.put("id", name);
            card.put("object", "model");
            card.put("created", created);
            card.put("owned_by", "vllm");
            card.put("root", serve.model());
            card.putNull("parent");
            card.put("max_model_len", serve.maxModelLen());
        }
        json.send(res, 200, list);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        String label = "{model_name=\"" + escape(serve.primaryName()) + "\"}";
        int running = scheduler.running();
        StringBuilder text = new StringBuilder();
        metric(text, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.",
                label, running);
        metric(text, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.",
                label, scheduler.waiting());
        metric(text, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.",
                label, (double) running / serve.maxNumSeqs());
        metric(text, "vllm:request_success_total", "counter", "Count of successfully processed requests.",
                "{finished_reason=\"length\",model_name=\"" + escape(serve.primaryName()) + "\"}",
                stats.inferenceSucceeded());
        metric(text, "vllm_sim:in_flight", "gauge",
                "Requests open now (all but health, metrics and stats), waiting ones included.",
                label, stats.inFlight());
        metric(text, "vllm_sim:peak_in_flight", "gauge",
                "Peak of requests open at once since start or the last POST /sim/stats/reset.",
                label, stats.peakInFlight());
        metric(text, "vllm_sim:requests_total", "counter",
                "Requests received (all but health, metrics and stats).", label, stats.requestsTotal());
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        res.send(text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * One metric as vLLM's prometheus_client writes it: every sample a float ({@code 3.0}), and a counter's
     * family named without its {@code _total} suffix.
     */
    private static void metric(StringBuilder text, String name, String type, String help, String labels,
                               double value) {
        String family = type.equals("counter") ? name.replaceFirst("_total$", "") : name;
        text.append("# HELP ").append(family).append(' ').append(help).append('\n')
                .append("# TYPE ").append(family).append(' ').append(type).append('\n')
                .append(name).append(labels).append(' ').append(value).append('\n');
    }

    private static String escape(String label) {
        return label.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
