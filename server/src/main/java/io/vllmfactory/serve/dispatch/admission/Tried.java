package io.vllmfactory.serve.dispatch.admission;

import java.util.ArrayList;
import java.util.List;

/**
 * The backends one request saw fail, each as it was then: a retry never goes back to a backend that
 * just failed, but may use it again once it has come back into routing (a restarted instance, or
 * one that passed its health probe again).
 */
public final class Tried {
    private final List<Backend> backends = new ArrayList<>(2);
    private final List<Integer> generations = new ArrayList<>(2);

    /** Records that {@code backend} failed this request. */
    public void add(Backend backend) {
        backends.add(backend);
        generations.add(backend.generation());
    }

    /** Whether this request must not go to {@code backend}: it failed there and has not come back since. */
    public boolean excludes(Backend backend) {
        for (int i = 0; i < backends.size(); i++) {
            if (backends.get(i) == backend && generations.get(i) == backend.generation()) {
                return true;
            }
        }
        return false;
    }

    public boolean isEmpty() {
        return backends.isEmpty();
    }
}
