package io.vllmfactory.simulator;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class GpuTimelineTest {
    private static final long MS = 1_000;

    @TempDir
    Path dir;

    private final Set<Long> alive = new HashSet<>(Set.of(101L, 102L, 103L));

    private GpuTimeline timeline(String file, long pid) throws Exception {
        return new GpuTimeline(dir.resolve(file), pid, alive::contains);
    }

    @Test
    void instancesOnOneGpuCountEachOtherWhileBusy() throws Exception {
        try (GpuTimeline a = timeline("gpu-0.busy", 101); GpuTimeline b = timeline("gpu-0.busy", 102);
             GpuTimeline other = timeline("gpu-1.busy", 103)) {
            assertThat(a.begin(1_000 * MS, busy -> 100 * MS), is(1));
            assertThat(b.begin(1_050 * MS, busy -> 100 * MS), is(2));
            assertThat(other.begin(1_060 * MS, busy -> 100 * MS), is(1));
            assertThat(a.begin(1_120 * MS, busy -> 100 * MS), is(2));
        }
    }

    @Test
    void theStepIsBookedForTheBusyCountItSees() throws Exception {
        try (GpuTimeline a = timeline("gpu-0.busy", 101); GpuTimeline b = timeline("gpu-0.busy", 102)) {
            a.begin(0, busy -> busy * 100 * MS);
            b.begin(10 * MS, busy -> busy * 100 * MS); // booked until 210 ms: two were busy

            assertThat(a.begin(190 * MS, busy -> MS), is(2));
        }
    }

    @Test
    void anInstanceIdleForLongerThanTheGapIsNotCounted() throws Exception {
        try (GpuTimeline a = timeline("gpu-0.busy", 101); GpuTimeline b = timeline("gpu-0.busy", 102)) {
            a.begin(0, busy -> 100 * MS);

            assertThat(b.begin(110 * MS, busy -> 100 * MS), is(2));
            assertThat(a.begin(500 * MS, busy -> 100 * MS), is(1));
        }
    }

    @Test
    void aClosedInstanceIsNoLongerCounted() throws Exception {
        try (GpuTimeline b = timeline("gpu-0.busy", 102)) {
            GpuTimeline a = timeline("gpu-0.busy", 101);
            a.begin(0, busy -> 100 * MS);
            a.close();

            assertThat(b.begin(10 * MS, busy -> 100 * MS), is(1));
        }
    }

    @Test
    void slotsOfDeadProcessesAreTakenOver() throws Exception {
        for (long pid = 1_000; pid < 1_000 + GpuTimeline.SLOTS; pid++) {
            alive.add(pid);
            timeline("gpu-0.busy", pid).begin(0, busy -> MS); // left open: the process "crashes" holding it
        }
        alive.remove(1_000L);

        try (GpuTimeline late = timeline("gpu-0.busy", 101)) {
            assertThat(late.begin(1_000 * MS, busy -> MS), is(1));
        }
    }
}
