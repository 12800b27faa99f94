package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.SupervisorConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Where the backends listen: instance i of the first N on {@code port-start + i}, later ones on the lowest
 * port from {@code port-start} that nothing else uses. Pure; whether a port is free on this machine is
 * {@link Preflight}'s business.
 */
final class PortLayout {
    /** Where backends listen: only the dispatcher is public. */
    static final String BACKEND_HOST = "127.0.0.1";

    private PortLayout() {
    }

    /** The first N backend ports, or none in direct mode (the backend takes the public port). */
    static List<Integer> initial(SupervisorConfig c) {
        if (c.direct()) {
            return List.of(c.port());
        }
        List<Integer> ports = new ArrayList<>(c.numInstances());
        for (int i = 0; i < c.numInstances(); i++) {
            ports.add(c.portStart() + i);
        }
        return ports;
    }

    /** @throws ConfigException when the public or admin port falls among the backend ports, or they are equal */
    static void checkOverlap(SupervisorConfig c) {
        if (c.port() != 0 && c.port() == c.adminPort()) {
            throw new ConfigException("--admin-port: " + c.adminPort() + " is also --port (expected: a port of its own)");
        }
        if (c.direct()) {
            return;
        }
        int first = c.portStart();
        int last = c.portStart() + c.numInstances() - 1;
        String range = first == last ? Integer.toString(first) : first + ".." + last;
        String why = " is among the backend ports " + range + " (--port-start " + first + ", --num-instances "
                     + c.numInstances() + ")";
        if (c.port() >= first && c.port() <= last) {
            throw new ConfigException("--port: " + c.port() + why + " (expected: a port outside them, or another --port-start)");
        }
        if (c.adminPort() != 0 && c.adminPort() >= first && c.adminPort() <= last) {
            throw new ConfigException("--admin-port: " + c.adminPort() + why
                    + " (expected: a port outside them, or another --port-start)");
        }
    }

    /** The lowest port from {@code portStart} in neither set, or -1 when none is left. */
    static int next(int portStart, Set<Integer> used, Set<Integer> reserved) {
        for (int p = portStart; p <= 65535; p++) {
            if (!used.contains(p) && !reserved.contains(p)) {
                return p;
            }
        }
        return -1;
    }
}
