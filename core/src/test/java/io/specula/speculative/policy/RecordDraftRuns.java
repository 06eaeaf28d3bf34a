package io.specula.speculative.policy;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Records, for greedy decoding of each prompt, how many tokens a greedy drafter gets right from each output position:
 * {@code RecordDraftRuns TARGET DRAFTER PROMPTS OUT [MAX_TOKENS]}. Greedy acceptance is a property of the text, not of
 * the draft lengths chosen: a draft of γ tokens starting after output token k is accepted for min(γ, run(k)) tokens,
 * where run(k) is the length of the drafter's greedy continuation of prompt + output[0..k) that equals output[k..].
 * {@link PolicySimulator} replays these runs, so a simulation sees the text's easy and hard passages as they come
 * (acceptance is strongly correlated from one step to the next), not independent draws per position. Writes lines of
 * <pre>
 *   request PROMPT_TOKENS run(1) run(2) ... run(n−1)     (runs capped at {@value #MAX_RUN})
 * </pre>
 */
public final class RecordDraftRuns {

    static final int MAX_RUN = 8;

    private RecordDraftRuns() {
    }

    public static void main(String[] args) throws IOException {
        int maxTokens = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        try (LoadedModel target = ModelLoader.load(Path.of(args[0]), "cpu", "auto", "auto");
             LoadedModel drafter = ModelLoader.load(Path.of(args[1]), "cpu", "auto", "auto");
             PrintWriter out = new PrintWriter(Files.newBufferedWriter(Path.of(args[3])))) {
            List<String> prompts = Files.readAllLines(Path.of(args[2])).stream().map(String::strip)
                    .filter(s -> !s.isEmpty()).toList();
            out.printf("# %s + %s, greedy, %d tokens per prompt, recorded by RecordDraftRuns from %s%n",
                    target.name(), drafter.name(), maxTokens, args[2]);
            for (String p : prompts) {
                int[] prompt = target.tokenizer().encode(p);
                int[] output = greedy(target.model(), prompt, maxTokens, target.eosIds());
                StringBuilder line = new StringBuilder("request " + prompt.length);
                try (KvCache cache = drafter.model().newCache(prompt.length + maxTokens + MAX_RUN + 1)) {
                    drafter.model().forward(prompt, cache, 1);
                    for (int k = 1; k < output.length; k++) {
                        line.append(' ').append(run(drafter.model(), cache, output, k));
                    }
                }
                out.println(line);
            }
        }
    }

    /**
     * The drafter's greedy run from output position k. On entry the cache holds prompt + output[0..k−1); on exit
     * prompt + output[0..k), ready for k + 1.
     */
    static int run(CausalLm drafter, KvCache cache, int[] output, int k) {
        int[] token = {output[k - 1]};
        int kept = cache.length() + 1;
        int run = 0;
        while (run < MAX_RUN && k + run < output.length) {
            int next = argmax(drafter.forward(token, cache, 1)[0]);
            if (next != output[k + run]) {
                break;
            }
            token[0] = next;
            run++;
        }
        if (cache.length() < kept) {
            drafter.forward(token, cache, 1);
        }
        cache.truncate(kept);
        return run;
    }

    static int[] greedy(CausalLm model, int[] prompt, int maxTokens, List<Integer> eos) {
        int[] out = new int[maxTokens];
        int n = 0;
        try (KvCache cache = model.newCache(prompt.length + maxTokens + 1)) {
            float[] logits = model.forward(prompt, cache, 1)[0];
            while (n < maxTokens) {
                int t = argmax(logits);
                out[n++] = t;
                if (eos.contains(t)) {
                    break;
                }
                logits = model.forward(new int[] {t}, cache, 1)[0];
            }
        }
        return Arrays.copyOf(out, n);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
