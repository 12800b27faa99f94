package io.vllmfactory.serve;

import io.vllmfactory.admin.client.model.Affinity;
import io.vllmfactory.admin.client.model.FleetStatus;
import io.vllmfactory.admin.client.model.Instance;
import io.vllmfactory.admin.client.model.InstanceState;
import io.vllmfactory.admin.client.model.ScaleRequest;
import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

/** In front of backends that run already (--backend-url) the admin listener lists them and toggles affinity. */
class AdminBackendUrlTest {
    @Test
    void theBackendsAreListedAffinityTogglesAndChangesAreRefusedWithTheReason() throws Exception {
        try (SimulatorProcess a = SimulatorProcess.start(); SimulatorProcess b = SimulatorProcess.start()) {
            Settings settings = Settings.resolve(CommandLine.parse("--backend-url", a.url(), "--backend-url", b.url(),
                    "--host", "127.0.0.1", "--port", "0", "--health-interval", "100ms").flags(), Map.of(),
                    Optional.empty());
            AdminConfig config = AdminConfig.of("127.0.0.1", 0, Optional.empty(),
                    Map.of(AdminConfig.TOKEN_ENV, AdminSidecar.TOKEN));
            try (Sidecar sidecar = Sidecar.inFrontOf(DispatcherConfig.from(settings), Optional.of(config),
                    AdminApi.configuration(settings)).start()) {
                AdminClient admin = new AdminClient(sidecar.adminPort().orElseThrow(), AdminSidecar.TOKEN);
                List<Instance> listed = AdminClient.complete(admin.instances.listInstances()).getInstances();
                assertThat(listed.stream().map(Instance::getUrl).toList(), is(List.of(a.url(), b.url())));
                Instance first = listed.getFirst();
                assertThat(first.getPort(), is(a.port()));
                assertThat(first.getPid(), is(nullValue()));
                assertThat(first.getGpuMemoryFraction(), is(nullValue()));
                assertThat(first.getDevice(), is(nullValue()));
                Poll.until(AdminSidecar.DEADLINE, "both backends are healthy", () -> AdminSidecar.call(
                        () -> admin.instances.listInstances()).getInstances().stream()
                        .allMatch(i -> i.getState() == InstanceState.READY));

                FleetStatus fleet = AdminClient.complete(admin.status.getStatus()).getFleet();
                assertThat(fleet.getLaunched(), is(false));
                assertThat(fleet.getInstances(), is(2));
                assertThat(fleet.getGpu().getDevices(), is(List.of()));
                assertThat(admin.affinity.setAffinity(new Affinity().enabled(true)).getEnabled(), is(true));
                assertThat(Clients.pooling(sidecar.port(), Clients.gliner("Ada", "person"), 0).headers()
                        .firstValue("X-VLLM-Factory-Affinity-State").orElseThrow(), is("miss"));

                assertThat(admin.refused(409, "not-launched", () -> admin.instances.addInstances(false, null))
                        .getDetail(), containsString("did not launch them"));
                admin.refused(409, "not-launched", () -> admin.instances.scaleInstances(new ScaleRequest().count(1), false));
                admin.refused(409, "not-launched", () -> admin.instances.removeInstance(0));
                admin.refused(409, "not-launched", () -> admin.instances.restartInstance(1));
                assertThat(Clients.get(sidecar.adminPort().orElseThrow(), "/observe/metrics").body(),
                        containsString("vllm_factory_backend_in_flight{backend=\"1\""));
                admin.assertContentTypesAsDocumented();
            }
        }
    }
}
