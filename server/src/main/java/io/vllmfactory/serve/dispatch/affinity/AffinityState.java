package io.vllmfactory.serve.dispatch.affinity;

import io.vllmfactory.serve.dispatch.admission.Backend;

import java.util.Locale;

/** How request affinity decided a request's backend, reported in {@code X-VLLM-Factory-Affinity-State}. */
public enum AffinityState {
    /** Affinity is off, or the body was too large to key. */
    DISABLED,
    /** First time this key was seen (or its pin was dropped): normal choice, then pinned. */
    MISS,
    /** The pinned backend had room and took it. */
    HIT,
    /** The pinned backend was full or gone: normal choice, then re-pinned. */
    FALLBACK;

    private final String text = name().toLowerCase(Locale.ROOT);

    /** The header value: {@code disabled}, {@code miss}, {@code hit} or {@code fallback}. */
    public String text() {
        return text;
    }

    /** The state of a request keyed (or not) with {@code pinned} as its pin, sent to {@code chosen}. */
    public static AffinityState of(boolean keyed, Backend pinned, Backend chosen) {
        if (!keyed) {
            return DISABLED;
        }
        if (pinned == null) {
            return MISS;
        }
        return pinned == chosen ? HIT : FALLBACK;
    }
}
