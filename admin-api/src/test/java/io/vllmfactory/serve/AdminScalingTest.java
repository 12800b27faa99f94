package io.vllmfactory.serve;

import io.vllmfactory.admin.client.ApiResponse;
import io.vllmfactory.admin.client.model.Accepted;
import io.vllmfactory.admin.client.model.AddInstancesRequest;
import io.vllmfactory.admin.client.model.Instance;
import io.vllmfactory.admin.client.model.InstanceState;
import io.vllmfactory.admin.client.model.Problem;
import io.vllmfactory.admin.client.model.ScaleRequest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.vllmfactory.serve.AdminSidecar.DEADLINE;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.isIn;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;

/** Scaling through the generated client while clients keep sending requests: nothing fails, no cap is passed. */
class AdminScalingTest {
    private static final int MAX_BATCH = 2;

    @TempDir
    Path dir;

    @Test
    void scalingTwoToFourToOneToTwoUnderLoadFailsNoRequestAndHoldsEveryCap() throws Exception {
        try (AdminSidecar s = AdminSidecar.start(dir, List.of("--num-instances", "2", "--max-batch-size", "" + MAX_BATCH),
                List.of());
             LoadGenerator load = new LoadGenerator(s.publicPort(), 6, 20);
             CapWatch caps = new CapWatch(() -> s.instances().stream().map(Instance::getPort).toList())) {
            AdminClient admin = s.client;
            Poll.until(DEADLINE, "requests flow", () -> load.ok() > 20);
            assertThat(AdminClient.complete(admin.instances.listInstances()).getGpu().getFree(), is(0.0));
            List<Long> pids = s.instances().stream().map(Instance::getPid).toList();

            // 2 -> 4: refused while the GPU budget is taken, accepted with a rebalance
            Problem full = admin.refused(409, "over-budget", () -> admin.instances.addInstances(false, null));
            assertThat(full.getDetail(), containsString("only 0 of the 0.92 budget is free"));
            assertThat(full.getDetail(), containsString("ask for a rebalance"));
            assertThat(full.getInstance(), is("/admin/instances"));
            admin.refused(409, "over-budget", () -> admin.instances.scaleInstances(new ScaleRequest().count(4), false));
            ApiResponse<Accepted> up = admin.instances.scaleInstancesWithHttpInfo(new ScaleRequest().count(4), true);
            assertThat(up.getStatusCode(), is(202));
            Accepted grown = AdminClient.complete(up.getData());
            assertThat(grown.getOperation(), is(Accepted.OperationEnum.SCALE));
            assertThat(grown.getIds(), is(List.of(2, 3)));
            assertThat(grown.getInstances().stream().map(Instance::getState).toList(),
                    everyItem(is(InstanceState.STARTING)));
            s.awaitSettled(4);
            List<Instance> four = s.instances();
            assertThat(four.stream().map(Instance::getGpuMemoryFraction).toList(), everyItem(is(0.23)));
            assertThat(four.stream().map(Instance::getMaxBatch).toList(), everyItem(is(MAX_BATCH)));
            for (int k = 0; k < 2; k++) {
                assertThat("instance " + k + " was restarted at the new share", four.get(k).getPid(), is(not(pids.get(k))));
                assertThat(four.get(k).getRestarts(), is(1));
            }
            Poll.until(DEADLINE, "the new instances serve", () -> load.servedBy(2) > 0 && load.servedBy(3) > 0);

            // 4 -> 1: the least loaded drain, then stop
            Accepted shrunk = AdminClient.complete(admin.instances.scaleInstances(new ScaleRequest().count(1), false));
            assertThat(shrunk.getIds(), hasSize(3));
            assertThat("leaving: draining, or stopping already when it held no request",
                    shrunk.getInstances().stream().map(Instance::getState).toList(),
                    everyItem(isIn(List.of(InstanceState.DRAINING, InstanceState.STOPPING, InstanceState.STOPPED))));
            s.awaitSettled(1);

            // 1 -> 2: the freed memory takes a new instance without a rebalance
            ApiResponse<Accepted> added = admin.instances.addInstancesWithHttpInfo(false, new AddInstancesRequest().count(1));
            assertThat(added.getStatusCode(), is(202));
            Accepted body = AdminClient.complete(added.getData());
            assertThat(body.getOperation(), is(Accepted.OperationEnum.ADD));
            int id = body.getIds().getFirst();
            assertThat(added.getHeaders().get("location"), is(List.of("/admin/instances/" + id)));
            assertThat(body.getInstances().getFirst().getHref(), is("/admin/instances/" + id));
            s.awaitSettled(2);
            Poll.until(DEADLINE, "the added instance serves", () -> load.servedBy(id) > 0);

            Map<String, Long> failures = load.stop();
            assertThat(failures, is(Map.of()));
            assertThat(load.ok(), greaterThan(100L));
            caps.close();
            assertThat(caps.peaks().toString(), caps.highestPeak(), lessThanOrEqualTo(MAX_BATCH));
            assertThat(caps.highestPeak(), greaterThan(1));
            admin.assertContentTypesAsDocumented();
        }
    }

    @Test
    void removingAnInstanceLetsItsRequestsFinishThenItLeavesTheListAndTheLastOneStays() throws Exception {
        try (AdminSidecar s = AdminSidecar.start(dir, List.of("--num-instances", "2", "--max-batch-size", "1"), List.of());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            AdminClient admin = s.client;
            List<Future<HttpResponse<String>>> slow = List.of(
                    clients.submit(() -> Clients.pooling(s.publicPort(), Clients.gliner("x", "y"), 1500)),
                    clients.submit(() -> Clients.pooling(s.publicPort(), Clients.gliner("x", "y"), 1500)));
            Poll.until(DEADLINE, "both instances hold a request",
                    () -> s.instances().stream().allMatch(i -> i.getInFlight() == 1));

            ApiResponse<Accepted> removed = admin.instances.removeInstanceWithHttpInfo(0);
            assertThat(removed.getStatusCode(), is(202));
            assertThat(removed.getHeaders().get("location"), is(List.of("/admin/instances/0")));
            Accepted body = AdminClient.complete(removed.getData());
            assertThat(body.getOperation(), is(Accepted.OperationEnum.REMOVE));
            assertThat(body.getIds(), is(List.of(0)));
            assertThat(body.getInstances().getFirst().getState(), is(InstanceState.DRAINING));

            for (Future<HttpResponse<String>> f : slow) {
                assertThat("a request the removed instance held finishes", f.get().statusCode(), is(200));
            }
            s.awaitSettled(1);
            admin.refused(404, "not-found", () -> admin.instances.getInstance(0));
            admin.refused(404, "not-found", () -> admin.instances.removeInstance(0));
            assertThat(s.instances().stream().map(Instance::getId).toList(), is(List.of(1)));

            Problem last = admin.refused(409, "wrong-state", () -> admin.instances.removeInstance(1));
            assertThat(last.getDetail(), containsString("the only one"));
            assertThat(Clients.pooling(s.publicPort(), Clients.gliner("x", "y"), 0).statusCode(), is(200));
            admin.assertContentTypesAsDocumented();
        }
    }
}
