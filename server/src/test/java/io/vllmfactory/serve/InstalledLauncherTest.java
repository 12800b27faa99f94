package io.vllmfactory.serve;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * bin/vllm-factory-serve as a container image holds it: the launcher scripts and a prebuilt jar, a Java runtime
 * without javac, no sources. It must run the jar as it is, never try to build.
 */
class InstalledLauncherTest {
    private static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

    @TempDir
    Path install;
    private Path jre;

    /** The layout the Dockerfile copies: bin/, server/target/vllm-factory-serve.jar, and a JRE elsewhere. */
    @BeforeEach
    void layOutAnInstalledCopy() throws IOException {
        Files.createDirectories(install.resolve("bin/lib"));
        for (String script : new String[] {"bin/vllm-factory-serve", "bin/lib/build.sh", "bin/lib/find-java.sh"}) {
            Files.copy(REPO.resolve(script), install.resolve(script), StandardCopyOption.COPY_ATTRIBUTES);
        }
        // A runtime-only Java home: java (a wrapper that says it ran) and the release file, no javac.
        Path javaHome = Path.of(System.getProperty("java.home"));
        jre = Files.createDirectories(install.resolve("jre/bin")).getParent();
        Path java = Files.writeString(jre.resolve("bin/java"),
                "#!/bin/sh\necho 'java of the JRE' >&2\nexec '" + javaHome.resolve("bin/java") + "' \"$@\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.copy(javaHome.resolve("release"), jre.resolve("release"));
    }

    @Test
    void anInstalledCopyRunsItsJarOnAJreWithoutBuilding() throws Exception {
        writeJar(install.resolve("server/target/vllm-factory-serve.jar"));
        Result r = run(Map.of());
        assertThat(r.output, r.status, is(0));
        assertThat(r.output, containsString("java of the JRE"));
        assertThat(r.output, containsString("vllm-factory-serve " + Version.number()));
        assertThat(r.output, not(containsString("building")));
    }

    @Test
    void noBuildKeepsACheckoutWithNewerSourcesFromBuilding() throws Exception {
        Path jar = writeJar(install.resolve("server/target/vllm-factory-serve.jar"));
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now().minusSeconds(3600)));
        Files.writeString(install.resolve("pom.xml"), "<project/>"); // newer than the jar: a checkout would build
        Result r = run(Map.of("VLLM_FACTORY_NO_BUILD", "1"));
        assertThat(r.output, r.status, is(0));
        assertThat(r.output, containsString("java of the JRE"));
        assertThat(r.output, containsString("vllm-factory-serve " + Version.number()));
        assertThat(r.output, not(containsString("building")));
    }

    @Test
    void aMissingJarInAnInstalledCopyIsOneLineSayingHowToGetIt() throws Exception {
        Result r = run(Map.of());
        assertThat(r.status, is(1));
        assertThat(r.output, containsString("error: " + install.resolve("server/target/vllm-factory-serve.jar")
                + " is missing and this copy does not build itself"));
        assertThat(r.output, not(containsString("building")));
    }

    /** A jar whose manifest runs Main with the test's class path, standing in for the packaged one. */
    private static Path writeJar(Path jar) throws IOException {
        Files.createDirectories(jar.getParent());
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Main.class.getName());
        String classPath = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(p -> Path.of(p).toUri().toString()).collect(Collectors.joining(" "));
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath);
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
        return jar;
    }

    private record Result(int status, String output) {
    }

    private Result run(Map<String, String> env) throws Exception {
        Path out = install.resolve("out.txt");
        ProcessBuilder pb = new ProcessBuilder(install.resolve("bin/vllm-factory-serve").toString(), "--version")
                .redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().remove("VLLM_FACTORY_NO_BUILD");
        pb.environment().put("JAVA_HOME", jre.toString());
        pb.environment().put("JAVA_OPTS", "-XX:TieredStopAtLevel=1");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertThat("the launcher ended", p.waitFor(60, TimeUnit.SECONDS), is(true));
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }
}
