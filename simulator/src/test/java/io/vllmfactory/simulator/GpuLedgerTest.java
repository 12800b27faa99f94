package io.vllmfactory.simulator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GpuLedgerTest {
    @TempDir
    Path dir;

    private final Set<Long> alive = new HashSet<>(Set.of(101L, 102L, 103L));

    private GpuLedger ledger(Path file) {
        return new GpuLedger(file, 80, alive::contains);
    }

    @Test
    void instancesOnOneGpuShareOneBudget() throws Exception {
        Path file = dir.resolve("gpu-0.ledger");
        GpuLedger first = ledger(file);
        GpuLedger second = ledger(file);

        first.reserve(101, 0.5);
        second.reserve(102, 0.3);
        InsufficientGpuMemoryException e = assertThrows(InsufficientGpuMemoryException.class,
                () -> second.reserve(103, 0.25));

        assertThat(e.getMessage(), is("ValueError: Free memory on device (16.00/80.00 GiB) on startup is less "
                + "than desired GPU memory utilization (0.25, 20.00 GiB). Decrease GPU memory utilization or "
                + "reduce GPU memory used by other processes."));
        assertThat(first.entries(), is(List.of(new GpuLedger.Entry(101, 0.5), new GpuLedger.Entry(102, 0.3))));
    }

    @Test
    void releasingMakesRoomForTheNext() throws Exception {
        Path file = dir.resolve("gpu-0.ledger");
        GpuLedger.Reservation big = ledger(file).reserve(101, 0.9);

        assertThrows(InsufficientGpuMemoryException.class, () -> ledger(file).reserve(102, 0.2));
        big.release();
        ledger(file).reserve(102, 0.2);

        assertThat(ledger(file).entries(), is(List.of(new GpuLedger.Entry(102, 0.2))));
    }

    @Test
    void anExactSplitOfTheGpuFits() throws Exception {
        GpuLedger ledger = ledger(dir.resolve("gpu-0.ledger"));

        ledger.reserve(101, 0.3);
        ledger.reserve(102, 0.3);
        ledger.reserve(103, 0.4);

        assertThat(ledger.entries().size(), is(3));
    }

    @Test
    void entriesOfDeadProcessesAreDropped() throws Exception {
        Path file = dir.resolve("gpu-0.ledger");
        ledger(file).reserve(101, 0.9);
        alive.remove(101L); // crashed without releasing

        ledger(file).reserve(102, 0.9);

        assertThat(Files.readString(file), is("102 0.9\n"));
    }

    @Test
    void foreignLinesReserveNothing() throws IOException, InsufficientGpuMemoryException {
        Path file = dir.resolve("gpu-0.ledger");
        Files.writeString(file, "garbage\n101 notanumber\n\n");

        ledger(file).reserve(102, 1.0);

        assertThat(ledger(file).entries(), is(List.of(new GpuLedger.Entry(102, 1.0))));
    }
}
