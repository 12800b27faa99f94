package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.supervise.Change;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.FleetException;
import io.vllmfactory.serve.supervise.InstanceView;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.System.Logger.Level;
import java.util.Optional;

/** {@code /admin/instances}: list, read, add, scale, remove and restart instances through the {@link Fleet}. */
final class InstanceRoutes {
    private static final System.Logger LOG = System.getLogger(InstanceRoutes.class.getName());

    private final Fleet fleet;

    InstanceRoutes(Fleet fleet) {
        this.fleet = fleet;
    }

    void list(ServerRequest req, ServerResponse res) {
        ObjectNode body = Json.object();
        body.set("instances", Views.instances(fleet.instances()));
        body.set("gpu", Views.gpu(fleet));
        Json.send(res, body);
    }

    void get(ServerRequest req, ServerResponse res) {
        int id = AdminRequests.id(req);
        InstanceView v = fleet.instance(id).orElseThrow(() -> new FleetException.UnknownInstance(id));
        Json.send(res, Views.instance(v));
    }

    void add(ServerRequest req, ServerResponse res) {
        boolean rebalance = AdminRequests.rebalance(req);
        int count = AdminRequests.count(AdminRequests.body(req), false).orElse(1);
        Change change = fleet.add(count, rebalance);
        LOG.log(Level.INFO, "admin: add {0} instance(s){1}: accepted, new ids {2}: {3}", count,
                rebalanceNote(rebalance), change.ids(), change.summary());
        Optional<Integer> follow = change.ids().size() == 1 ? Optional.of(change.ids().getFirst()) : Optional.empty();
        accepted(res, "add", change, follow);
    }

    void scale(ServerRequest req, ServerResponse res) {
        boolean rebalance = AdminRequests.rebalance(req);
        int count = AdminRequests.count(AdminRequests.body(req), true).getAsInt();
        Change change = fleet.scaleTo(count, rebalance);
        LOG.log(Level.INFO, "admin: scale to {0} instance(s){1}: accepted, acting on ids {2}: {3}", count,
                rebalanceNote(rebalance), change.ids(), change.summary());
        accepted(res, "scale", change, Optional.empty());
    }

    void remove(ServerRequest req, ServerResponse res) {
        int id = AdminRequests.id(req);
        Change change = fleet.remove(id);
        LOG.log(Level.INFO, "admin: remove instance {0}: accepted, draining", id);
        accepted(res, "remove", change, Optional.of(id));
    }

    void restart(ServerRequest req, ServerResponse res) {
        int id = AdminRequests.id(req);
        Change change = fleet.restart(id);
        LOG.log(Level.INFO, "admin: restart instance {0}: accepted", id);
        accepted(res, "restart", change, Optional.of(id));
    }

    /** 202 with the instances acted on as they are now and the plan; {@code follow} becomes the Location. */
    private void accepted(ServerResponse res, String operation, Change change, Optional<Integer> follow) {
        ObjectNode body = Json.object();
        body.put("operation", operation);
        ArrayNode idArray = body.putArray("ids");
        change.ids().forEach(idArray::add);
        body.set("instances",
                Views.instances(change.ids().stream().flatMap(id -> fleet.instance(id).stream()).toList()));
        body.set("plan", Views.plan(change));
        follow.ifPresent(id -> res.header(HeaderNames.LOCATION, Views.href(id)));
        res.status(Status.ACCEPTED_202);
        Json.send(res, body);
    }

    private static String rebalanceNote(boolean rebalance) {
        return rebalance ? " with rebalance" : "";
    }
}
