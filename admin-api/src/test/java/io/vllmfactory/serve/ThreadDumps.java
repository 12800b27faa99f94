package io.vllmfactory.serve;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the sidecar's threads were doing when a client gave up waiting, so that a rare hang seen in
 * CI says where it hung. Virtual threads included (a JDK thread dump, as {@code jcmd Thread.dump_to_file}).
 */
final class ThreadDumps {
    private static final int MAX_CHARS = 6000;

    private ThreadDumps() {
    }

    /** The threads whose stacks pass through the dispatcher or the supervisor, shortened. */
    static String sidecarThreads() {
        try {
            Path file = Files.createTempFile("sidecar-threads", ".txt");
            Files.delete(file); // the JDK refuses to overwrite
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
            StringBuilder out = new StringBuilder();
            for (String thread : Files.readString(file).split("\n\n")) {
                if (thread.contains("io.vllmfactory.serve.") && out.length() < MAX_CHARS) {
                    out.append(thread.lines().limit(14).reduce((a, b) -> a + "\n" + b).orElse("")).append("\n\n");
                }
            }
            Files.deleteIfExists(file);
            return out.toString();
        } catch (IOException | RuntimeException e) {
            return "(no thread dump: " + e + ")";
        }
    }
}
