package io.vllmfactory.serve;

import io.vllmfactory.admin.client.model.Affinity;
import io.vllmfactory.admin.client.model.InstanceState;
import io.vllmfactory.admin.client.model.ScaleRequest;
import io.vllmfactory.admin.client.model.Status;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

/** With --num-instances 1 the backend owns the public port: no scaling and no affinity, but reading and restarting. */
class AdminDirectModeTest {
    @TempDir
    Path dir;

    @Test // the backend itself takes the public port, so it must be a fixed one
    void directModeRefusesScalingAndAffinityAndPointsToAlwaysProxy() throws Exception {
        try (AdminSidecar s = AdminSidecar.start(dir,
                List.of("--num-instances", "1", "--port", Integer.toString(FreePorts.one())), List.of())) {
            AdminClient admin = s.client;
            assertThat(admin.refused(409, "direct-mode", () -> admin.instances.addInstances(true, null)).getDetail(),
                    containsString("--always-proxy"));
            admin.refused(409, "direct-mode", () -> admin.instances.scaleInstances(new ScaleRequest().count(2), true));
            admin.refused(409, "direct-mode", () -> admin.instances.removeInstance(0));
            assertThat(admin.refused(409, "direct-mode", () -> admin.affinity.getAffinity()).getDetail(),
                    containsString("--always-proxy"));
            admin.refused(409, "direct-mode", () -> admin.affinity.setAffinity(new Affinity().enabled(true)));

            Status status = AdminClient.complete(admin.status.getStatus());
            assertThat(status.getDispatcher(), is(nullValue()));
            assertThat(status.getFleet().getDirect(), is(true));
            assertThat(status.getFleet().getInstances(), is(1));
            var only = AdminClient.complete(admin.instances.getInstance(0));
            assertThat(only.getState(), is(InstanceState.READY));
            assertThat(only.getPort(), is(s.publicPort()));
            assertThat(Clients.pooling(s.publicPort(), Clients.gliner("x", "y"), 0).statusCode(), is(200));
            admin.assertContentTypesAsDocumented();
        }
    }
}
