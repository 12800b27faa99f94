package io.vllmfactory.simulator;

import java.util.Set;

import io.helidon.http.HeaderValues;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Runs around every request: blocks it for good once the simulator hangs, counts it in {@link Stats} unless it
 * only observes the simulator, and closes the connection when the client asked for that.
 */
final class TrafficFilter implements Filter {
    // paths that observe the simulator rather than use it; they do not count as traffic
    private static final Set<String> UNTRACKED = Set.of("/health", "/ping", "/metrics", "/sim/stats",
            "/sim/stats/reset");

    private final Stats stats;
    private final Faults faults;

    TrafficFilter(Stats stats, Faults faults) {
        this.stats = stats;
        this.faults = faults;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        try {
            faults.awaitIfHung();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloseConnectionException("interrupted while hung", e);
        }
        boolean tracked = !UNTRACKED.contains(req.prologue().uriPath().path());
        Stats.Ticket ticket = tracked ? stats.begin() : null;
        if (ticket != null) {
            req.context().register(ticket);
        }
        try {
            chain.proceed();
        } finally {
            if (ticket != null) {
                ticket.end();
            }
        }
        // Helidon 4.5.0 answers "Connection: close" but keeps the socket open (helidon-io/helidon#12324), so a
        // client reading to EOF would wait for the idle timeout; the response is written, so close it here.
        if (req.headers().containsToken(HeaderValues.CONNECTION_CLOSE)) {
            throw new CloseConnectionException("the client sent Connection: close");
        }
    }
}
