package io.vllmfactory.simulator;

import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One text or chat completion and the OpenAI-shaped objects vLLM writes for it: the whole response, or the
 * chunks of a stream. Every choice runs to {@code maxTokens} (finish reason {@code length}).
 *
 * @param chat        a chat completion (else a text completion)
 * @param id          response id, e.g. {@code cmpl-7}
 * @param created     epoch seconds
 * @param model       model name reported
 * @param prompts     one prompt per choice (chat: the joined messages)
 * @param promptTokens prompt tokens over all prompts
 * @param maxTokens   tokens generated per choice
 */
record Generation(boolean chat, String id, long created, String model, List<String> prompts, int promptTokens,
                  int maxTokens) {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    Generation {
        prompts = List.copyOf(prompts);
    }

    /** The whole answer of a non-streamed request. */
    ObjectNode response() {
        ObjectNode response = envelope(chat ? "chat.completion" : "text_completion");
        ArrayNode choices = response.putArray("choices");
        for (int p = 0; p < prompts.size(); p++) {
            StringBuilder text = new StringBuilder();
            for (int t = 0; t < maxTokens; t++) {
                text.append(FakeModel.token(prompts.get(p), t));
            }
            ObjectNode choice = choices.addObject().put("index", p);
            if (chat) {
                choice.putObject("message").put("role", "assistant").put("content", text.toString())
                        .putArray("tool_calls");
            } else {
                choice.put("text", text.toString());
            }
            choice.putNull("logprobs");
            choice.put("finish_reason", "length");
            choice.putNull("stop_reason");
        }
        response.set("usage", usage());
        return response;
    }

    /** The first chunk of a chat stream, announcing the assistant role. */
    ObjectNode roleChunk() {
        ObjectNode chunk = envelope("chat.completion.chunk");
        ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
        choice.putObject("delta").put("role", "assistant").put("content", "");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return chunk;
    }

    /** The chunk carrying token {@code token} of choice {@code prompt}; the last one has the finish reason. */
    ObjectNode tokenChunk(int prompt, int token) {
        ObjectNode chunk = envelope(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = chunk.putArray("choices").addObject().put("index", prompt);
        String text = FakeModel.token(prompts.get(prompt), token);
        if (chat) {
            choice.putObject("delta").put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        if (token == maxTokens - 1) {
            choice.put("finish_reason", "length");
        } else {
            choice.putNull("finish_reason");
        }
        choice.putNull("stop_reason");
        return chunk;
    }

    /** The closing chunk a client asks for with {@code stream_options.include_usage}. */
    ObjectNode usageChunk() {
        ObjectNode chunk = envelope(chat ? "chat.completion.chunk" : "text_completion");
        chunk.putArray("choices");
        chunk.set("usage", usage());
        return chunk;
    }

    private ObjectNode envelope(String object) {
        ObjectNode node = NODES.objectNode();
        node.put("id", id);
        node.put("object", object);
        node.put("created", created);
        node.put("model", model);
        return node;
    }

    private ObjectNode usage() {
        int completionTokens = maxTokens * prompts.size();
        ObjectNode usage = NODES.objectNode();
        usage.put("prompt_tokens", promptTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
        usage.put("completion_tokens", completionTokens);
        return usage;
    }
}
