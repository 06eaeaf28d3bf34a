package io.specula.training;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a learned {@link BpeTrainer.Vocabulary} as the two files Hugging Face tokenizers read: tokenizer.json, with
 * the normalizer, post-processor and decoder of Llama 2's (no pre-tokenizer, byte fallback), and
 * tokenizer_config.json with the special tokens and a chat template.
 */
public final class TokenizerFiles {

    public static final String BOS = "<s>";
    public static final String EOS = "</s>";
    public static final String UNK = "<unk>";

    /**
     * The models are trained on prose only, so "chat" is continuation: the messages are joined as paragraphs after
     * BOS and the model goes on writing. A system message, if any, is the opening paragraph.
     */
    public static final String CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}"
            + "{% if not loop.first %}{{ '\\n\\n' }}{% endif %}{{ message['content'] | trim }}{% endfor %}"
            + "{% if add_generation_prompt and messages | length > 0 and messages[-1]['role'] != 'user' %}"
            + "{{ '\\n\\n' }}{% endif %}";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();

    private TokenizerFiles() {
    }

    public static void write(Path dir, BpeTrainer.Vocabulary vocab) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), GSON.toJson(tokenizerJson(vocab)) + "\n", StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("tokenizer_config.json"), GSON.toJson(tokenizerConfig()) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tokenizer to " + dir, e);
        }
    }

    /** Copies tokenizer.json and tokenizer_config.json from one model directory to another. */
    public static void copy(Path from, Path to) {
        try {
            Files.createDirectories(to);
            for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                Files.copy(from.resolve(f), to.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the tokenizer from " + from + " to " + to, e);
        }
    }

    static JsonObject tokenizerJson(BpeTrainer.Vocabulary vocab) {
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        JsonArray added = new JsonArray();
        for (int i = 0; i < BpeTrainer.SPECIAL_TOKENS.size(); i++) {
            JsonObject t = new JsonObject();
            t.addProperty("id", i);
            t.addProperty("content", BpeTrainer.SPECIAL_TOKENS.get(i));
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", true);
            added.add(t);
        }
        root.add("added_tokens", added);
        root.add("normalizer", json("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"
                + "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]}"));
        root.add("pre_tokenizer", JsonNull.INSTANCE);
        root.add("post_processor", json("{\"type\":\"TemplateProcessing\","
                + "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                + "\"pair\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
                + "{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":1}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],"
                + "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}}"));
        root.add("decoder", json("{\"type\":\"Sequence\",\"decoders\":["
                + "{\"type\":\"Replace\",\"pattern\":{\"String\":\"\u2581\"},\"content\":\" \"},"
                + "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"
                + "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}"));
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", JsonNull.INSTANCE);
        model.addProperty("unk_token", UNK);
        model.add("continuing_subword_prefix", JsonNull.INSTANCE);
        model.add("end_of_word_suffix", JsonNull.INSTANCE);
        model.addProperty("fuse_unk", true);
        model.addProperty("byte_fallback", true);
        JsonObject v = new JsonObject();
        vocab.ids().forEach(v::addProperty);
        model.add("vocab", v);
        JsonArray merges = new JsonArray();
        for (String[] m : vocab.merges()) {
            merges.add(new JsonPrimitive(m[0] + " " + m[1]));
        }
        model.add("merges", merges);
        root.add("model", model);
        return root;
    }

    static JsonObject tokenizerConfig() {
        JsonObject c = new JsonObject();
        c.addProperty("add_bos_token", true);
        c.addProperty("add_eos_token", false);
        JsonObject decoder = new JsonObject();
        for (int i = 0; i < BpeTrainer.SPECIAL_TOKENS.size(); i++) {
            JsonObject t = new JsonObject();
            t.addProperty("content", BpeTrainer.SPECIAL_TOKENS.get(i));
            t.addProperty("lstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("rstrip", false);
            t.addProperty("single_word", false);
            t.addProperty("special", true);
            decoder.add(Integer.toString(i), t);
        }
        c.add("added_tokens_decoder", decoder);
        c.addProperty("bos_token", BOS);
        c.addProperty("eos_token", EOS);
        c.addProperty("unk_token", UNK);
        c.add("pad_token", JsonNull.INSTANCE);
        c.addProperty("clean_up_tokenization_spaces", false);
        c.addProperty("legacy", false);
        c.add("sp_model_kwargs", new JsonObject());
        c.addProperty("spaces_between_special_tokens", false);
        c.addProperty("tokenizer_class", "LlamaTokenizer");
        c.addProperty("use_default_system_prompt", false);
        c.addProperty("chat_template", CHAT_TEMPLATE);
        return c;
    }

    private static JsonObject json(String s) {
        return JsonParser.parseString(s).getAsJsonObject();
    }
}
