package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.supervise.BackendState;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.FleetException;
import io.vllmfactory.serve.supervise.InstanceView;

import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.System.Logger.Level;
import java.util.List;

/** {@code /admin/affinity} and {@code /admin/status}: the dispatcher's side, plus the fleet's summary. */
final class DispatcherRoutes {
    private static final System.Logger LOG = System.getLogger(DispatcherRoutes.class.getName());
    // The documented fields of Dispatcher.status(), copied one by one so the contract is this list.
    private static final List<String> DISPATCHER_FIELDS =
            List.of("waiting", "active", "served", "failed", "retried", "draining");
    private static final List<String> AFFINITY_FIELDS = List.of("enabled", "keys", "hit", "miss", "fallback");
    private static final List<String> BACKEND_FIELDS =
            List.of("id", "url", "healthy", "draining", "in_flight", "max_batch", "served", "transport_failures");

    private final Fleet fleet;
    private final Dispatcher dispatcher;
    private final JsonNode configuration;

    /** @param dispatcher null in direct mode */
    DispatcherRoutes(Fleet fleet, Dispatcher dispatcher, JsonNode configuration) {
        this.fleet = fleet;
        this.dispatcher = dispatcher;
        this.configuration = configuration;
    }

    void getAffinity(ServerRequest req, ServerResponse res) {
        Json.send(res, affinity(dispatcher().affinityEnabled()));
    }

    void setAffinity(ServerRequest req, ServerResponse res) {
        boolean enabled = AdminRequests.enabled(AdminRequests.body(req));
        Dispatcher d = dispatcher();
        boolean was = d.affinityEnabled();
        d.affinityEnabled(enabled);
        LOG.log(Level.INFO, "admin: request affinity {0} (was {1})", onOff(enabled), onOff(was));
        Json.send(res, affinity(enabled));
    }

    void status(ServerRequest req, ServerResponse res) {
        ObjectNode body = Json.object();
        if (dispatcher != null) {
            body.set("dispatcher", dispatcherStatus(dispatcher.status()));
        }
        body.set("fleet", fleetStatus());
        body.set("configuration", configuration);
        Json.send(res, body);
    }

    private static ObjectNode dispatcherStatus(ObjectNode raw) {
        ObjectNode out = copy(raw, DISPATCHER_FIELDS);
        out.set("affinity", copy((ObjectNode) raw.get("affinity"), AFFINITY_FIELDS));
        ArrayNode backends = out.putArray("backends");
        raw.get("backends").forEach(b -> backends.add(copy((ObjectNode) b, BACKEND_FIELDS)));
        return out;
    }

    private ObjectNode fleetStatus() {
        List<InstanceView> all = fleet.instances();
        ObjectNode o = Json.object();
        o.put("launched", fleet.launched());
        o.put("direct", fleet.direct());
        o.put("instances", all.size());
        o.put("ready", (int) all.stream().filter(v -> v.state() == BackendState.READY).count());
        o.put("operation", fleet.operation().orElse(null));
        o.set("gpu", Views.gpu(fleet));
        fleet.sizing().ifPresent(s -> o.set("sizing", Views.sizing(s)));
        fleet.autoscaling().ifPresent(a -> o.set("autoscale", Views.autoscale(a)));
        return o;
    }

    private static ObjectNode copy(ObjectNode from, List<String> fields) {
        ObjectNode to = Json.object();
        for (String f : fields) {
            to.set(f, from.get(f));
        }
        return to;
    }

    private Dispatcher dispatcher() {
        if (dispatcher == null) {
            throw new FleetException.DirectMode("the single backend owns the public port (--num-instances 1), so there"
                    + " is no dispatcher and no request affinity; restart with --always-proxy to use it");
        }
        return dispatcher;
    }

    private static ObjectNode affinity(boolean enabled) {
        ObjectNode o = Json.object();
        o.put("enabled", enabled);
        return o;
    }

    private static String onOff(boolean on) {
        return on ? "on" : "off";
    }
}
