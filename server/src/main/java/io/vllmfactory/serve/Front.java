package io.vllmfactory.serve;

import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.dispatch.PublicServer;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import java.lang.System.Logger.Level;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The sidecar's public endpoint: the dispatcher's listener, or the single backend's own port. */
sealed interface Front {
    /** Starts serving the public port, once the backends are up. */
    void open(BackendPool pool);

    int port();

    /** The address clients use, e.g. {@code http://0.0.0.0:8000}. */
    default String url() {
        return "http://" + host() + ":" + port();
    }

    /** The address the public port binds. */
    String host();

    /** The dispatcher, when there is one. */
    Optional<Dispatcher> dispatcher();

    /** Stops taking requests, lets those in flight and waiting finish within the drain timeout, stops listening. */
    void drainAndClose();

    /** Releases what is left once the backends are gone (the dispatcher's connections and threads). */
    void release();

    /** The dispatcher in front of the backends, on its own listener. */
    final class Dispatched implements Front {
        private static final System.Logger LOG = System.getLogger(Sidecar.class.getName());

        private final DispatcherConfig config;
        private final Dispatcher dispatcher;
        private volatile PublicServer server;

        Dispatched(DispatcherConfig config, Dispatcher dispatcher) {
            this.config = config;
            this.dispatcher = dispatcher;
        }

        @Override
        public void open(BackendPool pool) {
            server = PublicServer.start(config, dispatcher);
            LOG.log(Level.INFO, "dispatcher listening on http://{0}:{1,number,#} in front of {2} backends"
                    + " (max batch {3} each, request affinity {4})", config.host(), server.port(),
                    pool.backends().size(), config.maxBatchSize(), config.requestAffinity() ? "on" : "off");
        }

        @Override
        public String host() {
            return config.host();
        }

        @Override
        public int port() {
            PublicServer s = server;
            if (s == null) {
                throw new IllegalStateException("the public port is not open yet");
            }
            return s.port();
        }

        @Override
        public Optional<Dispatcher> dispatcher() {
            return Optional.of(dispatcher);
        }

        @Override
        public void drainAndClose() {
            PublicServer s = server;
            if (s == null) {
                return;
            }
            dispatcher.beginDrain();
            long ms = config.drainTimeout().toMillis();
            try {
                if (!dispatcher.awaitIdle(ms, TimeUnit.MILLISECONDS)) {
                    LOG.log(Level.WARNING, "{0} requests still open after the drain timeout of {1} ms",
                            dispatcher.active(), ms);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            s.close();
        }

        @Override
        public void release() {
            dispatcher.close();
        }
    }

    /** {@code --num-instances 1} without {@code --always-proxy}: the backend listens on the public port itself. */
    record Direct(String host, int port) implements Front {
        private static final System.Logger LOG = System.getLogger(Sidecar.class.getName());

        @Override
        public void open(BackendPool pool) {
            LOG.log(Level.INFO, "backend 0 serves http://{0}:{1,number,#} itself (--num-instances 1; --always-proxy"
                    + " puts the dispatcher in front)", host, port);
        }

        @Override
        public Optional<Dispatcher> dispatcher() {
            return Optional.empty();
        }

        @Override
        public void drainAndClose() {
            // the backend drains as it stops
        }

        @Override
        public void release() {
            // nothing of ours
        }
    }
}
