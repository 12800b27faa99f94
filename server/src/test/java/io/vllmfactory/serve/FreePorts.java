package io.vllmfactory.serve;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports nothing listens on right now, for settings that must name a port. A port is handed out once per
 * test JVM: a public port, an admin port and a backend range picked for one sidecar never overlap.
 */
final class FreePorts {
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    /** The first of {@code n} consecutive free ports on the loopback. */
    static synchronized int block(int n) {
        for (int attempt = 0; attempt < 200; attempt++) {
            // below the kernel's ephemeral range (32768 up), where outgoing connections could take it meanwhile
            int base = ThreadLocalRandom.current().nextInt(20000, 32000 - n);
            boolean free = true;
            for (int p = base; p < base + n && free; p++) {
                free = !GIVEN.contains(p) && free(p);
            }
            if (free) {
                for (int p = base; p < base + n; p++) {
                    GIVEN.add(p);
                }
                return base;
            }
        }
        throw new IllegalStateException("no block of " + n + " free ports found");
    }

    static int one() {
        return block(1);
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("0.0.0.0", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
