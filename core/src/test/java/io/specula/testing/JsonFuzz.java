package io.specula.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Generators for fuzzing JSON model files (on {@link Fuzz}'s seeded {@link SplittableRandom}): hostile JSON values
 * (wrong types, huge and negative numbers, deep nesting, odd strings) and edits of a valid document (replace, remove
 * or add a value anywhere in its tree), so the fuzzer reaches deep into a parser instead of stopping at its first
 * syntax check.
 */
public final class JsonFuzz {

    private static final List<BigDecimal> NUMBERS = List.of(
            new BigDecimal("-1"), BigDecimal.ZERO, BigDecimal.ONE, new BigDecimal("2"), new BigDecimal("3"),
            new BigDecimal("1.5"), new BigDecimal("-0.0"), new BigDecimal("2147483647"),
            new BigDecimal("2147483648"), new BigDecimal("-2147483649"), new BigDecimal("9007199254740993"),
            new BigDecimal("9223372036854775807"), new BigDecimal("9223372036854775808"),
            new BigDecimal(BigInteger.TEN.pow(400)), new BigDecimal("1e-400"), new BigDecimal("1e308"),
            new BigDecimal("-1e308"), new BigDecimal("65536"), new BigDecimal("16000001"));

    private static final List<String> STRINGS = List.of(
            "", " ", "null", "NaN", "Infinity", "-1", "1e999", "F32", "BF16", "f16", "I64",
            "LlamaForCausalLM", "Qwen2ForCausalLM", "llama3", "linear", "dynamic", "yarn", "<s>", "</s>",
            "<|im_end|>", "{{ messages }}", "{% for m in messages %}{{ m }}{% endfor %}",
            "{% raw %}", "{{", "\u0000", "\uFFFF", "\uD800", "../../etc/passwd", "x".repeat(10_000));

    private JsonFuzz() {
    }

    /** One edit of a JSON tree: {@code kind} 0 replaces, 1 removes, 2 adds beside, 3 wraps in an array. */
    public record Edit(int where, int kind, JsonElement value) {
        @Override
        public String toString() {
            return "Edit[where=" + where + ", kind=" + kind + ", value=" + Fuzz.describe(value.toString()) + "]";
        }
    }

    /**
     * A value a parser must refuse politely: a number (3 in 14), an int (3), a string (3), a literal or empty
     * container (2), an array of those (2), or deep nesting (1).
     */
    public static JsonElement hostileValue(SplittableRandom r) {
        int pick = r.nextInt(14);
        if (pick < 3) {
            return number(r);
        } else if (pick < 6) {
            return integer(r);
        } else if (pick < 9) {
            return string(r);
        } else if (pick < 11) {
            return literal(r);
        } else if (pick < 13) {
            JsonArray a = new JsonArray();
            int n = Fuzz.length(r, 0, 5);
            for (int i = 0; i < n; i++) {
                a.add(switch (r.nextInt(4)) {
                    case 0 -> number(r);
                    case 1 -> integer(r);
                    case 2 -> string(r);
                    default -> literal(r);
                });
            }
            return a;
        } else {
            return deep(Fuzz.intBetween(r, 1, 600));
        }
    }

    private static JsonElement number(SplittableRandom r) {
        return new JsonPrimitive(Fuzz.oneOf(r, NUMBERS));
    }

    private static JsonElement integer(SplittableRandom r) {
        return new JsonPrimitive(Fuzz.intBetween(r, -3, 70_000));
    }

    private static JsonElement string(SplittableRandom r) {
        return new JsonPrimitive(r.nextBoolean() ? Fuzz.oneOf(r, STRINGS) : Fuzz.string(r, 20));
    }

    private static JsonElement literal(SplittableRandom r) {
        return switch (r.nextInt(5)) {
            case 0 -> JsonNull.INSTANCE;
            case 1 -> new JsonPrimitive(true);
            case 2 -> new JsonPrimitive(false);
            case 3 -> new JsonArray();
            default -> new JsonObject();
        };
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

    /** One to {@code maxEdits} edits, each at a random node of the tree. */
    public static List<Edit> edits(SplittableRandom r, int maxEdits) {
        return Fuzz.listOf(r, 1, maxEdits,
                x -> new Edit(Fuzz.intBetween(x, 0, Integer.MAX_VALUE), x.nextInt(4), hostileValue(x)));
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
