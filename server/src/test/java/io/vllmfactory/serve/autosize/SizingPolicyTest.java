package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.supervise.Sizing.Measurement;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SizingPolicyTest {

    /** req/s for 1, 2, ... instances, separated by spaces. */
    private static List<Measurement> table(String rps) {
        List<Measurement> table = new ArrayList<>();
        for (String x : rps.trim().split("\\s+")) {
            table.add(new Measurement(table.size() + 1, Double.parseDouble(x)));
        }
        return table;
    }

    @ParameterizedTest(name = "[{0}] gain {1}, room {2}: {3}")
    @CsvSource(delimiter = '|', value = {
            // measured req/s     | min gain | room  | keep (0 = add one more)
            "100                  | 0.10     | true  | 0",
            "100                  | 0.10     | false | 1",
            "100 150              | 0.10     | true  | 0",
            "100 105              | 0.10     | true  | 1",
            "100 110              | 0.10     | true  | 0",
            "100 133 150 160      | 0.10     | true  | 3",
            "100 133 150          | 0.10     | false | 3",
            "100 133 150          | 0.20     | true  | 2",
            "100 90               | 0.00     | true  | 1",
            "100 100              | 0.00     | true  | 0",
            "133 164 229 240      | 0.10     | true  | 3",
    })
    void addsWhileEachInstanceGainsEnoughAndTheBudgetHasRoom(String rps, double minGain, boolean room, int keep) {
        SizingPolicy.Decision decision = SizingPolicy.next(table(rps), minGain, room);

        if (keep == 0) {
            assertThat(decision, instanceOf(SizingPolicy.Add.class));
        } else {
            assertThat(((SizingPolicy.Keep) decision).instances(), is(keep));
        }
    }

    @Test
    void theReasonSaysWhatTheLastInstanceGained() {
        SizingPolicy.Keep keep = (SizingPolicy.Keep) SizingPolicy.next(table("100 140 145"), 0.10, true);

        assertThat(keep.reason(), is("3 instances made 145.0 req/s, +3.6 % over 2 (less than the 10 % asked)"));
    }

    @Test
    void theReasonNamesTheBudgetWhenItStopsTheGrowth() {
        SizingPolicy.Keep keep = (SizingPolicy.Keep) SizingPolicy.next(table("100 140"), 0.10, false);

        assertThat(keep.reason(), is("the GPU memory budget takes no instance beyond 2 (140.0 req/s)"));
    }

    @Test
    void anEmptyTableIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SizingPolicy.next(List.of(), 0.1, true));

        assertThat(e.getMessage(), is("table: empty (expected: at least one measurement)"));
    }
}
