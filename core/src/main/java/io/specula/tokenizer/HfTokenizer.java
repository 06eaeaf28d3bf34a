package io.specula.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonObject;
import io.specula.model.ModelFormatException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model directory's Hugging Face tokenizer: tokenizer.json run by DJL's binding of the Rust tokenizers library
 * (the same code transformers runs), plus tokenizer_config.json's special tokens and chat template and
 * generation_config.json's end-of-sequence ids. Encodes exactly as transformers' AutoTokenizer does (see
 * {@link TransformersPipeline}); never truncates or pads.
 */
public final class HfTokenizer implements Tokenizer {

    static {
        // DJL "calls home" (an HTTP request) when it creates a tokenizer unless told not to; this engine must not
        // reach the network on its own. An explicit setting by the application wins.
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private final HuggingFaceTokenizer native_;
    private final TokenizerJson json;
    private final TokenizerConfig config;
    private final int bosId;
    private final List<Integer> eosIds;
    private final ChatTemplate chatTemplate;
    private final Set<Integer> classSpecial;
    private final SpecialTokenText specialText;

    private HfTokenizer(HuggingFaceTokenizer nativeTokenizer, TokenizerJson json, TokenizerConfig config) {
        this.native_ = nativeTokenizer;
        this.json = json.withoutTree(); // the parsed file is not kept once the native tokenizer is built
        this.config = config;
        Set<Integer> named = new HashSet<>();
        for (String token : TransformersPipeline.classSpecialTokens(config)) {
            if (json.id(token) >= 0) {
                named.add(json.id(token));
            }
        }
        this.classSpecial = Set.copyOf(named);   // before specialText, which asks isSpecial
        this.specialText = new SpecialTokenText(json.root, this::isSpecial);
        this.bosId = json.id(config.bosToken());
        Set<Integer> eos = new LinkedHashSet<>();
        int configEos = json.id(config.eosToken());
        if (configEos >= 0) {
            eos.add(configEos);
        }
        eos.addAll(config.generationEosIds());
        this.eosIds = List.copyOf(eos);
        this.chatTemplate = config.chatTemplate() == null ? null
                : new JinjavaChatTemplate(config.chatTemplate(), config.chatTemplateSource(), config.bosToken(),
                        config.eosToken(), JinjavaChatTemplate.Limits.DEFAULT, java.time.Clock.systemDefaultZone());
    }

    /**
     * Loads {@code dir/tokenizer.json} (required) with the optional tokenizer_config.json and
     * generation_config.json beside it.
     *
     * @throws ModelFormatException when tokenizer.json is missing or malformed, or a config field has the wrong type
     */
    public static HfTokenizer load(Path dir) {
        return create(TokenizerJson.read(dir), TokenizerConfig.read(dir));
    }

    /**
     * A tokenizer from a tokenizer.json and a tokenizer_config.json held in memory (a GGUF file's vocabulary, see
     * io.specula.gguf.GgufTokenizer), with the end-of-sequence ids a generation_config.json would give.
     *
     * @param file names the source in errors
     */
    public static HfTokenizer load(Path file, JsonObject tokenizerJson, JsonObject tokenizerConfig,
                                   List<Integer> generationEosIds) {
        return create(TokenizerJson.of(file, tokenizerJson), TokenizerConfig.of(file, tokenizerConfig,
                generationEosIds));
    }

    private static HfTokenizer create(TokenizerJson json, TokenizerConfig config) {
        String pipeline = TransformersPipeline.adapt(json.root, config).toString();
        // Truncation and padding are DJL defaults (to 512 tokens!) that must be off; special tokens are per call.
        Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(pipeline.getBytes(StandardCharsets.UTF_8)), options);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(json.file, "rejected by the tokenizers library: " + e.getMessage(), e);
        }
        try {
            return new HfTokenizer(tokenizer, json, config);
        } catch (RuntimeException e) {
            tokenizer.close();  // e.g. a chat template nested deeper than the limit
            throw e;
        }
    }

    @Override
    public int[] encode(String text) {
        return encode(text, true);
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = native_.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens, boolean parseSpecialTokens) {
        if (parseSpecialTokens || !specialText.containsSpecial(text)) {
            return encode(text, addSpecialTokens);
        }
        return toInts(specialText.encode(text, List.of(), addSpecialTokens));
    }

    /**
     * See {@link Tokenizer#encodeChat}. Without special-token parsing in messages, a conversation whose messages hold
     * no special-token text is encoded as transformers encodes it (one render, one encode); otherwise
     * {@link SpecialTokenText} tells the template's special tokens from the messages' (a second render) and encodes
     * the latter as text.
     */
    @Override
    public int[] encodeChat(List<ChatMessage> messages, boolean addGenerationPrompt,
                            boolean parseSpecialTokensInMessages) {
        return encodeChat(messages, List.of(), addGenerationPrompt, parseSpecialTokensInMessages);
    }

    @Override
    public int[] encodeChat(List<ChatMessage> messages, List<ChatTool> tools, boolean addGenerationPrompt,
                            boolean parseSpecialTokensInMessages) {
        if (chatTemplate == null) {
            throw new IllegalStateException("the tokenizer has no chat template");
        }
        String rendered = chatTemplate.render(messages, tools, addGenerationPrompt);
        if (parseSpecialTokensInMessages || messages.stream().noneMatch(m -> specialText.containsSpecial(m.content()))) {
            return encode(rendered, false);
        }
        return encodeTemplateSpecialsOnly(messages, tools, addGenerationPrompt, rendered);
    }

    /** The special-tokens-only-from-the-template encoding, whatever the messages hold (tests force this path). */
    int[] encodeTemplateSpecialsOnly(List<ChatMessage> messages, boolean addGenerationPrompt, String rendered) {
        return encodeTemplateSpecialsOnly(messages, List.of(), addGenerationPrompt, rendered);
    }

    private int[] encodeTemplateSpecialsOnly(List<ChatMessage> messages, List<ChatTool> tools,
                                             boolean addGenerationPrompt, String rendered) {
        List<ChatMessage> neutral = messages.stream()
                .map(m -> new ChatMessage(m.role(), m.content() == null ? null : specialText.neutralise(m.content()),
                        m.toolCalls(), m.toolCallId(), m.name()))
                .toList();
        String shadow = chatTemplate.render(neutral, tools, addGenerationPrompt);
        String where = chatTemplate instanceof JinjavaChatTemplate j ? j.source() : "the chat template";
        return toInts(specialText.encode(rendered, specialText.fromTemplate(rendered, shadow, where), false));
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            checkId(ids[i]);
            longs[i] = ids[i];
        }
        return native_.decode(longs, false);
    }

    @Override
    public int vocabSize() {
        return json.vocabSize();
    }

    @Override
    public String tokenString(int id) {
        checkId(id);
        return json.token(id);
    }

    /**
     * See {@link Tokenizer#tokenBytes}. Byte-level vocabularies (GPT-2's alphabet: Llama 3, Qwen) map each symbol
     * back to its byte; SentencePiece vocabularies turn ▁ into a space and {@code <0xNN>} into its byte; an added
     * token that is not special is its own text. The decoders' context rules (Llama 2's "strip the first space")
     * are not applied: they only remove leading whitespace.
     */
    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        if (isSpecial(id)) {
            return null;
        }
        String token = json.token(id);
        if (token == null) {
            return null;
        }
        if (json.isAdded(id)) {
            return token.getBytes(StandardCharsets.UTF_8);
        }
        if (json.decodesByteFallback() && json.isByteToken(id)) {
            return new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)};
        }
        if (json.decodesByteLevel()) {
            byte[] out = new byte[token.length()];
            for (int i = 0; i < token.length(); i++) {
                int b = ByteLevelAlphabet.byteOf(token.charAt(i));
                if (b < 0) {
                    return token.getBytes(StandardCharsets.UTF_8);
                }
                out[i] = (byte) b;
            }
            return out;
        }
        if (json.decodesMetaspace()) {
            token = token.replace('\u2581', ' ');
        }
        return token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public List<Integer> eosIds() {
        return eosIds;
    }

    @Override
    public boolean isSpecial(int id) {
        return json.isAddedSpecial(id) || Boolean.TRUE.equals(config.addedTokensSpecial().get(id))
                || classSpecial.contains(id);
    }

    @Override
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public StreamingDetokenizer newStreamingDetokenizer() {
        if (!json.decodesByteFallback()) {
            return new IncrementalDetokenizer(this::decode, id -> false);
        }
        return new IncrementalDetokenizer(this::decode, json::isByteToken);
    }

    @Override
    public void close() {
        specialText.close();
        native_.close();
    }

    private void checkId(int id) {
        if (id < 0 || id >= json.vocabSize()) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + json.vocabSize() + ")");
        }
    }
}
