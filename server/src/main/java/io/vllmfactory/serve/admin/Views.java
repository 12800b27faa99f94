package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.supervise.Autoscaling;
import io.vllmfactory.serve.supervise.Change;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.InstanceView;
import io.vllmfactory.serve.supervise.Sizing;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/** The documented JSON shapes of instances and the GPU budget. */
final class Views {
    static final String INSTANCES = "/admin/instances";

    private Views() {
    }

    static String href(int id) {
        return INSTANCES + "/" + id;
    }

    static ObjectNode instance(InstanceView v) {
        ObjectNode o = Json.object();
        o.put("id", v.id());
        o.put("href", href(v.id()));
        o.put("url", v.url());
        o.put("port", v.port());
        if (v.pid() >= 0) {
            o.put("pid", v.pid());
        } else {
            o.putNull("pid");
        }
        o.put("state", v.state().name().toLowerCase(Locale.ROOT));
        o.put("in_flight", v.inFlight());
        o.put("max_batch", v.maxBatch());
        if (v.gpuMemoryFraction().isPresent()) {
            o.put("gpu_memory_fraction", v.gpuMemoryFraction().getAsDouble());
        } else {
            o.putNull("gpu_memory_fraction");
        }
        o.put("device", v.device());
        o.put("restarts", v.restarts());
        o.put("uptime_seconds", v.uptime() == null ? 0.0 : v.uptime().toMillis() / 1000.0);
        o.put("last_error", v.lastError());
        o.put("since", v.since() == null ? null : v.since().toString());
        o.put("state_seconds", v.since() == null ? 0.0
                : Math.max(0, Duration.between(v.since(), Instant.now()).toMillis()) / 1000.0);
        o.put("last_log_line", v.lastLine());
        return o;
    }

    /** What a change will do: its steps in order and one sentence for people. */
    static ObjectNode plan(Change change) {
        ObjectNode o = Json.object();
        o.put("summary", change.summary());
        ArrayNode steps = o.putArray("steps");
        for (Change.Step s : change.steps()) {
            steps.addObject().put("action", s.action().name().toLowerCase(Locale.ROOT)).put("id", s.id())
                    .put("device", s.device()).put("gpu_memory_fraction", s.fraction());
        }
        return o;
    }

    static ArrayNode instances(List<InstanceView> views) {
        ArrayNode a = Json.object().arrayNode();
        views.forEach(v -> a.add(instance(v)));
        return a;
    }

    /** The budget per GPU, what the instances hold and what is free, summed and per GPU. */
    static ObjectNode gpu(Fleet fleet) {
        double budget = fleet.gpuBudget();
        ObjectNode o = Json.object();
        o.put("budget", round(budget));
        o.put("in_use", round(fleet.gpuInUse()));
        o.put("free", round(fleet.gpus().stream().mapToDouble(g -> Math.max(0, budget - g.inUse())).sum()));
        ArrayNode devices = o.putArray("devices");
        for (Fleet.Gpu g : fleet.gpus()) {
            devices.addObject().put("device", g.device()).put("instances", g.instances())
                    .put("in_use", round(g.inUse())).put("free", round(Math.max(0, budget - g.inUse())));
        }
        return o;
    }

    /** How {@code --num-instances auto} chose the fleet's size. */
    static ObjectNode sizing(Sizing s) {
        ObjectNode o = Json.object();
        o.put("state", s.state());
        o.put("instances", s.instances());
        o.put("reason", s.reason());
        ArrayNode table = o.putArray("table");
        s.table().forEach(m -> table.addObject().put("instances", m.instances())
                .put("requests_per_second", Math.round(m.requestsPerSecond() * 10) / 10.0));
        o.put("state_file", s.stateFile().orElse(null));
        return o;
    }

    /** What {@code --autoscale} sees and last did. */
    static ObjectNode autoscale(Autoscaling a) {
        ObjectNode o = Json.object();
        o.put("min", a.min());
        o.put("max", a.max());
        o.put("wait_p90_ms", Math.round(a.waitP90Ms() * 10) / 10.0);
        o.put("waiting", a.waiting());
        o.put("changes", a.changes());
        o.put("last_change", a.lastChange().orElse(null));
        return o;
    }

    /** Four places: enough for fractions, and 0.92 - 0.46 - 0.46 shows as 0, not 1.1e-16. */
    private static double round(double fraction) {
        return Math.round(fraction * 10_000) / 10_000.0;
    }
}
