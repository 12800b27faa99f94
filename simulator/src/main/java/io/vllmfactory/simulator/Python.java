package io.vllmfactory.simulator;

import com.fasterxml.jackson.databind.JsonNode;

/** How the Python plugins read JSON values, with Python's error wording, for the plugins the simulator plays. */
final class Python {
    private Python() {
    }

    /** {@code type(value)} of the JSON value once Python has parsed it, e.g. {@code <class 'list'>}. */
    static String type(JsonNode value) {
        String name = switch (value.getNodeType()) {
            case ARRAY -> "list";
            case OBJECT -> "dict";
            case STRING -> "str";
            case BOOLEAN -> "bool";
            case NUMBER -> value.isIntegralNumber() ? "int" : "float";
            default -> "NoneType";
        };
        return "<class '" + name + "'>";
    }

    /** {@code float(data.get(key, fallback))}: a number, or a string that reads as one. */
    static double floatValue(JsonNode data, String key, double fallback) {
        JsonNode value = data.get(key);
        if (value == null) {
            return fallback;
        }
        if (value.isNumber() || value.isBoolean()) {
            return value.isBoolean() ? (value.asBoolean() ? 1 : 0) : value.asDouble();
        }
        if (value.isTextual()) {
            try {
                return Double.parseDouble(value.asText().strip());
            } catch (NumberFormatException e) {
                throw ApiError.badRequest("could not convert string to float: '" + value.asText() + "'");
            }
        }
        throw ApiError.badRequest("float() argument must be a string or a real number, not '"
                + type(value).replace("<class '", "").replace("'>", "") + "'");
    }
}
