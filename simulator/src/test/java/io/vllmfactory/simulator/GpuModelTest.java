package io.vllmfactory.simulator;

import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.closeTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GpuModelTest {
    private static final GpuModel MODEL = new GpuModel(20, 2, 50, 0.5);

    @ParameterizedTest(name = "{0} requests of {1} tokens: step {2} ms")
    @CsvSource({
            // requests, tokens each, step ms = 20 + n*2 + n*tokens*0.05
            "1, 0, 22",
            "1, 100, 27",
            "1, 400, 42",
            "8, 100, 76",
            "32, 100, 244",
    })
    void aStepCostsItsFixedPartPlusEachRequestAndToken(int requests, int tokens, double stepMs) {
        assertThat(MODEL.stepMillis(requests, (long) requests * tokens), closeTo(stepMs, 1e-9));
    }

    @ParameterizedTest(name = "batch {0} -> {1}")
    @CsvSource({"1, 2", "2, 4", "4, 8", "8, 16", "16, 32"})
    void aBiggerBatchTakesLessTimePerRequest(int smaller, int bigger) {
        double perRequestSmall = MODEL.stepMillis(smaller, smaller * 80L) / smaller;
        double perRequestBig = MODEL.stepMillis(bigger, bigger * 80L) / bigger;

        assertThat(perRequestBig, lessThan(perRequestSmall));
    }

    @ParameterizedTest(name = "{0} busy instances: x{1}")
    @CsvSource({"0, 1.0", "1, 1.0", "2, 1.5", "3, 2.0", "5, 3.0"})
    void aStepStretchesWithTheOtherBusyInstances(int busy, double stretch) {
        assertThat(MODEL.stretch(busy), closeTo(stretch, 1e-9));
    }

    @ParameterizedTest(name = "{0} instances: {1} req/s")
    @CsvSource({
            // one full batch: 32 / 244 ms = 131.1 req/s; N busy instances: N / (1 + 0.5 (N - 1)) of that
            "1, 131.148",
            "2, 174.863",
            "4, 209.836",
            "8, 233.151",
            "1000, 262.033",
    })
    void theGpuSaturatesAtOneOverContentionTimesOneInstance(int instances, double requestsPerSecond) {
        assertThat(MODEL.requestsPerSecond(instances, 32, 100), closeTo(requestsPerSecond, 0.01));
    }

    /** The seed's table (RTX A5000, 200 requests, max batch 32): req/s at 1, 2 and 4 instances. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "deberta-gliner2,   133, 164, 229",
            "modernbert-gliner, 159, 255, 313",
            "mt5-gliner,        142, 204, 236",
    })
    void eachPresetGainsAsTheSeedsRowWithinTenPercent(String preset, double one, double two, double four) {
        GpuModel model = GpuModel.PRESETS.get(preset);
        double x1 = model.requestsPerSecond(1, 32, 80);

        assertThat(model.requestsPerSecond(2, 32, 80) / x1, closeTo(two / one, 0.1 * two / one));
        assertThat(model.requestsPerSecond(4, 32, 80) / x1, closeTo(four / one, 0.1 * four / one));
        assertThat(x1, closeTo(one, 0.1 * one));
    }

    @Test
    void noKnobMeansNoGpuModel() {
        assertThat(GpuModel.from(name -> Optional.empty()), is(Optional.empty()));
    }

    @Test
    void numbersOverrideThePresets() {
        Map<String, String> knobs = Map.of("--sim-gpu-preset", "mt5-gliner", "--sim-gpu-contention", "0.25");

        GpuModel model = GpuModel.from(name -> Optional.ofNullable(knobs.get(name))).orElseThrow();

        GpuModel preset = GpuModel.PRESETS.get("mt5-gliner");
        assertThat(model, is(new GpuModel(preset.stepMs(), preset.requestMs(), preset.tokenUs(), 0.25)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
            "--sim-gpu-preset     | h100     | --sim-gpu-preset: 'h100' (expected one of: deberta-gliner2, modernbert-gliner, mt5-gliner)",
            "--sim-gpu-contention | 1.5      | contention: 1.5 (expected: 0.0..1.0)",
            "--sim-gpu-step-ms    | -1       | stepMs: -1.0 (expected: 0.0..60000.0)",
            "--sim-gpu-token-us   | lots     | --sim-gpu-token-us: invalid float value: 'lots'",
    })
    void badKnobsAreRefusedWithWhatWasExpected(String flag, String value, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GpuModel.from(name -> name.equals(flag) ? Optional.of(value) : Optional.empty()));

        assertThat(e.getMessage(), is(message));
    }
}
