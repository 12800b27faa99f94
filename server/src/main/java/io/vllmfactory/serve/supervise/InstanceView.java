package io.vllmfactory.serve.supervise;

import java.time.Duration;
import java.time.Instant;

/**
 * One instance as reported to operators.
 *
 * @param id                stable id (also the dispatcher's backend id)
 * @param port              port the backend listens on (loopback)
 * @param pid               process id, -1 when no process runs
 * @param state             lifecycle state
 * @param inFlight          requests bound to it right now
 * @param maxBatch          most requests it may hold at once
 * @param gpuMemoryFraction its --gpu-memory-utilization
 * @param restarts          how often it was started again after the first start
 * @param uptime            time since its process became READY, zero when not running
 * @param lastError         why it last failed, or null
 * @param since             when it entered its current state
 */
public record InstanceView(int id, int port, long pid, BackendState state, int inFlight, int maxBatch,
                           double gpuMemoryFraction, int restarts, Duration uptime, String lastError,
                           Instant since) {
}
