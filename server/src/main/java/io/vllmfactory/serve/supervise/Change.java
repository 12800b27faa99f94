package io.vllmfactory.serve.supervise;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A fleet change as it was decided: the instances it is about and the steps that carry it out, in the order
 * they run. Restarts run one at a time, so all instances but one keep serving.
 *
 * @param ids   the instances the change is about: the new ones when growing, the leaving ones when shrinking
 * @param steps what happens, in order
 */
public record Change(List<Integer> ids, List<Step> steps) {
    public Change {
        ids = List.copyOf(ids);
        steps = List.copyOf(steps);
    }

    /** What kind of change an operator (or the autoscaler) asked for, as the metrics count them. */
    public enum Kind {
        /** Instances added. */
        SCALE_UP,
        /** Instances drained and removed. */
        SCALE_DOWN,
        /** An instance drained, stopped and started again. */
        RESTART,
        /** Instances added while the others restart at a smaller share (add with rebalance). */
        REBALANCE
    }

    /** How a change ended. */
    public enum Outcome {
        /** Carried out to the end. */
        DONE,
        /** Under way, then failed (see the log). */
        FAILED,
        /** Refused before anything changed (busy, over budget, invalid, wrong state). */
        REFUSED
    }

    /** What a step does to an instance. */
    public enum Action {
        /** Drain, stop, and start again at the step's share. */
        RESTART,
        /** Start a new instance. */
        START,
        /** Drain and stop for good. */
        STOP
    }

    /**
     * One step.
     *
     * @param action   what happens
     * @param id       to which instance
     * @param device   its device group (its CUDA_VISIBLE_DEVICES)
     * @param fraction the share of that GPU it runs with afterwards (for a stop: the share it gives back)
     */
    public record Step(Action action, int id, String device, double fraction) {
        public Step {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(device, "device");
        }
    }

    /**
     * The plan in one sentence, e.g. "instances 0 and 1 restart one at a time at 0.31 of GPU 0 while the others
     * serve, then instance 2 starts at 0.31 of GPU 0".
     */
    public String summary() {
        if (steps.isEmpty()) {
            return "nothing to do";
        }
        List<String> parts = new ArrayList<>();
        int from = 0;
        for (int k = 1; k <= steps.size(); k++) {
            if (k == steps.size() || !sameKind(steps.get(from), steps.get(k))) {
                parts.add(describe(steps.subList(from, k)));
                from = k;
            }
        }
        return String.join(", then ", parts);
    }

    private static boolean sameKind(Step a, Step b) {
        return a.action() == b.action() && a.device().equals(b.device()) && a.fraction() == b.fraction();
    }

    private static String describe(List<Step> run) {
        Step first = run.getFirst();
        boolean one = run.size() == 1;
        List<String> ids = run.stream().map(s -> Integer.toString(s.id())).toList();
        String who = (one ? "instance " : "instances ") + (one ? ids.getFirst()
                : String.join(", ", ids.subList(0, ids.size() - 1)) + " and " + ids.getLast());
        String where = " at " + GpuBudget.fmt(first.fraction()) + " of GPU " + first.device();
        return switch (first.action()) {
            case RESTART -> who + (one ? " restarts" : " restart one at a time") + where
                    + " while the others serve";
            case START -> who + (one ? " starts" : " start") + where;
            case STOP -> who + (one ? " drains and stops" : " drain and stop") + ", giving back " + where.substring(4);
        };
    }
}
