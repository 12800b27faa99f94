package io.vllmfactory.serve;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The manifests in kubernetes/, read strictly into fabric8's Kubernetes model: a field the model does not know
 * fails the reading, wherever it is. The model keeps unknown fields in each object's additional properties
 * instead of rejecting them, so besides Jackson's unknown-property check every object read is walked and must
 * have none.
 */
final class Manifests {
    static final Path DIR = Path.of(System.getProperty("user.dir")).getParent().resolve("kubernetes");
    /** The kinds the built-in model reads, by manifest {@code kind}. */
    static final Map<String, Class<?>> KINDS = Map.of("ConfigMap", ConfigMap.class, "Deployment", Deployment.class,
            "Service", Service.class, "PodDisruptionBudget", PodDisruptionBudget.class);
    /** Custom resources: not in the built-in model, checked for their structure instead. */
    static final List<String> CUSTOM_KINDS = List.of("PodMonitor");

    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    private Manifests() {
    }

    /** Every manifest file. */
    static List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    static JsonNode tree(String yaml) {
        return YAML.readTree(yaml);
    }

    static Map<String, Object> map(JsonNode node) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = YAML.treeToValue(node, Map.class);
        return m;
    }

    static JsonNode tree(Path file) throws IOException {
        return tree(Files.readString(file));
    }

    /** The one manifest of this kind, read strictly. */
    static <T> T read(Class<T> kind) {
        String name = KINDS.entrySet().stream().filter(e -> e.getValue() == kind).findFirst().orElseThrow().getKey();
        try {
            for (Path file : files()) {
                if (name.equals(tree(file).path("kind").asString())) {
                    return kind.cast(strict(Files.readString(file)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError("no " + name + " in " + DIR);
    }

    /**
     * Reads a manifest into the model class of its kind.
     *
     * @throws IllegalArgumentException naming the field the model does not know, or the kind it has no class for
     */
    static Object strict(String yaml) {
        JsonNode tree = tree(yaml);
        String kind = tree.path("kind").asString();
        Class<?> type = KINDS.get(kind);
        if (type == null) {
            throw new IllegalArgumentException("kind '" + kind + "' (expected one of " + KINDS.keySet() + ")");
        }
        Object model;
        try {
            model = YAML.treeToValue(tree, type);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(kind + ": " + e.getMessage(), e);
        }
        noUnknownFields(model, kind);
        return model;
    }

    /** Walks the model's properties (the getters Jackson maps) and fails on any additional, unknown one. */
    private static void noUnknownFields(Object o, String path) {
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                noUnknownFields(e, path + "[" + i++ + "]");
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> noUnknownFields(v, path + "." + k));
            return;
        }
        if (o == null || !o.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method getter : o.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())) {
                continue;
            }
            Object value = null;
            if (getter.getName().equals("getAdditionalProperties") || getter.isAnnotationPresent(JsonProperty.class)) {
                try {
                    value = getter.invoke(o);
                } catch (IllegalAccessException | InvocationTargetException e) {
                    throw new IllegalStateException(path + ": " + getter, e);
                }
            }
            if (getter.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    throw new IllegalArgumentException(path + ": unknown field(s) " + extra.keySet() + " in "
                            + o.getClass().getSimpleName());
                }
            } else if (value != null) {
                noUnknownFields(value, path + "." + getter.getAnnotation(JsonProperty.class).value());
            }
        }
    }
}
