package io.vllmfactory.serve.dispatch;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class SchemaSizeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"labels\":[\"person\",\"org\",\"city\"]}                                          | 3",
            "{\"data\":{\"labels\":[\"a\",\"b\"]},\"labels\":[\"x\"]}                              | 2",
            "{\"data\":{\"schema\":{\"entities\":[\"a\",\"b\"]}},\"labels\":[\"x\"]}               | 2",
            "{\"schema\":{\"entities\":{\"person\":\"desc\",\"org\":\"d\"},\"classifications\":[{\"task\":\"s\"}],"
            + "\"relations\":[\"works_for\"],\"structures\":{\"product\":{\"fields\":[\"name\",\"price\"]},"
            + "\"event\":[\"date\"]}}}                                                            | 9",
            "{\"schema\":{\"structures\":[{\"name\":\"p\",\"fields\":[\"a\",\"b\",\"c\"]}]}}        | 4",
            "{\"input\":\"no schema here\"}                                                     | -1",
            "[1,2,3]                                                                            | -1",
    })
    void countsWhatTheRequestAsksFor(String json, int expected) throws Exception {
        assertThat(SchemaSize.of(JSON.readTree(json)), is(expected));
    }
}
