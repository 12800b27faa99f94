package io.vllmfactory.simulator;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.isIn;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The vllm-factory plugins as the simulator plays them: the shapes their io_processor.py sources answer with. */
class IoPluginTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SEED_TEXT = "Apple Inc. announced a partnership with OpenAI in San Francisco.";

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text.replace('\'', '"'));
    }

    private static JsonNode answer(String plugin, String data) throws Exception {
        return IoPlugin.named(plugin).orElseThrow().answer(json(data));
    }

    private static float[] floats(String base64) {
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[bytes.remaining() / Float.BYTES];
        for (int i = 0; i < values.length; i++) {
            values[i] = bytes.getFloat();
        }
        return values;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "Apple Inc. announced a partnership with OpenAI in San Francisco. | Apple Inc;OpenAI;San Francisco",
            "Tesla CEO Elon Musk announced the Cybertruck launch in Austin, Texas. | Tesla CEO Elon Musk;Cybertruck;Austin;Texas",
            "no names here at all                                              | -",
            "Born in 1961, O'Neil joined AT&T and Rolls-Royce.                 | Born;1961;O'Neil;AT&T;Rolls-Royce",
    })
    void mentionsAreRunsOfCapitalisedWords(String text, String expected) {
        List<String> found = FakeModel.mentions(text.strip()).stream().map(FakeModel.Mention::text).toList();
        assertThat(found, is(expected.equals("-") ? List.of() : List.of(expected.split(";"))));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mmbert_gliner_io", "deberta_gliner_io", "mt5_gliner_io", "deberta_gliner_linker_io",
            "modernbert_gliner_rerank_io"})
    void glinerPluginsAnswerEntitiesThatAreSpansOfTheTextWithARequestedLabelAndEnoughScore(String plugin)
            throws Exception {
        List<String> labels = List.of("company", "location", "person");
        for (double threshold : new double[] {0.3, 0.7, 0.9}) {
            JsonNode entities = answer(plugin, "{'text': '" + SEED_TEXT + "', 'labels': ['company', 'location', "
                    + "'person'], 'threshold': " + threshold + "}");
            List<String> texts = new ArrayList<>();
            for (JsonNode e : entities) {
                assertThat(e.toString(), SEED_TEXT.substring(e.get("start").asInt(), e.get("end").asInt()),
                        is(e.get("text").asText()));
                assertThat(e.get("label").asText(), isIn(labels));
                assertThat(e.get("score").asDouble(), greaterThanOrEqualTo(threshold));
                assertThat(List.of(e.properties().stream().map(java.util.Map.Entry::getKey).toArray()),
                        is(List.of("start", "end", "text", "label", "score")));
                texts.add(e.get("text").asText());
            }
            if (threshold == 0.3) {
                assertThat("every mention scores above 0.55", texts, is(List.of("Apple Inc", "OpenAI", "San Francisco")));
            }
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "{'text': 'Apple', 'labels': []}         | 'labels' list must not be empty",
            "{'text': 'Apple'}                       | 'labels' list must not be empty",
            "['Apple']                               | Expected dict with 'text' and 'labels' keys, got <class 'list'>",
            "{'text': 'A', 'labels': ['x'], 'threshold': 'high'} | could not convert string to float: 'high'",
    })
    void glinerRefusesWhatThePluginRefuses(String data, String message) {
        ApiError e = assertThrows(ApiError.class, () -> answer("mmbert_gliner_io", data));
        assertThat(e.status(), is(400));
        assertThat(e.getMessage(), is(message));
    }

    @Test
    void gliner2AnswersEverySectionOfItsSchema() throws Exception {
        JsonNode out = answer("deberta_gliner2_io", "{'text': 'Tim Cook leads Apple in Cupertino, California.',"
                + " 'threshold': 0.3, 'schema': {'entities': ['person', 'company', 'location'],"
                + " 'classifications': [{'task': 'sentiment', 'labels': ['positive', 'negative']}],"
                + " 'relations': ['works_at'],"
                + " 'structures': {'profile': {'fields': [{'name': 'name'}, {'name': 'employer'}]}}}}");
        assertThat(List.of(out.properties().stream().map(java.util.Map.Entry::getKey).toArray()),
                is(List.of("entities", "sentiment", "profile", "relation_extraction")));
        List<String> found = new ArrayList<>();
        for (String label : List.of("person", "company", "location")) {
            assertThat(out.path("entities").get(label).isArray(), is(true));
            out.path("entities").get(label).forEach(t -> found.add(t.asText()));
        }
        assertThat(found.size(), is(4)); // Tim Cook, Apple, Cupertino, California: each under one label
        assertThat(out.get("sentiment").asText(), isIn(List.of("positive", "negative")));
        JsonNode profile = out.get("profile").get(0);
        assertThat(profile.has("name") && profile.has("employer"), is(true));
        JsonNode relation = out.path("relation_extraction").path("works_at").get(0);
        assertThat(relation.get("head").asText(), not(relation.get("tail").asText()));
        assertThat(found, hasItem(relation.get("head").asText()));
    }

    @Test
    void gliner2GivesSpansAndConfidenceWhenAskedAndTakesLabelsForEntities() throws Exception {
        String text = "Ada Lovelace met Charles Babbage in London.";
        JsonNode out = answer("mmbert_gliner2_io", "{'text': '" + text + "', 'labels': ['person', 'place'],"
                + " 'threshold': 0.3, 'include_spans': true, 'include_confidence': true}");
        List<JsonNode> records = new ArrayList<>();
        out.get("entities").forEach(list -> list.forEach(records::add));
        assertThat(records.size(), is(3));
        for (JsonNode r : records) {
            assertThat(text.substring(r.get("start").asInt(), r.get("end").asInt()), is(r.get("text").asText()));
            assertThat(r.get("confidence").asDouble(), greaterThanOrEqualTo(0.3));
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "{'labels': ['x']}                                     | 'text' is required",
            "{'text': 'A'}                                         | Request must include schema or labels",
            "{'text': 'A', 'schema': {}}                           | GLiNER2 schema must include at least one task section",
            "{'text': 'A', 'schema': []}                           | 'schema' must be a dict",
            "{'text': 'A', 'labels': ['x'], 'threshold': 2}        | 'threshold' must be between 0 and 1",
            "{'text': 'A', 'labels': ['x'], 'include_spans': 1}    | 'include_spans' must be a boolean",
            "{'text': 'A', 'schema': {'structures': {'s': {}}}}    | Structure 's' must include a non-empty fields list",
            "{'text': 'A', 'schema': {'structures': {'s': {'fields': [{}]}}}} | Structure 's' field is missing name",
    })
    void gliner2RefusesWhatThePluginRefuses(String data, String message) {
        ApiError e = assertThrows(ApiError.class, () -> answer("deberta_gliner2_io", data));
        assertThat(e.getMessage(), is(message));
    }

    @Test
    void embeddingPluginsAnswerOneVector() throws Exception {
        JsonNode gemma = answer("embeddinggemma_io", "{'text': 'What is ML?', 'task': 'query'}");
        assertThat(gemma.isArray(), is(true));
        assertThat(gemma.size(), is(FakeModel.DIMENSIONS));
        assertThat(answer("embeddinggemma_io", "{'text': 'What is ML?', 'task': 'document'}"), not(gemma));
        assertThat(floats(answer("generic_pooling_io", "{'text': 'What is ML?'}").asText()).length,
                is(FakeModel.DIMENSIONS));
        ApiError e = assertThrows(ApiError.class, () -> answer("embeddinggemma_io", "{'text': 'x', 'task': 'chat'}"));
        assertThat(e.getMessage(), containsString("Unknown task 'chat'. Valid tasks: ['query', 'document', "));
        assertThat(assertThrows(ApiError.class, () -> answer("generic_pooling_io", "{'input': 'x'}")).getMessage(),
                is("Request data must contain a 'text' key"));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"lfm2_colbert_io", "collfm2_io", "colqwen3_io", "nemotron_colembed_io"})
    void colbertPluginsAnswerAVectorPerToken(String plugin) throws Exception {
        float[] vectors = floats(answer(plugin, "{'text': 'late interaction retrieval'}").asText());
        assertThat(vectors.length, is(4 * FakeModel.DIMENSIONS)); // three words and the query marker
    }

    @Test
    void modernColbertWrapsItsTokenVectorsAndTakesABatch() throws Exception {
        JsonNode one = answer("moderncolbert_io", "{'text': 'late interaction', 'is_query': true}");
        assertThat(floats(one.get("data").asText()).length, is(3 * FakeModel.DIMENSIONS));
        JsonNode batch = answer("moderncolbert_io", "{'text': ['a b', 'c d e f']}");
        assertThat(batch.get("data").size(), is(2));
        assertThat(floats(batch.get("data").get(1).asText()).length, is(5 * FakeModel.DIMENSIONS));
        assertThat(assertThrows(ApiError.class, () -> answer("moderncolbert_io", "{'text': []}")).getMessage(),
                is("Empty ModernColBERT batch"));
    }

    @Test
    void theInstalledPluginsAreVllmFactorysAndAnotherNameIsVllmsStartUpError() {
        assertThat(IoPlugin.INSTALLED.keySet(), everyItem(org.hamcrest.Matchers.endsWith("_io")));
        assertThat(IoPlugin.INSTALLED.size(), is(14));
        assertThat(IoPlugin.notInstalled("gliner"), is("ValueError: The model requires the 'gliner' IO Processor"
                + " plugin but it is not installed. Available plugins: ['mmbert_gliner_io', 'colqwen3_io',"
                + " 'deberta_gliner_io', 'mt5_gliner_io', 'deberta_gliner2_io', 'mmbert_gliner2_io', 'moderncolbert_io',"
                + " 'collfm2_io', 'deberta_gliner_linker_io', 'modernbert_gliner_rerank_io', 'nemotron_colembed_io',"
                + " 'lfm2_colbert_io', 'embeddinggemma_io', 'generic_pooling_io']"));
    }
}
