package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.supervise.Fleet;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.databind.JsonNode;

import java.lang.System.Logger.Level;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The admin API as documented in {@code openapi/admin-api.yaml}: register it on the admin listener's
 * routing with {@link #routing(HttpRouting.Builder, AdminApi)}. Every {@code /admin} request passes the
 * token check first; every failure becomes an RFC 9457 problem body in {@link AdminProblems}.
 */
public final class AdminApi {
    private static final System.Logger LOG = System.getLogger(AdminApi.class.getName());

    private final AdminAuth auth;
    private final InstanceRoutes instances;
    private final DispatcherRoutes dispatcher;
    private final OpenApiDocument document;

    /**
     * @param fleet         the instances to change
     * @param dispatcher    the public dispatcher, or null in direct mode ({@code --num-instances 1} without
     *                      {@code --always-proxy}), where affinity answers 409 and the status has no dispatcher
     * @param config        the admin listener's configuration (its token)
     * @param configuration the settings in force, by name, reported by {@code GET /admin/status}; must
     *                      hold no secret
     */
    public AdminApi(Fleet fleet, Dispatcher dispatcher, AdminConfig config, Map<String, ?> configuration) {
        Objects.requireNonNull(fleet, "fleet");
        this.auth = new AdminAuth(config.token());
        this.instances = new InstanceRoutes(fleet);
        this.dispatcher = new DispatcherRoutes(fleet, dispatcher, Json.tree(Collections.unmodifiableMap(new LinkedHashMap<>(configuration))));
        this.document = OpenApiDocument.load();
    }

    /**
     * The settings in force, by name, for {@code configuration} in {@code GET /admin/status}: every setting
     * with a value, typed where plain; secret-looking values among the backends' arguments are redacted.
     */
    public static Map<String, Object> configuration(Settings settings) {
        return ConfigurationReport.of(settings);
    }

    /** Registers {@code /admin/...} and {@code GET /openapi}; other paths stay free for, e.g., observability. */
    public static void routing(HttpRouting.Builder routing, AdminApi api) {
        InstanceRoutes instances = api.instances;
        DispatcherRoutes dispatcher = api.dispatcher;
        routing.get("/openapi", api.guard(api.document::get))
               .any("/openapi", api.guard(notAllowed("GET")))
               .any("/admin/*", api.guard(api::authenticate))
               .get("/admin/instances", api.guard(instances::list))
               .post("/admin/instances", api.guard(instances::add))
               .put("/admin/instances", api.guard(instances::scale))
               .any("/admin/instances", api.guard(notAllowed("GET, POST, PUT")))
               .get("/admin/instances/{id}", api.guard(instances::get))
               .delete("/admin/instances/{id}", api.guard(instances::remove))
               .any("/admin/instances/{id}", api.guard(notAllowed("GET, DELETE")))
               .post("/admin/instances/{id}/restart", api.guard(instances::restart))
               .any("/admin/instances/{id}/restart", api.guard(notAllowed("POST")))
               .get("/admin/affinity", api.guard(dispatcher::getAffinity))
               .put("/admin/affinity", api.guard(dispatcher::setAffinity))
               .any("/admin/affinity", api.guard(notAllowed("GET, PUT")))
               .get("/admin/status", api.guard(dispatcher::status))
               .any("/admin/status", api.guard(notAllowed("GET")))
               .any("/admin/*", api.guard((req, res) -> {
                   throw RequestRefused.notFound("no admin resource " + req.path().rawPath()
                           + " (the operations are listed at GET /openapi)");
               }));
    }

    private void authenticate(ServerRequest req, ServerResponse res) {
        auth.check(req);
        res.next();
    }

    private static Handler notAllowed(String allowed) {
        return (req, res) -> {
            throw RequestRefused.methodNotAllowed(req.prologue().method().text() + " is not allowed on "
                    + req.path().rawPath() + " (expected: " + allowed + ")",
                    HeaderValues.create(HeaderNames.ALLOW, allowed));
        };
    }

    /** Runs a handler; whatever it throws is answered with a problem body, and refused changes are logged. */
    private Handler guard(Handler handler) {
        return (req, res) -> {
            try {
                handler.handle(req, res);
            } catch (Exception e) {
                fail(req, res, e);
            }
        };
    }

    private static void fail(ServerRequest req, ServerResponse res, Exception e) throws Exception {
        if (e instanceof AdminRequests.ClientGone gone) { // not the sidecar's fault: no trace in the log
            LOG.log(Level.DEBUG, "admin: {0} {1}: {2}", req.prologue().method().text(), req.path().rawPath(),
                    gone.getMessage());
            throw new CloseConnectionException(gone.getMessage());
        }
        AdminProblems.Problem problem = AdminProblems.of(e);
        Method method = req.prologue().method();
        String path = req.path().rawPath();
        if (problem.internal()) {
            LOG.log(Level.ERROR, "admin: " + method.text() + " " + path + " failed", e);
        } else if (problem.status() == Status.UNAUTHORIZED_401) {
            LOG.log(Level.WARNING, "admin: {0} {1} from {2} refused: {3}", method.text(), path,
                    req.remotePeer().address(), problem.detail());
        } else if (!Method.GET.equals(method)) {
            LOG.log(Level.INFO, "admin: {0} {1} refused: {2,number,#} {3}: {4}", method.text(), path,
                    problem.status().code(), problem.kind(), problem.detail());
        }
        if (res.isSent()) {
            throw e; // part of an answer is out: let the server close the connection
        }
        AdminProblems.send(res, problem, path);
    }
}
