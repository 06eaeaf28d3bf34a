package io.specula.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One of Jinjava's filters, inside the render's budget ({@link RenderGuard}): a checkpoint before every call (so
 * {@code map} over a list pays per element), the size of its result checked after it, and, for the filters whose
 * arguments make their result arbitrarily larger than their input, that size computed and checked before the call:
 * {@code center(width)}, {@code indent(width)}, {@code batch(n, fill)}, {@code replace(old, new)} and {@code format}'s
 * widths and precisions. Jinjava itself checks only the input of {@code replace} and the output of {@code join}; a
 * 100-character template made it allocate gigabytes with {@code center(1000000000)} or {@code indent}.
 */
final class GuardedFilter implements Filter {

    /**
     * The filters Jinja2 itself has (jinja2.filters.FILTERS, 3.1) and transformers' own {@code tojson}: the only ones
     * a chat template that transformers renders can use. Jinjava's many others ({@code regex_replace},
     * {@code render}, {@code fromyaml}, date and number formatting...) are disabled: no template needs them, and each
     * is more surface for a hostile one.
     */
    static final Set<String> JINJA2_FILTERS = Set.of("abs", "attr", "batch", "capitalize", "center", "count", "d",
            "default", "dictsort", "e", "escape", "filesizeformat", "first", "float", "forceescape", "format",
            "groupby", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
            "pprint", "random", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr",
            "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper",
            "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr");

    /** printf conversions with a width or precision: %[index$][flags][width][.precision]conversion. */
    private static final Pattern FORMAT_SIZE = Pattern.compile("%(?:\\d+\\$)?[-#+ 0,(<]*(\\d+)?(?:\\.(\\d+))?");

    private final Filter delegate;

    GuardedFilter(Filter delegate) {
        this.delegate = delegate;
    }

    @Override
    public String getName() {
        return delegate.getName();
    }

    @Override
    public boolean preserveSafeString() {
        return delegate.preserveSafeString();
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        RenderGuard guard = RenderGuard.current();
        before(guard, var, args);
        return after(guard, delegate.filter(var, interpreter, args));
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        RenderGuard guard = RenderGuard.current();
        before(guard, var, args);
        if (guard != null && !kwargs.isEmpty()) {
            before(guard, var, kwargs.values().toArray());
        }
        return after(guard, delegate.filter(var, interpreter, args, kwargs));
    }

    private void before(RenderGuard guard, Object var, Object[] args) {
        if (guard == null) {
            return;
        }
        guard.checkpoint();
        String name = getName();
        switch (name) {
            case "center" -> guard.checkLength(number(args, 0), name + "(" + number(args, 0) + ")");
            case "indent" -> {
                long width = Math.max(0, number(args, 0));
                String s = Objects.toString(var, "");
                long lines = s.chars().filter(c -> c == '\n').count() + 1;
                guard.checkLength(s.length() + width * lines, name + "(" + width + ") of " + lines + " lines");
            }
            case "batch" -> guard.checkSize(number(args, 0), name + "(" + number(args, 0) + ")");
            case "replace" -> {
                if (args.length >= 2 && var != null && args[0] != null && args[1] != null) {
                    String s = var.toString();
                    String old = args[0].toString();
                    long count = args.length > 2 && args[2] != null ? number(args, 2) : Long.MAX_VALUE;
                    long n = old.isEmpty() ? 0 : Math.min(count, PyMethods.occurrences(s, old));
                    guard.checkLength(s.length() + n * (args[1].toString().length() - old.length()), name + "()");
                }
            }
            case "format" -> {
                Matcher m = FORMAT_SIZE.matcher(Objects.toString(var, ""));
                while (m.find()) {
                    for (int g = 1; g <= 2; g++) {
                        if (m.group(g) != null) {
                            guard.checkLength(parse(m.group(g)), name + "() width or precision " + m.group(g));
                        }
                    }
                }
            }
            default -> {
            }
        }
    }

    private Object after(RenderGuard guard, Object result) {
        if (guard != null) {
            if (result instanceof CharSequence s) {
                guard.checkLength(s.length(), getName() + "()");
            } else if (result instanceof Collection<?> c) {
                guard.checkSize(c.size(), getName() + "()");
            } else if (result instanceof Map<?, ?> m) {
                guard.checkSize(m.size(), getName() + "()");
            }
        }
        return result;
    }

    private static long number(Object[] args, int i) {
        if (args.length <= i || args[i] == null) {
            return 0;
        }
        if (args[i] instanceof Number n) {
            return n.longValue();
        }
        return parse(args[i].toString().trim());
    }

    /** A decimal count; anything that is not one (Jinjava then uses its default) counts as 0. */
    private static long parse(String digits) {
        try {
            return (long) Double.parseDouble(digits);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
