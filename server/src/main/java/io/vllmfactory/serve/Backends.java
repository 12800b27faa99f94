package io.vllmfactory.serve;

import io.vllmfactory.serve.supervise.ExternalFleet;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.Supervisor;

/** The sidecar's backends: launched and kept alive by the supervisor, or running already. */
sealed interface Backends {
    /** Brings the backends up (returns once they are ready). */
    void start();

    /** The fleet the admin API shows and changes. */
    Fleet fleet();

    /** No more restarts: the sidecar is stopping. */
    void stopRestarting();

    /** Stops every backend the sidecar launched. */
    void close();

    /** MODEL mode: the supervisor launches the backends one after another, restarts them, and stops them. */
    record Launched(Supervisor supervisor) implements Backends {
        @Override
        public void start() {
            supervisor.start();
        }

        @Override
        public Fleet fleet() {
            return supervisor;
        }

        @Override
        public void stopRestarting() {
            supervisor.stopRestarting();
        }

        @Override
        public void close() {
            supervisor.close();
        }
    }

    /** {@code --backend-url}: backends that run already; the sidecar neither starts nor stops them. */
    record Running(ExternalFleet fleet) implements Backends {
        @Override
        public void start() {
            // running already
        }

        @Override
        public void stopRestarting() {
            // not ours to restart
        }

        @Override
        public void close() {
            // not ours to stop
        }
    }
}
