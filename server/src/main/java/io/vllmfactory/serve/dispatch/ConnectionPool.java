package io.vllmfactory.serve.dispatch;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Arrays;

/**
 * Keep-alive connections to one backend, kept per event loop. Most recently used first, so a warm
 * connection is reused and cold ones age out. A connection is only taken by a request that holds
 * one of the backend's permits, and a request takes one of its own loop's (opening one if that loop
 * has none idle), so a backend has at most its permits times the loops open, and idle ones close
 * after about {@link #MAX_IDLE_NANOS}.
 */
final class ConnectionPool {
    /**
     * Below uvicorn's 5 s keep-alive timeout, so we rarely pick a connection the backend is closing
     * (the reaper's visits make the oldest one taken about 4.2 s old).
     */
    static final long MAX_IDLE_NANOS = 4_000_000_000L;

    private final InetSocketAddress address;
    private final String authority;
    private final byte[] hostLine;
    /**
     * Idle connections, one stack per event loop ({@link Reactor#index()}), the most recently used
     * on top: the fast lane takes only its own loop's. Guarded by {@code this}.
     */
    private UpstreamConnection[][] idle = new UpstreamConnection[1][8];
    private int[] idleCount = new int[1];
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

    /** The most recently used pooled connection (the reaper closes those idle too long), else a new one. */
    UpstreamConnection take(Reactor reactor, boolean anyLoop, int connectTimeoutMillis) throws IOException {
        UpstreamConnection c = pop(reactor.index());
        if (c == null && anyLoop) {
            c = popAny();
        }
        return c != null ? c : UpstreamConnection.open(address, connectTimeoutMillis, reactor, open);
    }

    /**
     * The most recently used pooled connection of the loop {@code reactor}, or null when it has
     * none idle (opening one would block).
     */
    UpstreamConnection poll(Reactor reactor) {
        return pop(reactor.index());
    }

    /** A fresh connection, for a retry after a pooled one turned out to be closed. */
    UpstreamConnection open(Reactor reactor, int connectTimeoutMillis) throws IOException {
        return UpstreamConnection.open(address, connectTimeoutMillis, reactor, open);
    }

    /**
     * On the reaper, every tenth of a second: closes busy connections whose backend has been silent
     * past their deadline, and idle ones unused for about {@link #MAX_IDLE_NANOS} (a request that
     * took one meanwhile keeps it).
     */
    void reapOverdue(long now) {
        for (UpstreamConnection c : open) {
            if (!c.expireIfOverdue(now) && c.idleFor(now) >= MAX_IDLE_NANOS && remove(c)) {
                c.close();
            }
        }
    }

    void giveBack(UpstreamConnection c) {
        push(c);
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
        while ((c = popAny()) != null) {
            c.close();
        }
    }

    private synchronized void push(UpstreamConnection c) {
        int loop = c.loop();
        if (loop >= idle.length) {
            idle = Arrays.copyOf(idle, loop + 1);
            idleCount = Arrays.copyOf(idleCount, loop + 1);
        }
        UpstreamConnection[] stack = idle[loop];
        if (stack == null) {
            stack = idle[loop] = new UpstreamConnection[8];
        } else if (idleCount[loop] == stack.length) {
            stack = idle[loop] = Arrays.copyOf(stack, stack.length * 2);
        }
        stack[idleCount[loop]++] = c;
    }

    private synchronized UpstreamConnection pop(int loop) {
        if (loop >= idle.length || idleCount[loop] == 0) {
            return null;
        }
        UpstreamConnection[] stack = idle[loop];
        UpstreamConnection c = stack[--idleCount[loop]];
        stack[idleCount[loop]] = null;
        return c;
    }

    private synchronized UpstreamConnection popAny() {
        for (int loop = 0; loop < idle.length; loop++) {
            UpstreamConnection c = pop(loop);
            if (c != null) {
                return c;
            }
        }
        return null;
    }

    /** Takes {@code c} out of the idle ones; false when a request took it first. */
    private synchronized boolean remove(UpstreamConnection c) {
        int loop = c.loop();
        if (loop >= idle.length) {
            return false;
        }
        UpstreamConnection[] stack = idle[loop];
        int n = idleCount[loop];
        for (int k = 0; k < n; k++) {
            if (stack[k] == c) {
                System.arraycopy(stack, k + 1, stack, k, n - k - 1);
                stack[--idleCount[loop]] = null;
                return true;
            }
        }
        return false;
    }
}
