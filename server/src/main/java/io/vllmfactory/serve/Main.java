package io.vllmfactory.serve;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;

import java.io.UncheckedIOException;
import java.net.BindException;
import java.util.concurrent.CountDownLatch;

/** The composition root: reads the configuration once, starts the sidecar, stops it on SIGTERM/SIGINT. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        DispatcherConfig config;
        try {
            CommandLine cl = CommandLine.parse(args);
            if (cl.help()) {
                System.out.print(CommandLine.usage());
                return;
            }
            Settings settings = Settings.resolve(cl.flags(), System.getenv(), cl.config());
            config = DispatcherConfig.from(settings);
            if (config.backendUrls().isEmpty()) {
                throw new ConfigException("no backends: give --backend-url URL (repeatable) for backends that run already");
            }
        } catch (ConfigException e) {
            fail(e.getMessage());
            return;
        }
        Sidecar sidecar;
        try {
            sidecar = Sidecar.start(config);
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof BindException) {
                fail("--port " + config.port() + ": cannot listen on " + config.host() + ":" + config.port()
                     + " (" + e.getCause().getMessage() + "); choose a free port");
                return;
            }
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            sidecar.close();
            stopped.countDown();
        };
        Signals.onTermination(stop);
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(0);
    }

    private static void fail(String message) {
        System.err.println("vllm-factory-serve: error: " + message);
        System.exit(2);
    }
}
