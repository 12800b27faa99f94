package io.vllmfactory.serve.admin;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Request bodies are read strictly, and every refusal says what was expected. */
class AdminRequestsTest {
    @Test
    void aCountIsAnIntegerFromOneToTheLimit() {
        assertThat(AdminRequests.count(bytes("{\"count\": 3}"), true), is(OptionalInt.of(3)));
        assertThat(AdminRequests.count(bytes("{\"count\":64}"), true), is(OptionalInt.of(64)));
        assertThat(AdminRequests.count(bytes(""), false), is(OptionalInt.empty()));
        assertThat(AdminRequests.count(bytes("{}"), false), is(OptionalInt.empty()));
        assertThat("what generated clients send for no body", AdminRequests.count(bytes("null"), false),
                is(OptionalInt.empty()));
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"count\": -1}        | count: -1 (expected: an integer 1..64)",
            "{\"count\": 0}         | count: 0 (expected: an integer 1..64)",
            "{\"count\": 65}        | count: 65 (expected: an integer 1..64)",
            "{\"count\": 99999999999} | count: 99999999999 (expected: an integer 1..64)",
            "{\"count\": 2.5}       | count: 2.5 (expected: an integer 1..64)",
            "{\"count\": \"2\"}     | count: \"2\" (expected: an integer 1..64)",
            "{\"count\": null}      | count: null (expected: an integer 1..64)",
            "{\"count\": [2]}       | count: [2] (expected: an integer 1..64)",
            "{}                     | count is missing (expected: an integer 1..64)",
            "''                     | the body is empty (expected: a JSON object such as {\"count\": 2})",
            "{\"cont\": 2}          | unknown field 'cont' (expected: count)",
            "[2]                    | the body is an array (expected: a JSON object such as {\"count\": 2})",
            "2                      | the body is a number (expected: a JSON object such as {\"count\": 2})",
            "{\"count\": 2, \"count\": 3} | the body is not valid JSON: Duplicate field 'count'",
            "{\"count\": 2} {}      | the body is not valid JSON: Trailing token",
            "{\"count\": 2          | the body is not valid JSON: Unexpected end-of-input",
            "count=2                | the body is not valid JSON: Unrecognized token 'count'"})
    void badCountsAreRefused(String body, String message) {
        RequestRefused e = assertThrows(RequestRefused.class, () -> AdminRequests.count(bytes(body), true));
        assertThat(e.status.code(), is(400));
        assertThat(e.getMessage(), startsWith(message));
    }

    @Test
    void affinityIsABoolean() {
        assertThat(AdminRequests.enabled(bytes("{\"enabled\": true}")), is(true));
        assertThat(AdminRequests.enabled(bytes("{\"enabled\": false}")), is(false));
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"enabled\": \"true\"} | enabled: \"true\" (expected: true or false)",
            "{\"enabled\": 1}        | enabled: 1 (expected: true or false)",
            "{}                      | enabled is missing (expected: true or false)",
            "''                      | the body is empty (expected: a JSON object such as {\"enabled\": true})",
            "{\"on\": true}          | unknown field 'on' (expected: enabled)"})
    void badAffinityBodiesAreRefused(String body, String message) {
        RequestRefused e = assertThrows(RequestRefused.class, () -> AdminRequests.enabled(bytes(body)));
        assertThat(e.getMessage(), startsWith(message));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
