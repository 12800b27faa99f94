package io.vllmfactory.serve.dispatch.admission;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The admission policy on its own: no network, real threads. */
class BackendPoolTest {
    private static BackendPool poolOf(Backend... backends) {
        BackendPool pool = new BackendPool(0);
        for (Backend b : backends) {
            pool.add(b);
        }
        return pool;
    }

    private static Tried tried(Backend... failed) {
        Tried t = new Tried();
        for (Backend b : failed) {
            t.add(b);
        }
        return t;
    }

    private static Backend backend(int id, int maxBatch) {
        return new Backend(id, URI.create("http://127.0.0.1:" + (9100 + id)), maxBatch, true);
    }

    @Test
    void roundRobinSpreadsRequestsOverBackendsWithRoom() throws Exception {
        BackendPool pool = new BackendPool(0);
        Backend a = backend(0, 2);
        Backend b = backend(1, 2);
        pool.add(a);
        pool.add(b);
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ids.add(pool.acquire(null, null, 0, Long.MAX_VALUE, null).id());
        }
        assertThat(ids.stream().filter(id -> id == 0).count(), is(2L));
        assertThat(a.inFlight(), is(2));
        assertThat(b.inFlight(), is(2));
    }

    @Test
    void waitersGetFreedSlotsInArrivalOrderFromWhicheverBackendFreesOne() throws Exception {
        Backend a = backend(0, 1);
        Backend b = backend(1, 1);
        BackendPool pool = poolOf(a, b);
        pool.acquire(null, null, 0, Long.MAX_VALUE, null);
        pool.acquire(null, null, 0, Long.MAX_VALUE, null);
        ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int id = i;
                futures.add(threads.submit(() -> {
                    Backend got = pool.acquire(null, null, 0, Long.MAX_VALUE, null);
                    order.add(id + "@" + got.id());
                    return null;
                }));
                waitUntil(() -> pool.waiting() == id + 1);
            }
            pool.release(b);
            waitUntil(() -> order.size() == 1);
            pool.release(a);
            waitUntil(() -> order.size() == 2);
            pool.release(a);
            waitUntil(() -> order.size() == 3);
            pool.release(b);
            for (Future<?> f : futures) {
                f.get();
            }
        }
        assertThat(List.copyOf(order), contains("0@1", "1@0", "2@0", "3@1"));
    }

    @Test
    void capacityIsNeverExceededUnderContention() throws Exception {
        BackendPool pool = new BackendPool(0);
        Backend a = backend(0, 3);
        Backend b = backend(1, 2);
        pool.add(a);
        pool.add(b);
        AtomicInteger maxA = new AtomicInteger();
        AtomicInteger maxB = new AtomicInteger();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 2000; i++) {
                threads.submit(() -> {
                    Backend got = pool.acquire(null, null, 0, Long.MAX_VALUE, null);
                    maxA.accumulateAndGet(a.inFlight(), Math::max);
                    maxB.accumulateAndGet(b.inFlight(), Math::max);
                    Thread.yield();
                    pool.release(got);
                    return null;
                });
            }
        }
        assertThat(maxA.get(), lessThanOrEqualTo(3));
        assertThat(maxB.get(), lessThanOrEqualTo(2));
        assertThat(a.inFlight() + b.inFlight(), is(0));
        assertThat(pool.waiting(), is(0));
    }

    @Test
    void aRetryJoinsTheHeadOfTheLineAndSkipsBackendsItTried() throws Exception {
        Backend a = backend(0, 1);
        Backend b = backend(1, 1);
        BackendPool pool = poolOf(a, b);
        Backend first = pool.acquire(null, null, 0, Long.MAX_VALUE, null);
        Backend second = pool.acquire(null, null, 0, Long.MAX_VALUE, null);
        ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<?> plain = threads.submit(() -> {
                order.add("plain@" + pool.acquire(null, null, 0, Long.MAX_VALUE, null).id());
                return null;
            });
            waitUntil(() -> pool.waiting() == 1);
            Future<?> retry = threads.submit(() -> {
                order.add("retry@" + pool.acquire(null, tried(a), 0, Long.MAX_VALUE, null).id());
                return null;
            });
            waitUntil(() -> pool.waiting() == 2);
            pool.release(first.id() == 0 ? first : second); // frees a: the retry may not use it
            waitUntil(() -> order.size() == 1);
            pool.release(first.id() == 1 ? first : second); // frees b: the retry takes it
            plain.get();
            retry.get();
        }
        assertThat(List.copyOf(order), contains("plain@0", "retry@1"));
    }

    @Test
    void aRetryWhoseUntriedBackendsAllLeaveGivesUpAfterTheUnavailableTimeout() throws Exception {
        Backend a = backend(0, 1);
        Backend b = backend(1, 1);
        BackendPool pool = poolOf(a, b);
        Backend held = pool.acquire(b, null, 0, Long.MAX_VALUE, null);
        assertThat(held, is(b));
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            // a tried already; b is full: the retry waits for b
            Future<Backend> retry = threads.submit(
                    () -> pool.acquire(null, tried(a), 0, Duration.ofMillis(100).toNanos(), null));
            waitUntil(() -> pool.waiting() == 1);
            pool.draining(b, true); // b leaves: a, which the retry may not use, is all that is left
            ExecutionException e = assertThrows(ExecutionException.class, () -> retry.get(30, TimeUnit.SECONDS));
            assertThat(e.getCause().getClass().getSimpleName(), is("NoBackendException"));
            assertThat(pool.waiting(), is(0));
            assertThat("a still has its free slot", a.inFlight(), is(0));
        }
        pool.release(held);
    }

    @Test
    void aRetryWaitingForAnUntriedBackendTakesANewOne() throws Exception {
        BackendPool pool = new BackendPool(0);
        Backend a = backend(0, 1);
        pool.add(a);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Backend> retry = threads.submit(() -> pool.acquire(null, tried(a), 0, Long.MAX_VALUE, null));
            waitUntil(() -> pool.waiting() == 1);
            Backend c = backend(2, 1);
            pool.add(c);
            assertThat(retry.get(30, TimeUnit.SECONDS), is(c));
        }
    }

    @Test
    void aBoundedQueueRejectsTheRequestPastItsBound() throws Exception {
        BackendPool pool = new BackendPool(1);
        pool.add(backend(0, 1));
        pool.acquire(null, null, 0, Long.MAX_VALUE, null);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            threads.submit(() -> pool.acquire(null, null, Duration.ofSeconds(2).toNanos(), Long.MAX_VALUE, null));
            waitUntil(() -> pool.waiting() == 1);
            assertThrows(QueueFullException.class, () -> pool.acquire(null, null, 0, Long.MAX_VALUE, null));
            pool.release(pool.backends().getFirst());
        }
    }

    @Test
    void aBackendComingBackServesTheWaitingLineAtOnce() throws Exception {
        BackendPool pool = new BackendPool(0);
        Backend a = backend(0, 2);
        pool.add(a);
        pool.healthy(a, false);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Backend> waiter = threads.submit(() -> pool.acquire(null, null, 0, Long.MAX_VALUE, null));
            waitUntil(() -> pool.waiting() == 1);
            pool.healthy(a, true);
            assertThat(waiter.get().id(), is(0));
        }
    }

    @Test
    void waitersGiveUpWhenNoBackendIsRoutableForTheUnavailableTimeout() {
        BackendPool pool = new BackendPool(0);
        Backend a = backend(0, 1);
        pool.add(a);
        pool.draining(a, true);
        assertThrows(NoBackendException.class,
                () -> pool.acquire(null, null, 0, Duration.ofMillis(50).toNanos(), null));
        assertThat(pool.waiting(), is(0));
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not reached within 10 s");
            }
            Thread.sleep(1);
        }
    }

    @Test
    void listenersHearOfANewBackendBeforeAWaitingRequestIsBoundToIt() throws Exception {
        Backend busy = backend(0, 1);
        BackendPool pool = poolOf(busy);
        pool.acquire(null, null, 0, Long.MAX_VALUE, null);
        List<Integer> inFlightWhenHeard = new java.util.concurrent.CopyOnWriteArrayList<>();
        pool.listen(new BackendPool.MembershipListener() {
            @Override
            public void added(Backend b) {
                inFlightWhenHeard.add(b.inFlight());
            }

            @Override
            public void removed(Backend b) {
            }
        });
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Backend> waiter = threads.submit(() -> pool.acquire(null, null, 0, Long.MAX_VALUE, null));
            waitUntil(() -> pool.waiting() == 1);
            Backend fresh = backend(1, 1);
            pool.add(fresh);
            assertThat(waiter.get(10, TimeUnit.SECONDS), is(fresh));
        }
        assertThat("heard of the new backend while nothing was bound to it", inFlightWhenHeard, contains(1, 0));
    }
}
