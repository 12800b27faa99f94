package io.vllmfactory.serve.dispatch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

/** The quick label count agrees with the parser whenever it answers, and answers the common bodies. */
class LabelScanTest {
    private static final String[] SEEDS = {
            "{\"model\":\"urchade/gliner_multi-v2.1\",\"input\":\"Apple was founded by Steve Jobs in Cupertino.\","
                    + "\"labels\":[\"person\",\"organization\",\"location\"],\"threshold\":0.5}",
            "{\"data\":{\"text\":\"caf\u00e9 \u00fcber \u6771\u4eac \\\"q\\\" \\u00e9\\n\",\"labels\":[\"a\",\"b\"]},"
                    + "\"labels\":[\"x\"],\"n\":-1.5e+3,\"ok\":true,\"no\":false,\"z\":null}",
            "{ \"labels\" : \"single\" , \"nested\" : {\"a\":[1,[2,{\"b\":[]}],{}]} }",
            "{\"labels\":null,\"data\":[1,2],\"input\":{\"labels\":[1,2,3]}}",
            "{\"labels\":[],\"data\":{}}",
    };

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"input\":\"t\",\"labels\":[\"person\",\"org\",\"city\"],\"threshold\":0.5} | 3",
            "{\"data\":{\"labels\":[\"a\",\"b\"]},\"labels\":[\"x\"]}                        | 2",
            "{\"labels\":\"person\"}                                                      | 1",
            "{\"labels\":null}                                                            | 0",
            "{\"input\":\"no schema here\"}                                               | -1",
            "{}                                                                            | -1",
            "''                                                                            | -1",
    })
    void answersTheCommonBodies(String json, int expected) {
        assertThat(LabelScan.of(json.getBytes(StandardCharsets.UTF_8)), is(expected));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "a schema|{\"schema\":{\"entities\":[\"a\"]}}",
            "repeated labels|{\"labels\":[\"x\"],\"labels\":[\"y\"]}",
            "labels as an object|{\"labels\":{\"a\":1}}",
            "not an object|[1,2]",
            "trailing garbage|{\"labels\":[\"a\"] trailing",
            "leading zero|{\"labels\":[01]}",
            "bad escape|{\"labels\":[\"\\x\"]}",
            "truncated|{\"labels\":[\"a\"",
    })
    void leavesTheRestToTheParser(String why, String json) {
        assertThat(LabelScan.of(json.getBytes(StandardCharsets.UTF_8)), is(LabelScan.UNSURE));
    }

    @Test
    void agreesWithTheParserOnMutatedBodies() {
        Random random = new Random(20261201);
        byte[] alphabet = "{}[]:,\"\\ 0123456789.eE+-truefalsn\u00e9labelsschemadata".getBytes(StandardCharsets.UTF_8);
        int answered = 0;
        for (int round = 0; round < 20_000; round++) {
            byte[] body = SEEDS[random.nextInt(SEEDS.length)].getBytes(StandardCharsets.UTF_8);
            int edits = random.nextInt(4);
            for (int e = 0; e < edits && body.length > 1; e++) {
                int at = random.nextInt(body.length);
                switch (random.nextInt(4)) {
                    case 0 -> body[at] = alphabet[random.nextInt(alphabet.length)];
                    case 1 -> body[at] = (byte) random.nextInt(256);
                    case 2 -> body = java.util.Arrays.copyOf(body, at);
                    default -> {
                        byte[] longer = new byte[body.length + 1];
                        System.arraycopy(body, 0, longer, 0, at);
                        longer[at] = alphabet[random.nextInt(alphabet.length)];
                        System.arraycopy(body, at, longer, at + 1, body.length - at);
                        body = longer;
                    }
                }
            }
            int quick = LabelScan.of(body);
            if (quick != LabelScan.UNSURE) {
                answered++;
                assertThat(new String(body, StandardCharsets.ISO_8859_1), quick, is(SchemaSize.parsed(body)));
            }
        }
        assertThat("the quick scan answers most bodies", answered, greaterThan(5_000));
    }
}
