package io.vllmfactory.serve.supervise;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GpuBudgetTest {
    private static List<Double> held(String shares) {
        return shares.isBlank() ? List.of() : Arrays.stream(shares.trim().split(" ")).map(Double::valueOf).toList();
    }

    @ParameterizedTest(name = "holding [{0}], adding {1}, rebalance {2} -> {3} each")
    @CsvSource(delimiter = '|', value = {
            "0.31 0.31     | 1 | false | 0.31",  // after a scale-down from 3: the freed share fits a third again
            "0.46 0.46     | 1 | true  | 0.31",  // full, but a rebalance makes room
            "0.23 0.23     | 2 | false | 0.23",
            "0.12 0.12 0.12 0.12 0.12 0.12 0.12 | 1 | false | 0.12", // 8 x 0.12 = 0.96: rounding is allowed
            "0.8           | 8 | true  | 0.1",
    })
    void newInstancesGetTheSplitForTheNewCountWhenItFits(String shares, int count, boolean rebalance, double each) {
        assertThat(GpuBudget.shareForAdding(OptionalDouble.empty(), 0.92, held(shares), count, rebalance), is(each));
    }

    @Test
    void anExplicitShareIsKeptForNewInstancesUnlessTheyRebalance() {
        assertThat(GpuBudget.shareForAdding(OptionalDouble.of(0.2), 0.92, held("0.2 0.2"), 1, false), is(0.2));
        assertThat(GpuBudget.shareForAdding(OptionalDouble.of(0.2), 0.92, held("0.2 0.2"), 1, true), is(0.31));
    }

    @Test
    void aFullGpuRefusesAndSaysWhatIsFreeAndWhatToDo() {
        FleetException.OverBudget e = assertThrows(FleetException.OverBudget.class,
                () -> GpuBudget.shareForAdding(OptionalDouble.empty(), 0.92, held("0.46 0.46"), 2, false));
        assertThat(e.getMessage(), is("adding 2 instances needs 0.46 of the GPU (0.23 each), but only 0 of the 0.92"
                + " budget is free (2 instances hold 0.92): ask for a rebalance, which restarts the existing instances"
                + " one at a time at 0.23 each first; or remove an instance; or raise --gpu-memory-budget"));
    }

    @Test
    void tenInstancesCannotShareTheBudgetEvenRebalanced() {
        FleetException.OverBudget e = assertThrows(FleetException.OverBudget.class, () -> GpuBudget.shareForAdding(
                OptionalDouble.empty(), 0.92, held("0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1"), 1, true));
        assertThat(e.getMessage(), is("10 instances cannot share the GPU budget of 0.92 even after a rebalance: each"
                + " would get 0.1, and a share is at least 0.1; remove instances or raise --gpu-memory-budget"));
    }
}
