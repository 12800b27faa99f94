package io.vllmfactory.serve;

import io.vllmfactory.admin.client.ApiException;
import io.vllmfactory.admin.client.model.FleetStatus;
import io.vllmfactory.admin.client.model.Instance;
import io.vllmfactory.admin.client.model.InstanceState;
import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.autosize.Autoscaler;
import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.AutoscaleConfig;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.supervise.Preflight;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real sidecar launching simulated backends (the command line of {@link SupervisedSidecars}) with its admin
 * listener on a free port, wired as the composition root wires it (the listener opens before the first backend
 * starts), and the generated client pointed at it.
 */
final class AdminSidecar implements AutoCloseable {
    static final String TOKEN = "e2e-admin-token_0123456789";
    static final Duration DEADLINE = Duration.ofSeconds(120);

    final Sidecar sidecar;
    final AdminClient client;
    private final CompletableFuture<Void> started;

    private AdminSidecar(Sidecar sidecar, int adminPort, CompletableFuture<Void> started) {
        this.sidecar = sidecar;
        this.started = started;
        this.client = new AdminClient(adminPort, TOKEN);
    }

    /**
     * A sidecar whose backends are all up.
     *
     * @param flags       sidecar flags, e.g. {@code --num-instances 2}
     * @param backendArgs arguments for every backend
     */
    static AdminSidecar start(Path dir, List<String> flags, List<String> backendArgs) {
        AdminSidecar s = launch(dir, flags, backendArgs);
        try {
            s.awaitStarted();
            return s;
        } catch (RuntimeException | AssertionError e) {
            s.close();
            throw e;
        }
    }

    /** A sidecar whose admin listener is open; its backends may still be loading ({@link #awaitStarted()}). */
    static AdminSidecar launch(Path dir, List<String> flags, List<String> backendArgs) {
        // As Main does it: one reading of the settings for the sidecar and for the admin listener.
        List<String> args = SupervisedSidecars.args(dir, flags, backendArgs);
        Settings settings = Settings.resolve(CommandLine.parse(args.toArray(String[]::new)).flags(), Map.of(),
                Optional.empty());
        SupervisorConfig supervision = SupervisorConfig.from(settings);
        Optional<Autoscaler> autoscaler = AutoscaleConfig.from(settings).map(Autoscaler::new);
        if (autoscaler.isPresent()) {
            supervision = autoscaler.get().startWith(supervision);
        }
        Preflight.check(supervision, System.getenv());
        AdminConfig config = AdminConfig.of("127.0.0.1", 0, Optional.empty(), Map.of(AdminConfig.TOKEN_ENV, TOKEN));
        Sidecar sidecar = Sidecar.supervised(DispatcherConfig.from(settings), supervision, Optional.of(config),
                AdminApi.configuration(settings), Optional.empty(), autoscaler);
        CompletableFuture<Void> started = new CompletableFuture<>();
        Thread.ofVirtual().name("sidecar-start").start(() -> {
            try {
                sidecar.start();
                started.complete(null);
            } catch (RuntimeException e) {
                started.completeExceptionally(e);
            }
        });
        try {
            Poll.until(DEADLINE, "the admin listener is open",
                    () -> sidecar.adminPort().isPresent() || started.isCompletedExceptionally());
            return new AdminSidecar(sidecar, sidecar.adminPort().orElseThrow(
                    () -> new AssertionError("the sidecar did not start", started.exceptionNow())), started);
        } catch (RuntimeException | AssertionError e) {
            sidecar.close();
            throw e;
        }
    }

    /** Waits until every backend of the first start is up. */
    void awaitStarted() {
        try {
            started.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("the sidecar did not start: " + e.getCause(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("the sidecar did not start within " + DEADLINE, e);
        }
    }

    int publicPort() {
        return sidecar.port();
    }

    int adminPort() {
        return sidecar.adminPort().orElseThrow();
    }

    /** A client with another token, or none (null). */
    AdminClient client(String token) {
        return new AdminClient(adminPort(), token);
    }

    /** A client with another token, or none (null), sending from another loopback address than the operator's. */
    AdminClient clientFrom(String token, String loopbackAddress) {
        try {
            return new AdminClient(adminPort(), token, java.net.InetAddress.getByName(loopbackAddress));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(loopbackAddress, e);
        }
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
        sidecar.close();
    }
}
