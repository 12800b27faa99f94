package io.vllmfactory.serve.supervise;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Whether this machine lets us listen on an address right now. */
final class Ports {
    private Ports() {
    }

    /** True when a listener could bind {@code host:port} (it is released again at once). */
    static boolean free(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(host, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
