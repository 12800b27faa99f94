package io.vllmfactory.serve.supervise;

/** Lifecycle of one supervised backend process. */
public enum BackendState {
    /** Process launched, model loading; not routable until its /health answers 200. */
    STARTING,
    /** Healthy and routable. */
    READY,
    /** Running but failing health probes; out of routing. */
    UNHEALTHY,
    /** Out of routing; in-flight requests finish before it stops. */
    DRAINING,
    /** SIGTERM sent to its process tree; SIGKILL follows after the grace period. */
    STOPPING,
    /** Not running, by intent. */
    STOPPED,
    /** Crashed or hung; waits out its backoff before the next start. */
    BACKOFF,
    /** Failed too often in the window; not restarted until an operator restarts it. */
    FAILED
}
