package io.specula.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Jinja's {@code items} filter ({@code for k, v in d | items}), which Jinjava lacks; Llama-3.1's template uses it. */
final class ItemsFilter implements Filter {

    @Override
    public String getName() {
        return "items";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        List<List<Object>> items = new ArrayList<>();
        if (var instanceof Map<?, ?> map) {
            map.forEach((k, v) -> items.add(new ArrayList<>(Arrays.asList(k, v))));
        }
        return items;
    }
}
