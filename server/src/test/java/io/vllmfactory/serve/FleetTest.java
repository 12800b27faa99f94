package io.vllmfactory.serve;

import io.vllmfactory.serve.supervise.BackendState;
import io.vllmfactory.serve.supervise.Change;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.FleetException;
import io.vllmfactory.serve.supervise.InstanceView;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.vllmfactory.serve.SupervisedSidecars.alive;
import static io.vllmfactory.serve.SupervisedSidecars.fleet;
import static io.vllmfactory.serve.SupervisedSidecars.instance;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The operations the admin API drives, called directly, while clients keep sending requests. */
class FleetTest {
    /** Upper bounds only: a rebalance starts three backends one after another, slow on a busy machine. */
    private static final Duration DEADLINE = Duration.ofSeconds(180);

    @TempDir
    Path dir;

    private static boolean settled(Fleet fleet, int count) {
        return fleet.operation().isEmpty() && fleet.instances().size() == count
               && fleet.instances().stream().allMatch(v -> v.state() == BackendState.READY);
    }

    @Test
    void scalingTwoToThreeToOneWhileRequestsFlowFailsNoRequest() throws Exception {
        try (Sidecar sidecar = SupervisedSidecars.start(dir, List.of("--num-instances", "2", "--max-batch-size", "4"),
                List.of("--sim-service-time-ms", "20"));
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Fleet fleet = fleet(sidecar);
            AtomicBoolean stop = new AtomicBoolean();
            List<Future<List<Integer>>> loops = new ArrayList<>();
            for (int c = 0; c < 6; c++) {
                loops.add(clients.submit(() -> {
                    List<Integer> statuses = new ArrayList<>();
                    while (!stop.get()) {
                        statuses.add(Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0).statusCode());
                    }
                    return statuses;
                }));
            }
            try {
                // the GPU is full (2 x 0.46) and the share automatic: the fleet re-splits by itself
                Change grown = fleet.scaleTo(3, false);
                assertThat(grown.ids(), is(List.of(2)));
                assertThat(grown.summary(), is("instances 0 and 1 restart one at a time at 0.31 of GPU 0 while the"
                        + " others serve, then instance 2 starts at 0.31 of GPU 0"));
                AtomicInteger leastRouting = new AtomicInteger(2);
                Poll.until(DEADLINE, "three instances at the new share", () -> {
                    int routing = (int) sidecar.dispatcher().pool().backends().stream().filter(b -> b.routable()).count();
                    leastRouting.accumulateAndGet(routing, Math::min);
                    return settled(fleet, 3);
                });
                assertThat("a rolling restart keeps N-1 in routing", leastRouting.get(), greaterThanOrEqualTo(1));
                for (InstanceView v : fleet.instances()) {
                    assertThat(v.gpuMemoryFraction(), is(OptionalDouble.of(0.31)));
                    assertThat(SupervisedSidecars.commandLine(v.pid()), hasItem("0.31"));
                }
                assertThat(fleet.gpuInUse(), is(0.31 * 3));

                List<Long> before = SupervisedSidecars.pids(sidecar);
                assertThat(fleet.scaleTo(1, false).ids().size(), is(2));
                Poll.until(DEADLINE, "one instance is left", () -> settled(fleet, 1));
                long kept = fleet.instances().getFirst().pid();
                Poll.until(DEADLINE, "the removed instances' processes are gone",
                        () -> before.stream().filter(p -> p != kept).noneMatch(SupervisedSidecars::alive));
            } finally {
                stop.set(true); // else a failed assertion leaves the clients running and close() waits for ever
            }
            List<Integer> all = new ArrayList<>();
            for (Future<List<Integer>> f : loops) {
                all.addAll(f.get());
            }
            assertThat(all.size(), greaterThanOrEqualTo(100));
            assertThat(all, everyItem(is(200)));
        }
    }

    @Test
    void removingAnInstanceLetsItsRequestsFinishAndOperationsDoNotInterleave() throws Exception {
        try (Sidecar sidecar = SupervisedSidecars.start(dir, List.of("--num-instances", "2", "--max-batch-size", "1"),
                List.of());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Fleet fleet = fleet(sidecar);
            List<Future<HttpResponse<String>>> slow = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                slow.add(clients.submit(() -> Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 1500)));
            }
            Poll.until(DEADLINE, "both instances are busy",
                    () -> instance(sidecar, 0).inFlight() == 1 && instance(sidecar, 1).inFlight() == 1);
            long removed = instance(sidecar, 0).pid();

            fleet.remove(0);
            assertThat(instance(sidecar, 0).state(), is(BackendState.DRAINING));
            assertThat(assertThrows(FleetException.Busy.class, () -> fleet.restart(1)).getMessage(),
                    is("'remove 0' is under way; try again once it has finished"));
            assertThrows(FleetException.UnknownInstance.class, () -> fleet.restart(9));
            assertThrows(FleetException.Invalid.class, () -> fleet.scaleTo(0, false));
            assertThrows(FleetException.Invalid.class, () -> fleet.add(-1, false));
            for (Future<HttpResponse<String>> f : slow) {
                assertThat("a request bound to the drained instance finishes", f.get().statusCode(), is(200));
            }
            Poll.until(DEADLINE, "instance 0 is gone", () -> fleet.operation().isEmpty() && fleet.instance(0).isEmpty());
            Poll.until(DEADLINE, "its process is gone", () -> !alive(removed));

            assertThat(assertThrows(FleetException.WrongState.class, () -> fleet.remove(1)).getMessage(),
                    is("instance 1 is the only one (expected: add another first, or restart it)"));
            long before = instance(sidecar, 1).pid();
            fleet.restart(1);
            Poll.until(DEADLINE, "instance 1 is back", () -> settled(fleet, 1) && instance(sidecar, 1).pid() != before);
            assertThat(instance(sidecar, 1).restarts(), is(1));
            assertThat(Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0).statusCode(), is(200));

            assertThat(fleet.add(1, false).ids(), is(List.of(2)));
            Poll.until(DEADLINE, "the new instance is up", () -> settled(fleet, 2));
            assertThat("it takes the lowest free port", instance(sidecar, 2).port(), is(instance(sidecar, 1).port() - 1));
        }
    }
}
