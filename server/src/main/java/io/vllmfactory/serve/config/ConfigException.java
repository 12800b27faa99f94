package io.vllmfactory.serve.config;

/** A setting is missing, unknown or malformed; the message names it and says what was expected. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
