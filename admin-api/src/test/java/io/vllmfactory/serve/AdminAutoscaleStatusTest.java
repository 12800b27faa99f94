package io.vllmfactory.serve;

import io.vllmfactory.admin.client.model.Autoscale;
import io.vllmfactory.admin.client.model.FleetStatus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static io.vllmfactory.serve.AdminSidecar.DEADLINE;
import static io.vllmfactory.serve.AdminSidecar.call;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

/** What {@code --autoscale} shows in the status, read through the client generated from the OpenAPI document. */
class AdminAutoscaleStatusTest {
    @TempDir
    Path dir;

    @Test
    void anIdleAutoscaledFleetReportsItsRangeAndNoChangeAndNoSizing() {
        try (AdminSidecar s = AdminSidecar.start(dir, List.of("--autoscale", "1..2"), List.of())) {
            AtomicReference<FleetStatus> fleet = new AtomicReference<>();
            Poll.until(DEADLINE, "the autoscaler's first look at the load", () -> {
                fleet.set(call(() -> s.client.status.getStatus()).getFleet());
                return fleet.get().getAutoscale() != null;
            });
            Autoscale autoscale = fleet.get().getAutoscale();
            assertThat(autoscale.getMin(), is(1));
            assertThat(autoscale.getMax(), is(2));
            assertThat(autoscale.getChanges(), is(0L));
            assertThat(autoscale.getWaiting(), is(0));
            assertThat(autoscale.getWaitP90Ms(), is(0.0));
            assertThat(autoscale.getLastChange(), is(nullValue()));
            assertThat(fleet.get().getInstances(), is(1));
            assertThat("sizing is there only with --num-instances auto", fleet.get().getSizing(), is(nullValue()));
        }
    }
}
