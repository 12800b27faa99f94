package io.vllmfactory.serve;

import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.admin.AdminServer;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.dispatch.PublicServer;
import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;
import io.vllmfactory.serve.dispatch.health.HealthPoller;
import io.vllmfactory.serve.supervise.ExternalFleet;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.StartFailure;
import io.vllmfactory.serve.supervise.Supervisor;

import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The running sidecar: the backend pool and its health poller, the dispatcher's web server in front of it,
 * and, in MODEL mode, the supervisor that launches the backends and keeps them alive. One orderly way to
 * stop: no more restarts, stop taking requests, let those in flight and waiting finish within the drain
 * timeout, then stop every backend's process tree.
 */
public final class Sidecar implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Sidecar.class.getName());

    private final DispatcherConfig config;
    private final Dispatcher dispatcher;
    private final HealthPoller health;
    private final Supervisor supervisor;
    private final SupervisorConfig supervision;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final AdminConfig admin;
    private final Map<String, ?> configuration;
    private final BackendPool pool;
    private PublicServer server;
    private AdminServer adminServer;
    /** Whether the first start of the backends is done: readiness is down until then. */
    private volatile boolean fleetStarted;

    private Sidecar(DispatcherConfig config, BackendPool pool, Dispatcher dispatcher, HealthPoller health,
                    Supervisor supervisor, SupervisorConfig supervision, AdminConfig admin,
                    Map<String, ?> configuration) {
        this.config = config;
        this.pool = pool;
        this.dispatcher = dispatcher;
        this.health = health;
        this.supervisor = supervisor;
        this.supervision = supervision;
        this.admin = admin;
        this.configuration = configuration;
    }

    /** Starts the dispatcher in front of the configured backend URLs (backends that run already). */
    public static Sidecar start(DispatcherConfig config) {
        return start(config, null, Map.of());
    }

    /**
     * Starts the dispatcher in front of the configured backend URLs, and the admin listener, which lists them
     * and toggles affinity but refuses changes: the sidecar did not launch them.
     *
     * @param admin         the admin listener's settings, or null for none
     * @param configuration the configuration in force, as the admin API reports it
     */
    public static Sidecar start(DispatcherConfig config, AdminConfig admin, Map<String, ?> configuration) {
        BackendPool pool = new BackendPool(config.maxQueue());
        int id = 0;
        for (URI url : config.backendUrls()) {
            pool.add(new Backend(id++, url, config.maxBatchSize(), false));
        }
        HealthPoller health = poller(config, pool).start();
        Sidecar sidecar = new Sidecar(config, pool, new Dispatcher(config, pool), health, null, null, admin,
                configuration);
        try {
            // the admin listener first, as in MODEL mode: once the public port answers, the start is done
            sidecar.openAdmin(new ExternalFleet(pool));
            sidecar.openDispatcher();
        } catch (RuntimeException e) {
            sidecar.close();
            throw e;
        }
        sidecar.fleetStarted = true;
        return sidecar;
    }

    /** A sidecar that launches its own backends, without an admin listener (tests). */
    public static Sidecar supervised(DispatcherConfig config, SupervisorConfig supervision) {
        return supervised(config, supervision, null, Map.of());
    }

    /**
     * A sidecar that launches its own backends; nothing runs until {@link #start()}. In direct mode
     * ({@code --num-instances 1} without {@code --always-proxy}) the backend serves the public port itself
     * and there is no dispatcher.
     *
     * @param admin         the admin listener's settings, or null for none
     * @param configuration the configuration in force, as the admin API reports it
     */
    public static Sidecar supervised(DispatcherConfig config, SupervisorConfig supervision, AdminConfig admin,
                                     Map<String, ?> configuration) {
        BackendPool pool = new BackendPool(config.maxQueue());
        Dispatcher dispatcher = supervision.direct() ? null : new Dispatcher(config, pool);
        Supervisor supervisor = new Supervisor(supervision, config, pool,
                dispatcher == null ? b -> { } : dispatcher::forget, System.err);
        return new Sidecar(config, pool, dispatcher, poller(config, pool), supervisor, supervision, admin, configuration);
    }

    /**
     * Opens the admin listener, starts the backends one after another, then opens the public port (unless the
     * single backend serves it). The admin API shows the backends while they load; readiness stays down
     * until all are up.
     *
     * @throws StartFailure         when a backend does not come up; {@link #close()} then stops the others
     * @throws UncheckedIOException with a {@link BindException} when the admin or public port is taken
     */
    public Sidecar start() {
        openAdmin(supervisor);
        health.start();
        supervisor.start();
        fleetStarted = true;
        if (supervision.direct()) {
            LOG.log(Level.INFO, "backend 0 serves http://{0}:{1,number,#} itself (--num-instances 1; --always-proxy"
                    + " puts the dispatcher in front)", supervision.host(), supervision.port());
        } else {
            openDispatcher();
        }
        return this;
    }

    /** The admin API and observability (metrics, health) on their own listener, never on the public port. */
    private void openAdmin(Fleet fleet) {
        if (admin == null) {
            return;
        }
        synchronized (this) {
            if (closing.get()) {
                return;
            }
            adminServer = AdminServer.start(admin, new AdminApi(fleet, dispatcher, admin, configuration),
                    Observability.feature(dispatcher, pool, () -> fleetStarted));
        }
    }

    /** The admin listener's port, when it runs. */
    public Optional<Integer> adminPort() {
        synchronized (this) {
            return Optional.ofNullable(adminServer).map(AdminServer::port);
        }
    }

    private static HealthPoller poller(DispatcherConfig config, BackendPool pool) {
        return new HealthPoller(pool, config.healthInterval(), config.healthTimeout(), config.unhealthyThreshold());
    }

    private void openDispatcher() {
        synchronized (this) {
            if (closing.get()) {
                return;
            }
            server = PublicServer.start(config, dispatcher);
        }
        BackendPool pool = dispatcher.pool();
        LOG.log(Level.INFO, "dispatcher listening on http://{0}:{1,number,#} in front of {2} backends"
                + " (max batch {3} each, request affinity {4})", config.host(), server.port(),
                pool.backends().size(), config.maxBatchSize(), config.requestAffinity() ? "on" : "off");
    }

    /** The public port: the dispatcher's, or in direct mode the backend's. */
    public int port() {
        return supervision != null && supervision.direct() ? supervision.port() : server.port();
    }

    /** The dispatcher, or null in direct mode. */
    public Dispatcher dispatcher() {
        return dispatcher;
    }

    public HealthPoller health() {
        return health;
    }

    /** The launched backends, when the sidecar launched them. */
    public Optional<Fleet> fleet() {
        return Optional.ofNullable(supervisor);
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
            AdminServer a;
            synchronized (this) {
                a = adminServer;
            }
            if (a != null) {
                a.close();
            }
            if (supervisor != null) {
                supervisor.stopRestarting();
            }
            PublicServer s;
            synchronized (this) {
                s = server;
            }
            if (s != null) {
                drain();
                s.close();
            }
            health.close();
            if (supervisor != null) {
                supervisor.close();
            }
            BackendPool pool = dispatcher != null ? dispatcher.pool() : null;
            if (pool != null) {
                for (Backend b : pool.backends()) {
                    pool.remove(b);
                }
            }
            if (dispatcher != null) {
                dispatcher.close();
            }
        } finally {
            closed.countDown();
        }
    }

    private void drain() {
        dispatcher.beginDrain();
        try {
            long ms = config.drainTimeout().toMillis();
            if (!dispatcher.awaitIdle(ms, TimeUnit.MILLISECONDS)) {
                LOG.log(Level.WARNING, "{0} requests still open after the drain timeout of {1} ms",
                        dispatcher.active(), ms);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
