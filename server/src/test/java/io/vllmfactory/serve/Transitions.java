package io.vllmfactory.serve;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** The state transitions the supervisor logs, as an operator reads them, recorded for assertions. */
final class Transitions extends Handler implements AutoCloseable {
    /** One logged line and when it was logged. */
    record Line(Instant at, String text) {
    }

    private final Logger logger = Logger.getLogger("io.vllmfactory.serve.supervise.Instance");
    private final List<Line> lines = new CopyOnWriteArrayList<>();

    Transitions() {
        logger.addHandler(this);
    }

    List<Line> lines() {
        return List.copyOf(lines);
    }

    /** The lines about one backend that contain {@code text}. */
    List<Line> of(int id, String text) {
        return lines.stream().filter(l -> l.text().startsWith("backend " + id + " ") && l.text().contains(text)).toList();
    }

    int indexOf(int id, String text) {
        List<Line> all = lines();
        for (int k = 0; k < all.size(); k++) {
            if (all.get(k).text().startsWith("backend " + id + " ") && all.get(k).text().contains(text)) {
                return k;
            }
        }
        return -1;
    }

    @Override
    public void publish(LogRecord record) {
        lines.add(new Line(record.getInstant(), record.getMessage()));
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
