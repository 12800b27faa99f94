package io.vllmfactory.serve;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Starts an in-process sidecar on a free port through the same flag parsing users go through. */
final class TestSidecars {
    private TestSidecars() {
    }

    static Sidecar start(List<SimulatorProcess> backends, String... flags) {
        return startInFrontOf(backends.stream().map(SimulatorProcess::url).toList(), flags);
    }

    /** A sidecar in front of backends given by URL. */
    static Sidecar startInFrontOf(List<String> backendUrls, String... flags) {
        List<String> args = new ArrayList<>(List.of("--host", "127.0.0.1", "--port", "0",
                "--health-interval", "100ms", "--health-timeout", "1s", "--drain-timeout", "5s"));
        for (String url : backendUrls) {
            args.add("--backend-url");
            args.add(url);
        }
        args.addAll(List.of(flags));
        CommandLine cl = CommandLine.parse(args.toArray(String[]::new));
        Settings settings = Settings.resolve(cl.flags(), Map.of(), Optional.empty());
        return Sidecar.start(DispatcherConfig.from(settings));
    }
}
