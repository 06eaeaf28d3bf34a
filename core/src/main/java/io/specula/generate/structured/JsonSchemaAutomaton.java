package io.specula.generate.structured;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import dk.brics.automaton.Automaton;
import dk.brics.automaton.BasicAutomata;
import dk.brics.automaton.BasicOperations;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON schema into a finite automaton over bytes that accepts exactly the JSON texts this engine lets a
 * constrained request produce: valid JSON, valid for the schema, in a canonical shape. The automaton is built with
 * dk.brics.automaton's operations (concatenation, union, bounded repetition) and made a DFA there; each of its
 * characters is one byte (0..255) of the UTF-8 output, so the tokens' bytes can be run through it directly.
 *
 * <p>What the JSON may look like, beyond the schema:
 * <ul>
 *   <li>an object has every property of the schema, in the schema's order (as OpenAI's strict mode asks); a map
 *       ({@code additionalProperties} with a schema and no {@code properties}) any string keys;</li>
 *   <li>whitespace between tokens is at most one space, or a newline with up to {@value #MAX_INDENT} spaces or
 *       {@value #MAX_TABS} tabs (pretty-printed JSON fits; endless whitespace does not);</li>
 *   <li>integers have at most 9 digits for {@code format: int32} and 18 otherwise, so that they fit the Java type a
 *       schema generator wrote them for; numbers at most 16 digits before and after the point and a 2-digit exponent;
 *   </li>
 *   <li>strings are well-formed UTF-8 (JSON escapes included); {@code minLength}/{@code maxLength} count characters
 *       and are kept when {@code maxLength} is at most {@value #MAX_BOUNDED_LENGTH}.</li>
 * </ul>
 *
 * <p>Supported keywords: {@code type} (one or a list), {@code properties}, {@code required} (every property is
 * emitted anyway), {@code additionalProperties}, {@code items}, {@code minItems}, {@code maxItems}, {@code enum},
 * {@code const}, {@code anyOf}, {@code oneOf}, a one-element {@code allOf}, {@code $ref} to {@code #/$defs/..} or
 * {@code #/definitions/..} (not recursive), {@code minLength}, {@code maxLength}; annotations ({@code title},
 * {@code description}, {@code format}, {@code $schema}, {@code default}, {@code examples}) are ignored. Anything else
 * that would restrict values ({@code pattern}, {@code minimum}, recursion, ...) is refused with an
 * {@link InvalidSchemaException} naming the keyword and where it is, never silently dropped: the output would not
 * match the schema.
 */
final class JsonSchemaAutomaton {

    static final int MAX_INDENT = 20;
    static final int MAX_TABS = 5;
    static final int MAX_BOUNDED_LENGTH = 256;
    static final int MAX_BOUNDED_ITEMS = 64;

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "format", "$schema", "$id",
            "default", "examples", "$comment", "$defs", "definitions", "readOnly", "writeOnly", "deprecated",
            "required", "additionalProperties", "properties", "items", "type", "enum", "const", "anyOf", "oneOf",
            "allOf", "$ref", "minItems", "maxItems", "minLength", "maxLength", "nullable");

    private final JsonObject root;
    private final Deque<String> refs = new ArrayDeque<>();

    private JsonSchemaAutomaton(JsonObject root) {
        this.root = root;
    }

    /** The DFA of the JSON texts a constrained request may produce for {@code schema}. */
    static Automaton compile(String schema) {
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(schema);
        } catch (JsonSyntaxException e) {
            throw new InvalidSchemaException("", "is not JSON: " + e.getMessage());
        }
        if (!parsed.isJsonObject()) {
            throw new InvalidSchemaException("", "expected a JSON schema object, got " + parsed);
        }
        JsonSchemaAutomaton compiler = new JsonSchemaAutomaton(parsed.getAsJsonObject());
        Automaton a = seq(ws(), compiler.value(parsed, ""), ws());
        // Deterministic, not minimal: brics' Hopcroft minimization of a record's grammar (~2000 states) takes seconds
        // and the DFA works as well unminimized.
        a.determinize();
        return a;
    }

    /** The automaton of one value (an NFA: the whole grammar is determinized once, at the end). */
    private Automaton value(JsonElement schema, String path) {
        if (!schema.isJsonObject()) {
            throw new InvalidSchemaException(path, "expected a schema object, got " + schema
                    + " (boolean schemas allow any value, which has no finite grammar)");
        }
        JsonObject s = schema.getAsJsonObject();
        for (String key : s.keySet()) {
            if (!ANNOTATIONS.contains(key)) {
                throw new InvalidSchemaException(path, "keyword '" + key + "' is not supported by constrained "
                        + "decoding (supported: type, properties, additionalProperties, items, minItems, maxItems, "
                        + "enum, const, anyOf, oneOf, $ref, minLength, maxLength)");
            }
        }
        if (s.has("$ref")) {
            return ref(s.get("$ref").getAsString(), path);
        }
        if (s.has("const")) {
            return literal(s.get("const"));
        }
        if (s.has("enum")) {
            List<Automaton> values = new ArrayList<>();
            for (JsonElement e : s.getAsJsonArray("enum")) {
                values.add(literal(e));
            }
            if (values.isEmpty()) {
                throw new InvalidSchemaException(path + "/enum", "is empty: no value is valid");
            }
            return union(values);
        }
        for (String combinator : List.of("anyOf", "oneOf")) {
            if (s.has(combinator)) {
                List<Automaton> options = new ArrayList<>();
                int i = 0;
                for (JsonElement option : s.getAsJsonArray(combinator)) {
                    options.add(value(option, path + "/" + combinator + "/" + i++));
                }
                return union(options);
            }
        }
        if (s.has("allOf")) {
            var all = s.getAsJsonArray("allOf");
            if (all.size() != 1) {
                throw new InvalidSchemaException(path + "/allOf", "only a one-element allOf is supported");
            }
            return value(all.get(0), path + "/allOf/0");
        }
        JsonElement type = s.get("type");
        if (type == null) {
            if (s.has("properties")) {
                return object(s, path);
            }
            throw new InvalidSchemaException(path, "has no type (nor enum, const, anyOf, oneOf or $ref): any JSON "
                    + "value is allowed there, which constrained decoding cannot bound");
        }
        if (type.isJsonArray()) {
            List<Automaton> options = new ArrayList<>();
            for (JsonElement t : type.getAsJsonArray()) {
                options.add(typed(t.getAsString(), s, path));
            }
            return union(options);
        }
        Automaton a = typed(type.getAsString(), s, path);
        if (s.has("nullable") && s.get("nullable").getAsBoolean()) {
            a = union(List.of(a, ascii("null")));
        }
        return a;
    }

    private Automaton typed(String type, JsonObject s, String path) {
        return switch (type) {
            case "object" -> object(s, path);
            case "array" -> array(s, path);
            case "string" -> string(s, path);
            case "integer" -> integer(s);
            case "number" -> number();
            case "boolean" -> union(List.of(ascii("true"), ascii("false")));
            case "null" -> ascii("null");
            default -> throw new InvalidSchemaException(path + "/type", "unknown type '" + type + "'");
        };
    }

    private Automaton ref(String ref, String path) {
        String name;
        JsonObject defs;
        if (ref.startsWith("#/$defs/")) {
            name = ref.substring("#/$defs/".length());
            defs = root.has("$defs") ? root.getAsJsonObject("$defs") : null;
        } else if (ref.startsWith("#/definitions/")) {
            name = ref.substring("#/definitions/".length());
            defs = root.has("definitions") ? root.getAsJsonObject("definitions") : null;
        } else if (ref.equals("#")) {
            throw new InvalidSchemaException(path + "/$ref", "the schema refers to itself: recursive schemas have no "
                    + "finite grammar");
        } else {
            throw new InvalidSchemaException(path + "/$ref", "only local references #/$defs/NAME or "
                    + "#/definitions/NAME are supported, got '" + ref + "'");
        }
        if (defs == null || !defs.has(name)) {
            throw new InvalidSchemaException(path + "/$ref", "'" + ref + "' names no definition");
        }
        if (refs.contains(ref)) {
            throw new InvalidSchemaException(path + "/$ref", "'" + ref + "' is recursive: recursive schemas have no "
                    + "finite grammar");
        }
        refs.push(ref);
        try {
            return value(defs.get(name), ref.substring(1));
        } finally {
            refs.pop();
        }
    }

    private Automaton object(JsonObject s, String path) {
        JsonElement additional = s.get("additionalProperties");
        JsonObject properties = s.has("properties") ? s.getAsJsonObject("properties") : new JsonObject();
        if (properties.size() == 0 && additional != null && additional.isJsonObject()) {
            // A map: any string keys, each with a value of the additional properties' schema.
            Automaton entry = seq(string(new JsonObject(), path), ws(), ascii(":"), ws(),
                    value(additional, path + "/additionalProperties"));
            Automaton more = seq(ws(), ascii(","), ws(), entry).repeat();
            return seq(ascii("{"), ws(), seq(entry, more).optional(), ws(), ascii("}"));
        }
        List<Automaton> parts = new ArrayList<>();
        parts.add(ascii("{"));
        parts.add(ws());
        boolean first = true;
        for (Map.Entry<String, JsonElement> property : properties.entrySet()) {
            if (!first) {
                parts.add(ws());
                parts.add(ascii(","));
                parts.add(ws());
            }
            first = false;
            parts.add(bytes(GSON.toJson(property.getKey())));
            parts.add(ws());
            parts.add(ascii(":"));
            parts.add(ws());
            parts.add(value(property.getValue(), path + "/properties/" + property.getKey()));
        }
        parts.add(ws());
        parts.add(ascii("}"));
        return seq(parts);
    }

    private Automaton array(JsonObject s, String path) {
        if (!s.has("items")) {
            throw new InvalidSchemaException(path, "an array needs 'items' (a schema of its elements)");
        }
        Automaton item = value(s.get("items"), path + "/items");
        int min = s.has("minItems") ? s.get("minItems").getAsInt() : 0;
        int max = s.has("maxItems") ? s.get("maxItems").getAsInt() : -1;
        if (max >= 0 && max < min) {
            throw new InvalidSchemaException(path, "maxItems " + max + " < minItems " + min);
        }
        if (max > MAX_BOUNDED_ITEMS || min > MAX_BOUNDED_ITEMS) {
            throw new InvalidSchemaException(path, "minItems/maxItems above " + MAX_BOUNDED_ITEMS
                    + " are not supported");
        }
        Automaton next = seq(ws(), ascii(","), ws(), item);
        Automaton items;
        if (max == 0) {
            items = BasicAutomata.makeEmptyString();
        } else {
            Automaton rest = max < 0 ? next.repeat(Math.max(0, min - 1)) : next.repeat(Math.max(0, min - 1), max - 1);
            items = seq(item, rest);
            if (min == 0) {
                items = items.optional();
            }
        }
        return seq(ascii("["), ws(), items, ws(), ascii("]"));
    }

    private Automaton string(JsonObject s, String path) {
        int min = s.has("minLength") ? s.get("minLength").getAsInt() : 0;
        int max = s.has("maxLength") ? s.get("maxLength").getAsInt() : -1;
        if (max >= 0 && max < min) {
            throw new InvalidSchemaException(path, "maxLength " + max + " < minLength " + min);
        }
        Automaton character = character();
        Automaton body;
        if (max >= 0 && max <= MAX_BOUNDED_LENGTH) {
            body = character.repeat(min, max);
        } else if (min > MAX_BOUNDED_LENGTH) {
            throw new InvalidSchemaException(path, "minLength above " + MAX_BOUNDED_LENGTH + " is not supported");
        } else {
            body = character.repeat(min);
        }
        return seq(ascii("\""), body, ascii("\""));
    }

    private static final Automaton CHARACTER = minimal(characterUnminimized());

    private static Automaton minimal(Automaton a) {
        a.minimize();
        return a;
    }

    /** One character of a JSON string: printable ASCII but " and \, an escape, or a well-formed UTF-8 sequence. */
    private static Automaton character() {
        return CHARACTER.clone();
    }

    private static Automaton characterUnminimized() {
        Automaton ascii = union(List.of(range(0x20, 0x21), range(0x23, 0x5B), range(0x5D, 0x7F)));
        Automaton hex = union(List.of(range('0', '9'), range('a', 'f'), range('A', 'F')));
        Automaton escape = seq(ascii("\\"), union(List.of(anyOf("\"\\/bfnrt"), seq(ascii("u"), hex.repeat(4, 4)))));
        Automaton cont = range(0x80, 0xBF);
        Automaton two = seq(range(0xC2, 0xDF), cont);
        Automaton three = seq(range(0xE0, 0xEF), cont.repeat(2, 2));
        Automaton four = seq(range(0xF0, 0xF4), cont.repeat(3, 3));
        return union(List.of(ascii, escape, two, three, four));
    }

    private static Automaton integer(JsonObject s) {
        boolean int32 = s.has("format") && "int32".equals(s.get("format").getAsString());
        return seq(ascii("-").optional(), digits(int32 ? 9 : 18));
    }

    private static Automaton number() {
        Automaton fraction = seq(ascii("."), range('0', '9').repeat(1, 16));
        Automaton exponent = seq(anyOf("eE"), anyOf("+-").optional(), range('0', '9').repeat(1, 2));
        return seq(ascii("-").optional(), digits(16), fraction.optional(), exponent.optional());
    }

    /** 0, or a number of at most {@code max} digits without a leading zero. */
    private static Automaton digits(int max) {
        return union(List.of(ascii("0"), seq(range('1', '9'), range('0', '9').repeat(0, max - 1))));
    }

    private static final Automaton WS = minimal(wsUnminimized());

    /** Whitespace between JSON tokens: nothing, one space, or a newline and an indent. */
    static Automaton ws() {
        return WS.clone();
    }

    private static Automaton wsUnminimized() {
        Automaton indent = union(List.of(ascii(" ").repeat(0, MAX_INDENT), ascii("\t").repeat(0, MAX_TABS)));
        return union(List.of(BasicAutomata.makeEmptyString(), ascii(" "), seq(ascii("\n"), indent)));
    }

    private static Automaton literal(JsonElement value) {
        return bytes(GSON.toJson(value));
    }

    /** The UTF-8 bytes of {@code text}, one automaton character per byte. */
    static Automaton bytes(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder chars = new StringBuilder(utf8.length);
        for (byte b : utf8) {
            chars.append((char) (b & 0xFF));
        }
        return BasicAutomata.makeString(chars.toString());
    }

    private static Automaton ascii(String text) {
        return BasicAutomata.makeString(text);
    }

    private static Automaton anyOf(String chars) {
        List<Automaton> options = new ArrayList<>();
        for (char c : chars.toCharArray()) {
            options.add(BasicAutomata.makeChar(c));
        }
        return union(options);
    }

    private static Automaton range(int from, int to) {
        return BasicAutomata.makeCharRange((char) from, (char) to);
    }

    private static Automaton seq(Automaton... parts) {
        return seq(List.of(parts));
    }

    private static Automaton seq(List<Automaton> parts) {
        return BasicOperations.concatenate(parts);
    }

    private static Automaton union(List<Automaton> options) {
        return BasicOperations.union(options);
    }
}
