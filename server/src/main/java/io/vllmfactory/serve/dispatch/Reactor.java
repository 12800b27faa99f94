package io.vllmfactory.serve.dispatch;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * One event loop of the dispatcher ({@link Reactors}): readiness for a share of its client and
 * backend connections, one selector and one platform thread that polls it.
 *
 * <p>Why: a blocking read on a virtual thread that finds no data costs a read that returns EAGAIN
 * and an {@code epoll_ctl} to re-arm a one-shot registration, every time. Here a connection is
 * registered once, level-triggered, and stays armed while it is used: a reader that knows no data
 * came parks straight away, and the poll that sees the data wakes it, so a request costs its two
 * reads and writes and a share of one {@code epoll_wait}. Readers stay plain blocking code on
 * virtual threads.
 *
 * <p>A connection can also be handed to a {@link Handler}, which the poller calls itself when the
 * connection is ready, instead of waking a thread: the fast lane ({@link FastLane}) serves plain
 * requests that way, as an event loop does, with no wake-up between the socket and the work.
 *
 * <p>The poller polls again at once while polls find work; after one that found nothing it blocks in
 * {@code epoll_wait}, and the kernel wakes it (on an idle core if there is one) when bytes come or a
 * connection is registered. A platform thread, not a virtual one: a virtual thread blocked in a
 * selector is woken through the JDK's own poller and then a carrier thread, two hand-offs whose
 * placement left cores idle under load (see bench/README.md).
 */
final class Reactor implements AutoCloseable {
    private static final System.Logger LOGGER = System.getLogger(Reactor.class.getName());
    /** Polls that may report bytes nobody reads before the connection stops being watched for them. */
    private static final int UNCLAIMED_POLLS = 8;

    private final Selector selector;
    /** Connections to register, or whose interest changed: only the poller touches keys. */
    private final ConcurrentLinkedQueue<Readiness> updates = new ConcurrentLinkedQueue<>();
    private final Thread poller;
    private volatile boolean blocked;
    /** Threads the current poll woke (poller thread only). */
    private int woken;
    private volatile boolean open = true;
    private final boolean direct;
    /** This loop's place among the dispatcher's {@link Reactors}. */
    private final int index;

    /** @param direct whether reads and writes may be direct socket calls; false: always the channel's */
    Reactor(boolean direct) {
        this(direct, 0);
    }

    Reactor(boolean direct, int index) {
        this.direct = direct;
        this.index = index;
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector for the dispatcher's connections", e);
        }
        this.poller = Thread.ofPlatform().daemon().name("connection-poller-" + index).unstarted(this::poll);
        poller.start();
    }

    int index() {
        return index;
    }

    /** False once the poller stopped (the server stops): nobody watches its connections any more. */
    boolean open() {
        return open;
    }

    /** Registers a non-blocking channel; its readiness is reported to the returned object. */
    Readiness register(SocketChannel channel) {
        Readiness r = new Readiness(this, channel);
        update(r);
        if (!open) {
            r.closed();
        }
        return r;
    }

    /**
     * Asks the poller to register {@code r}, or to bring its interest in line with its waiters.
     * A key's interest is computed and set by the poller alone: two threads that each computed it
     * from what they saw could otherwise leave the older value in place, and a waiter unwatched.
     */
    private void update(Readiness r) {
        updates.add(r);
        wakeIfBlocked();
    }

    private void wakeIfBlocked() {
        if (blocked) {
            selector.wakeup();
        }
    }

    private void poll() {
        try {
            while (open) {
                Readiness r;
                while ((r = updates.poll()) != null) {
                    r.apply(selector);
                }
                woken = 0;
                selector.selectNow(this::fire);
                // Only a poll that woke somebody counts as traffic: keys that report bytes nobody
                // waits for yet must not keep the poller from blocking.
                if (woken == 0) {
                    blocked = true;
                    try {
                        if (updates.isEmpty()) {
                            selector.select(this::fire);
                        }
                    } finally {
                        blocked = false;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOGGER.log(Level.ERROR, "the connection poller failed; connections it watched are closed", e);
        } finally {
            open = false;
            shutDown();
        }
    }

    private void shutDown() {
        Readiness r;
        while ((r = updates.poll()) != null) {
            r.closed();
            r.tellHandlerClosed();
        }
        try {
            for (SelectionKey k : selector.keys()) {
                Readiness kr = (Readiness) k.attachment();
                kr.closed();
                kr.tellHandlerClosed();
            }
            selector.close();
        } catch (IOException | RuntimeException e) {
            // closing anyway: nothing left to release
        }
    }

    private void fire(SelectionKey key) {
        if (((Readiness) key.attachment()).fire(key)) {
            woken++;
        }
    }

    /**
     * Code the poller runs itself for a connection handed to it ({@link Readiness#handle}). It runs
     * on the poller thread only, so it must never block: whatever may wait goes to a thread of its own.
     */
    interface Handler {
        /** The connection {@code r} has bytes to read (or was just handed over: look at what is buffered). */
        void ready(Readiness r);

        /** The connection {@code r} closed (here or by the reaper) while it was handed over. */
        void closed(Readiness r);
    }

    /** Stops polling; connections still registered are told they closed, so nobody waits on them. */
    @Override
    public void close() {
        open = false;
        selector.wakeup();
    }

    /**
     * One registered connection: whether it has bytes to read (or room to write) as far as the last
     * poll knows, and the virtual threads waiting for that, if any: one reader and one writer at most
     * (a fast-path connection reads a client's next request while its answer is being written).
     */
    static final class Readiness {
        /** Bytes one direct write takes at most. */
        private static final int MAX_DIRECT_WRITE = 64 * 1024;
        /** Set in {@link #io} once the connection is closing: no new direct call starts. */
        private static final int CLOSING = 1 << 30;
        private static final VarHandle IO;

        static {
            try {
                IO = MethodHandles.lookup().findVarHandle(Readiness.class, "io", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Reactor reactor;
        private final SocketChannel channel;
        /** The socket's descriptor for direct calls ({@link NativeSocketIo}), or -1: the channel's I/O. */
        private final int fd;
        /**
         * Direct calls under way, plus {@link #CLOSING}. A descriptor must never be used once its
         * channel may have closed it (the number could belong to another socket by then): closing
         * sets the flag and waits until the calls under way are done; a call that sees the flag
         * leaves the descriptor alone and asks the channel, which knows it is closed.
         */
        @SuppressWarnings("unused") // through IO
        private int io;
        private volatile SelectionKey key;
        private volatile Thread reader;
        private volatile Thread writer;
        private volatile boolean readable;
        private volatile boolean writable;
        private volatile boolean closed;
        /** The peer ended its stream: every read from now on returns -1 (one reader at a time). */
        private boolean eof;
        /** Read interest was dropped: bytes sat unread through many polls with nobody waiting for them. */
        private volatile boolean disarmed;
        private volatile int unclaimed;
        /** Called by the poller instead of waking a reader, or null ({@link #handle}). */
        private volatile Handler handler;
        /** The handler was just set: the poller calls it once even without new bytes. */
        private volatile boolean kick;

        private Readiness(Reactor reactor, SocketChannel channel) {
            this.reactor = reactor;
            this.channel = channel;
            this.fd = reactor.direct ? NativeSocketIo.fd(channel) : -1;
        }

        /** On the poller: registers the channel, or sets its interest from the current waiters. */
        private void apply(Selector selector) {
            if (closed) {
                tellHandlerClosed();
                return;
            }
            Handler h = handler;
            if (h != null && kick) {
                disarmed = false; // just handed over: the handler reads whatever comes
            }
            SelectionKey k = key;
            if (k != null) {
                interest(k);
            } else {
                try {
                    key = channel.register(selector, interestOps(), this);
                } catch (ClosedChannelException | RuntimeException e) {
                    closed();
                    tellHandlerClosed();
                    return;
                }
            }
            if (h != null && kick) {
                kick = false;
                h.ready(this);
            }
        }

        private void tellHandlerClosed() {
            Handler h = handler;
            if (h != null) {
                h.closed(this);
            }
        }

        /**
         * From now on the poller calls {@code h} when this connection has bytes, at once for those
         * buffered already ({@link Handler#ready}); null gives the connection back to blocking reads
         * (call it on the poller, or when the handler is done with the connection).
         */
        void handle(Handler h) {
            handler = h;
            if (h == null) {
                readable = true; // a blocking read looks first: bytes may have come meanwhile
                return;
            }
            kick = true;
            reactor.update(this);
        }

        /** Has the poller call the handler soon, as for bytes (a request in line was granted a backend). */
        void kick() {
            if (handler != null) {
                kick = true;
                reactor.update(this);
            }
        }

        /** On the poller, with a handler set: calls it on the next bytes, without the kick of {@link #handle}. */
        void handleQuietly(Handler h) {
            handler = h;
            if (disarmed) {
                disarmed = false;
                interest(key);
            }
        }

        /** On the poller: stop reporting bytes until {@link #watchReads()} (the handler is busy with the connection). */
        void ignoreReads() {
            if (!disarmed) {
                disarmed = true;
                interest(key);
            }
        }

        /** On the poller: report bytes again. */
        void watchReads() {
            if (disarmed) {
                disarmed = false;
                interest(key);
            }
        }

        private int interestOps() {
            return (disarmed ? 0 : SelectionKey.OP_READ) | (writer != null ? SelectionKey.OP_WRITE : 0);
        }

        /** On the poller: records what the key is ready for and wakes the waiters; whether it woke one. */
        private boolean fire(SelectionKey k) {
            int ops;
            try {
                ops = k.readyOps();
            } catch (CancelledKeyException e) { // the connection closed while the poll ran
                closed();
                return false;
            }
            Handler h = handler;
            if (h != null && (ops & SelectionKey.OP_READ) != 0) {
                kick = false;
                h.ready(this);
                return true;
            }
            boolean woke = false;
            if ((ops & SelectionKey.OP_WRITE) != 0) {
                writable = true;
                woke = unpark(writer);
                if (!woke) {
                    interest(k); // the writer is done: stop asking for room
                }
            }
            if ((ops & SelectionKey.OP_READ) != 0) {
                boolean again = readable;
                readable = true;
                if (!again) {
                    woke = unpark(reader);
                } else if (++unclaimed > UNCLAIMED_POLLS) {
                    // Level-triggered: bytes nobody has read since they were reported (a client's
                    // next request while its request waits, a backend closing an idle connection,
                    // a reader woken but not yet run) would be reported on every poll, and the
                    // poller would spin. Stop watching them until a reader waits again (it re-arms).
                    // Bytes are flagged before the flag is set and the reader looked for after: a
                    // reader that came meanwhile either sees the flag, or is woken here and sees the bytes.
                    disarmed = true;
                    interest(k);
                    unpark(reader);
                } else {
                    unpark(reader); // woken already, most likely: not new work for this poll
                }
            }
            return woke;
        }

        /** On the poller only. */
        private void interest(SelectionKey k) {
            if (k == null) {
                return; // not registered yet: the registration takes the current interest
            }
            try {
                k.interestOps(interestOps());
            } catch (RuntimeException e) { // cancelled: the connection closed
                closed();
            }
        }

        /** About to read: bytes that arrive from now on are reported by the next poll. */
        private void consumed() {
            readable = false;
            unclaimed = 0;
        }

        /**
         * Reads at least one byte into {@code b[off, off + len)} ({@code len} > 0), parking until a
         * poll reports some when none came yet; -1 at end of stream. The flag is cleared before the
         * read, so bytes that arrive after it are seen by the next poll; a read that fills the range
         * leaves it set (more may be waiting).
         */
        int read(byte[] b, int off, int len) throws IOException {
            while (true) {
                if (!readable) {
                    awaitReadable();
                }
                consumed();
                int n = readNow(b, off, len);
                if (n != 0) {
                    if (n == len) {
                        readable = true;
                    }
                    return n;
                }
            }
        }

        /**
         * Writes at least one byte of {@code b[off, off + len)} ({@code len} > 0), parking while the
         * socket's buffer is full; how many it wrote.
         *
         * @throws ClosedChannelException when the connection closes meanwhile
         */
        int write(byte[] b, int off, int len) throws IOException {
            while (true) {
                // A critical call holds off safepoints while it runs: a large body goes in slices.
                int n = direct(true, b, off, Math.min(len, MAX_DIRECT_WRITE));
                if (n <= 0) {
                    n = channel.write(ByteBuffer.wrap(b, off, len)); // no room, a failure, or closing
                }
                if (n > 0) {
                    return n;
                }
                awaitWritable();
            }
        }

        /**
         * One write without waiting: how many bytes of {@code b[off, off + len)} the socket took, 0
         * when its buffer is full.
         */
        int writeNow(byte[] b, int off, int len) throws IOException {
            int n = direct(true, b, off, Math.min(len, MAX_DIRECT_WRITE));
            if (n <= 0) {
                n = channel.write(ByteBuffer.wrap(b, off, len));
            }
            return n;
        }

        /** One read without waiting: bytes read, 0 when none are there, -1 at end of stream. */
        int readNow(byte[] b, int off, int len) throws IOException {
            if (eof) {
                return -1;
            }
            int n = direct(false, b, off, len);
            if (n == 0) {
                n = -1; // recv(2) says end of stream with 0
            } else if (n < 0) {
                n = channel.read(ByteBuffer.wrap(b, off, len)); // nothing there, a failure, or closing
            }
            eof = n < 0;
            return n;
        }

        /**
         * A direct socket call on {@code b[off, off + len)}: what {@code recv(2)} or {@code send(2)}
         * returned, or -1 when the channel must be asked instead (no descriptor, closing, or the
         * call moved nothing for a reason only the channel reports properly).
         */
        private int direct(boolean send, byte[] b, int off, int len) {
            if (fd < 0 || len == 0 || !enter()) {
                return -1;
            }
            try {
                return send ? NativeSocketIo.send(fd, b, off, len) : NativeSocketIo.recv(fd, b, off, len);
            } finally {
                exit();
            }
        }

        /** Starts a direct call; false when the connection is closing (then no call may start). */
        private boolean enter() {
            if (((int) IO.getAndAdd(this, 1) & CLOSING) == 0) {
                return true;
            }
            exit();
            return false;
        }

        private void exit() {
            IO.getAndAdd(this, -1);
        }

        /** No direct call starts from now on; returns when those under way are done (they do not block). */
        private void stopDirectCalls() {
            IO.getAndBitwiseOr(this, CLOSING);
            while (((int) IO.getVolatile(this) & ~CLOSING) != 0) {
                Thread.onSpinWait();
            }
        }

        /** Parks until the channel is readable or closed. */
        private void awaitReadable() throws IOException {
            reader = Thread.currentThread();
            try {
                if (disarmed) {
                    disarmed = false;
                    reactor.update(this);
                }
                while (!readable && !closed) {
                    checkInterrupt();
                    LockSupport.park(this);
                }
            } finally {
                reader = null;
            }
            if (closed && !readable) {
                throw new ClosedChannelException();
            }
        }

        /** Parks until the channel can take more bytes, or is closed. */
        private void awaitWritable() throws IOException {
            writable = false;
            writer = Thread.currentThread();
            try {
                reactor.update(this);
                while (!writable && !closed) {
                    checkInterrupt();
                    LockSupport.park(this);
                }
            } finally {
                writer = null; // the next poll that finds room and no writer drops the interest
            }
            if (closed) {
                throw new ClosedChannelException();
            }
        }

        private static void checkInterrupt() throws InterruptedIOException {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException("interrupted while waiting for the connection");
            }
        }

        /** The loop whose poller watches this connection. */
        Reactor reactor() {
            return reactor;
        }

        /** Whether reads and writes are direct socket calls (for tests). */
        boolean direct() {
            return fd >= 0;
        }

        /** Whether bytes that nobody read made the poller stop watching this connection (for tests). */
        boolean disarmed() {
            return disarmed;
        }

        /**
         * The connection is closing (here or by the reaper): waiting readers and writers give up, and
         * no direct call uses the descriptor any more. Call it before the channel is closed.
         */
        void closed() {
            stopDirectCalls();
            closed = true;
            unpark(reader);
            unpark(writer);
            if (handler != null) {
                reactor.update(this); // the poller tells the handler
            } else {
                reactor.wakeIfBlocked(); // the selector finishes closing the channel at its next poll
            }
        }

        private static boolean unpark(Thread t) {
            if (t != null) {
                LockSupport.unpark(t);
                return true;
            }
            return false;
        }
    }
}
