package io.vllmfactory.serve.supervise;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Run in a JVM of its own: from one platform thread that then ends, starts a guarded backend and a child with
 * PR_SET_PDEATHSIG ({@code setpriv --pdeathsig KILL}); once the latter is seen dead (or after five seconds),
 * reports both, e.g. {@code pdeathsig child died, guarded backend alive}.
 */
final class PdeathsigProbe {
    private PdeathsigProbe() {
    }

    public static void main(String[] args) throws Exception {
        Process[] child = new Process[1];
        BackendProcess[] guarded = new BackendProcess[1];
        Thread starter = Thread.ofPlatform().start(() -> {
            try {
                guarded[0] = BackendProcess.start(List.of("sleep", "300"), Map.of(), Duration.ofMillis(300),
                        new BackendLog(0, null, null));
                child[0] = new ProcessBuilder("setpriv", "--pdeathsig", "KILL", "sh", "-c", "echo set; exec sleep 300")
                        .start();
                // the thread may end only once setpriv has called prctl (it prints after that)
                new java.io.BufferedReader(new java.io.InputStreamReader(child[0].getInputStream())).readLine();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        starter.join();
        boolean died = child[0].waitFor(5, TimeUnit.SECONDS);
        long pid = guarded[0].pid();
        boolean alive = guarded[0].alive() && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        child[0].destroyForcibly();
        guarded[0].stop();
        System.out.println("pdeathsig child " + (died ? "died" : "survived") + ", guarded backend " + (alive ? "alive" : "dead"));
    }
}
