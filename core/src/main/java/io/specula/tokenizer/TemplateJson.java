package io.specula.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON text as the data a chat template reads (Python's json.loads): maps, lists, strings, numbers, booleans. */
final class TemplateJson {

    private TemplateJson() {
    }

    /** The parsed value of a JSON text, or the text itself when it is not JSON. */
    static Object parseOrText(String json) {
        if (json == null) {
            return null;
        }
        try {
            return value(JsonParser.parseString(json));
        } catch (RuntimeException e) {
            return json;
        }
    }

    private static Object value(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e.isJsonObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            e.getAsJsonObject().entrySet().forEach(entry -> map.put(entry.getKey(), value(entry.getValue())));
            return map;
        }
        if (e.isJsonArray()) {
            List<Object> list = new ArrayList<>();
            e.getAsJsonArray().forEach(item -> list.add(value(item)));
            return list;
        }
        var p = e.getAsJsonPrimitive();
        if (p.isBoolean()) {
            return p.getAsBoolean();
        }
        if (p.isNumber()) {
            String text = p.getAsString();
            if (text.matches("-?\\d{1,18}")) {
                return Long.parseLong(text);
            }
            return p.getAsDouble();
        }
        return p.getAsString();
    }
}
