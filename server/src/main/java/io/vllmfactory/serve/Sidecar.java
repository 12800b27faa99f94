package io.vllmfactory.serve;

import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.dispatch.Backend;
import io.vllmfactory.serve.dispatch.BackendPool;
import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.dispatch.HealthPoller;

import io.helidon.webserver.WebServer;

import java.lang.System.Logger.Level;
import java.net.URI;
import java.util.concurrent.TimeUnit;

/**
 * The running sidecar: the dispatcher's web server, its backend pool and the health poller, wired
 * together, with one orderly way to stop: stop taking requests, let those in flight and waiting
 * finish within the drain timeout, then close everything.
 */
public final class Sidecar implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Sidecar.class.getName());

    private final DispatcherConfig config;
    private final Dispatcher dispatcher;
    private final HealthPoller health;
    private final WebServer server;

    private Sidecar(DispatcherConfig config, Dispatcher dispatcher, HealthPoller health, WebServer server) {
        this.config = config;
        this.dispatcher = dispatcher;
        this.health = health;
        this.server = server;
    }

    /** Starts the dispatcher in front of the configured backend URLs. */
    public static Sidecar start(DispatcherConfig config) {
        BackendPool pool = new BackendPool(config.maxQueue());
        int id = 0;
        for (URI url : config.backendUrls()) {
            pool.add(new Backend(id++, url, config.maxBatchSize(), false));
        }
        HealthPoller health = new HealthPoller(pool, config.healthInterval(), config.healthTimeout(),
                config.unhealthyThreshold()).start();
        Dispatcher dispatcher = new Dispatcher(config, pool);
        WebServer server;
        try {
            server = WebServer.builder()
                    .host(config.host())
                    .port(config.port())
                    .shutdownHook(false)
                    .featuresDiscoverServices(false)
                    .routing(r -> Dispatcher.routing(r, dispatcher))
                    .build()
                    .start();
        } catch (RuntimeException e) {
            health.close();
            throw e;
        }
        LOG.log(Level.INFO, "dispatcher listening on http://{0}:{1,number,#} in front of {2} backends"
                + " (max batch {3} each, request affinity {4})", config.host(), server.port(),
                pool.backends().size(), config.maxBatchSize(), config.requestAffinity() ? "on" : "off");
        return new Sidecar(config, dispatcher, health, server);
    }

    public int port() {
        return server.port();
    }

    public Dispatcher dispatcher() {
        return dispatcher;
    }

    public HealthPoller health() {
        return health;
    }

    /** Drains, then stops. */
    @Override
    public void close() {
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
        server.stop();
        health.close();
        for (Backend b : dispatcher.pool().backends()) {
            dispatcher.pool().remove(b);
        }
    }
}
