package io.specula.gguf;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.JllamaAccess;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.LogFormat;
import de.kherud.llama.args.PoolingType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * llama.cpp (through java-llama.cpp's JNI binding, which embeds llama.cpp's server code) as an oracle. Its API is
 * text in, text out: token ids go in as a JSON array prompt ({@link JllamaAccess#promptIds}), and come back through an
 * "id vocabulary" ({@link #useIdVocabulary}) in which every token's text is its id, so the generated text spells the
 * ids. The network (every tensor and hyperparameter) is what the exporter wrote; only the token strings differ.
 */
public final class LlamaCpp implements AutoCloseable {

    /** The one token whose text stays a real byte token: llama.cpp's SentencePiece vocabulary needs "<0x0A>". */
    static final String LINEFEED = "<0x0A>";
    private static final Pattern TOKEN = Pattern.compile("\\[(\\d+)]|<0x0A>");

    static {
        // The native library goes to target/, not a /tmp shared with other users; no log chatter in test output.
        if (System.getProperty("de.kherud.llama.tmpdir") == null) {
            Path dir = Path.of("target", "jllama").toAbsolutePath();
            dir.toFile().mkdirs();
            System.setProperty("de.kherud.llama.tmpdir", dir.toString());
        }
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> {
            if (Boolean.getBoolean("specula.llamacpp.log")) {
                System.err.print("[llama.cpp " + level + "] " + msg);
            }
        });
    }

    private final LlamaModel model;
    private final int linefeedId;

    /**
     * Loads {@code gguf} with {@code threads} threads and a context of {@code context} positions, a float32 KV cache
     * (llama.cpp's default is float16), and embeddings of the last position on, for {@link #hiddenDirection}.
     */
    public LlamaCpp(Path gguf, int threads, int context, int linefeedId) {
        this(new ModelParameters().setModel(gguf.toString()).setThreads(threads).setThreadsBatch(threads)
                .setCtxSize(context).setGpuLayers(0).setParallel(1).setCacheTypeK(CacheType.F32)
                .setCacheTypeV(CacheType.F32).enableEmbedding().setPoolingType(PoolingType.LAST).disableLog(), linefeedId);
    }

    public LlamaCpp(ModelParameters params, int linefeedId) {
        this.model = new LlamaModel(params);
        this.linefeedId = linefeedId;
    }

    /**
     * Replaces the token strings with their ids ("[17]"), all of type user-defined, no BOS added, as a {@code llama} vocabulary; returns
     * the id that got the text "<0x0A>" (the original newline byte token if there is one, else 0).
     */
    public static int useIdVocabulary(GgufWriter w) {
        @SuppressWarnings("unchecked")
        List<String> tokens = (List<String>) w.metadata().get("tokenizer.ggml.tokens").value();
        int lf = Math.max(0, tokens.indexOf(LINEFEED));
        List<String> ids = new ArrayList<>(tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            ids.add(i == lf ? LINEFEED : "[" + i + "]");
        }
        // User-defined: llama.cpp matches them in text before anything else, so "[5][17]" reads as ids 5 and 17.
        int[] types = new int[tokens.size()];
        Arrays.fill(types, GgufVocabulary.TOKEN_USER_DEFINED);
        w.putString("tokenizer.ggml.model", "llama");
        w.putString("tokenizer.ggml.pre", "default");
        w.putStrings("tokenizer.ggml.tokens", ids);
        w.putFloat32s("tokenizer.ggml.scores", new float[tokens.size()]);
        w.putInt32s("tokenizer.ggml.token_type", types);
        w.remove("tokenizer.ggml.merges");
        w.putBool("tokenizer.ggml.add_bos_token", false);
        w.remove("tokenizer.chat_template");
        return lf;
    }

    /** The ids spelled by text in the id vocabulary. */
    public int[] parse(String text) {
        Matcher m = TOKEN.matcher(text);
        List<Integer> out = new ArrayList<>();
        int at = 0;
        while (m.find()) {
            if (m.start() != at) {
                throw new IllegalStateException("unexpected text at " + at + " in " + text);
            }
            out.add(m.group(1) == null ? linefeedId : Integer.parseInt(m.group(1)));
            at = m.end();
        }
        if (at != text.length()) {
            throw new IllegalStateException("unexpected text at " + at + " in " + text);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Greedy request: temperature 0, end-of-sequence banned (ignore_eos), no prompt cache between requests. */
    public static InferenceParameters greedy(int[] prompt, int maxTokens) {
        InferenceParameters p = new InferenceParameters("").setNPredict(maxTokens).setTemperature(0f)
                .setIgnoreEos(true).setCachePrompt(false).setSeed(0);
        return JllamaAccess.promptIds(p, prompt);
    }

    /** Greedy continuation of {@code prompt}: exactly {@code maxTokens} ids. */
    public int[] generate(int[] prompt, int maxTokens) {
        return parse(model.complete(greedy(prompt, maxTokens)));
    }

    /**
     * The probabilities llama.cpp reports for the first generated token: softmax over the full logits, top
     * {@code n} (n_probs, taken before sampling), keyed by id.
     */
    public Map<Integer, Float> firstProbabilities(int[] prompt, int n) {
        InferenceParameters p = greedy(prompt, 1).setNProbs(n);
        Map<Integer, Float> out = new HashMap<>();
        for (LlamaOutput o : model.generate(p)) {
            for (Map.Entry<String, Float> e : JllamaAccess.probabilities(o).entrySet()) {
                int[] id = parse(e.getKey());
                out.put(id[0], e.getValue());
            }
        }
        return out;
    }

    /** The prompt as id-vocabulary text: "[5][17]...". */
    public String text(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(id == linefeedId ? LINEFEED : "[" + id + "]");
        }
        return sb.toString();
    }

    /**
     * The direction of the final hidden state after the last prompt token (after the output norm: what llama.cpp
     * multiplies by the output matrix to get the logits), as a unit vector. java-llama.cpp exposes no logits (its
     * n_probs parsing aborts the JVM with llama.cpp b4916's JSON: GGML_ASSERT(it != m_data.m_value.object->end())),
     * and its embeddings are the state of the first position, or with pooling, L2-normalized: so the direction of
     * the last position's state is what can be had.
     */
    public float[] hiddenDirection(int[] prompt) {
        return model.embed(text(prompt));
    }

    public LlamaModel model() {
        return model;
    }

    @Override
    public void close() {
        model.close();
    }
}
