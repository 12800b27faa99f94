package io.vllmfactory.serve;

import io.vllmfactory.admin.client.ApiClient;
import io.vllmfactory.admin.client.ApiResponse;
import io.vllmfactory.admin.client.model.Accepted;
import io.vllmfactory.admin.client.model.AddInstancesRequest;
import io.vllmfactory.admin.client.model.Instance;
import io.vllmfactory.admin.client.model.InstanceState;
import io.vllmfactory.admin.client.model.PlanStep;
import io.vllmfactory.admin.client.model.Problem;
import io.vllmfactory.admin.client.model.ScaleRequest;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
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

/**
 * Scaling through the generated client while clients keep sending requests: nothing fails, no cap is passed; a
 * full GPU is re-split by itself when the share is automatic, on request when it is pinned, never below the floor.
 */
class AdminScalingTest {
    private static final int MAX_BATCH = 2;
    private static final ObjectMapper JSON = ApiClient.createDefaultObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    @TempDir
    Path dir;

    @Test
    void scalingTwoToThreeToFourToOneToTwoUnderLoadFailsNoRequestAndHoldsEveryCap() throws Exception {
        try (AdminSidecar s = AdminSidecar.start(dir, List.of("--num-instances", "2", "--max-batch-size", "" + MAX_BATCH),
                List.of());
             LoadGenerator load = new LoadGenerator(s.publicPort(), 6, 20);
             CapWatch caps = new CapWatch(() -> s.instances().stream().map(Instance::getPort).toList())) {
            AdminClient admin = s.client;
            Poll.until(DEADLINE, "requests flow", () -> load.ok() > 20);
            assertThat(AdminClient.complete(admin.instances.listInstances()).getGpu().getFree(), is(0.0));
            List<Long> pids = s.instances().stream().map(Instance::getPid).toList();

            // 2 -> 3 on the default configuration: `curl -X POST :8001/admin/instances`, no body, no query.
            // The GPU's budget is taken (2 x 0.46), the share automatic: it re-splits by itself.
            HttpResponse<String> headline = admin.raw("POST", "/admin/instances", null, null);
            assertThat(headline.body(), headline.statusCode(), is(202));
            assertThat(headline.headers().firstValue("Location").orElseThrow(), is("/admin/instances/2"));
            Accepted third = AdminClient.complete(JSON.readValue(headline.body(), Accepted.class));
            assertThat(third.getIds(), is(List.of(2)));
            assertThat(third.getPlan().getSummary(), is("instances 0 and 1 restart one at a time at 0.31 of GPU 0"
                    + " while the others serve, then instance 2 starts at 0.31 of GPU 0"));
            assertThat(third.getPlan().getSteps().stream().map(st -> st.getAction() + " " + st.getId() + "@"
                    + st.getGpuMemoryFraction()).toList(), is(List.of("restart 0@0.31", "restart 1@0.31", "start 2@0.31")));
            s.awaitSettled(3);
            List<Instance> three = s.instances();
            assertThat(three.stream().map(Instance::getGpuMemoryFraction).toList(), everyItem(is(0.31)));
            for (int k = 0; k < 2; k++) {
                assertThat("instance " + k + " was restarted at the new share", three.get(k).getPid(), is(not(pids.get(k))));
                assertThat(three.get(k).getRestarts(), is(1));
            }

            // 3 -> 4 by setting the count: the same re-split
            ApiResponse<Accepted> up = admin.instances.scaleInstancesWithHttpInfo(new ScaleRequest().count(4), false);
            assertThat(up.getStatusCode(), is(202));
            Accepted grown = AdminClient.complete(up.getData());
            assertThat(grown.getOperation(), is(Accepted.OperationEnum.SCALE));
            assertThat(grown.getIds(), is(List.of(3)));
            assertThat(grown.getPlan().getSummary(), is("instances 0, 1 and 2 restart one at a time at 0.23 of GPU 0"
                    + " while the others serve, then instance 3 starts at 0.23 of GPU 0"));
            assertThat(grown.getInstances().stream().map(Instance::getState).toList(),
                    everyItem(is(InstanceState.STARTING)));
            s.awaitSettled(4);
            List<Instance> four = s.instances();
            assertThat(four.stream().map(Instance::getGpuMemoryFraction).toList(), everyItem(is(0.23)));
            assertThat(four.stream().map(Instance::getMaxBatch).toList(), everyItem(is(MAX_BATCH)));
            assertThat(four.stream().map(Instance::getDevice).toList(), everyItem(is("0")));
            Poll.until(DEADLINE, "the new instances serve", () -> load.servedBy(2) > 0 && load.servedBy(3) > 0);

            // 4 -> 1: the least loaded drain, then stop
            Accepted shrunk = AdminClient.complete(admin.instances.scaleInstances(new ScaleRequest().count(1), false));
            assertThat(shrunk.getIds(), hasSize(3));
            assertThat(shrunk.getPlan().getSteps().stream().map(PlanStep::getAction).toList(),
                    everyItem(is(PlanStep.ActionEnum.STOP)));
            assertThat("leaving: draining, or stopping already when it held no request",
                    shrunk.getInstances().stream().map(Instance::getState).toList(),
                    everyItem(isIn(List.of(InstanceState.DRAINING, InstanceState.STOPPING, InstanceState.STOPPED))));
            s.awaitSettled(1);

            // 1 -> 2: the freed memory takes a new instance without a restart
            ApiResponse<Accepted> added = admin.instances.addInstancesWithHttpInfo(false, new AddInstancesRequest().count(1));
            assertThat(added.getStatusCode(), is(202));
            Accepted body = AdminClient.complete(added.getData());
            assertThat(body.getOperation(), is(Accepted.OperationEnum.ADD));
            int id = body.getIds().getFirst();
            assertThat(body.getPlan().getSummary(), is("instance " + id + " starts at 0.46 of GPU 0"));
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
    void aPinnedShareIsReSplitOnlyOnRequest() throws Exception {
        try (AdminSidecar s = AdminSidecar.start(dir, List.of("--num-instances", "2", "--gpu-memory-utilization",
                "0.46"), List.of())) {
            AdminClient admin = s.client;
            Problem full = admin.refused(409, "over-budget", () -> admin.instances.addInstances(false, null));
            assertThat(full.getDetail(), containsString("only 0 of its 0.92 budget is free (2 instances hold 0.92)"));
            assertThat(full.getDetail(), containsString("ask for a rebalance (?rebalance=true)"));
            assertThat(full.getInstance(), is("/admin/instances"));
            admin.refused(409, "over-budget", () -> admin.instances.scaleInstances(new ScaleRequest().count(3), false));
            assertThat(admin.status.getStatus().getFleet().getOperation(), is((String) null));

            Accepted rebalanced = AdminClient.complete(admin.instances.addInstances(true, null));
            assertThat(rebalanced.getPlan().getSummary(), is("instances 0 and 1 restart one at a time at 0.31 of GPU 0"
                    + " while the others serve, then instance 2 starts at 0.31 of GPU 0"));
            s.awaitSettled(3);
            assertThat(s.instances().stream().map(Instance::getGpuMemoryFraction).toList(), everyItem(is(0.31)));
            admin.assertContentTypesAsDocumented();
        }
    }

    @Test
    void aShareBelowTheFloorIsRefusedEvenWhenAutomatic() throws Exception {
        try (AdminSidecar s = AdminSidecar.start(dir, List.of("--num-instances", "2", "--gpu-memory-budget", "0.2"),
                List.of())) {
            AdminClient admin = s.client;
            Problem floor = admin.refused(409, "over-budget", () -> admin.instances.addInstances(false, null));
            assertThat(floor.getDetail(), is("adding 1 instance: GPU 0 would run 3, and its budget of 0.2 shared 3"
                    + " ways is 0.07 each, below the floor of 0.1 a share keeps: add a GPU to --cuda-devices, remove"
                    + " instances or raise --gpu-memory-budget"));
            assertThat(s.instances().size(), is(2));
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
