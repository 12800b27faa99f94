package io.vllmfactory.serve.admin;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * Failed admin-token attempts per client address: after {@link #MAX_FAILURES} within
 * {@link #WINDOW}, that address is refused (429) for {@link #LOCKOUT} without its token being
 * looked at, so that a token cannot be guessed at network speed. A success forgets the address.
 * Remembers at most {@link #MAX_ADDRESSES} addresses (the least recently seen go first). The clock
 * is given, so the policy is a function of its inputs.
 */
final class TokenAttempts {
    static final int MAX_FAILURES = 10;
    static final Duration WINDOW = Duration.ofMinutes(1);
    static final Duration LOCKOUT = Duration.ofMinutes(1);
    static final int MAX_ADDRESSES = 4096;

    private final LongSupplier nanoClock;
    private final Map<String, Attempts> byAddress = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Attempts> eldest) {
            return size() > MAX_ADDRESSES;
        }
    };

    private static final class Attempts {
        long windowStart;
        int failures;
        long lockedUntil;
    }

    TokenAttempts(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /** How long {@code address} is still refused, or empty when it may try. */
    synchronized OptionalLong lockedFor(String address) {
        Attempts e = byAddress.get(address);
        long now = nanoClock.getAsLong();
        if (e == null || e.lockedUntil == 0 || now - e.lockedUntil >= 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(e.lockedUntil - now);
    }

    /** {@code address} sent a wrong or no token. */
    synchronized void failed(String address) {
        long now = nanoClock.getAsLong();
        Attempts e = byAddress.computeIfAbsent(address, a -> new Attempts());
        if (e.failures == 0 || now - e.windowStart > WINDOW.toNanos()) {
            e.windowStart = now;
            e.failures = 0;
        }
        if (++e.failures >= MAX_FAILURES) {
            e.lockedUntil = now + LOCKOUT.toNanos();
            e.failures = 0;
        }
    }

    /** {@code address} sent the token. */
    synchronized void succeeded(String address) {
        byAddress.remove(address);
    }
}
