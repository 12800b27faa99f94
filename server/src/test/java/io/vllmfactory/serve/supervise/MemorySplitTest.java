package io.vllmfactory.serve.supervise;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.OptionalDouble;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class MemorySplitTest {
    @ParameterizedTest(name = "{0} instances get {1} each")
    @CsvSource({"1, 0.8", "2, 0.46", "3, 0.31", "4, 0.23", "5, 0.18", "6, 0.15", "7, 0.13", "8, 0.12", "9, 0.1",
                "10, 0.1", "16, 0.1"})
    void theAutomaticSplitIsTheBudgetOverNClampedAndRoundedAsPythonRoundsIt(int n, double each) {
        assertThat(MemorySplit.auto(0.92, n), is(each));
    }

    @ParameterizedTest(name = "{0} instances of the automatic split fit the budget: {1}")
    @CsvSource({"1, true", "3, true", "8, true", "9, true", "10, false"})
    void roundingUpBySomeHundredthsStillFitsButTheFloorOfATenthDoesNot(int n, boolean fits) {
        assertThat(MemorySplit.fits(n * MemorySplit.auto(0.92, n), 0.92, n), is(fits));
    }

    @Test
    void anExplicitShareIsUsedAsGiven() {
        assertThat(MemorySplit.each(OptionalDouble.of(0.3), 0.92, 2), is(0.3));
        assertThat(MemorySplit.each(OptionalDouble.empty(), 0.92, 2), is(0.46));
    }

    @ParameterizedTest(name = "{0} is written {1}")
    @CsvSource({"0.8, 0.8", "0.46, 0.46", "0.1, 0.1", "0.0001, 0.0001", "1.0, 1"})
    void sharesAreWrittenAsPythonPrintsThem(double fraction, String text) {
        assertThat(MemorySplit.format(fraction), is(text));
    }
}
