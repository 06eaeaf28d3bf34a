package io.specula.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code tojson} filter as transformers defines it for chat templates: Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)}, with
 * Python's spacing ({@code ", "} and {@code ": "}), unlike Jinjava's compact Jackson output. Tool definitions
 * rendered into prompts must match byte for byte.
 */
final class PyJson implements Filter {

    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        return filter(var, interpreter, args, Map.of());
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
        boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
        StringBuilder sb = new StringBuilder();
        // Python: indent None is compact; 0 or negative puts newlines without indentation.
        long width = indent == null ? -1 : Math.max(0, ((Number) indent).longValue());
        write(sb, var, width, 0, sortKeys, RenderGuard.current());
        return sb.toString();
    }

    /**
     * With a guard (inside a render), the nesting depth and the length of the text are checked as it grows, and each
     * indentation before it is appended: {@code tojson(indent=1000000000)} was a gigabyte of spaces per line.
     */
    private static void write(StringBuilder sb, Object x, long indent, int level, boolean sortKeys, RenderGuard guard) {
        if (guard != null) {
            guard.checkDepth(level, "tojson of data nested deeper");
            guard.checkLength(sb.length(), "tojson");
        }
        if (x == null) {
            sb.append("null");
        } else if (x instanceof Boolean || x instanceof Integer || x instanceof Long || x instanceof Short
                || x instanceof Byte || x instanceof java.math.BigInteger) {
            sb.append(x);
        } else if (x instanceof Number n) {
            double d = n.doubleValue();
            sb.append(d == Math.rint(d) && Math.abs(d) < 1e16 ? String.valueOf((long) d) + ".0" : String.valueOf(d));
        } else if (x instanceof Map<?, ?> m) {
            Map<?, ?> map = sortKeys ? new TreeMap<>(m) : m;
            if (map.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                separator(sb, first, indent, level + 1, guard);
                first = false;
                string(sb, String.valueOf(e.getKey()));
                sb.append(": ");
                write(sb, e.getValue(), indent, level + 1, sortKeys, guard);
            }
            close(sb, indent, level, guard);
            sb.append('}');
        } else if (x instanceof Collection<?> || x instanceof Object[]) {
            List<?> list = x instanceof Object[] a ? List.of(a) : new ArrayList<>((Collection<?>) x);
            if (list.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            boolean first = true;
            for (Object o : list) {
                separator(sb, first, indent, level + 1, guard);
                first = false;
                write(sb, o, indent, level + 1, sortKeys, guard);
            }
            close(sb, indent, level, guard);
            sb.append(']');
        } else {
            string(sb, x.toString());
        }
    }

    /** Python: ", " between items without indent; ",\n" plus indentation with one. */
    private static void separator(StringBuilder sb, boolean first, long indent, int level, RenderGuard guard) {
        if (!first) {
            sb.append(indent < 0 ? ", " : ",");
        }
        newline(sb, indent, level, guard);
    }

    private static void close(StringBuilder sb, long indent, int level, RenderGuard guard) {
        newline(sb, indent, level, guard);
    }

    private static void newline(StringBuilder sb, long indent, int level, RenderGuard guard) {
        if (indent >= 0) {
            long spaces = indent * level;
            if (guard != null) {
                guard.checkLength(sb.length() + 1 + spaces, "tojson(indent=" + indent + ")");
            }
            sb.append('\n').append(" ".repeat(Math.toIntExact(spaces)));
        }
    }

    /** json.dumps escaping with ensure_ascii=False: quotes, backslashes and control characters only. */
    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
