package io.vllmfactory.serve.dispatch;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The set of backends and the admission of requests to them.
 *
 * <p>A request is bound to a backend only when that backend has a free permit: late binding. When
 * every backend is full, requests wait in one queue in arrival order, and each permit that frees up
 * goes to the head of the queue, whichever backend it belongs to. So one slow backend never builds a
 * private queue while another idles, and no request is dropped.
 *
 * <p>Fast path: with nobody waiting, a request takes a permit with {@code tryAcquire} and no lock.
 * Slow path: under the lock the request joins the queue and {@link #pump()} hands free permits out
 * in queue order. A release that sees waiters pumps too. The waiter count is written before permits
 * are read and permits are released before the count is read, so a permit freed while a request is
 * joining the queue is never stranded.
 */
public final class BackendPool {
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private final AtomicInteger cursor = new AtomicInteger();
    private final int maxQueue;
    private final List<MembershipListener> listeners = new CopyOnWriteArrayList<>();
    private volatile Backend[] backends = new Backend[0];
    private volatile int waiting;

    /** @param maxQueue most requests waiting at once, 0 for no bound */
    public BackendPool(int maxQueue) {
        if (maxQueue < 0) {
            throw new IllegalArgumentException("maxQueue: " + maxQueue + " (expected: >= 0, 0 = unbounded)");
        }
        this.maxQueue = maxQueue;
    }

    /** Told when backends join or leave the pool (metrics follow the fleet this way). */
    public interface MembershipListener {
        void added(Backend backend);

        void removed(Backend backend);
    }

    /** Registers a listener and tells it about the backends already in the pool. */
    public void listen(MembershipListener listener) {
        listeners.add(listener);
        for (Backend b : backends) {
            listener.added(b);
        }
    }

    /** All backends, routable or not, in id order. */
    public List<Backend> backends() {
        return List.of(backends);
    }

    public Optional<Backend> backend(int id) {
        for (Backend b : backends) {
            if (b.id() == id) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /** Requests waiting for a free slot right now. */
    public int waiting() {
        return waiting;
    }

    /** Closes connections to backends that stayed silent past their exchange's deadline. */
    public void reapOverdue() {
        long now = System.nanoTime();
        for (Backend b : backends) {
            b.connections().reapOverdue(now);
        }
    }

    /** Adds a backend; waiting requests may be bound to it at once if it is routable. */
    public void add(Backend backend) {
        lock.lock();
        try {
            for (Backend b : backends) {
                if (b.id() == backend.id()) {
                    throw new IllegalArgumentException("backend id " + backend.id() + " is already in the pool");
                }
            }
            Backend[] next = Arrays.copyOf(backends, backends.length + 1);
            next[next.length - 1] = backend;
            Arrays.sort(next, (a, b) -> Integer.compare(a.id(), b.id()));
            backends = next;
            pump();
        } finally {
            lock.unlock();
        }
        listeners.forEach(l -> l.added(backend));
    }

    /** Removes a backend from routing for good; requests already bound to it finish normally. */
    public void remove(Backend backend) {
        lock.lock();
        try {
            backends = Arrays.stream(backends).filter(b -> b != backend).toArray(Backend[]::new);
        } finally {
            lock.unlock();
        }
        wakeStranded();
        backend.connections().retire();
        listeners.forEach(l -> l.removed(backend));
    }

    /** Takes a backend out of (or back into) routing without removing it: draining. */
    public void draining(Backend backend, boolean draining) {
        backend.draining(draining);
        if (!draining) {
            pumpNow();
        } else {
            wakeStranded();
        }
    }

    /** Records a health verdict; a backend that becomes routable serves waiting requests at once. */
    public void healthy(Backend backend, boolean healthy) {
        boolean was = backend.healthy();
        backend.healthy(healthy);
        if (healthy && !was) {
            pumpNow();
        } else if (!healthy && was) {
            wakeStranded();
        }
    }

    /**
     * Binds the caller to a backend with a free slot, waiting in arrival order if there is none.
     *
     * @param preferred  backend to take if it has room (affinity), or null
     * @param exclude    backends already tried by this request, or null
     * @param retry      a retry of a failed attempt: joins the head of the queue, not the tail
     * @param timeoutNanos how long to wait at most, 0 for no limit
     * @param unavailableNanos how long to wait at most while no backend is routable at all
     * @return the backend, holding one of its permits; give it back with {@link #release(Backend)}
     * @throws QueueFullException    when max-queue requests are waiting already
     * @throws QueueTimeoutException when no slot was free within the timeout
     * @throws NoBackendException    when no backend it may use (routable, not in {@code exclude}) was
     *                               there for {@code unavailableNanos}
     * @throws InterruptedException  when the server stops while the request waits
     */
    public Backend acquire(Backend preferred, List<Backend> exclude, boolean retry, long timeoutNanos,
                           long unavailableNanos) throws InterruptedException {
        return acquire(preferred, exclude, retry, timeoutNanos, unavailableNanos, null);
    }

    /**
     * Lets a request that waits in line learn that its client went away, so that it gives up its
     * place instead of taking a slot for nobody.
     */
    public interface ClientWatch {
        /**
         * Called on the waiting thread when the request joins the line (again for a retry that
         * waits); running {@code leave} from any thread takes the request out of the line, and its
         * {@code acquire} throws.
         */
        void waiting(Runnable leave);
    }

    /**
     * As {@link #acquire(Backend, List, boolean, long, long)}, and a request that has to wait leaves
     * the line when {@code watch} says its client is gone.
     *
     * @param watch told when the request starts waiting, or null
     */
    Backend acquire(Backend preferred, List<Backend> exclude, boolean retry, long timeoutNanos,
                    long unavailableNanos, ClientWatch watch) throws InterruptedException {
        if (waiting == 0) {
            Backend b = tryChoose(preferred, exclude);
            if (b != null) {
                return b;
            }
        }
        Thread self = Thread.currentThread();
        Waiter w = new Waiter(() -> LockSupport.unpark(self), preferred, exclude);
        lock.lock();
        try {
            if (maxQueue > 0 && waiters.size() >= maxQueue && !retry) {
                throw new QueueFullException(waiters.size());
            }
            if (retry) {
                waiters.addFirst(w);
            } else {
                waiters.addLast(w);
            }
            waiting = waiters.size();
            pump();
        } finally {
            lock.unlock();
        }
        if (watch != null) {
            watch.waiting(() -> {
                w.left = true;
                w.wake.run();
            });
        }
        return await(w, timeoutNanos, unavailableNanos);
    }

    /**
     * A backend with a free permit, taken, when nobody waits and one is free ({@code preferred}
     * first when it has room, or null); else null (then
     * {@link #acquire} puts the request in line). Never waits.
     */
    Backend tryAcquire(Backend preferred) {
        return waiting == 0 ? tryChoose(preferred, null) : null;
    }

    /**
     * Puts a request of the fast lane in line, behind those waiting already, without waiting
     * itself: {@code wake} runs once a backend is granted ({@link Waiter#granted()}, perhaps
     * before this returns) or the backends changed. Leave the line with {@link #leave}.
     *
     * @throws QueueFullException when max-queue requests are waiting already
     */
    Waiter enqueue(Runnable wake, Backend preferred) {
        Waiter w = new Waiter(wake, preferred, null);
        lock.lock();
        try {
            if (maxQueue > 0 && waiters.size() >= maxQueue) {
                throw new QueueFullException(waiters.size());
            }
            waiters.addLast(w);
            waiting = waiters.size();
            pump();
        } finally {
            lock.unlock();
        }
        return w;
    }

    /** Whether any backend could take a request now or later (one is routable). */
    boolean anyRoutable() {
        return anyRoutableFor(null);
    }

    /** Gives a permit back; the head of the queue gets it if it may use this backend. */
    public void release(Backend backend) {
        backend.permits().release();
        if (waiting > 0) {
            pumpNow();
        }
    }

    private Backend await(Waiter w, long timeoutNanos, long unavailableNanos) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = timeoutNanos > 0 ? start + timeoutNanos : Long.MAX_VALUE;
        long unavailableSince = 0;
        while (w.granted == null) {
            if (Thread.interrupted()) {
                leave(w);
                throw new InterruptedException("server stopping while the request waited");
            }
            if (w.left) {
                leave(w);
                throw new ClientAbortException("the client closed its connection while the request waited");
            }
            long now = System.nanoTime();
            if (now - deadline >= 0) {
                leave(w);
                throw new QueueTimeoutException(timeoutNanos);
            }
            long wakeAt = deadline;
            if (anyRoutableFor(w.exclude)) {
                unavailableSince = 0;
            } else {
                if (unavailableSince == 0) {
                    unavailableSince = now;
                }
                long giveUpAt = unavailableSince + unavailableNanos;
                if (now - giveUpAt >= 0) {
                    leave(w);
                    throw new NoBackendException(unavailableNanos);
                }
                wakeAt = Math.min(wakeAt, giveUpAt);
            }
            if (wakeAt == Long.MAX_VALUE) {
                LockSupport.park(this);
            } else {
                LockSupport.parkNanos(this, wakeAt - now);
            }
        }
        return w.granted;
    }

    /** Whether a routable backend outside {@code exclude} (null: none excluded) is in the pool. */
    private boolean anyRoutableFor(List<Backend> exclude) {
        for (Backend b : backends) {
            if (b.routable() && !excluded(b, exclude)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A backend left routing: wakes the waiters that have no backend left they may use, so that
     * their unavailable clock starts. A retry that excludes the backends it tried counts too: when
     * those are the only ones left, it would otherwise wait for a slot it may never take.
     */
    private void wakeStranded() {
        boolean anyRoutable = anyRoutableFor(null);
        lock.lock();
        try {
            for (Waiter w : waiters) {
                if (!anyRoutable || w.exclude != null && !anyRoutableFor(w.exclude)) {
                    w.wake.run();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Takes a request out of the line; a permit granted to it meanwhile is passed on. */
    void leave(Waiter w) {
        Backend granted;
        lock.lock();
        try {
            granted = w.granted;
            if (granted == null) {
                waiters.remove(w);
                waiting = waiters.size();
            }
        } finally {
            lock.unlock();
        }
        if (granted != null) {
            release(granted);
        }
    }

    private void pumpNow() {
        lock.lock();
        try {
            pump();
        } finally {
            lock.unlock();
        }
    }

    /** Hands free permits to waiters in queue order. Caller holds the lock. */
    private void pump() {
        Iterator<Waiter> it = waiters.iterator();
        while (it.hasNext()) {
            Waiter w = it.next();
            Backend b = tryChoose(w.preferred, w.exclude);
            if (b != null) {
                it.remove();
                w.granted = b;
                w.wake.run();
            } else if (w.exclude == null || w.exclude.isEmpty()) {
                break; // nothing free anywhere: later waiters cannot be served either
            }
        }
        waiting = waiters.size();
    }

    /**
     * Round-robin from a cursor over routable backends, skipping full ones; the preferred backend
     * first when it has room.
     */
    private Backend tryChoose(Backend preferred, List<Backend> exclude) {
        if (preferred != null && preferred.routable() && !excluded(preferred, exclude)
                && preferred.permits().tryAcquire()) {
            return preferred;
        }
        Backend[] bs = backends;
        int n = bs.length;
        if (n == 0) {
            return null;
        }
        int start = Math.floorMod(cursor.getAndIncrement(), n);
        for (int i = 0; i < n; i++) {
            Backend b = bs[(start + i) % n];
            if (b.routable() && !excluded(b, exclude) && b.permits().tryAcquire()) {
                return b;
            }
        }
        return null;
    }

    private static boolean excluded(Backend b, List<Backend> exclude) {
        return exclude != null && exclude.contains(b);
    }

    /** Backends this request has not tried yet and that could take it. */
    boolean anyUntried(List<Backend> tried) {
        for (Backend b : backends) {
            if (b.routable() && !tried.contains(b)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A request in line: {@link #wake} runs (on whichever thread frees a permit, or sees the
     * backends change) when it was granted a backend or should look at the pool again.
     */
    static final class Waiter {
        final Runnable wake;
        final Backend preferred;
        final List<Backend> exclude;
        volatile Backend granted;

        /** The backend granted, holding one of its permits, or null while the request waits. */
        Backend granted() {
            return granted;
        }
        volatile boolean left;

        Waiter(Runnable wake, Backend preferred, List<Backend> exclude) {
            this.wake = wake;
            this.preferred = preferred;
            this.exclude = exclude;
        }
    }
}
