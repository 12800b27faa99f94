package io.vllmfactory.serve;

import io.vllmfactory.admin.client.model.FleetStatus;
import io.vllmfactory.admin.client.model.Instance;
import io.vllmfactory.admin.client.model.InstanceState;
import io.vllmfactory.admin.client.model.Problem;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import static io.vllmfactory.serve.AdminSidecar.DEADLINE;
import static io.vllmfactory.serve.AdminSidecar.call;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The admin listener from the first second: while the models load, operators see each backend's state, how
 * long it has been in it and its last line; readiness is down, changes wait, the public port stays closed.
 */
class AdminWhileLoadingTest {
    @TempDir
    Path dir;

    @Test
    void theBackendsCanBeWatchedWhileTheirModelsLoad() throws Exception {
        int publicPort = FreePorts.one();
        try (AdminSidecar s = AdminSidecar.launch(dir, List.of("--num-instances", "2", "--port",
                Integer.toString(publicPort)), List.of("--sim-startup-delay", "4"))) {
            AdminClient admin = s.client;
            Poll.until(DEADLINE, "instance 0 shows how far its model loaded", () -> {
                Instance first = call(() -> admin.instances.getInstance(0));
                return first.getState() == InstanceState.STARTING && first.getLastLogLine() != null
                       && first.getLastLogLine().startsWith("Loading safetensors checkpoint shards:");
            });
            Instance loading = AdminClient.complete(admin.instances.getInstance(0));
            assertThat(loading.getPid(), is(org.hamcrest.Matchers.notNullValue()));
            assertThat(loading.getStateSeconds(), greaterThan(0.0));
            assertThat("the second waits for the first", admin.instances.getInstance(1).getState(),
                    is(InstanceState.STOPPED));
            FleetStatus fleet = AdminClient.complete(admin.status.getStatus()).getFleet();
            assertThat(fleet.getOperation(), is("start 2 instances"));
            assertThat(fleet.getReady(), is(0));
            Problem busy = admin.refused(409, "busy", () -> admin.instances.addInstances(false, null));
            assertThat(busy.getDetail(), is("'start 2 instances' is under way; try again once it has finished"));
            assertThat(ready(s), is(503));
            assertThrows(ConnectException.class, () -> Clients.get(publicPort, "/health"));

            s.awaitSettled(2);
            assertThat(ready(s), is(200));
            assertThat(Clients.get(publicPort, "/health").statusCode(), is(200));
            assertThat(admin.status.getStatus().getFleet().getOperation(), is((String) null));
            assertThat(admin.instances.getInstance(1).getLastLogLine(), startsWith("INFO"));
            admin.assertContentTypesAsDocumented();
        }
    }

    private static int ready(AdminSidecar s) throws IOException, InterruptedException {
        HttpResponse<String> r = Clients.get(s.adminPort(), "/observe/health/ready");
        return r.statusCode();
    }
}
