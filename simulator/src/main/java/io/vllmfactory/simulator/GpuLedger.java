package io.vllmfactory.simulator;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongPredicate;

/**
 * One pretend GPU's memory, shared by the simulators that run on it through a locked file of
 * {@code pid fraction} lines. An instance that would push the total above the whole GPU fails the way vLLM
 * does; entries of processes that died without cleaning up (a crash, {@code kill -9}) are dropped on the
 * next reservation, so a crashed instance does not leak memory forever.
 */
final class GpuLedger {

    // 0.3 + 0.3 + 0.4 is 1.0000000000000002 in binary; an exact split of the GPU must still fit.
    private static final double EPSILON = 1e-9;

    private final Path file;
    private final double totalGib;
    private final LongPredicate alive;

    /**
     * @param file     the ledger file, created if missing
     * @param totalGib size of the pretend GPU, for the error message
     * @param alive    whether a pid still runs (a seam for tests)
     */
    GpuLedger(Path file, double totalGib, LongPredicate alive) {
        this.file = file;
        this.totalGib = totalGib;
        this.alive = alive;
    }

    /** A ledger whose liveness check asks the operating system. */
    static GpuLedger forProcesses(Path file, double totalGib) {
        return new GpuLedger(file, totalGib,
                pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }

    /**
     * Reserves {@code fraction} of the GPU for {@code pid}.
     *
     * @return the reservation, to release at exit
     * @throws InsufficientGpuMemoryException if the live entries and this one exceed the GPU
     * @throws IOException                    if the ledger cannot be read or written
     */
    Reservation reserve(long pid, double fraction) throws IOException, InsufficientGpuMemoryException {
        try (FileChannel channel = open(); FileLock ignored = channel.lock()) {
            List<Entry> entries = new ArrayList<>(read(channel).stream()
                    .filter(e -> e.pid() != pid && alive.test(e.pid()))
                    .toList());
            double used = entries.stream().mapToDouble(Entry::fraction).sum();
            boolean fits = used + fraction <= 1 + EPSILON;
            if (fits) {
                entries.add(new Entry(pid, fraction));
            }
            write(channel, entries);
            if (!fits) {
                throw new InsufficientGpuMemoryException(String.format(Locale.ROOT,
                        "ValueError: Free memory on device (%.2f/%.2f GiB) on startup is less than desired GPU "
                                + "memory utilization (%s, %.2f GiB). Decrease GPU memory utilization or reduce "
                                + "GPU memory used by other processes.",
                        Math.max(0, 1 - used) * totalGib, totalGib, fraction, fraction * totalGib));
            }
            return new Reservation(pid);
        }
    }

    /** The live reservations, oldest first. */
    List<Entry> entries() throws IOException {
        try (FileChannel channel = open(); FileLock ignored = channel.lock()) {
            return read(channel).stream().filter(e -> alive.test(e.pid())).toList();
        }
    }

    private void release(long pid) throws IOException {
        try (FileChannel channel = open(); FileLock ignored = channel.lock()) {
            write(channel, read(channel).stream().filter(e -> e.pid() != pid && alive.test(e.pid())).toList());
        }
    }

    private FileChannel open() throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    private static List<Entry> read(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(channel.size(), 1 << 20));
        channel.read(buffer, 0);
        List<Entry> entries = new ArrayList<>();
        for (String line : new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).split("\n")) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length < 2) {
                continue;
            }
            try {
                entries.add(new Entry(Long.parseLong(parts[0]), Double.parseDouble(parts[1])));
            } catch (NumberFormatException e) {
                // a line from a foreign or torn write: it reserves nothing
            }
        }
        return entries;
    }

    private static void write(FileChannel channel, List<Entry> entries) throws IOException {
        StringBuilder text = new StringBuilder();
        for (Entry entry : entries) {
            text.append(entry.pid()).append(' ').append(entry.fraction()).append('\n');
        }
        channel.truncate(0);
        ByteBuffer buffer = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
        long position = 0;
        while (buffer.hasRemaining()) {
            position += channel.write(buffer, position);
        }
        channel.force(false);
    }

    /**
     * One line of the ledger.
     *
     * @param pid      the reserving process
     * @param fraction its share of the GPU
     */
    record Entry(long pid, double fraction) {
    }

    /** A live reservation; {@link #release()} removes it from the ledger. */
    final class Reservation {
        private final long pid;
        private boolean released;

        private Reservation(long pid) {
            this.pid = pid;
        }

        /** Removes this reservation; later calls do nothing. */
        synchronized void release() throws IOException {
            if (!released) {
                released = true;
                GpuLedger.this.release(pid);
            }
        }
    }
}
