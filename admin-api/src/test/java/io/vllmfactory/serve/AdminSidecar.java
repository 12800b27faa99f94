package io.vllmfactory.serve;

import io.vllmfactory.admin.client.ApiException;
import io.vllmfactory.admin.client.model.FleetStatus;
import io.vllmfactory.admin.client.model.Instance;
import io.vllmfactory.admin.client.model.InstanceState;
import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.admin.AdminServer;
import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.supervise.Preflight;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real sidecar launching simulated backends (the command line of {@link SupervisedSidecars}) with its
 * admin listener on a free port, wired as the composition root wires it, and the generated client
 * pointed at it.
 */
final class AdminSidecar implements AutoCloseable {
    static final String TOKEN = "e2e-admin-token_0123456789";
    static final Duration DEADLINE = Duration.ofSeconds(120);

    final Sidecar sidecar;
    final AdminClient client;
    private final AdminServer admin;

    private AdminSidecar(Sidecar sidecar, AdminServer admin) {
        this.sidecar = sidecar;
        this.admin = admin;
        this.client = new AdminClient(admin.port(), TOKEN);
    }

    /**
     * @param flags       sidecar flags, e.g. {@code --num-instances 2}
     * @param backendArgs arguments for every backend
     */
    static AdminSidecar start(Path dir, List<String> flags, List<String> backendArgs) {
        // As Main does it: one reading of the settings for the sidecar and for the admin listener.
        List<String> args = SupervisedSidecars.args(dir, flags, backendArgs);
        Settings settings = Settings.resolve(CommandLine.parse(args.toArray(String[]::new)).flags(), Map.of(),
                Optional.empty());
        SupervisorConfig supervision = SupervisorConfig.from(settings);
        Preflight.check(supervision, System.getenv());
        Sidecar sidecar = Sidecar.supervised(DispatcherConfig.from(settings), supervision);
        try {
            sidecar.start();
            AdminConfig config = AdminConfig.of("127.0.0.1", 0, Optional.empty(), Map.of(AdminConfig.TOKEN_ENV, TOKEN));
            AdminApi api = new AdminApi(sidecar.fleet().orElseThrow(), sidecar.dispatcher(), config,
                    AdminApi.configuration(settings));
            return new AdminSidecar(sidecar, AdminServer.start(config, api));
        } catch (RuntimeException e) {
            sidecar.close();
            throw e;
        }
    }

    int publicPort() {
        return sidecar.port();
    }

    int adminPort() {
        return admin.port();
    }

    /** A client with another token, or none (null). */
    AdminClient client(String token) {
        return new AdminClient(admin.port(), token);
    }

    /** Waits until no change runs and exactly {@code count} instances are ready. */
    void awaitSettled(int count) {
        AtomicReference<String> last = new AtomicReference<>();
        try {
            Poll.until(DEADLINE, count + " ready instances and no change under way", () -> {
                FleetStatus fleet = call(() -> client.status.getStatus().getFleet());
                List<Instance> all = call(() -> client.instances.listInstances().getInstances());
                last.set("operation " + fleet.getOperation() + ", instances " + all.stream()
                        .map(i -> i.getId() + ":" + i.getState() + (i.getLastError() == null ? "" : " (" + i.getLastError() + ")"))
                        .toList());
                return fleet.getOperation() == null && all.size() == count
                       && all.stream().allMatch(i -> i.getState() == InstanceState.READY);
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; last seen: " + last.get(), e);
        }
    }

    List<Instance> instances() {
        return call(() -> AdminClient.complete(client.instances.listInstances()).getInstances());
    }

    static <T> T call(ApiCall<T> call) {
        try {
            return call.run();
        } catch (ApiException e) {
            throw new AssertionError("admin call failed: " + e.getCode() + " " + e.getResponseBody(), e);
        }
    }

    @FunctionalInterface
    interface ApiCall<T> {
        T run() throws ApiException;
    }

    @Override
    public void close() {
        try {
            admin.close();
        } catch (UncheckedIOException | IllegalStateException e) {
            // the sidecar's own stop below matters more
        } finally {
            sidecar.close();
        }
    }
}
