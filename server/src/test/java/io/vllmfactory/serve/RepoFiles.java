package io.vllmfactory.serve;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Files of the repository beside the module under test (Maven runs a module's tests in its own folder). */
final class RepoFiles {
    private RepoFiles() {
    }

    /** The repository's root: the nearest folder up from the working directory that holds the launcher. */
    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("bin/vllm-factory-serve"))) {
                return p;
            }
        }
        throw new AssertionError("no bin/vllm-factory-serve above " + Path.of("").toAbsolutePath());
    }

    static Path file(String relative) {
        Path p = root().resolve(relative);
        if (!Files.isRegularFile(p)) {
            throw new AssertionError("missing " + p);
        }
        return p;
    }

    /** The full path of {@code tool} on PATH, if it is there. */
    static Optional<Path> onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
