package io.vllmfactory.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.logging.LogManager;

/**
 * Entry point of the vLLM simulator: {@code serve MODEL [vLLM flags] [--sim-* knobs]}. Exit status 2 for a
 * malformed command line, 1 for a start-up failure (as vLLM's); otherwise it serves until terminated and
 * returns its GPU memory on the way out.
 */
public final class Main {
    private Main() {
    }

    /**
     * Starts the simulator.
     *
     * @param args the command line, as for {@code vllm}
     */
    public static void main(String[] args) {
        configureLogging();
        Command command;
        try {
            command = CommandLine.parse(List.of(args), System.getenv(), System.getProperty("java.io.tmpdir"));
        } catch (UsageException e) {
            System.err.println(e.asVllm() ? CommandLine.VLLM_USAGE : CommandLine.SHORT_USAGE);
            System.err.println((e.asVllm() ? "vllm serve" : "vllm-sim") + ": error: " + e.getMessage());
            System.exit(2);
            return;
        }
        switch (command) {
            case Command.Serve(SimulatorConfig config) -> serve(config);
            case Command.Warmup() -> System.exit(warmup());
            case Command.Help() -> {
                System.out.print(CommandLine.HELP);
                System.out.flush();
            }
        }
    }

    private static int warmup() {
        try {
            Path ledger = Files.createTempFile("vllm-sim-warmup", ".ledger");
            try {
                Command.Serve serve = (Command.Serve) CommandLine.parse(List.of("serve", "warmup", "--port", "0",
                        "--sim-startup-delay", "0", "--gpu-memory-utilization", "0.01", "--sim-gpu-ledger",
                        ledger.toString()), Map.of(), ledger.getParent().toString());
                try (Simulator simulator = new Simulator(serve.config(), new VllmLog(System.out), () -> { })) {
                    simulator.start();
                }
            } finally {
                Files.deleteIfExists(ledger);
            }
            return 0;
        } catch (IOException | UsageException | StartupException e) {
            System.err.println("vllm-sim: warmup failed: " + e);
            return 1;
        } catch (InterruptedException e) {
            return 1;
        }
    }

    /**
     * Applies the bundled logging configuration unless the user named one. It lives in this package, not at
     * the classpath root, so it cannot shadow the {@code logging.properties} of a project that has the
     * simulator on its test classpath.
     */
    private static void configureLogging() {
        if (System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null) {
            return;
        }
        try (InputStream in = Main.class.getResourceAsStream("logging.properties")) {
            if (in != null) {
                LogManager.getLogManager().readConfiguration(in);
            }
        } catch (IOException e) {
            System.err.println("vllm-sim: warning: ignoring the bundled logging configuration: " + e);
        }
    }

    private static void serve(SimulatorConfig config) {
        // halt, not exit: a CUDA crash runs no clean-up, and the ledger's dead-pid sweep must cope with that
        Simulator simulator = new Simulator(config, new VllmLog(System.out), () -> Runtime.getRuntime().halt(1));
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("vllm-sim-shutdown").unstarted(simulator::close));
        try {
            simulator.start();
        } catch (StartupException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        } catch (InterruptedException e) {
            System.exit(1);
        }
    }
}
