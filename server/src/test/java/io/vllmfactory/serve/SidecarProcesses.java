package io.vllmfactory.serve;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Launches the sidecar as its own process, the way bin/vllm-factory-serve and systemd run it. */
final class SidecarProcesses {
    private SidecarProcesses() {
    }

    /**
     * @param jvmFlags extra JVM options (e.g. a small heap)
     * @param args     the sidecar's command line
     * @param output   file that receives stdout and stderr
     * @param env      environment entries to set or replace
     */
    static Process launch(List<String> jvmFlags, List<String> args, Path output, Map<String, String> env)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }
}
