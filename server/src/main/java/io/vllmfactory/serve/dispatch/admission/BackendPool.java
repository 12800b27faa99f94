package io.vllmfactory.serve.dispatch.admission;

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
 * The set of backends and the admission of requests to them: one line for all, and one cap per
 * backend.
 *
 * <p><b>The cap.</b> Each backend's fair {@link java.util.concurrent.Semaphore} holds its max batch
 * of permits; a request holds one from the moment it is bound to the backend until its answer is
 * relayed. Permits are only ever taken with {@code tryAcquire}, so nobody blocks on a semaphore.
 *
 * <p><b>The line.</b> When no backend it may use has a free permit, a request joins this pool's one
 * line, first come first served. Each permit that frees up goes to the head of the line, whichever
 * backend it belongs to (late binding): a slow backend never builds a private queue while another
 * idles, and no request is dropped. A retry of a failed attempt joins at the head. A request leaves
 * the line when its client goes away ({@link ClientWatch}), when the queue timeout passes, or when no
 * backend it may use has been routable for the unavailable timeout.
 *
 * <p>With nobody waiting, a request takes a permit without the lock. Otherwise, under the lock, it
 * joins the line and {@link #pump()} hands free permits out in line order; a release that sees
 * waiters pumps too. The waiter count is written before permits are read and permits are released
 * before the count is read, so a permit freed while a request is joining the line is never stranded.
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

    /** Told when backends join or leave the pool (metrics and connection pools follow the fleet this way). */
    public interface MembershipListener {
        void added(Backend backend);

        void removed(Backend backend);
    }

    /**
     * Lets a request that waits in line learn that its client went away, so that it gives up its
     * place instead of taking a slot for nobody.
     */
    public interface ClientWatch {
        /**
         * Called on the waiting thread when the request joins the line; running {@code leave} from
         * any thread takes the request out of the line, and its {@code acquire} throws
         * {@link ClientLeftException}.
         */
        void waiting(Runnable leave);
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

    /** Backends that may take new requests now. */
    public int routable() {
        int n = 0;
        for (Backend b : backends) {
            if (b.routable()) {
                n++;
            }
        }
        return n;
    }

    /** Requests waiting for a free slot right now. */
    public int waiting() {
        return waiting;
    }

    /**
     * Adds a backend; waiting requests may be bound to it at once if it is routable. The listeners
     * hear of it first, so that whatever they keep per backend (its connections) is there before
     * a request can be bound to it.
     */
    public void add(Backend backend) {
        for (Backend b : backends) {
            if (b.id() == backend.id()) {
                throw new IllegalArgumentException("backend id " + backend.id() + " is already in the pool");
            }
        }
        listeners.forEach(l -> l.added(backend));
        lock.lock();
        try {
            Backend[] next = Arrays.copyOf(backends, backends.length + 1);
            next[next.length - 1] = backend;
            Arrays.sort(next, (a, b) -> Integer.compare(a.id(), b.id()));
            backends = next;
            pump();
        } finally {
            lock.unlock();
        }
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
        listeners.forEach(l -> l.removed(backend));
    }

    /** Takes a backend out of (or back into) routing without removing it: draining. */
    public void draining(Backend backend, boolean draining) {
        backend.draining(draining);
        if (draining) {
            wakeStranded();
        } else {
            pumpNow();
        }
    }

    /** Records a health verdict; a backend that comes back serves waiting requests at once. */
    public void healthy(Backend backend, boolean healthy) {
        boolean was = backend.healthy();
        if (backend.healthy(healthy)) {
            pumpNow();
        } else if (!healthy && was) {
            wakeStranded();
        }
    }

    /**
     * Binds the caller to a backend with a free permit, waiting in line if there is none.
     *
     * @param preferred        backend to take if it has room (affinity), or null
     * @param tried            backends this request saw fail (a retry joins the head of the line and
     *                         skips them), or null for a first attempt
     * @param timeoutNanos     how long to wait at most, 0 for no limit
     * @param unavailableNanos how long to wait at most while no backend it may use is routable
     * @param watch            told when the request starts waiting, or null
     * @return the backend, holding one of its permits; give it back with {@link #release(Backend)}
     * @throws QueueFullException    when max-queue requests are waiting already (first attempts only)
     * @throws QueueTimeoutException when no slot was free within the timeout
     * @throws NoBackendException    when no backend it may use was routable for {@code unavailableNanos}
     * @throws ClientLeftException   when the watch said the client left
     * @throws InterruptedException  when the server stops while the request waits
     */
    public Backend acquire(Backend preferred, Tried tried, long timeoutNanos, long unavailableNanos,
                           ClientWatch watch) throws InterruptedException {
        if (waiting == 0) {
            Backend b = tryChoose(preferred, tried);
            if (b != null) {
                return b;
            }
        }
        boolean retry = tried != null && !tried.isEmpty();
        Thread self = Thread.currentThread();
        Waiter w = new Waiter(self, preferred, retry ? tried : null);
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
        if (watch != null && w.granted == null) {
            watch.waiting(() -> {
                w.left = true;
                LockSupport.unpark(self);
            });
        }
        return await(w, timeoutNanos, unavailableNanos);
    }

    /** Gives a permit back; the head of the line gets it if it may use this backend. */
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
                throw new ClientLeftException();
            }
            long now = System.nanoTime();
            if (now - deadline >= 0) {
                leave(w);
                throw new QueueTimeoutException(timeoutNanos);
            }
            long wakeAt = deadline;
            if (anyRoutableFor(w.tried)) {
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
        if (w.left) { // granted and left at once: the permit goes on to the next in line
            leave(w);
            throw new ClientLeftException();
        }
        return w.granted;
    }

    /** Whether a routable backend the request may use ({@code tried} null: any) is in the pool. */
    private boolean anyRoutableFor(Tried tried) {
        for (Backend b : backends) {
            if (b.routable() && (tried == null || !tried.excludes(b))) {
                return true;
            }
        }
        return false;
    }

    /**
     * A backend left routing: wakes the waiters that have no backend left they may use, so that
     * their unavailable clock starts. A retry that skips the backends it tried counts too: when
     * those are the only ones left, it would otherwise wait for a slot it may never take.
     */
    private void wakeStranded() {
        lock.lock();
        try {
            for (Waiter w : waiters) {
                if (!anyRoutableFor(w.tried)) {
                    LockSupport.unpark(w.thread);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Takes a request out of the line; a permit granted to it meanwhile is passed on. */
    private void leave(Waiter w) {
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

    /** Hands free permits to waiters in line order. Caller holds the lock. */
    private void pump() {
        Iterator<Waiter> it = waiters.iterator();
        while (it.hasNext()) {
            Waiter w = it.next();
            Backend b = tryChoose(w.preferred, w.tried);
            if (b != null) {
                it.remove();
                w.granted = b;
                LockSupport.unpark(w.thread);
            } else if (w.tried == null) {
                break; // nothing free anywhere: later waiters cannot be served either
            }
        }
        waiting = waiters.size();
    }

    /**
     * Round-robin from a cursor over routable backends, skipping full ones and those the request
     * may not use; the preferred backend first when it has room.
     */
    private Backend tryChoose(Backend preferred, Tried tried) {
        if (preferred != null && preferred.routable() && (tried == null || !tried.excludes(preferred))
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
            if (b.routable() && (tried == null || !tried.excludes(b)) && b.permits().tryAcquire()) {
                return b;
            }
        }
        return null;
    }

    /** A request in line; the thread that grants it a backend, or sees the backends change, unparks it. */
    private static final class Waiter {
        final Thread thread;
        final Backend preferred;
        final Tried tried;
        volatile Backend granted;
        volatile boolean left;

        Waiter(Thread thread, Backend preferred, Tried tried) {
            this.thread = thread;
            this.preferred = preferred;
            this.tried = tried;
        }
    }
}
