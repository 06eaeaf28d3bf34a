package io.specula.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.specula.model.ModelFormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What transformers reads besides tokenizer.json: tokenizer_config.json (special tokens, chat template, tokenizer
 * class), config.json's model_type and tokenizer_class (AutoTokenizer picks the tokenizer class with them) and
 * generation_config.json's eos_token_id. Every file and field is optional. Read once per model directory: the
 * tokenizer and the GGUF export both take it from here.
 */
public record TokenizerConfig(
        String bosToken,
        String eosToken,
        String unkToken,
        String padToken,
        Boolean addBosToken,
        Boolean addEosToken,
        String chatTemplate,
        String chatTemplateSource,  // where chat_template came from, for error messages
        String tokenizerClass,
        String modelType,
        Boolean legacy,
        Boolean addPrefixSpace,
        Map<Integer, Boolean> addedTokensSpecial,   // added_tokens_decoder: id -> special
        List<Integer> generationEosIds) {

    static final String FILE = "tokenizer_config.json";
    static final String JINJA = "chat_template.jinja";

    public static TokenizerConfig read(Path dir) {
        JsonObject c = readObject(dir.resolve(FILE));
        JsonObject g = readObject(dir.resolve("generation_config.json"));
        JsonObject m = readObjectLeniently(dir.resolve("config.json"));
        return parse(dir, dir.resolve(FILE), c, m, eosIds(dir.resolve("generation_config.json"), g.get("eos_token_id")));
    }

    /**
     * A tokenizer_config.json object already in memory (e.g. made from a GGUF file's metadata), with the end-of-
     * sequence ids a generation_config.json would give; {@code file} names it in errors.
     */
    static TokenizerConfig of(Path file, JsonObject tokenizerConfig, List<Integer> generationEosIds) {
        Path dir = file.toAbsolutePath().getParent();
        return parse(dir, file, tokenizerConfig, new JsonObject(), List.copyOf(generationEosIds));
    }

    private static TokenizerConfig parse(Path dir, Path file, JsonObject c, JsonObject m,
                                         List<Integer> generationEosIds) {
        Map<Integer, Boolean> special = new HashMap<>();
        JsonElement decoder = c.get("added_tokens_decoder");
        if (decoder != null && decoder.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : decoder.getAsJsonObject().entrySet()) {
                try {
                    JsonObject t = e.getValue().getAsJsonObject();
                    special.put(Integer.parseInt(e.getKey()), t.has("special") && t.get("special").getAsBoolean());
                } catch (RuntimeException ex) {
                    throw new ModelFormatException(file, "added_tokens_decoder[\"" + e.getKey()
                            + "\"]: expected an integer key and an AddedToken object", ex);
                }
            }
        }
        JsonElement template = c.get("chat_template");
        return new TokenizerConfig(
                token(file, c, "bos_token"),
                token(file, c, "eos_token"),
                token(file, c, "unk_token"),
                token(file, c, "pad_token"),
                bool(c, "add_bos_token"),
                bool(c, "add_eos_token"),
                chatTemplate(dir, file, template),
                template != null && !template.isJsonNull() ? file + " chat_template" : dir.resolve(JINJA).toString(),
                // transformers: tokenizer_config.json's class, else config.json's.
                string(c, "tokenizer_class") != null ? string(c, "tokenizer_class") : string(m, "tokenizer_class"),
                string(m, "model_type"),
                bool(c, "legacy"),
                bool(c, "add_prefix_space"),
                special,
                generationEosIds);
    }

    /** A special token as a string or as an AddedToken object {"content": ...}; null when absent or null. */
    private static String token(Path file, JsonObject c, String key) {
        JsonElement e = c.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e.isJsonPrimitive()) {
            return e.getAsString();
        }
        JsonElement content = e.isJsonObject() ? e.getAsJsonObject().get("content") : null;
        if (content != null && content.isJsonPrimitive()) {
            return content.getAsString();
        }
        throw new ModelFormatException(file, key + ": expected a string or an AddedToken object with a content");
    }

    /**
     * chat_template is a string, or a list of {name, template} of which "default" is the one transformers uses;
     * newer models keep it in chat_template.jinja instead.
     */
    private static String chatTemplate(Path dir, Path file, JsonElement e) {
        if (e != null && e.isJsonPrimitive()) {
            return e.getAsString();
        }
        if (e != null && e.isJsonArray()) {
            for (JsonElement t : e.getAsJsonArray()) {
                if (t.isJsonObject() && "default".equals(string(t.getAsJsonObject(), "name"))) {
                    return string(t.getAsJsonObject(), "template");
                }
            }
            throw new ModelFormatException(file, "chat_template is a list without a template named \"default\"");
        }
        if (e != null && !e.isJsonNull()) {
            throw new ModelFormatException(file, "chat_template: expected a string or a list of {name, template}");
        }
        Path jinja = dir.resolve(JINJA);
        if (Files.isRegularFile(jinja)) {
            try {
                return Files.readString(jinja, StandardCharsets.UTF_8);
            } catch (IOException ex) {
                throw new ModelFormatException(jinja, "cannot be read: " + ex.getMessage(), ex);
            }
        }
        return null;
    }

    private static List<Integer> eosIds(Path file, JsonElement e) {
        List<Integer> ids = new ArrayList<>();
        if (e == null || e.isJsonNull()) {
            return ids;
        }
        try {
            if (e.isJsonArray()) {
                e.getAsJsonArray().forEach(x -> ids.add(x.getAsInt()));
            } else {
                ids.add(e.getAsInt());
            }
        } catch (RuntimeException ex) {
            throw new ModelFormatException(file, "eos_token_id: expected an integer or a list of integers", ex);
        }
        return ids;
    }

    private static JsonObject readObject(Path file) {
        if (!Files.isRegularFile(file)) {
            return new JsonObject();
        }
        try {
            JsonElement e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new ModelFormatException(file, "expected a JSON object");
            }
            return e.getAsJsonObject();
        } catch (IOException ex) {
            throw new ModelFormatException(file, "cannot be read: " + ex.getMessage(), ex);
        } catch (JsonParseException ex) {
            throw new ModelFormatException(file, "is not valid JSON: " + ex.getMessage(), ex);
        }
    }

    /** config.json is the model loader's to validate (and report); here only two optional strings are read. */
    private static JsonObject readObjectLeniently(Path file) {
        try {
            return readObject(file);
        } catch (ModelFormatException e) {
            return new JsonObject();
        }
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() ? e.getAsString() : null;
    }

    private static Boolean bool(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean() ? e.getAsBoolean() : null;
    }
}
