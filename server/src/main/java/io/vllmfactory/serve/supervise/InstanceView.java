package io.vllmfactory.serve.supervise;

import java.time.Duration;
import java.time.Instant;
import java.util.OptionalDouble;

/**
 * One instance as reported to operators.
 *
 * @param id                stable id (also the dispatcher's backend id)
 * @param url               where the dispatcher reaches it
 * @param port              port the backend listens on
 * @param pid               process id, -1 when no process runs (or the sidecar did not launch it)
 * @param state             lifecycle state
 * @param inFlight          requests bound to it right now
 * @param maxBatch          most requests it may hold at once
 * @param gpuMemoryFraction its --gpu-memory-utilization; empty when the sidecar did not launch it
 * @param device            its CUDA_VISIBLE_DEVICES; null when the sidecar did not launch it
 * @param restarts          how often it was started again after the first start
 * @param uptime            time since its process became READY, zero when not running
 * @param lastError         why it last failed, or null
 * @param since             when it entered its current state
 * @param lastLine          the last line its current run printed (while loading: how far it got), or null
 */
public record InstanceView(int id, String url, int port, long pid, BackendState state, int inFlight, int maxBatch,
                           OptionalDouble gpuMemoryFraction, String device, int restarts, Duration uptime,
                           String lastError, Instant since, String lastLine) {
}
