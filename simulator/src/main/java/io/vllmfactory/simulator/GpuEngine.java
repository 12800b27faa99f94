package io.vllmfactory.simulator;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One instance's engine loop on a pretend GPU ({@link GpuModel}): admitted requests wait for the next step,
 * a step takes every waiting request (the scheduler admits at most {@code --max-num-seqs}), lasts as the
 * model says for its batch and the instances busy on the GPU ({@link GpuTimeline}), then answers them all.
 * A step starts once the batch is full, or {@link #GATHER} after its first request (or after the last step,
 * if requests were waiting): clients that got their answers together meet again in one step even when the
 * machine is slow to pass their next requests on, rather than splitting into half batches for good.
 */
final class GpuEngine {
    static final Duration GATHER = Duration.ofMillis(25);

    private final GpuModel model;
    private final GpuTimeline timeline;
    private final int maxBatch;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<Job> pending = new ArrayDeque<>();

    private GpuEngine(GpuModel model, GpuTimeline timeline, int maxBatch) {
        this.model = model;
        this.timeline = timeline;
        this.maxBatch = maxBatch;
    }

    /** Starts the engine loop on a daemon thread. */
    static GpuEngine start(GpuModel model, GpuTimeline timeline, int maxBatch) {
        GpuEngine engine = new GpuEngine(model, timeline, maxBatch);
        Thread.ofPlatform().daemon().name("gpu-engine").start(engine::loop);
        return engine;
    }

    /**
     * Runs one request of {@code tokens} input tokens: returns when the step that holds it ends.
     *
     * @throws IOException if the GPU's shared timeline could not be used
     */
    void run(int tokens) throws IOException, InterruptedException {
        Job job = new Job(tokens);
        lock.lock();
        try {
            pending.add(job);
            arrived.signal();
        } finally {
            lock.unlock();
        }
        job.done.await();
        if (job.failure != null) {
            throw new IOException("pretend GPU: " + job.failure.getMessage(), job.failure);
        }
    }

    private void loop() {
        while (true) {
            List<Job> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                return;
            }
            IOException failure = null;
            try {
                step(batch);
            } catch (IOException e) {
                failure = e;
            } catch (InterruptedException e) {
                failure = new IOException("engine stopped");
            }
            for (Job job : batch) {
                job.failure = failure;
                job.done.countDown();
            }
        }
    }

    private void step(List<Job> batch) throws IOException, InterruptedException {
        long tokens = 0;
        for (Job job : batch) {
            tokens += job.tokens;
        }
        double alone = model.stepMillis(batch.size(), tokens);
        Instant now = Instant.now();
        long nowMicros = now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
        int busy = timeline.begin(nowMicros, k -> Math.round(alone * model.stretch(k) * 1000));
        Thread.sleep(Duration.ofNanos(Math.round(alone * model.stretch(busy) * 1_000_000)));
    }

    /** Waits for a request, then up to {@link #GATHER} for a full batch; takes what is there. */
    private List<Job> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            while (pending.isEmpty()) {
                arrived.await();
            }
            long end = System.nanoTime() + GATHER.toNanos();
            long left;
            while (pending.size() < maxBatch && (left = end - System.nanoTime()) > 0) {
                arrived.awaitNanos(left);
            }
            List<Job> batch = new ArrayList<>(Math.min(pending.size(), maxBatch));
            while (!pending.isEmpty() && batch.size() < maxBatch) {
                batch.add(pending.poll());
            }
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private static final class Job {
        final int tokens;
        final CountDownLatch done = new CountDownLatch(1);
        volatile IOException failure;

        Job(int tokens) {
            this.tokens = tokens;
        }
    }
}
