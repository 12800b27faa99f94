package io.vllmfactory.serve;

import io.vllmfactory.admin.client.ApiResponse;
import io.vllmfactory.admin.client.model.Accepted;
import io.vllmfactory.admin.client.model.BackendStatus;
import io.vllmfactory.admin.client.model.Instance;
import io.vllmfactory.admin.client.model.InstanceState;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static io.vllmfactory.serve.AdminSidecar.DEADLINE;
import static io.vllmfactory.serve.AdminSidecar.call;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/** Restarting instances through the generated client: requests they hold finish, capacity stays at N-1 or more. */
class AdminRestartTest {
    @TempDir
    Path dir;

    @Test
    void restartingBusyInstancesOneAfterAnotherLetsTheirRequestsFinishAndKeepsNMinusOneInRouting() throws Exception {
        try (AdminSidecar s = AdminSidecar.start(dir, List.of("--num-instances", "2", "--max-batch-size", "2"), List.of());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            AdminClient admin = s.client;
            for (int id = 0; id < 2; id++) {
                List<Future<HttpResponse<String>>> slow = new ArrayList<>();
                for (int k = 0; k < 4; k++) {
                    slow.add(clients.submit(() -> Clients.pooling(s.publicPort(), Clients.gliner("x", "y"), 1500)));
                }
                int target = id;
                Poll.until(DEADLINE, "instance " + id + " is busy",
                        () -> call(() -> admin.instances.getInstance(target)).getInFlight() == 2);
                Instance before = AdminClient.complete(admin.instances.getInstance(id));
                OffsetDateTime asked = OffsetDateTime.now();

                ApiResponse<Accepted> r = admin.instances.restartInstanceWithHttpInfo(id);
                assertThat(r.getStatusCode(), is(202));
                assertThat(r.getHeaders().get("location"), is(List.of("/admin/instances/" + id)));
                Accepted accepted = AdminClient.complete(r.getData());
                assertThat(accepted.getOperation(), is(Accepted.OperationEnum.RESTART));
                assertThat(accepted.getIds(), is(List.of(id)));
                assertThat(accepted.getInstances().getFirst().getState(), is(InstanceState.DRAINING));
                int other = 1 - id;
                admin.refused(409, "busy", () -> admin.instances.restartInstance(other));

                AtomicInteger leastRouting = new AtomicInteger(2);
                Poll.until(DEADLINE, "instance " + target + " is back with a new process", () -> {
                    List<BackendStatus> backends = call(() -> admin.status.getStatus()).getDispatcher().getBackends();
                    int routing = (int) backends.stream().filter(b -> b.getHealthy() && !b.getDraining()).count();
                    leastRouting.accumulateAndGet(routing, Math::min);
                    Instance now = call(() -> admin.instances.getInstance(target));
                    return now.getState() == InstanceState.READY && !now.getPid().equals(before.getPid())
                           && call(() -> admin.status.getStatus()).getFleet().getOperation() == null;
                });
                assertThat("capacity during a restart", leastRouting.get(), greaterThanOrEqualTo(1));
                for (Future<HttpResponse<String>> f : slow) {
                    assertThat("a request the restarted instance held finishes", f.get().statusCode(), is(200));
                }
                Instance after = AdminClient.complete(admin.instances.getInstance(id));
                assertThat(after.getRestarts(), is(before.getRestarts() + 1));
                assertThat(after.getPid(), is(not(before.getPid())));
                assertThat(after.getPort(), is(before.getPort()));
                assertThat(after.getGpuMemoryFraction(), is(before.getGpuMemoryFraction()));
                assertThat(after.getSince().isAfter(asked), is(true));
            }
            Poll.until(DEADLINE, "both restarted instances serve", () -> {
                try {
                    int backend = Clients.backendIndex(Clients.pooling(s.publicPort(), Clients.gliner("x", "y"), 0));
                    return call(() -> admin.instances.getInstance(backend)).getRestarts() == 1
                           && call(() -> admin.status.getStatus()).getDispatcher().getBackends().stream()
                                   .allMatch(b -> b.getServed() > 0);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            assertThat(call(() -> admin.status.getStatus()).getDispatcher().getServed(), greaterThan(8L));
            admin.assertContentTypesAsDocumented();
        }
    }
}
