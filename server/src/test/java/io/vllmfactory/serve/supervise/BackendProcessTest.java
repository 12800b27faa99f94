package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.Poll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The guard: process groups, SIGTERM then SIGKILL, leftovers, and independence from the starting thread. */
class BackendProcessTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private BackendProcess start(String... argv) throws Exception {
        return BackendProcess.start(List.of(argv), Map.of(), Duration.ofMillis(300), new BackendLog(0, dir, null));
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    void stoppingTakesTheWholeTreeDownEvenProcessesThatIgnoreSigterm() throws Exception {
        BackendProcess p = start("sh", "-c", "trap '' TERM; sleep 300 & sleep 300 & wait");
        Poll.until(DEADLINE, "the backend and its two children run", () -> p.tree().size() == 3);
        List<ProcessHandle> tree = p.tree();
        p.stop();
        assertThat(p.alive(), is(false));
        // killed processes whose parent died too stay zombies until init reaps them
        Poll.until(DEADLINE, "every process of the tree is gone", () -> tree.stream().noneMatch(ProcessHandle::isAlive));
    }

    @Test
    void whatABackendLeavesBehindGoesWithItWhenItEnds() throws Exception {
        Path orphanPid = dir.resolve("orphan.pid");
        BackendProcess p = start("sh", "-c", "sleep 300 & echo $! > " + orphanPid + "; exit 3");
        Poll.until(DEADLINE, "the backend has ended", () -> !p.alive());
        assertThat(p.exitValue(), is(3));
        long orphan = Long.parseLong(Files.readString(orphanPid).strip());
        Poll.until(DEADLINE, "the child it left behind is gone", () -> !alive(orphan));
    }

    @Test
    void theBackendLeadsItsOwnSessionAndKeepsTheDefaultInterruptHandling() throws Exception {
        BackendProcess p = start("sleep", "300");
        try {
            long pid = p.pid();
            // the guard names the pid before the execs of setsid and env that lead to the backend
            Poll.until(DEADLINE, "the backend runs", () -> comm(pid).equals("sleep"));
            assertThat("process group", stat(pid)[2], is(Long.toString(pid)));
            assertThat("session", stat(pid)[3], is(Long.toString(pid)));
            String ignored = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("SigIgn:")).findFirst().orElseThrow().split("\\s+")[1];
            assertThat("SIGINT not ignored", Long.parseLong(ignored, 16) & (1L << 1), is(0L));
        } finally {
            p.stop();
        }
    }

    @Test
    void theBackendsOutputReachesItsLogAndTheGuardsMarkerDoesNot() throws Exception {
        BackendLog log = new BackendLog(7, dir, null);
        log.begin("start 1");
        BackendProcess p = BackendProcess.start(List.of("sh", "-c", "echo loading; echo 'ValueError: boom' >&2; exit 1"),
                Map.of(), Duration.ofMillis(300), log);
        Poll.until(DEADLINE, "the backend has ended", () -> !p.alive());
        p.awaitOutput(DEADLINE);
        assertThat(log.tail(), is(List.of("loading", "ValueError: boom")));
        assertThat(log.lastLine(), is("ValueError: boom"));
        assertThat(Files.readString(dir.resolve("backend-7.log")), containsString("start 1\nloading\nValueError: boom\n"));
    }

    private static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** The fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, ... */
    private static String[] stat(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        } catch (java.io.IOException e) {
            return new String[] {"", "", "", ""};
        }
    }

    /**
     * PR_SET_PDEATHSIG belongs to the thread that started the child, not to the JVM: a child started that way
     * is killed as soon as that thread (a platform thread, or a virtual thread's carrier) ends, while the JVM
     * runs on. A guarded backend started by the same thread stays up.
     */
    @Test
    void aBackendOutlivesTheThreadThatStartedItWherePdeathsigWouldNot() throws Exception {
        assumeTrue(Preflight.executable("setpriv", System.getenv().getOrDefault("PATH", "")).isPresent(),
                "setpriv (util-linux) is needed to show PR_SET_PDEATHSIG's behaviour");
        Process probe = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                PdeathsigProbe.class.getName()).redirectErrorStream(true).start();
        String out = new String(probe.getInputStream().readAllBytes()).strip();
        assertThat(out, is("pdeathsig child died, guarded backend alive"));
    }
}
