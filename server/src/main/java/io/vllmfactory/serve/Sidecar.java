package io.vllmfactory.serve;

import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.admin.AdminServer;
import io.vllmfactory.serve.autosize.AutoSizer;
import io.vllmfactory.serve.autosize.Autoscaler;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;
import io.vllmfactory.serve.dispatch.health.HealthPoller;
import io.vllmfactory.serve.supervise.BackendState;
import io.vllmfactory.serve.supervise.ExternalFleet;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.InstanceView;
import io.vllmfactory.serve.supervise.MemorySplit;
import io.vllmfactory.serve.supervise.StartFailure;
import io.vllmfactory.serve.supervise.Supervisor;

import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The running sidecar, composed of the same parts in every mode, each chosen once:
 * <ul>
 *   <li>the backend pool and its health poller;</li>
 *   <li>the {@link Backends}: launched and kept alive by the supervisor (MODEL), or running already
 *       ({@code --backend-url});</li>
 *   <li>the {@link Front}: the dispatcher's public listener, or the single backend's own port
 *       ({@code --num-instances 1} without {@code --always-proxy});</li>
 *   <li>the admin listener (admin API, metrics, health), when one is configured.</li>
 * </ul>
 * It starts them in that order (the admin listener first, so operators see the backends load) and
 * has one orderly way to stop: no more restarts, stop taking requests, let those in flight and
 * waiting finish within the drain timeout, then stop every backend's process tree.
 */
public final class Sidecar implements AutoCloseable {
    private final BackendPool pool;
    private final HealthPoller health;
    private final Backends backends;
    private final Front front;
    private final Optional<AdminConfig> admin;
    private final Map<String, ?> configuration;
    /** Runs once the backends' first start is done, before readiness and the public port (sizing). */
    private final Runnable settle;
    /** Follows the load once the public port is open (autoscaling); closed first when the sidecar stops. */
    private final Optional<Autoscaler> autoscaler;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);
    private Optional<AdminServer> adminServer = Optional.empty();
    /** Whether the first start of the backends is done: readiness is down until then. */
    private volatile boolean fleetStarted;

    private Sidecar(BackendPool pool, HealthPoller health, Backends backends, Front front, Optional<AdminConfig> admin,
                    Map<String, ?> configuration, Runnable settle, Optional<Autoscaler> autoscaler) {
        this.settle = settle;
        this.autoscaler = autoscaler;
        this.pool = pool;
        this.health = health;
        this.backends = backends;
        this.front = front;
        this.admin = admin;
        this.configuration = configuration;
    }

    /** Starts a sidecar in front of backends that run already (the configured backend URLs), without an admin listener. */
    public static Sidecar start(DispatcherConfig config) {
        return inFrontOf(config, Optional.empty(), Map.of()).start();
    }

    /**
     * A sidecar in front of the configured backend URLs (backends that run already); nothing runs until
     * {@link #start()}. Its admin listener lists them and toggles affinity but refuses changes: the sidecar did
     * not launch them.
     *
     * @param configuration the configuration in force, as the admin API reports it
     */
    public static Sidecar inFrontOf(DispatcherConfig config, Optional<AdminConfig> admin, Map<String, ?> configuration) {
        BackendPool pool = new BackendPool(config.maxQueue());
        int id = 0;
        for (URI url : config.backendUrls()) {
            pool.add(new Backend(id++, url, config.maxBatchSize(), false));
        }
        return new Sidecar(pool, poller(config, pool), new Backends.Running(new ExternalFleet(pool)),
                new Front.Dispatched(config, new Dispatcher(config, pool)), admin, configuration, () -> { },
                Optional.empty());
    }

    /** A sidecar that launches its own backends, without an admin listener (tests); nothing runs until {@link #start()}. */
    public static Sidecar supervised(DispatcherConfig config, SupervisorConfig supervision) {
        return supervised(config, supervision, Optional.empty(), Map.of());
    }

    /**
     * A sidecar that launches its own backends; nothing runs until {@link #start()}. In direct mode
     * ({@code --num-instances 1} without {@code --always-proxy}) the backend serves the public port itself
     * and there is no dispatcher.
     *
     * @param configuration the configuration in force, as the admin API reports it
     */
    public static Sidecar supervised(DispatcherConfig config, SupervisorConfig supervision, Optional<AdminConfig> admin,
                                     Map<String, ?> configuration) {
        return supervised(config, supervision, admin, configuration, Optional.empty(), Optional.empty());
    }

    /**
     * A sidecar that launches its own backends and, with {@code --num-instances auto}, sizes the fleet once they
     * are up (before readiness and the public port), or with {@code --autoscale} follows the load once the public
     * port is open; nothing runs until {@link #start()}.
     *
     * @param sizer      sizes the fleet; its {@link AutoSizer#startWith} gave {@code supervision}'s instance count
     * @param autoscaler follows the load; its {@link Autoscaler#startWith} gave {@code supervision}'s count and
     *                   memory share
     */
    public static Sidecar supervised(DispatcherConfig config, SupervisorConfig supervision, Optional<AdminConfig> admin,
                                     Map<String, ?> configuration, Optional<AutoSizer> sizer,
                                     Optional<Autoscaler> autoscaler) {
        BackendPool pool = new BackendPool(config.maxQueue());
        Front front = supervision.direct() ? new Front.Direct(supervision.host(), supervision.port())
                : new Front.Dispatched(config, new Dispatcher(config, pool));
        Supervisor supervisor = new Supervisor(supervision, config, pool, b -> { }, System.err);
        Runnable settle = sizer.<Runnable>map(s -> () -> s.run(supervisor)).orElse(() -> { });
        return new Sidecar(pool, poller(config, pool), new Backends.Launched(supervisor), front, admin, configuration,
                settle, autoscaler);
    }

    private static HealthPoller poller(DispatcherConfig config, BackendPool pool) {
        return new HealthPoller(pool, config.healthInterval(), config.healthTimeout(), config.unhealthyThreshold());
    }

    /**
     * Opens the admin listener, starts the backends (one after another, when the sidecar launches them), then
     * opens the public port (unless the single backend serves it). The admin API shows the backends while they
     * load; readiness stays down until all are up.
     *
     * @throws StartFailure         when a backend does not come up; {@link #close()} then stops the others
     * @throws UncheckedIOException with a {@link BindException} when the admin or public port is taken
     */
    public Sidecar start() {
        try {
            openAdmin();
            health.start();
            backends.start();
            settle.run();
            fleetStarted = true;
            synchronized (this) {
                if (!closing.get()) {
                    front.open(pool);
                    if (backends instanceof Backends.Launched launched) {
                        front.dispatcher().ifPresent(d -> autoscaler.ifPresent(a -> a.start(launched.supervisor(), d)));
                    }
                }
            }
        } catch (RuntimeException e) {
            if (backends instanceof Backends.Running) {
                close(); // nothing of the backends to report: stop what did start
            }
            throw e;
        }
        return this;
    }

    /** The admin API and observability (metrics, health) on their own listener, never on the public port. */
    private void openAdmin() {
        synchronized (this) {
            if (closing.get() || admin.isEmpty()) {
                return;
            }
            Dispatcher dispatcher = front.dispatcher().orElse(null); // the admin API's way of saying direct mode
            adminServer = Optional.of(AdminServer.start(admin.get(),
                    new AdminApi(backends.fleet(), dispatcher, admin.get(), configuration),
                    Observability.feature(dispatcher, pool, backends.fleet(), () -> fleetStarted)));
        }
    }

    /** The admin listener's port, when it runs. */
    public Optional<Integer> adminPort() {
        synchronized (this) {
            return adminServer.map(AdminServer::port);
        }
    }

    /** The public port: the dispatcher's, or in direct mode the backend's. */
    public int port() {
        return front.port();
    }

    /** Whether the single backend serves the public port itself, with no dispatcher in front. */
    public boolean direct() {
        return front instanceof Front.Direct;
    }

    /**
     * The dispatcher.
     *
     * @throws IllegalStateException in direct mode, where the backend serves the public port itself
     */
    public Dispatcher dispatcher() {
        return front.dispatcher().orElseThrow(() -> new IllegalStateException(
                "direct mode (--num-instances 1 without --always-proxy): the backend serves the public port"));
    }

    public HealthPoller health() {
        return health;
    }

    /** The backends as the admin API sees and changes them (refusing changes to backends it did not launch). */
    public Fleet fleet() {
        return backends.fleet();
    }

    /**
     * What serves where, in one line for the console once the sidecar is ready, e.g. {@code public
     * http://0.0.0.0:8000, admin http://127.0.0.1:8001; 2 instances: 0 on GPU 0 at 0.46 :9100, 1 on GPU 0 at
     * 0.46 :9101}.
     */
    public String summary() {
        StringBuilder sb = new StringBuilder("public ").append(front.url());
        synchronized (this) {
            adminServer.ifPresent(a -> sb.append(", admin http://").append(admin.orElseThrow().host()).append(':')
                    .append(a.port()));
        }
        List<InstanceView> instances = fleet().instances();
        sb.append("; ").append(instances.size()).append(instances.size() == 1 ? " instance: " : " instances: ");
        for (int k = 0; k < instances.size(); k++) {
            InstanceView v = instances.get(k);
            sb.append(k == 0 ? "" : ", ").append(v.id());
            if (v.device() != null) {
                sb.append(" on GPU ").append(v.device());
            }
            v.gpuMemoryFraction().ifPresent(f -> sb.append(" at ").append(MemorySplit.format(f)));
            sb.append(v.device() != null ? " :" + v.port() : " " + v.url());
            if (v.state() != BackendState.READY) {
                sb.append(" (").append(v.state().name().toLowerCase(Locale.ROOT)).append(')');
            }
        }
        return sb.toString();
    }

    /** Whether {@link #close()} has begun. */
    public boolean stopping() {
        return closing.get();
    }

    /** Drains, then stops everything; a second call waits for the first. */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            awaitClosed();
            return;
        }
        try {
            Optional<AdminServer> a;
            synchronized (this) {
                a = adminServer;
            }
            a.ifPresent(AdminServer::close);
            autoscaler.ifPresent(Autoscaler::close);
            backends.stopRestarting();
            front.drainAndClose();
            health.close();
            backends.close();
            for (Backend b : pool.backends()) {
                pool.remove(b);
            }
            front.release();
        } finally {
            closed.countDown();
        }
    }

    private void awaitClosed() {
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
