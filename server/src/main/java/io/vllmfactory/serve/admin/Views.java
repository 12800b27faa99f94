package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.InstanceView;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

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
        o.put("port", v.port());
        if (v.pid() >= 0) {
            o.put("pid", v.pid());
        } else {
            o.putNull("pid");
        }
        o.put("state", v.state().name().toLowerCase(Locale.ROOT));
        o.put("in_flight", v.inFlight());
        o.put("max_batch", v.maxBatch());
        o.put("gpu_memory_fraction", v.gpuMemoryFraction());
        o.put("restarts", v.restarts());
        o.put("uptime_seconds", v.uptime() == null ? 0.0 : v.uptime().toMillis() / 1000.0);
        o.put("last_error", v.lastError());
        o.put("since", v.since() == null ? null : v.since().toString());
        return o;
    }

    static ArrayNode instances(List<InstanceView> views) {
        ArrayNode a = Json.object().arrayNode();
        views.forEach(v -> a.add(instance(v)));
        return a;
    }

    static ObjectNode gpu(Fleet fleet) {
        double budget = fleet.gpuBudget();
        double inUse = fleet.gpuInUse();
        ObjectNode o = Json.object();
        o.put("budget", round(budget));
        o.put("in_use", round(inUse));
        o.put("free", round(Math.max(0, budget - inUse)));
        return o;
    }

    /** Four places: enough for fractions, and 0.92 - 0.46 - 0.46 shows as 0, not 1.1e-16. */
    private static double round(double fraction) {
        return Math.round(fraction * 10_000) / 10_000.0;
    }
}
