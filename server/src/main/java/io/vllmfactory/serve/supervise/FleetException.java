package io.vllmfactory.serve.supervise;

/** Why a fleet operation was refused; the admin API maps each kind to a status and a problem body. */
public sealed class FleetException extends RuntimeException {
    FleetException(String message) {
        super(message);
    }

    /** Another operation is running (409). */
    public static final class Busy extends FleetException {
        public Busy(String message) {
            super(message);
        }
    }

    /** The GPU memory budget cannot fit the change (409); the message says what is free and what to do. */
    public static final class OverBudget extends FleetException {
        public OverBudget(String message) {
            super(message);
        }
    }

    /** No instance has that id (404). */
    public static final class UnknownInstance extends FleetException {
        public UnknownInstance(int id) {
            super("no instance " + id);
        }
    }

    /** The instance's state does not allow the operation, e.g. it is already draining (409). */
    public static final class WrongState extends FleetException {
        public WrongState(String message) {
            super(message);
        }
    }

    /** Scaling in direct mode (409): the message points to --always-proxy. */
    public static final class DirectMode extends FleetException {
        public DirectMode(String message) {
            super(message);
        }
    }

    /** A change to backends the sidecar did not launch ({@code --backend-url}) (409). */
    public static final class NotLaunched extends FleetException {
        public NotLaunched(String message) {
            super(message);
        }
    }

    /** A request that can never succeed, e.g. a negative count (400/422). */
    public static final class Invalid extends FleetException {
        public Invalid(String message) {
            super(message);
        }
    }
}
