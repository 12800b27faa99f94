package io.vllmfactory.simulator;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.IntToLongFunction;
import java.util.function.LongPredicate;

/**
 * Who is busy on one pretend GPU, shared by the simulator processes on it: a small memory-mapped file of
 * slots, {@code pid} and {@code busyUntil} (wall-clock microseconds), each process owning one. A step
 * locks the file, counts the other processes busy now and books its own end; one lock and a few memory
 * reads per step, however many requests the step holds. Slots of dead processes are taken over.
 */
final class GpuTimeline implements AutoCloseable {
    static final int SLOTS = 64;
    private static final int SLOT_BYTES = 16;
    /** An instance between two steps (answers out, the next batch on its way in) still counts as busy. */
    private static final long GAP_MICROS = 20_000;

    private final FileChannel channel;
    private final MappedByteBuffer slots;
    private final long pid;
    private final LongPredicate alive;
    private int own = -1;

    /**
     * @param file  the shared file, created if missing
     * @param pid   this process
     * @param alive whether a pid still runs (a seam for tests)
     */
    GpuTimeline(Path file, long pid, LongPredicate alive) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        this.slots = channel.map(FileChannel.MapMode.READ_WRITE, 0, (long) SLOTS * SLOT_BYTES);
        this.pid = pid;
        this.alive = alive;
    }

    /** The timeline of this process, next to the GPU's memory ledger. */
    static GpuTimeline beside(Path ledger) throws IOException {
        return new GpuTimeline(ledger.resolveSibling(ledger.getFileName() + ".busy"), ProcessHandle.current().pid(),
                p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false));
    }

    /**
     * Starts a step at {@code nowMicros}: counts the instances busy on the GPU, this one included, and books
     * this one busy for {@code step.applyAsLong(busy)} microseconds.
     *
     * @return the number of busy instances, at least 1
     */
    synchronized int begin(long nowMicros, IntToLongFunction step) throws IOException {
        try (FileLock ignored = channel.lock()) {
            int slot = ownSlot(nowMicros);
            int busy = 1;
            for (int i = 0; i < SLOTS; i++) {
                if (i != slot && slots.getLong(i * SLOT_BYTES) != 0
                        && slots.getLong(i * SLOT_BYTES + 8) + GAP_MICROS > nowMicros) {
                    busy++;
                }
            }
            slots.putLong(slot * SLOT_BYTES, pid);
            slots.putLong(slot * SLOT_BYTES + 8, nowMicros + step.applyAsLong(busy));
            return busy;
        }
    }

    /** This process's slot: the one it holds, else a free one, else one of a dead or long-idle process. */
    private int ownSlot(long nowMicros) {
        if (own >= 0 && slots.getLong(own * SLOT_BYTES) == pid) {
            return own;
        }
        int free = -1;
        for (int i = 0; i < SLOTS && free < 0; i++) {
            long holder = slots.getLong(i * SLOT_BYTES);
            if (holder == pid || holder == 0) {
                free = i;
            }
        }
        for (int i = 0; i < SLOTS && free < 0; i++) {
            long holder = slots.getLong(i * SLOT_BYTES);
            if (slots.getLong(i * SLOT_BYTES + 8) + GAP_MICROS <= nowMicros && !alive.test(holder)) {
                free = i;
            }
        }
        if (free < 0) {
            throw new IllegalStateException("more than " + SLOTS + " live instances on one pretend GPU");
        }
        own = free;
        return free;
    }

    /** Gives the slot back, so a process that stops is no longer counted. */
    @Override
    public synchronized void close() throws IOException {
        try (channel; FileLock ignored = channel.lock()) {
            if (own >= 0 && slots.getLong(own * SLOT_BYTES) == pid) {
                slots.putLong(own * SLOT_BYTES, 0);
                slots.putLong(own * SLOT_BYTES + 8, 0);
            }
        }
    }
}
