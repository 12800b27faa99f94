package io.vllmfactory.serve.supervise;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GpuBudgetTest {
    private static final List<String> ONE_GPU = List.of("0");
    private static final List<String> TWO_GPUS = List.of("0", "1");

    /** "0:0.46 1:0.46" is instance 0 at 0.46 of GPU 0 and instance 1 at 0.46 of GPU 1; a trailing ! means FAILED. */
    private static List<GpuBudget.Held> held(String instances) {
        List<GpuBudget.Held> held = new ArrayList<>();
        if (instances.isBlank()) {
            return held;
        }
        for (String i : instances.trim().split(" ")) {
            String[] parts = i.replace("!", "").split(":");
            held.add(new GpuBudget.Held(held.size(), parts[0], Double.parseDouble(parts[1]), !i.endsWith("!")));
        }
        return held;
    }

    /** The plan as "restart 0@0.31 1@0.31; start 0@0.31": restarts with their share, then the new places. */
    private static String plan(GpuBudget.Plan p) {
        List<String> restarts = p.restarts().stream().map(h -> h.id() + "@" + MemorySplit.format(h.fraction())).toList();
        List<String> starts = p.starts().stream().map(s -> s.device() + "@" + MemorySplit.format(s.fraction())).toList();
        return (restarts.isEmpty() ? "" : "restart " + String.join(" ", restarts) + "; ") + "start " + String.join(" ", starts);
    }

    @ParameterizedTest(name = "[{index}] {0} + {1} (pinned {2}, rebalance {3}) -> {4}")
    @CsvSource(delimiter = '|', value = {
            // one GPU, automatic share: what fits starts at budget/n; what does not re-splits by itself
            "0:0.31 0:0.31              | 1 | -    | false | start 0@0.31",
            "0:0.23                     | 1 | -    | false | start 0@0.46",
            "0:0.46 0:0.46              | 1 | -    | false | restart 0@0.31 1@0.31; start 0@0.31",
            "0:0.46 0:0.46              | 2 | -    | false | restart 0@0.23 1@0.23; start 0@0.23 0@0.23",
            "0:0.23 0:0.46              | 1 | -    | false | restart 1@0.31; start 0@0.31",
            "0:0.12 0:0.12 0:0.12 0:0.12 0:0.12 0:0.12 0:0.12 | 1 | - | false | start 0@0.12",
            "0:0.8                      | 8 | -    | false | restart 0@0.1; start 0@0.1 0@0.1 0@0.1 0@0.1 0@0.1 0@0.1 0@0.1 0@0.1",
            // a pinned share is kept while it fits, and re-split only on request
            "0:0.2 0:0.2                | 1 | 0.2  | false | start 0@0.2",
            "0:0.46 0:0.46              | 1 | 0.46 | true  | restart 0@0.31 1@0.31; start 0@0.31",
            // two GPUs: the one with the most free budget, then the one with fewer instances, then the first
            "0:0.46 1:0.46              | 1 | -    | false | start 0@0.46",
            "0:0.46 0:0.46 1:0.46       | 1 | -    | false | start 1@0.46",
            "0:0.46 0:0.46 1:0.46 1:0.46 | 1 | -   | false | restart 0@0.31 1@0.31; start 0@0.31",
            "0:0.46 1:0.46              | 2 | -    | false | start 0@0.46 1@0.46",
    })
    void newInstancesGoWhereTheMostIsFreeAndAFullGpuIsReSplit(String instances, int count, String pinned,
                                                              boolean rebalance, String expected) {
        List<String> gpus = instances.contains("1:") ? TWO_GPUS : ONE_GPU;
        OptionalDouble share = pinned.equals("-") ? OptionalDouble.empty() : OptionalDouble.of(Double.parseDouble(pinned));
        assertThat(plan(GpuBudget.add(gpus, held(instances), count, share, 0.92, rebalance)), is(expected));
    }

    @Test
    void aFailedInstanceIsNotRestartedButComesBackAtTheSmallerShare() {
        GpuBudget.Plan p = GpuBudget.add(ONE_GPU, held("0:0.46 0:0.46!"), 1, OptionalDouble.empty(), 0.92, false);
        assertThat(plan(p), is("restart 0@0.31; start 0@0.31"));
        assertThat(p.resized(), is(List.of(new GpuBudget.Held(1, "0", 0.31, false))));
    }

    @Test
    void aFullGpuWithAPinnedShareRefusesAndSaysWhatIsFreeAndWhatToDo() {
        FleetException.OverBudget e = assertThrows(FleetException.OverBudget.class,
                () -> GpuBudget.add(ONE_GPU, held("0:0.46 0:0.46"), 1, OptionalDouble.of(0.46), 0.92, false));
        assertThat(e.getMessage(), is("adding 1 instance: GPU 0 has the most free memory, but only 0 of its 0.92"
                + " budget is free (2 instances hold 0.92) and a new instance takes 0.46 (--gpu-memory-utilization):"
                + " ask for a rebalance (?rebalance=true), which restarts the instances on GPU 0 one at a time at 0.31"
                + " each first; or remove an instance; or raise --gpu-memory-budget"));
    }

    @Test
    void aShareBelowTheFloorIsRefusedEvenWhenAutomatic() {
        FleetException.OverBudget e = assertThrows(FleetException.OverBudget.class, () -> GpuBudget.add(ONE_GPU,
                held("0:0.1 0:0.1 0:0.1 0:0.1 0:0.1 0:0.1 0:0.1 0:0.1 0:0.1"), 1, OptionalDouble.empty(), 0.92, false));
        assertThat(e.getMessage(), is("adding 1 instance: GPU 0 would run 10, and its budget of 0.92 shared 10 ways is"
                + " 0.09 each, below the floor of 0.1 a share keeps: add a GPU to --cuda-devices, remove instances or"
                + " raise --gpu-memory-budget"));
    }

    @Test
    void theFirstInstancesTakeTheGpusInTurnAndSplitEachOne() {
        List<String> devices = GpuBudget.initialDevices(TWO_GPUS, 5);
        assertThat(devices, is(List.of("0", "1", "0", "1", "0")));
        assertThat(GpuBudget.initialShare(OptionalDouble.empty(), 0.92, devices, "0"), is(0.31));
        assertThat(GpuBudget.initialShare(OptionalDouble.empty(), 0.92, devices, "1"), is(0.46));
        assertThat(GpuBudget.initialShare(OptionalDouble.of(0.2), 0.92, devices, "1"), is(0.2));
        assertThat(GpuBudget.initialDevices(ONE_GPU, 3), is(List.of("0", "0", "0")));
    }
}
