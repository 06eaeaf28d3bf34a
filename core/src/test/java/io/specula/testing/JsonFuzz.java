package io.specula.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * jqwik generators for fuzzing JSON model files: hostile JSON values (wrong types, huge and negative numbers, deep
 * nesting, odd strings) and edits of a valid document (replace, remove or add a value anywhere in its tree), so the
 * fuzzer reaches deep into a parser instead of stopping at its first syntax check.
 */
public final class JsonFuzz {

    private JsonFuzz() {
    }

    /** One edit of a JSON tree: {@code kind} 0 replaces, 1 removes, 2 adds beside, 3 wraps in an array. */
    public record Edit(int where, int kind, JsonElement value) {
    }

    /** Values a parser must refuse politely. */
    public static Arbitrary<JsonElement> hostileValues() {
        Arbitrary<JsonElement> numbers = Arbitraries.of(
                new BigDecimal("-1"), BigDecimal.ZERO, BigDecimal.ONE, new BigDecimal("2"), new BigDecimal("3"),
                new BigDecimal("1.5"), new BigDecimal("-0.0"), new BigDecimal("2147483647"),
                new BigDecimal("2147483648"), new BigDecimal("-2147483649"), new BigDecimal("9007199254740993"),
                new BigDecimal("9223372036854775807"), new BigDecimal("9223372036854775808"),
                new BigDecimal(BigInteger.TEN.pow(400)), new BigDecimal("1e-400"), new BigDecimal("1e308"),
                new BigDecimal("-1e308"), new BigDecimal("65536"), new BigDecimal("16000001"))
            .map(JsonPrimitive::new);
        Arbitrary<JsonElement> ints = Arbitraries.integers().between(-3, 70_000).map(JsonPrimitive::new);
        Arbitrary<JsonElement> strings = Arbitraries.oneOf(
                Arbitraries.of("", " ", "null", "NaN", "Infinity", "-1", "1e999", "F32", "BF16", "f16", "I64",
                        "LlamaForCausalLM", "Qwen2ForCausalLM", "llama3", "linear", "dynamic", "yarn", "<s>", "</s>",
                        "<|im_end|>", "{{ messages }}", "{% for m in messages %}{{ m }}{% endfor %}",
                        "{% raw %}", "{{", "\u0000", "\uFFFF", "\uD800", "../../etc/passwd", "x".repeat(10_000))
                    .map(s -> (JsonElement) new JsonPrimitive(s)),
                Arbitraries.strings().ofMaxLength(20).map(s -> (JsonElement) new JsonPrimitive(s)));
        Arbitrary<JsonElement> literals = Arbitraries.of(JsonNull.INSTANCE, new JsonPrimitive(true),
                new JsonPrimitive(false), new JsonArray(), new JsonObject());
        Arbitrary<JsonElement> nested = Arbitraries.integers().between(1, 600).map(JsonFuzz::deep);
        Arbitrary<JsonElement> arrays = Arbitraries.oneOf(numbers, ints, strings, literals).list().ofMaxSize(5)
            .map(list -> {
                JsonArray a = new JsonArray();
                list.forEach(a::add);
                return a;
            });
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, numbers), net.jqwik.api.Tuple.of(3, ints), net.jqwik.api.Tuple.of(3, strings),
                net.jqwik.api.Tuple.of(2, literals), net.jqwik.api.Tuple.of(2, arrays),
                net.jqwik.api.Tuple.of(1, nested));
    }

    /** Nesting {@code depth} levels deep: [[[ ... ]]] or {"a":{"a": ...}}. */
    static JsonElement deep(int depth) {
        JsonElement e = new JsonPrimitive(1);
        for (int i = 0; i < depth; i++) {
            if (i % 2 == 0) {
                JsonArray a = new JsonArray();
                a.add(e);
                e = a;
            } else {
                JsonObject o = new JsonObject();
                o.add("a", e);
                e = o;
            }
        }
        return e;
    }

    public static Arbitrary<List<Edit>> edits(int maxEdits) {
        return Combinators.combine(Arbitraries.integers().between(0, Integer.MAX_VALUE),
                        Arbitraries.integers().between(0, 3), hostileValues())
            .as(Edit::new).list().ofMinSize(1).ofMaxSize(maxEdits);
    }

    /** A copy of {@code document} with the edits applied, each at the {@code where}-th node (modulo the count). */
    public static JsonElement apply(String document, List<Edit> edits) {
        JsonElement root = JsonParser.parseString(document);
        for (Edit edit : edits) {
            List<Slot> slots = new ArrayList<>();
            collect(root, slots, 0);
            if (slots.isEmpty()) {
                break;
            }
            Slot slot = slots.get(edit.where() % slots.size());
            slot.apply(edit);
        }
        return root;
    }

    /** A place in the tree: a key of an object or an index of an array. */
    private record Slot(JsonElement parent, String key, int index) {
        void apply(Edit edit) {
            JsonElement value = edit.value().deepCopy();
            if (parent instanceof JsonObject o) {
                switch (edit.kind()) {
                    case 0 -> o.add(key, value);
                    case 1 -> o.remove(key);
                    case 2 -> o.add(key + "_x", value);
                    default -> {
                        JsonArray wrap = new JsonArray();
                        wrap.add(o.get(key));
                        o.add(key, wrap);
                    }
                }
            } else if (parent instanceof JsonArray a) {
                switch (edit.kind()) {
                    case 0 -> a.set(index, value);
                    case 1 -> a.remove(index);
                    case 2 -> a.add(value);
                    default -> {
                        JsonArray wrap = new JsonArray();
                        wrap.add(a.get(index));
                        a.set(index, wrap);
                    }
                }
            }
        }
    }

    private static void collect(JsonElement e, List<Slot> slots, int depth) {
        if (depth > 8 || slots.size() > 20_000) {
            return;
        }
        if (e instanceof JsonObject o) {
            for (String key : new ArrayList<>(o.keySet())) {
                slots.add(new Slot(o, key, -1));
                collect(o.get(key), slots, depth + 1);
            }
        } else if (e instanceof JsonArray a) {
            for (int i = 0; i < a.size(); i++) {
                slots.add(new Slot(a, null, i));
                collect(a.get(i), slots, depth + 1);
            }
        }
    }
}
