package io.vllmfactory.serve.dispatch.affinity;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class SchemaSizeTest {
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
            "{\"data\":[1],\"labels\":[\"x\",\"y\"],\"input\":{\"labels\":[1,2,3]}}              | 2",
            "{\"labels\":[\"x\"],\"labels\":[\"y\",\"z\"]}                                         | 2",
            "{\"labels\":\"person\",\"input\":\"a long text\"}                                      | 1",
            "{\"labels\":[\"a\"] trailing                                                         | -1",
            "{\"labels\":null,\"data\":{\"labels\":[1]},\"data\":{\"x\":1}}                        | 0",
            "{\"schema\":{\"structures\":{\"a\":{\"fields\":[1,2]},\"a\":{\"x\":1,\"y\":2,\"y\":3}}}}       | 3",
            "{\"schema\":{\"structures\":[{\"fields\":null},{\"p\":1,\"q\":2},\"solo\",[1,2,3]]}}       | 10",
            "{\"schema\":{\"entities\":[\"a\"],\"entities\":{\"b\":1,\"c\":2},\"relations\":null}} | 2",
            "{\"schema\":[\"a\",\"b\",\"c\"],\"labels\":[1]}                                      | 3",
            "{\"data\":{\"schema\":{\"structures\":\"x\"},\"labels\":[1,2]},\"schema\":{\"entities\":[1]}} | 0",
            "{\"input\":{\"schema\":[1,2]},\"labels\":{\"a\":{\"deep\":[1,2,3]}}}                     | 1",
            "not json at all                                                                    | -1",
    })
    void countsWhatTheRequestAsksFor(String json, int expected) {
        assertThat(SchemaSize.of(json.getBytes()), is(expected));
    }

    @org.junit.jupiter.api.Test
    void aBodyPastSixtyFourKibibytesIsNotRead() {
        String labels = "{\"labels\":[\"a\",\"b\"],\"input\":\"";
        assertThat(SchemaSize.of((labels + "x".repeat(1000) + "\"}").getBytes()), is(2));
        assertThat(SchemaSize.of((labels + "x".repeat(SchemaSize.MAX_BODY) + "\"}").getBytes()), is(-1));
    }
}
