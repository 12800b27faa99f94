package io.vllmfactory.simulator;

/** What the command line asks for: the help text, or to serve with a configuration. */
sealed interface Command {

    /** {@code --help}: print the usage and exit 0. */
    record Help() implements Command {
    }

    /**
     * {@code warmup}: start a throwaway simulator and stop it at once, so a launcher can record the classes a
     * start loads in a class-data-sharing archive.
     */
    record Warmup() implements Command {
    }

    /**
     * {@code serve MODEL ...}.
     *
     * @param config the parsed configuration
     */
    record Serve(SimulatorConfig config) implements Command {
    }
}
