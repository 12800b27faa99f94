package io.vllmfactory.serve.dispatch;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** The byte-level lookups of the request path, which replace string comparisons and a JSON parse. */
class HeadBytesTest {
    private static final Ascii.Names NAMES = new Ascii.Names("te", "host", "connection", "content-length", "expect");

    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource(nullValues = "none", value = {
            "Host, host",
            "HOST, host",
            "TE, te",
            "Connection, connection",
            "Content-Length, content-length",
            "Content-Type, none",      // same length as content-length's neighbours, not in the set
            "Hosts, none",
            "hos, none",
            "Expect, expect",
            "X-Very-Long-Header-Name-Beyond-Every-Entry, none",
            "t, none",
    })
    void namesAreFoundInAnyCaseAndOnlyWhenTheyAreInTheSet(String name, String expected) {
        byte[] b = ("x" + name + ":").getBytes(StandardCharsets.ISO_8859_1);
        assertThat(NAMES.find(b, 1, 1 + name.length()), is(expected));
    }

    @ParameterizedTest
    @CsvSource({"0", "7", "9", "10", "99", "100", "12345", "9223372036854775807"})
    void numbersAreWrittenInDecimal(long n) {
        AsciiBuffer out = new AsciiBuffer(0);
        out.text("x=");
        out.decimal(n);
        assertThat(new String(out.toByteArray(), StandardCharsets.ISO_8859_1), is("x=" + n));
    }

    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"labels\":[\"a\"]}|true",
            "{\"schema\":{}}|true",
            "{\"data\":{\"labels\":null}}|true",
            "[\"labels\"]|true",              // only a hint: SchemaSize decides
            "{\"label\":[\"a\"]}|false",
            "{\"labelsx\":1}|false",
            "{\"input\":\"no schema here\"}|false",
            "\"labels|false",                 // the closing quote is missing
            "labels\"|false",
            "|false",
    })
    void aBodyMayHaveASchemaOnlyWhenAQuotedLabelsOrSchemaKeyIsInIt(String body, boolean expected) {
        RequestBody b = RequestBody.of(body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8));
        assertThat(JsonBodies.mayHaveSchema(b), is(expected));
    }
}
