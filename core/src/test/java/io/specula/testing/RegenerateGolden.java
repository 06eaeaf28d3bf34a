package io.specula.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.internal.LazilyParsedNumber;
import io.specula.testing.GoldenFixtures.Conversation;
import io.specula.testing.GoldenFixtures.Fixture;
import io.specula.model.ModelConfig;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Regenerates every golden file from Hugging Face transformers (run through the shared hf-reference tool); started by
 * {@code scripts/regenerate-golden.sh}, see docs/testing.md.
 *
 * <pre>
 *   java -cp ... io.specula.testing.RegenerateGolden --tool /path/to/hf-reference/run.sh \
 *       --work core/target/golden-fixtures --out core/src/test/resources/golden [--reference "transformers x"] [NAME...]
 * </pre>
 *
 * For each {@link GoldenFixtures} fixture it writes the model directory under {@code --work}, asks transformers for
 * greedy ids ({@code greedy}), one forward pass over the prompt plus those ids ({@code logits}: the logits at the
 * prompt positions, the argmax and top-2 gap at every position), the tokenizer's ids for each string
 * ({@code tokenize}) and the rendered chat conversations ({@code chat}), and writes {@code <out>/<name>/model.json},
 * {@code tokenizer.json} and {@code chat.json}. Logits and gaps are rounded to {@value #DIGITS} significant digits.
 */
public final class RegenerateGolden {

    /** Significant digits kept for logits and gaps: a relative rounding error of 5e-6, far below the tolerances. */
    public static final int DIGITS = 6;

    private final Path tool;
    private final String reference;

    private RegenerateGolden(Path tool, String reference) {
        this.tool = tool;
        this.reference = reference;
    }

    public static void main(String[] args) throws Exception {
        Path tool = null;
        Path work = Path.of("core/target/golden-fixtures");
        Path out = Path.of("core/src/test/resources/golden");
        String reference = "transformers (hf-reference)";
        List<String> names = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tool" -> tool = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--reference" -> reference = args[++i];
                default -> names.add(args[i]);
            }
        }
        if (tool == null) {
            throw new IllegalArgumentException("usage: RegenerateGolden --tool run.sh [--work DIR] [--out DIR] "
                    + "[--reference TEXT] [FIXTURE...]");
        }
        List<Fixture> fixtures = names.isEmpty() ? GoldenFixtures.all()
                : names.stream().map(GoldenFixtures::named).toList();
        RegenerateGolden r = new RegenerateGolden(tool, reference);
        for (Fixture f : fixtures) {
            long t0 = System.nanoTime();
            r.regenerate(f, work.toAbsolutePath().resolve(f.name()), out.resolve(f.name()));
            System.out.printf("%s: done in %.0f s%n", f.name(), (System.nanoTime() - t0) / 1e9);
        }
    }

    private void regenerate(Fixture f, Path dir, Path out) throws IOException, InterruptedException {
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        f.writeTo(dir);
        Files.createDirectories(out);
        String d = dir.toString();

        int[] prompt = f.prompt();
        String greedyOut = run("greedy", d, "--prompt-ids", csv(prompt), "--n",
                String.valueOf(GoldenFixtures.GREEDY_TOKENS));
        int[] greedy = Arrays.stream(greedyOut.lines().findFirst().orElseThrow().trim().split(" "))
                .mapToInt(Integer::parseInt).toArray();
        if (greedy.length != GoldenFixtures.GREEDY_TOKENS) {
            throw new IllegalStateException(f.name() + ": greedy gave " + greedy.length + " ids: " + greedyOut);
        }
        // One pass over prompt + all greedy ids but the last: the logits that chose each greedy id.
        int p = prompt.length;
        JsonObject lg = forcedPass(d, prompt, greedy);
        // A longrope model whose decoding crosses original_max_position_embeddings (the prompt below it): one pass over
        // everything uses the long factors for every position, while the steps before the switch use the short ones.
        // And transformers 5.12.1's generate loses the whole context at the switch (Phi3ForCausalLM drops its cache
        // there and then feeds only the new token), so the greedy ids past it are taken from full forward passes, as
        // transformers' forward computes them: each is the argmax after the ids before it (docs/testing.md).
        ModelConfig config = ModelConfig.read(dir);
        int switchAt = config.longRope() == null ? Integer.MAX_VALUE
                : config.longRope().originalMaxPositionEmbeddings();
        boolean crosses = switchAt >= p && p + greedy.length - 1 > switchAt;
        JsonObject shortLg = null;
        String greedySource = "generate(do_sample=False)";
        if (crosses) {
            int first = switchAt - p + 1;   // the first step whose logits follow position switchAt or later
            for (int fixes = 0; ; fixes++) {
                JsonArray argmax = lg.getAsJsonArray("argmax");
                int bad = -1;
                for (int i = first; i < greedy.length && bad < 0; i++) {
                    if (argmax.get(p - 1 + i).getAsInt() != greedy[i]) {
                        bad = i;
                    }
                }
                if (bad < 0) {
                    System.out.printf("%s: greedy ids past the longrope switch (step %d on) fixed from full passes "
                            + "in %d passes%n", f.name(), first, fixes);
                    break;
                }
                greedy[bad] = argmax.get(p - 1 + bad).getAsInt();
                lg = forcedPass(d, prompt, greedy);
            }
            shortLg = JsonParser.parseString(run("logits", d, "--prompt-ids",
                    csv(Arrays.copyOf(concat(prompt, greedy), switchAt))).trim()).getAsJsonObject();
            greedySource = "generate(do_sample=False) up to step " + (first - 1) + ", then full forward passes "
                    + "(transformers' generate loses the context at the longrope switch)";
        }
        JsonArray argmax = rows(lg, shortLg, switchAt, "argmax");
        JsonArray gaps = rows(lg, shortLg, switchAt, "top2_gap");
        JsonArray rows = rows(lg, shortLg, switchAt, "logits");
        for (int i = 0; i < greedy.length; i++) {
            if (argmax.get(p - 1 + i).getAsInt() != greedy[i]) {
                // Incremental decoding and one full pass disagree only at a near tie; the test tolerates it there.
                System.out.printf("%s: note: step %d: greedy %d, full-pass argmax %d (gap %s)%n", f.name(), i,
                        greedy[i], argmax.get(p - 1 + i).getAsInt(), gaps.get(p - 1 + i));
            }
        }

        JsonObject model = new JsonObject();
        model.addProperty("fixture", f.name());
        model.addProperty("description", f.description());
        model.addProperty("reference", reference);
        model.addProperty("transformers_class", lg.get("model").getAsString());
        model.addProperty("computed_in", lg.get("dtype").getAsString());
        model.addProperty("fingerprint", GoldenFixtures.fingerprint(dir));
        model.addProperty("rounding", DIGITS + " significant digits");
        model.add("prompt", ints(prompt));
        model.add("greedy", ints(greedy));
        if (crosses) {
            model.addProperty("greedy_source", greedySource);
        }
        JsonArray greedyGaps = new JsonArray();
        for (int i = 0; i < greedy.length; i++) {
            greedyGaps.add(round(gaps.get(p - 1 + i).getAsDouble()));
        }
        model.add("greedy_top2_gap", greedyGaps);
        JsonArray promptArgmax = new JsonArray();
        JsonArray promptGaps = new JsonArray();
        JsonArray logits = new JsonArray();
        for (int i = 0; i < p; i++) {
            promptArgmax.add(argmax.get(i));
            promptGaps.add(round(gaps.get(i).getAsDouble()));
            JsonArray row = new JsonArray();
            for (JsonElement v : rows.get(i).getAsJsonArray()) {
                row.add(round(v.getAsDouble()));
            }
            logits.add(row);
        }
        model.add("prompt_argmax", promptArgmax);
        model.add("prompt_top2_gap", promptGaps);
        model.add("logits", logits);
        if (crosses) {
            // The whole logit rows at the first steps past the switch (and the last one): the greedy ids alone
            // would let a wrong rotation of the cached positions through as long as no argmax changes.
            int first = switchAt - p + 1;
            JsonArray steps = new JsonArray();
            JsonArray stepRows = new JsonArray();
            for (int i : new int[] {first, first + 1, first + 2, first + 3, greedy.length - 1}) {
                steps.add(i);
                JsonArray row = new JsonArray();
                for (JsonElement v : rows.get(p - 1 + i).getAsJsonArray()) {
                    row.add(round(v.getAsDouble()));
                }
                stepRows.add(row);
            }
            model.add("step_logits_at", steps);
            model.add("step_logits", stepRows);
        }
        write(out.resolve("model.json"), model);

        JsonObject tok = new JsonObject();
        tok.addProperty("fixture", f.name());
        tok.addProperty("reference", reference);
        JsonArray cases = new JsonArray();
        for (String text : f.tokenizerStrings()) {
            cases.add(tokenize(d, text, true));
        }
        for (String text : f.tokenizerStringsWithoutSpecials()) {
            cases.add(tokenize(d, text, false));
        }
        tok.add("cases", cases);
        write(out.resolve("tokenizer.json"), tok);

        if (f.template() != ChatTemplateKind.NONE) {
            JsonObject chat = new JsonObject();
            chat.addProperty("fixture", f.name());
            chat.addProperty("reference", reference);
            JsonArray conv = new JsonArray();
            for (Conversation c : GoldenFixtures.conversations()) {
                JsonArray messages = new JsonArray();
                for (String[] m : c.messages()) {
                    JsonObject o = new JsonObject();
                    o.addProperty("role", m[0]);
                    o.addProperty("content", m[1]);
                    messages.add(o);
                }
                List<String> args = new ArrayList<>(List.of("chat", d, "--messages", messages.toString()));
                if (!c.addGenerationPrompt()) {
                    args.add("--no-generation-prompt");
                }
                JsonObject r = JsonParser.parseString(run(args.toArray(String[]::new)).trim()).getAsJsonObject();
                JsonObject e = new JsonObject();
                e.add("messages", messages);
                e.addProperty("add_generation_prompt", c.addGenerationPrompt());
                e.add("text", r.get("text"));
                e.add("ids", r.get("ids"));
                conv.add(e);
            }
            chat.add("cases", conv);
            write(out.resolve("chat.json"), chat);
        } else {
            Files.deleteIfExists(out.resolve("chat.json"));
        }
    }

    /** transformers' logits over prompt + every greedy id but the last. */
    private JsonObject forcedPass(String dir, int[] prompt, int[] greedy) throws IOException, InterruptedException {
        int[] forced = Arrays.copyOf(concat(prompt, greedy), prompt.length + greedy.length - 1);
        return JsonParser.parseString(run("logits", dir, "--prompt-ids", csv(forced)).trim()).getAsJsonObject();
    }

    /** Field {@code key} per position: from {@code shortPass} below {@code switchAt} when given, else from {@code pass}. */
    private static JsonArray rows(JsonObject pass, JsonObject shortPass, int switchAt, String key) {
        JsonArray all = pass.getAsJsonArray(key);
        if (shortPass == null) {
            return all;
        }
        JsonArray out = new JsonArray();
        JsonArray early = shortPass.getAsJsonArray(key);
        for (int q = 0; q < all.size(); q++) {
            out.add(q < switchAt ? early.get(q) : all.get(q));
        }
        return out;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private JsonObject tokenize(String dir, String text, boolean special) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("tokenize", dir, "--text", text));
        if (!special) {
            args.add("--no-special");
        }
        JsonObject r = JsonParser.parseString(run(args.toArray(String[]::new)).trim()).getAsJsonObject();
        if (!r.get("text").getAsString().equals(text)) {
            throw new IllegalStateException("tokenize: text came back as " + r.get("text") + ", sent " + text);
        }
        JsonObject e = new JsonObject();
        e.addProperty("text", text);
        e.addProperty("add_special_tokens", special);
        e.add("ids", r.get("ids"));
        e.add("tokens", r.get("tokens"));
        e.add("decoded", r.get("decoded"));
        return e;
    }

    private String run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool.toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        String out = readAll(p.getInputStream());
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (" + rc + "):\n" + err.join() + out);
        }
        return out;
    }

    private static String readAll(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String csv(int[] ids) {
        return Arrays.stream(ids).mapToObj(String::valueOf).collect(Collectors.joining(","));
    }

    private static JsonArray ints(int[] ids) {
        JsonArray a = new JsonArray();
        for (int id : ids) {
            a.add(id);
        }
        return a;
    }

    /** {@value #DIGITS} significant digits, written plainly ("-1.23457", "0.000123457", "0"). */
    static JsonPrimitive round(double v) {
        BigDecimal b = new BigDecimal(v).round(new MathContext(DIGITS)).stripTrailingZeros();
        return new JsonPrimitive(new LazilyParsedNumber(b.signum() == 0 ? "0" : b.toPlainString()));
    }

    private static void write(Path file, JsonObject root) throws IOException {
        StringBuilder sb = new StringBuilder();
        pretty(root, sb, "");
        Files.writeString(file, sb.append('\n').toString(), StandardCharsets.UTF_8);
        System.out.println("wrote " + file + " (" + Files.size(file) + " bytes)");
    }

    /** Objects and nested arrays one entry per line; arrays of scalars (an id list, a logit row) on one line. */
    private static void pretty(JsonElement e, StringBuilder sb, String indent) {
        if (e.isJsonObject()) {
            sb.append("{\n");
            String inner = indent + "  ";
            var entries = new ArrayList<>(e.getAsJsonObject().entrySet());
            for (int i = 0; i < entries.size(); i++) {
                sb.append(inner).append(new JsonPrimitive(entries.get(i).getKey())).append(": ");
                pretty(entries.get(i).getValue(), sb, inner);
                sb.append(i + 1 < entries.size() ? ",\n" : "\n");
            }
            sb.append(indent).append('}');
        } else if (e.isJsonArray()) {
            JsonArray a = e.getAsJsonArray();
            boolean flat = true;
            for (JsonElement x : a) {
                flat &= x.isJsonPrimitive() || x.isJsonNull();
            }
            if (flat) {
                sb.append('[');
                for (int i = 0; i < a.size(); i++) {
                    sb.append(i > 0 ? ", " : "").append(scalar(a.get(i)));
                }
                sb.append(']');
            } else {
                sb.append("[\n");
                String inner = indent + "  ";
                for (int i = 0; i < a.size(); i++) {
                    sb.append(inner);
                    pretty(a.get(i), sb, inner);
                    sb.append(i + 1 < a.size() ? ",\n" : "\n");
                }
                sb.append(indent).append(']');
            }
        } else {
            sb.append(scalar(e));
        }
    }

    private static String scalar(JsonElement e) {
        return GSON.toJson(e);
    }

    private static final com.google.gson.Gson GSON =
            new com.google.gson.GsonBuilder().disableHtmlEscaping().serializeNulls().create();
}
