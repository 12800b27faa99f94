package io.vllmfactory.serve;

import io.vllmfactory.admin.client.model.Affinity;
import io.vllmfactory.admin.client.model.BackendStatus;
import io.vllmfactory.admin.client.model.DispatcherStatus;
import io.vllmfactory.admin.client.model.FleetStatus;
import io.vllmfactory.admin.client.model.Status;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.vllmfactory.serve.AdminSidecar.DEADLINE;
import static io.vllmfactory.serve.AdminSidecar.call;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;

/** Affinity toggled at runtime and the status report, through the generated client. */
class AdminAffinityAndStatusTest {
    @TempDir
    static Path dir;
    private static AdminSidecar s;

    @BeforeAll
    static void start() {
        s = AdminSidecar.start(dir, List.of("--num-instances", "2", "--max-batch-size", "1"), List.of());
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    @Test
    void affinityToggledAtRuntimeShowsInTheResponseHeaders() throws Exception {
        AdminClient admin = s.client;
        assertThat(admin.affinity.getAffinity().getEnabled(), is(false));
        assertThat(affinityState(), is("disabled"));

        assertThat(admin.affinity.setAffinity(new Affinity().enabled(true)).getEnabled(), is(true));
        assertThat(admin.affinity.getAffinity().getEnabled(), is(true));
        assertThat(affinityState(), is("miss"));
        assertThat(affinityState(), is("hit"));
        var counts = AdminClient.complete(admin.status.getStatus()).getDispatcher().getAffinity();
        assertThat(counts.getEnabled(), is(true));
        assertThat(counts.getMiss(), greaterThanOrEqualTo(1L));
        assertThat(counts.getHit(), greaterThanOrEqualTo(1L));
        assertThat(counts.getKeys(), greaterThanOrEqualTo(1));

        assertThat(admin.affinity.setAffinity(new Affinity().enabled(false)).getEnabled(), is(false));
        assertThat(affinityState(), is("disabled"));
        assertThat(admin.status.getStatus().getDispatcher().getAffinity().getEnabled(), is(false));
        admin.assertContentTypesAsDocumented();
    }

    @Test
    void statusReportsWaitingAndInFlightRequestsTheFleetAndTheConfiguration() throws Exception {
        AdminClient admin = s.client;
        long servedBefore = admin.status.getStatus().getDispatcher().getServed();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> slow = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                slow.add(clients.submit(() -> Clients.pooling(s.publicPort(), Clients.gliner("x", "y"), 1200)));
            }
            Poll.until(DEADLINE, "two requests in flight and one waiting", () -> {
                DispatcherStatus d = call(() -> admin.status.getStatus()).getDispatcher();
                return d.getWaiting() == 1 && d.getBackends().stream().allMatch(b -> b.getInFlight() == 1);
            });
            Status status = AdminClient.complete(admin.status.getStatus());
            DispatcherStatus d = status.getDispatcher();
            assertThat(d.getActive(), is(3));
            assertThat(d.getDraining(), is(false));
            assertThat(d.getBackends().stream().map(BackendStatus::getId).toList(), is(List.of(0, 1)));
            for (BackendStatus b : d.getBackends()) {
                assertThat(b.getMaxBatch(), is(1));
                assertThat(b.getHealthy(), is(true));
                int port = call(() -> admin.instances.getInstance(b.getId())).getPort();
                assertThat(b.getUrl(), is("http://127.0.0.1:" + port));
            }
            FleetStatus fleet = status.getFleet();
            assertThat(fleet.getDirect(), is(false));
            assertThat(fleet.getLaunched(), is(true));
            assertThat(fleet.getInstances(), is(2));
            assertThat(fleet.getReady(), is(2));
            assertThat(fleet.getOperation(), is((String) null));
            assertThat(fleet.getGpu().getBudget(), is(0.92));
            assertThat(fleet.getGpu().getInUse(), is(0.92));
            assertThat(fleet.getGpu().getDevices().size(), is(1));
            assertThat(fleet.getGpu().getDevices().getFirst().getDevice(), is("0"));
            assertThat(fleet.getGpu().getDevices().getFirst().getInstances(), is(2));
            Map<String, Object> configuration = status.getConfiguration();
            assertThat(configuration.get("model"), is("test-model"));
            assertThat(configuration.get("num-instances"), is(2));
            assertThat(configuration.get("max-batch-size"), is(1));
            assertThat(configuration.get("enable-request-affinity"), is(false));
            assertThat(configuration.get("drain-timeout"), is("5s"));
            for (Future<HttpResponse<String>> f : slow) {
                assertThat(f.get().statusCode(), is(200));
            }
        }
        Status after = admin.status.getStatus();
        assertThat(after.getDispatcher().getServed(), is(servedBefore + 3));
        assertThat(after.getDispatcher().getWaiting(), is(0));
        admin.assertContentTypesAsDocumented();
    }

    private static String affinityState() throws Exception {
        HttpResponse<String> r = Clients.pooling(s.publicPort(), Clients.gliner("Ada met Alan", "person"), 0);
        assertThat(r.statusCode(), is(200));
        return r.headers().firstValue("X-VLLM-Factory-Affinity-State").orElseThrow();
    }
}
