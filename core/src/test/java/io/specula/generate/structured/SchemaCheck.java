package io.specula.generate.structured;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.util.ArrayList;
import java.util.List;

/**
 * An independent check of a JSON text against the subset of JSON schema the tests use (type, properties, required,
 * additionalProperties false, items, enum, $ref to $defs): the list of violations, empty when the text is valid.
 * Written apart from the grammar so that a grammar bug cannot hide itself.
 */
public final class SchemaCheck {

    private SchemaCheck() {
    }

    public static List<String> violations(String schema, String json) {
        JsonObject root = JsonParser.parseString(schema).getAsJsonObject();
        List<String> out = new ArrayList<>();
        JsonElement value;
        try {
            value = JsonParser.parseString(json);
        } catch (RuntimeException e) {
            return List.of("not JSON: " + e.getMessage() + " in " + json);
        }
        check(root, root, value, "$", out);
        return out;
    }

    private static void check(JsonObject root, JsonObject schema, JsonElement value, String path, List<String> out) {
        if (schema.has("$ref")) {
            String name = schema.get("$ref").getAsString().replace("#/$defs/", "");
            check(root, root.getAsJsonObject("$defs").getAsJsonObject(name), value, path, out);
            return;
        }
        if (schema.has("enum")) {
            if (!schema.getAsJsonArray("enum").contains(value)) {
                out.add(path + ": " + value + " not in " + schema.get("enum"));
            }
            return;
        }
        String type = schema.get("type").getAsString();
        switch (type) {
            case "object" -> {
                if (!value.isJsonObject()) {
                    out.add(path + ": expected an object, got " + value);
                    return;
                }
                JsonObject object = value.getAsJsonObject();
                JsonObject properties = schema.getAsJsonObject("properties");
                for (JsonElement required : schema.getAsJsonArray("required")) {
                    if (!object.has(required.getAsString())) {
                        out.add(path + ": missing " + required);
                    }
                }
                for (String key : object.keySet()) {
                    if (!properties.has(key)) {
                        out.add(path + ": unexpected property " + key);
                    } else {
                        check(root, properties.getAsJsonObject(key), object.get(key), path + "." + key, out);
                    }
                }
            }
            case "array" -> {
                if (!value.isJsonArray()) {
                    out.add(path + ": expected an array, got " + value);
                    return;
                }
                int i = 0;
                for (JsonElement item : value.getAsJsonArray()) {
                    check(root, schema.getAsJsonObject("items"), item, path + "[" + i++ + "]", out);
                }
            }
            case "string" -> {
                if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
                    out.add(path + ": expected a string, got " + value);
                }
            }
            case "integer" -> {
                if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber()
                        || !value.getAsString().matches("-?\\d+")) {
                    out.add(path + ": expected an integer, got " + value);
                } else if (schema.has("format") && schema.get("format").getAsString().equals("int32")) {
                    long v = Long.parseLong(value.getAsString());
                    if (v != (int) v) {
                        out.add(path + ": " + v + " does not fit int32");
                    }
                }
            }
            case "number" -> {
                if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber()) {
                    out.add(path + ": expected a number, got " + value);
                }
            }
            case "boolean" -> {
                if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isBoolean()) {
                    out.add(path + ": expected a boolean, got " + value);
                }
            }
            default -> out.add(path + ": the check does not know type " + type);
        }
    }
}
