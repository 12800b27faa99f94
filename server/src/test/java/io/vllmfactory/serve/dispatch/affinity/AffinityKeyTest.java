package io.vllmfactory.serve.dispatch.affinity;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class AffinityKeyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0} vs {1}: same key = {2}")
    @CsvSource(delimiter = '|', value = {
            // volatile fields only change the key when their size bucket changes
            "{\"input\":\"Alice\",\"labels\":[\"person\"]}            | {\"labels\":[\"person\"],\"input\":\"Bob went home\"} | true",
            "{\"text\":\"a\",\"labels\":[\"person\"]}                 | {\"text\":\"b\",\"labels\":[\"city\"]}                 | false",
            "{\"data\":{\"text\":\"x\",\"threshold\":0.5}}            | {\"data\":{\"text\":\"yy\",\"threshold\":0.5}}          | true",
            "{\"data\":{\"text\":\"x\",\"threshold\":0.5}}            | {\"data\":{\"text\":\"x\",\"threshold\":0.6}}           | false",
            "{\"inputs\":[\"a\",\"b\"],\"model\":\"m\"}                | {\"inputs\":[\"c\",\"d\"],\"model\":\"m\"}              | true",
            "{\"inputs\":[\"a\",\"b\"],\"model\":\"m\"}                | {\"inputs\":[\"c\"],\"model\":\"m\"}                    | false",
            "{\"prompt\":\"p\",\"model\":\"m1\"}                      | {\"prompt\":\"p\",\"model\":\"m2\"}                     | false",
            "{\"labels\":[\"a\",\"b\"]}                               | {\"labels\":[\"b\",\"a\"]}                              | false",
    })
    void keysOnTheShapeOfJsonBodies(String left, String right, boolean same) throws Exception {
        assertThat(key("POST", "/pooling", "", left).equals(key("POST", "/pooling", "", right)), is(same));
    }

    @ParameterizedTest(name = "{0} characters -> {1}")
    @CsvSource({"0, str<=256", "256, str<=256", "257, str<=1024", "1024, str<=1024", "4096, str<=4096", "4097, str>4096"})
    void stringsFallInLengthBuckets(int length, String bucket) {
        assertThat(AffinityKey.bucket(JSON.getNodeFactory().textNode("x".repeat(length))), is(bucket));
    }

    @ParameterizedTest(name = "{0} items of {1} chars -> {2}")
    @CsvSource({"2, 256, list<=512x2", "3, 256, list<=2048x3", "4, 2048, list<=8192x4", "5, 2048, list>8192x5"})
    void listsFallInTotalLengthBucketsWithTheirCount(int items, int chars, String bucket) {
        var list = JSON.createArrayNode();
        for (int i = 0; i < items; i++) {
            list.add("y".repeat(chars));
        }
        assertThat(AffinityKey.bucket(list), is(bucket));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "path differs   | POST | /pooling       | | POST | /v1/embeddings | ",
            "query differs  | POST | /pooling       | a=1 | POST | /pooling | a=2",
            "method differs | POST | /pooling       | | PUT  | /pooling | ",
    })
    void methodPathAndQueryArePartOfTheKey(String what, String m1, String p1, String q1, String m2, String p2, String q2)
            throws Exception {
        String body = "{\"input\":\"x\"}";
        assertThat(key(m1, p1, q1 == null ? "" : q1, body).equals(key(m2, p2, q2 == null ? "" : q2, body)), is(false));
    }

    @org.junit.jupiter.api.Test
    void nonJsonBodiesKeyOnTheirBytesAndEmptyOnesOnTheRequestLine() throws Exception {
        assertThat(key("POST", "/x", "", "not json").equals(key("POST", "/x", "", "not json")), is(true));
        assertThat(key("POST", "/x", "", "not json").equals(key("POST", "/x", "", "not json!")), is(false));
        assertThat(key("GET", "/x", "", ""), is("GET /x"));
    }

    private static String key(String method, String path, String query, String body) throws Exception {
        return AffinityKey.of(method, path, query, body.getBytes(StandardCharsets.UTF_8));
    }
}
