package io.vllmfactory.serve.supervise;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class GpuMemoryTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "81920, 80000        | 81920 | 80000",
            "'  40960 ,  1024  ' | 40960 | 1024",
    })
    void readsNvidiaSmisCsv(String output, long total, long free) {
        assertThat(GpuMemory.parse("0", output), is(Optional.of(new GpuMemory.Gpu("0", total, free))));
    }

    @Test
    void anUnreadableAnswerIsNotAFigure() {
        assertThat(GpuMemory.parse("0", "[N/A], [N/A]"), is(Optional.empty()));
        assertThat(GpuMemory.parse("0", "No devices were found"), is(Optional.empty()));
    }

    @Test
    void saysWhatIsFreeWhatIsNeededAndWhatToDo() {
        GpuMemory.Gpu busy = new GpuMemory.Gpu("0", 81920, 30720);
        assertThat(GpuMemory.shortfall(busy, 4, 0.23), is(Optional.of("GPU 0 has 30.0 GiB free of 80.0 GiB, but 4"
                + " instances at --gpu-memory-utilization 0.23 need 73.6 GiB: free the GPU (nvidia-smi lists what"
                + " holds it), or lower --num-instances or --gpu-memory-utilization")));
        assertThat(GpuMemory.shortfall(new GpuMemory.Gpu("0", 81920, 80000), 4, 0.23), is(Optional.empty()));
    }
}
