package io.vllmfactory.serve.dispatch.upstream;

import io.vllmfactory.serve.dispatch.upstream.UpstreamException.Unreachable;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The keep-alive connections to one backend. {@link #take()} gives the most recently used idle
 * one (so a warm connection is reused and cold ones age out), or opens a new one. The dispatcher
 * takes a connection only while it holds one of the backend's permits, so a backend has at most
 * its max batch of connections open. Idle ones close after {@link #MAX_IDLE_NANOS}, below
 * uvicorn's 5 s keep-alive timeout, so we rarely pick one the backend is closing.
 */
public final class Upstream implements AutoCloseable {
    /** Longest a connection stays idle before {@link #sweep} or {@link #take} closes it. */
    static final long MAX_IDLE_NANOS = 4_000_000_000L;

    private final InetSocketAddress address;
    private final String name;
    private final int connectTimeoutMillis;
    private final int silenceMillis;
    private final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    private final Set<UpstreamConnection> open = ConcurrentHashMap.newKeySet();
    private boolean retired;
    private final LongAdder sentBytes = new LongAdder();
    private final LongAdder receivedBytes = new LongAdder();

    /**
     * @param name                 how failures name the backend, e.g. {@code backend 0 (127.0.0.1:9100)}
     * @param connectTimeoutMillis longest a connection may take to open
     * @param silenceMillis        longest the backend may stay silent during an exchange (upstream timeout)
     */
    public Upstream(String host, int port, String name, int connectTimeoutMillis, int silenceMillis) {
        this.address = new InetSocketAddress(host, port);
        this.name = name;
        this.connectTimeoutMillis = connectTimeoutMillis;
        this.silenceMillis = silenceMillis;
    }

    /**
     * An idle connection that is still in step, or a new one.
     *
     * @throws Unreachable when no connection could be opened
     */
    public UpstreamConnection take() throws Unreachable {
        long now = System.nanoTime();
        while (true) {
            UpstreamConnection c;
            synchronized (this) {
                c = idle.pollFirst();
            }
            if (c == null) {
                return open();
            }
            if (now - c.idleSince() < MAX_IDLE_NANOS && !c.strayBytes()) {
                return c;
            }
            c.close();
        }
    }

    private UpstreamConnection open() throws Unreachable {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(address, connectTimeoutMillis);
            UpstreamConnection c = new UpstreamConnection(this, socket, name);
            open.add(c);
            return c;
        } catch (IOException e) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // never opened
            }
            throw new Unreachable(name + " refused the connection: " + e.getMessage(), e);
        }
    }

    void giveBack(UpstreamConnection c) {
        c.idleSince(System.nanoTime());
        synchronized (this) {
            if (!retired) {
                idle.addFirst(c);
                return;
            }
        }
        c.close(); // the backend left: nobody would take it again
    }

    void closed(UpstreamConnection c) {
        open.remove(c);
    }

    int silenceMillis() {
        return silenceMillis;
    }

    /** Bytes written to the backend, request heads included. */
    public long sentBytes() {
        return sentBytes.sum();
    }

    /** Bytes read from the backend, answer heads included. */
    public long receivedBytes() {
        return receivedBytes.sum();
    }

    void sent(int n) {
        sentBytes.add(n);
    }

    void received(int n) {
        receivedBytes.add(n);
    }

    /** Connections open now, idle or busy. */
    public int openConnections() {
        return open.size();
    }

    /**
     * Ends exchanges whose backend has been silent for the upstream timeout: their sockets close,
     * and the blocked reads fail as timeouts. Called often (every tenth of a second), so a timeout
     * fires at most that late, and never early.
     */
    public void expireSilent() {
        long silentSince = System.nanoTime() - silenceMillis * 1_000_000L;
        for (UpstreamConnection c : open) {
            c.expireIfSilentSince(silentSince);
        }
    }

    /** Closes connections idle for longer than {@link #MAX_IDLE_NANOS}, oldest first. */
    public void sweep() {
        long now = System.nanoTime();
        while (true) {
            UpstreamConnection c;
            synchronized (this) {
                c = idle.peekLast();
                if (c == null || now - c.idleSince() < MAX_IDLE_NANOS) {
                    return;
                }
                idle.pollLast();
            }
            c.close();
        }
    }

    /** The backend left: idle connections close now, busy ones when their exchange ends. */
    @Override
    public void close() {
        ArrayDeque<UpstreamConnection> closing;
        synchronized (this) {
            retired = true;
            closing = new ArrayDeque<>(idle);
            idle.clear();
        }
        closing.forEach(UpstreamConnection::close);
    }
}
