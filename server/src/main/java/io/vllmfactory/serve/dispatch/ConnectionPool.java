package io.vllmfactory.serve.dispatch;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Keep-alive connections to one backend. Most recently used first, so a warm connection is reused
 * and cold ones age out. The number of connections is bounded by the backend's permits: a
 * connection is only taken by a request that holds one.
 */
final class ConnectionPool {
    /** Below uvicorn's 5 s keep-alive timeout, so we rarely pick a connection the backend is closing. */
    static final long MAX_IDLE_NANOS = 4_000_000_000L;

    private final InetSocketAddress address;
    private final String authority;
    private final byte[] hostLine;
    private final ConcurrentLinkedDeque<UpstreamConnection> idle = new ConcurrentLinkedDeque<>();
    /** Every open connection, idle or busy, for the reaper. Changes only when a connection opens or closes. */
    private final Set<UpstreamConnection> open = ConcurrentHashMap.newKeySet();
    /** The backend left the pool: connections that come back are closed, not kept. */
    private volatile boolean retired;

    ConnectionPool(InetSocketAddress address, String authority) {
        this.address = address;
        this.authority = authority;
        this.hostLine = ("Host: " + authority + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    String authority() {
        return authority;
    }

    /** The request's {@code Host} header line for this backend. */
    byte[] hostLine() {
        return hostLine;
    }

    /** A pooled connection young enough to trust, else a new one. */
    UpstreamConnection take(Reactor reactor, int connectTimeoutMillis) throws IOException {
        long now = System.nanoTime();
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            if (now - c.idleSince() < MAX_IDLE_NANOS) {
                return c;
            }
            c.close();
        }
        return UpstreamConnection.open(address, connectTimeoutMillis, reactor, open);
    }

    /** A fresh connection, for a retry after a pooled one turned out to be closed. */
    UpstreamConnection open(Reactor reactor, int connectTimeoutMillis) throws IOException {
        return UpstreamConnection.open(address, connectTimeoutMillis, reactor, open);
    }

    /** Closes busy connections whose backend has been silent past their deadline. */
    void reapOverdue(long now) {
        for (UpstreamConnection c : open) {
            c.expireIfOverdue(now);
        }
    }

    void giveBack(UpstreamConnection c) {
        c.idleSince(System.nanoTime());
        idle.offerFirst(c);
        if (retired) {
            closeIdle(); // a request that outlived its backend's removal: nobody would take it again
        }
    }

    /** The backend left for good: closes idle connections now, and busy ones when they come back. */
    void retire() {
        retired = true;
        closeIdle();
    }

    private void closeIdle() {
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            c.close();
        }
    }
}
