package io.vllmfactory.serve.dispatch.affinity;

import io.vllmfactory.serve.dispatch.admission.Backend;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/** Which backend took each affinity key last: an LRU table of bounded size. */
public final class AffinityTable {
    private final ReentrantLock lock = new ReentrantLock();
    private final LinkedHashMap<String, Backend> pins;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder fallbacks = new LongAdder();

    public AffinityTable(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("affinity table size: " + capacity + " (expected: >= 1)");
        }
        this.pins = new LinkedHashMap<>(Math.min(capacity, 1024) * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Backend> eldest) {
                return size() > capacity;
            }
        };
    }

    public Backend get(String key) {
        lock.lock();
        try {
            return pins.get(key);
        } finally {
            lock.unlock();
        }
    }

    public void pin(String key, Backend backend) {
        lock.lock();
        try {
            pins.put(key, backend);
        } finally {
            lock.unlock();
        }
    }

    /** Drops the key's pin if it still points at {@code backend} (after a transport failure). */
    public void unpin(String key, Backend backend) {
        lock.lock();
        try {
            pins.remove(key, backend);
        } finally {
            lock.unlock();
        }
    }

    /** Drops every pin to a backend that left the pool. */
    public void forget(Backend backend) {
        lock.lock();
        try {
            pins.values().removeIf(b -> b == backend);
        } finally {
            lock.unlock();
        }
    }

    public int size() {
        lock.lock();
        try {
            return pins.size();
        } finally {
            lock.unlock();
        }
    }

    public void count(AffinityState state) {
        switch (state) {
            case HIT -> hits.increment();
            case MISS -> misses.increment();
            case FALLBACK -> fallbacks.increment();
            default -> {
            }
        }
    }

    public long hits() {
        return hits.sum();
    }

    public long misses() {
        return misses.sum();
    }

    public long fallbacks() {
        return fallbacks.sum();
    }
}
