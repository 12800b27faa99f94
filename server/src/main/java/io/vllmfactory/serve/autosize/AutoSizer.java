package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.config.AutoSizingConfig;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.supervise.BackendState;
import io.vllmfactory.serve.supervise.FleetException;
import io.vllmfactory.serve.supervise.InstanceView;
import io.vllmfactory.serve.supervise.Sizing;
import io.vllmfactory.serve.supervise.Sizing.Measurement;
import io.vllmfactory.serve.supervise.StartFailure;
import io.vllmfactory.serve.supervise.Supervisor;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code --num-instances auto}: before the public port opens, measures the fleet with one instance, adds one at
 * a time (the supervisor re-splits the GPU's memory) while each brings at least the minimum gain and the
 * budget allows, shrinks back to the best count, logs the table and remembers the choice. A remembered choice
 * is used as it is, without measuring, unless {@code --recalibrate}.
 */
public final class AutoSizer {
    private static final System.Logger LOG = System.getLogger(AutoSizer.class.getName());
    /** Timed requests per client and measurement, after one warm-up round. */
    private static final int ROUNDS = 6;
    private static final Duration POLL = Duration.ofMillis(100);

    private final AutoSizingConfig config;
    private final SizingState state;
    private final CalibrationLoad load;
    private final Optional<Sizing> remembered;
    private final Duration settleTimeout;

    private AutoSizer(AutoSizingConfig config, SizingState state, CalibrationLoad load, Optional<Sizing> remembered,
                      Duration settleTimeout) {
        this.config = config;
        this.state = state;
        this.load = load;
        this.remembered = remembered;
        this.settleTimeout = settleTimeout;
    }

    /**
     * Reads the remembered choice, if any (and not {@code --recalibrate}).
     *
     * @throws io.vllmfactory.serve.config.ConfigException for an unusable {@code --calibration-request}
     */
    public static AutoSizer plan(SupervisorConfig supervision, AutoSizingConfig config) {
        CalibrationRequest request = CalibrationRequest.of(config.calibrationRequest(), supervision.backend());
        SizingState state = SizingState.of(config.stateDir(), supervision, request, config.minGain());
        Optional<Sizing> remembered = config.recalibrate() ? Optional.empty() : state.read();
        Duration timeout = supervision.startupTimeout().plus(supervision.stopGrace());
        return new AutoSizer(config, state, new CalibrationLoad(request, supervision.backend().maxNumSeqs(), ROUNDS,
                timeout), remembered, timeout);
    }

    /** The configuration to start with: the remembered count, or one instance to measure from. */
    public SupervisorConfig startWith(SupervisorConfig supervision) {
        return supervision.withNumInstances(remembered.map(Sizing::instances).orElse(1));
    }

    /**
     * Sizes the started fleet (or reports the remembered size); returns once it serves with the chosen count.
     *
     * @throws StartFailure when the calibration request fails or an instance does not come up
     */
    public void run(Supervisor fleet) {
        if (remembered.isPresent()) {
            LOG.log(Level.INFO, "--num-instances auto: {0} instances, as measured before ({1}); state file {2};"
                    + " --recalibrate measures again", remembered.get().instances(), remembered.get().reason(),
                    state.file());
            fleet.sizing(remembered.get());
            return;
        }
        try {
            Sizing chosen = calibrate(fleet);
            fleet.sizing(chosen);
            try {
                state.write(chosen);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "--num-instances auto: cannot remember the choice in {0} ({1}); the next"
                        + " start measures again", state.file(), e.toString());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StartFailure("--num-instances auto: interrupted while measuring", List.of());
        }
    }

    private Sizing calibrate(Supervisor fleet) throws InterruptedException {
        List<Measurement> table = new ArrayList<>();
        while (true) {
            List<String> urls = settle(fleet);
            double rps = load.measure(urls);
            table.add(new Measurement(urls.size(), rps));
            LOG.log(Level.INFO, String.format(Locale.ROOT, "--num-instances auto: %d instance%s: %.1f req/s",
                    urls.size(), urls.size() == 1 ? "" : "s", rps));
            SizingPolicy.Decision decision = SizingPolicy.next(table, config.minGain(), true);
            if (decision instanceof SizingPolicy.Add) {
                fleet.sizing(new Sizing("calibrating", urls.size(), "measuring " + (urls.size() + 1)
                        + " instances", table, Optional.of(state.file().toString())));
                try {
                    fleet.add(1, false);
                    continue;
                } catch (FleetException.OverBudget e) {
                    LOG.log(Level.INFO, "--num-instances auto: no room for another instance: {0}", e.getMessage());
                    decision = SizingPolicy.next(table, config.minGain(), false);
                }
            }
            SizingPolicy.Keep keep = (SizingPolicy.Keep) decision;
            if (keep.instances() < urls.size()) {
                fleet.scaleTo(keep.instances(), false);
                settle(fleet);
            }
            LOG.log(Level.INFO, "--num-instances auto: keeping {0} instances: {1}; measured (instances: req/s): {2}",
                    keep.instances(), keep.reason(), describe(table));
            return new Sizing("measured", keep.instances(), keep.reason(), table,
                    Optional.of(state.file().toString()));
        }
    }

    /** Waits until no change runs and every instance is READY; their URLs. */
    private List<String> settle(Supervisor fleet) throws InterruptedException {
        long deadline = System.nanoTime() + settleTimeout.toNanos();
        while (true) {
            List<InstanceView> all = fleet.instances();
            if (fleet.operation().isEmpty() && !all.isEmpty()
                    && all.stream().allMatch(v -> v.state() == BackendState.READY)) {
                return all.stream().map(InstanceView::url).toList();
            }
            for (InstanceView v : all) {
                if (v.state() == BackendState.FAILED) {
                    throw new StartFailure("--num-instances auto: instance " + v.id() + " failed while measuring: "
                            + v.lastError(), List.of());
                }
            }
            if (System.nanoTime() > deadline) {
                throw new StartFailure("--num-instances auto: the instances were not all ready within "
                        + settleTimeout.toSeconds() + " s: " + all, List.of());
            }
            Thread.sleep(POLL);
        }
    }

    private static String describe(List<Measurement> table) {
        StringBuilder sb = new StringBuilder();
        for (Measurement m : table) {
            sb.append(sb.isEmpty() ? "" : ", ").append(m.instances()).append(": ")
                    .append(String.format(Locale.ROOT, "%.1f", m.requestsPerSecond()));
        }
        return sb.toString();
    }
}
