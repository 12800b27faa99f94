package io.vllmfactory.serve;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The sidecar's version, as Maven built it, with the Java it runs on. */
final class Version {
    private static final String NUMBER = read();

    private Version() {
    }

    /** E.g. {@code 0.1.0}. */
    static String number() {
        return NUMBER;
    }

    /** E.g. {@code vllm-factory-serve 0.1.0 (Java 25.0.1)}, what {@code --version} prints. */
    static String text() {
        return "vllm-factory-serve " + NUMBER + " (Java " + Runtime.version() + ")";
    }

    private static String read() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
