package io.vllmfactory.serve;

import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.autosize.AutoSizer;
import io.vllmfactory.serve.autosize.Autoscaler;
import io.vllmfactory.serve.config.AutoscaleConfig;
import io.vllmfactory.serve.config.AutoSizingConfig;
import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.supervise.Preflight;
import io.vllmfactory.serve.supervise.StartFailure;

import io.helidon.logging.common.LogConfig;

import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The composition root: reads the configuration once, checks what can be checked before anything starts,
 * starts the sidecar, stops it on SIGTERM/SIGINT. Exit status 2 for a bad configuration (one line naming
 * the setting), 1 when the backends could not be started, 0 after a requested stop.
 */
public final class Main {
    private static final System.Logger LOG = System.getLogger(Main.class.getName());
    private Main() {
    }

    public static void main(String[] args) {
        Map<String, String> env = System.getenv();
        DispatcherConfig config;
        SupervisorConfig supervision = null;
        Optional<AutoSizer> sizer = Optional.empty();
        Optional<Autoscaler> autoscaler = Optional.empty();
        AdminConfig admin = null;
        Map<String, Object> configuration = Map.of();
        try {
            CommandLine cl = CommandLine.parse(args);
            if (cl.help()) {
                System.out.print(CommandLine.usage());
                return;
            }
            if (cl.version()) {
                System.out.println(Version.text());
                return;
            }
            Settings settings = Settings.resolve(cl.flags(), env, cl.config());
            config = DispatcherConfig.from(settings);
            boolean model = settings.string("model").isPresent();
            if (model && !config.backendUrls().isEmpty()) {
                throw new ConfigException("MODEL and --backend-url: give MODEL to have the sidecar launch the backends,"
                        + " or --backend-url for backends that run already, not both");
            }
            if (!model && config.backendUrls().isEmpty()) {
                throw new ConfigException("no MODEL (expected: MODEL to launch backends, e.g. vllm-factory-serve"
                        + " urchade/gliner_multi-v2.1 --num-instances 4; or --backend-url URL for backends that run"
                        + " already; see --help)");
            }
            if (model) {
                supervision = SupervisorConfig.from(settings);
                Optional<AutoSizingConfig> auto = AutoSizingConfig.from(settings);
                if (auto.isPresent()) {
                    sizer = Optional.of(AutoSizer.plan(supervision, auto.get()));
                    supervision = sizer.get().startWith(supervision);
                }
                Optional<AutoscaleConfig> scaling = AutoscaleConfig.from(settings);
                if (scaling.isPresent()) {
                    autoscaler = Optional.of(new Autoscaler(scaling.get()));
                    supervision = autoscaler.get().startWith(supervision);
                }
                Preflight.check(supervision, env);
            }
            admin = AdminConfig.of(settings.string("admin-host").orElse(AdminConfig.DEFAULT_HOST),
                    settings.integer("admin-port"), settings.string("admin-token-file").map(Path::of), env);
            admin.exposureProblem().ifPresent(problem -> {
                throw new ConfigException(problem);
            });
            configuration = AdminApi.configuration(settings);
        } catch (ConfigException e) {
            exit(2, e.getMessage());
            return;
        }
        LogConfig.configureRuntime(); // logging.properties: one line per record, on stderr
        Sidecar sidecar;
        try {
            if (supervision == null) {
                sidecar = Sidecar.inFrontOf(config, Optional.of(admin), configuration);
            } else {
                Preflight.checkGpu(supervision, env);
                sidecar = Sidecar.supervised(config, supervision, Optional.of(admin), configuration, sizer,
                        autoscaler);
            }
        } catch (ConfigException e) {
            exit(2, e.getMessage());
            return;
        } catch (StartFailure e) {
            exit(1, e.getMessage());
            return;
        }
        Optional<SystemdNotify> systemd = SystemdNotify.fromEnvironment(env);
        CountDownLatch stopped = new CountDownLatch(1);
        // Installed before anything starts: a SIGTERM during a 10-minute model load stops what started.
        Signals.onTermination(() -> {
            systemd.ifPresent(SystemdNotify::stopping);
            sidecar.close();
            stopped.countDown();
        });
        systemd.ifPresent(s -> s.reportLoading(() -> sidecar.fleet().instances()));
        try {
            sidecar.start();
            if (!sidecar.stopping()) {
                String summary = sidecar.summary();
                LOG.log(System.Logger.Level.INFO, Version.text() + " ready: " + summary);
                systemd.ifPresent(s -> s.ready("serving: " + summary));
            }
        } catch (StartFailure e) {
            if (!sidecar.stopping()) { // else a signal asked for the stop: exit 0 below
                e.lastLines().forEach(l -> System.err.println("  | " + l));
                sidecar.close();
                exit(1, e.getMessage());
            }
        } catch (UncheckedIOException e) {
            sidecar.close();
            portTaken(config, e);
            return;
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(0);
    }

    private static void portTaken(DispatcherConfig config, UncheckedIOException e) {
        if (e.getCause() instanceof BindException b && b.getMessage() != null && b.getMessage().startsWith("--admin-port")) {
            exit(2, b.getMessage() + " (expected: a free port for --admin-port)");
            return;
        }
        if (e.getCause() instanceof BindException) {
            exit(2, "--port: " + config.host() + ":" + config.port() + " is already in use (" + e.getCause().getMessage()
                    + ") (expected: a free port)");
            return;
        }
        throw e;
    }

    private static void exit(int status, String message) {
        System.err.println("vllm-factory-serve: error: " + message);
        System.exit(status);
    }
}
