package io.specula.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.SpeculaException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * Special tokens only where the chat template put them (issue 19, item 9). transformers tokenizes the rendered chat
 * with special-token parsing on, so {@code <|im_start|>} typed in a user message becomes the real control token and
 * can forge a turn of another role; llama.cpp's server does the same. Here the text the template renders is kept
 * exactly, and only the special tokens that come from message content are tokenized as the plain text they are, the
 * way transformers tokenizes text with {@code split_special_tokens=True}:
 * <ol>
 *   <li>{@link #fromTemplate}: which special-token occurrences the template produced. The template is rendered a
 *       second time with every special-token string in the messages replaced by as many U+E000 characters; an
 *       occurrence whose characters are the same in both renders came from the template, one that differs came from a
 *       message. Real templates copy message content verbatim (or trimmed), so both renders have the same length and
 *       differ only inside those occurrences; when they do not, the prompt is refused rather than guessed at.</li>
 *   <li>{@link #encode}: a second native tokenizer, built from the same tokenizer.json with the content of every
 *       special added token replaced by an unguessable sentinel (same id, same flags), so special-token text is plain
 *       text to it. The template's special tokens are replaced by their sentinels and the whole text is encoded in
 *       one pass: the tokenizer splits at the sentinels exactly where it would split at the special tokens, so the
 *       text between is tokenized as transformers tokenizes it (no segment boundary of our own, which would change
 *       tokenization where SentencePiece-style pre-tokenizers treat the start of the input specially).</li>
 * </ol>
 * Non-special added tokens (Qwen's {@code <think>}, {@code <tool_call>}) are part of the vocabulary and stay tokens,
 * as in transformers. A conversation whose messages contain no special-token text never gets here: its ids are
 * transformers' ids.
 */
final class SpecialTokenText implements AutoCloseable {

    /** Replaces special-token text in messages for the second render: a private-use character. */
    static final char PLACEHOLDER = '\uE000';

    /** An occurrence of a special token's text in a string: [start, end). */
    record Span(int start, int end, String token) {
    }

    /** tokenizer.json as UTF-8 text: the parsed tree is several times larger, and the variant is rarely built. */
    private final byte[] pipeline;
    private final IntPredicate special;
    /** Special tokens' texts as a trie (at one position the longest match wins, as in the tokenizers library). */
    private final Trie root = new Trie();
    private final Map<String, String> sentinels = new HashMap<>();
    private final String sentinelMark;
    private volatile Variant variant;

    /**
     * The tokenizer without special-token parsing, and the ids it gives added tokens mapped to tokenizer.json's: the
     * tokenizers library numbers an added token that is not in the model's vocabulary after the vocabulary, so a
     * renamed one (Gemma's {@code <start_of_turn>} is in both) gets a new id.
     */
    private record Variant(HuggingFaceTokenizer tokenizer, Map<Long, Long> ids) {
    }

    /**
     * @param pipeline the tokenizer.json the native tokenizer was built from
     * @param special  whether an added token's id is special
     */
    SpecialTokenText(JsonObject pipeline, IntPredicate special) {
        this.pipeline = pipeline.toString().getBytes(StandardCharsets.UTF_8);
        this.special = special;
        byte[] nonce = new byte[8];
        new SecureRandom().nextBytes(nonce);
        this.sentinelMark = "\uE001" + HexFormat.of().formatHex(nonce);
        List<String> texts = new ArrayList<>();
        JsonElement added = pipeline.get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement t : added.getAsJsonArray()) {
                JsonObject o = t.getAsJsonObject();
                int id = o.get("id").getAsInt();
                String content = o.get("content").getAsString();
                if (special.test(id) && !content.isEmpty()) {
                    texts.add(content);
                    sentinels.put(content, sentinelMark + "." + id + "\uE002");
                }
            }
        }
        for (String text : texts) {
            Trie node = root;
            for (int i = 0; i < text.length(); i++) {
                node = node.next.computeIfAbsent(text.charAt(i), c -> new Trie());
            }
            node.token = text;
        }
    }

    /** Whether {@code text} contains a special token's text. */
    boolean containsSpecial(String text) {
        return text != null && longestAt(text, 0) != null;
    }

    /** Non-overlapping occurrences of special tokens' texts, left to right, the longest at each position. */
    List<Span> find(String text) {
        List<Span> spans = new ArrayList<>();
        int i = 0;
        Span next;
        while ((next = longestAt(text, i)) != null) {
            spans.add(next);
            i = next.end();
        }
        return spans;
    }

    /**
     * The first occurrence at or after {@code from}, the longest token at that position (as the tokenizers library
     * matches added tokens), walking a trie of the tokens: O(text × longest token), however many tokens there are
     * (Llama 3 has 256 sharing the prefix "<|reserved_special_token_").
     */
    private Span longestAt(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            Trie node = root;
            String longest = null;
            for (int j = i; j < text.length() && node != null; j++) {
                node = node.next.get(text.charAt(j));
                if (node != null && node.token != null) {
                    longest = node.token;
                }
            }
            if (longest != null) {
                return new Span(i, i + longest.length(), longest);
            }
        }
        return null;
    }

    private static final class Trie {
        final Map<Character, Trie> next = new HashMap<>();
        String token;
    }

    /** {@code text} with every special token's text replaced by as many {@link #PLACEHOLDER}s. */
    String neutralise(String text) {
        if (!containsSpecial(text)) {
            return text;
        }
        char[] chars = text.toCharArray();
        for (Span s : find(text)) {
            Arrays.fill(chars, s.start(), s.end(), PLACEHOLDER);
        }
        return new String(chars);
    }

    /**
     * The special-token occurrences in {@code rendered} that the template produced, given {@code shadow}: the same
     * template rendered with {@link #neutralise neutralised} messages.
     *
     * @param where names the template, for the error
     * @throws SpeculaException when the two renders are not the same text apart from special tokens from messages
     *                          (the template changes what it renders depending on special-token text in a message)
     */
    List<Span> fromTemplate(String rendered, String shadow, String where) {
        List<Span> all = find(rendered);
        List<Span> template = new ArrayList<>();
        boolean consistent = rendered.length() == shadow.length();
        int checked = 0;
        for (Span s : all) {
            if (!consistent) {
                break;
            }
            // Outside occurrences, both renders must be the same text.
            consistent = rendered.regionMatches(checked, shadow, checked, s.start() - checked);
            if (rendered.regionMatches(s.start(), shadow, s.start(), s.end() - s.start())) {
                template.add(s);
            } else {
                // From a message: the second render has the placeholders there, nothing else.
                for (int i = s.start(); i < s.end() && consistent; i++) {
                    consistent = shadow.charAt(i) == PLACEHOLDER;
                }
            }
            checked = s.end();
        }
        if (consistent) {
            consistent = rendered.regionMatches(checked, shadow, checked, rendered.length() - checked);
        }
        if (!consistent) {
            throw new SpeculaException("prompt: a message contains special-token text and " + where
                    + " renders it in a way that does not tell the template's special tokens from the message's; "
                    + "remove the special-token text from the messages, or set "
                    + "spring.ai.specula.parse-special-tokens-in-messages=true to tokenize it as transformers does");
        }
        return template;
    }

    /**
     * Encodes {@code text} with special-token text as plain text, except at {@code keep}: the occurrences (from
     * {@link #find}) that are the special tokens.
     */
    long[] encode(String text, List<Span> keep, boolean addSpecialTokens) {
        if (text.contains(sentinelMark)) {
            // Only this process knows the mark; text carrying it is refused rather than trusted.
            throw new SpeculaException("prompt: contains a reserved character sequence");
        }
        StringBuilder marked = new StringBuilder(text.length() + keep.size() * 24);
        int from = 0;
        for (Span s : keep) {
            marked.append(text, from, s.start()).append(sentinels.get(s.token()));
            from = s.end();
        }
        marked.append(text, from, text.length());
        Variant v = variant();
        long[] ids = v.tokenizer().encode(marked.toString(), addSpecialTokens, false).getIds();
        for (int i = 0; i < ids.length; i++) {
            ids[i] = v.ids().getOrDefault(ids[i], ids[i]);
        }
        return ids;
    }

    private Variant variant() {
        Variant v = variant;
        if (v == null) {
            synchronized (this) {
                v = variant;
                if (v == null) {
                    variant = v = build();
                }
            }
        }
        return v;
    }

    private Variant build() {
        JsonObject copy = JsonParser.parseString(new String(pipeline, StandardCharsets.UTF_8)).getAsJsonObject();
        Map<String, Long> added = new HashMap<>();   // the variant's text of each added token -> its id
        JsonElement tokens = copy.get("added_tokens");
        if (tokens != null && tokens.isJsonArray()) {
            for (JsonElement t : tokens.getAsJsonArray()) {
                JsonObject o = t.getAsJsonObject();
                String sentinel = sentinels.get(o.get("content").getAsString());
                if (sentinel != null && special.test(o.get("id").getAsInt())) {
                    o.addProperty("content", sentinel);
                }
                added.put(o.get("content").getAsString(), o.get("id").getAsLong());
            }
        }
        Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(copy.toString().getBytes(StandardCharsets.UTF_8)), options);
        } catch (IOException e) {
            throw new IllegalStateException("tokenizer without special-token parsing: " + e.getMessage(), e);
        }
        Map<Long, Long> ids = new HashMap<>();
        for (Map.Entry<String, Long> e : added.entrySet()) {
            long[] got = tokenizer.encode(e.getKey(), false, false).getIds();
            if (got.length != 1) {
                tokenizer.close();
                throw new IllegalStateException("tokenizer without special-token parsing: added token " + e.getValue()
                        + " encodes to " + got.length + " ids");
            }
            if (got[0] != e.getValue()) {
                ids.put(got[0], e.getValue());
            }
        }
        return new Variant(tokenizer, Map.copyOf(ids));
    }

    @Override
    public void close() {
        Variant v = variant;
        if (v != null) {
            v.tokenizer().close();
        }
    }
}
