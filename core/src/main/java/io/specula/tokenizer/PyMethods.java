package io.specula.tokenizer;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Python's str and dict methods for Jinjava, which otherwise calls Java methods: HF chat templates call
 * {@code content.startswith('<tool_response>')}, {@code .split('</think>')[-1].lstrip('\n')}, {@code .strip()},
 * {@code message.get('x')}, {@code d.items()}. Every other method call on a string is refused, so a template cannot
 * reach Java methods such as {@code String.repeat} (a memory bomb).
 */
final class PyMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(method instanceof String name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        RenderGuard guard = RenderGuard.current();
        if (guard != null && (base instanceof String || base instanceof Map<?, ?>)) {
            guard.checkpoint();
        }
        if (base instanceof String s) {
            context.setPropertyResolved(true);
            return string(s, name, args);
        }
        if (base instanceof Map<?, ?> map) {
            Object result = dict(map, name, args);
            if (result != NOT_HANDLED) {
                context.setPropertyResolved(true);
                return result;
            }
        }
        return null;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object string(String s, String name, Object[] a) {
        switch (name) {
            case "strip": return rstrip(lstrip(s, chars(a)), chars(a));
            case "lstrip": return lstrip(s, chars(a));
            case "rstrip": return rstrip(s, chars(a));
            case "startswith": return prefixes(a).stream().anyMatch(s::startsWith);
            case "endswith": return prefixes(a).stream().anyMatch(s::endsWith);
            case "split": return split(s, a);
            case "upper": return s.toUpperCase(java.util.Locale.ROOT);
            case "lower": return s.toLowerCase(java.util.Locale.ROOT);
            case "title": return title(s);
            case "capitalize": return s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            case "replace": return replace(s, str(a, 0), str(a, 1), a.length > 2 ? ((Number) a[2]).intValue() : -1);
            case "find": return s.indexOf(str(a, 0));
            case "count": return count(s, str(a, 0));
            case "join": return join(s, a);
            case "isdigit": return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isspace": return !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
            case "splitlines": {
                List<String> lines = new ArrayList<>();
                s.lines().forEach(line -> {
                    lines.add(line);
                    checkSize(lines.size(), "splitlines()");
                });
                return lines;
            }
            default: throw new ELException("unsupported string method " + name + "() in chat template");
        }
    }

    private static Object dict(Map<?, ?> map, String name, Object[] a) {
        switch (name) {
            case "items": {
                List<List<Object>> items = new ArrayList<>();
                map.forEach((k, v) -> items.add(new ArrayList<>(java.util.Arrays.asList(k, v))));
                return items;
            }
            case "keys": return new ArrayList<>(map.keySet());
            case "values": return new ArrayList<>(map.values());
            case "get": return a.length == 0 ? null : map.containsKey(a[0]) ? map.get(a[0]) : a.length > 1 ? a[1] : null;
            default: return NOT_HANDLED;
        }
    }

    /** Python's default strip set is whitespace; an argument is a set of characters. */
    private static String chars(Object[] a) {
        return a.length == 0 || a[0] == null ? null : a[0].toString();
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strippable(s.charAt(i), chars)) {
            i++;
        }
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && strippable(s.charAt(j - 1), chars)) {
            j--;
        }
        return s.substring(0, j);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) || Character.isSpaceChar(c) : chars.indexOf(c) >= 0;
    }

    private static List<String> prefixes(Object[] a) {
        List<String> out = new ArrayList<>();
        if (a.length > 0 && a[0] instanceof Collection<?> c) {
            c.forEach(x -> out.add(String.valueOf(x)));
        } else {
            out.add(str(a, 0));
        }
        return out;
    }

    private static List<String> split(String s, Object[] a) {
        String sep = a.length == 0 || a[0] == null ? null : a[0].toString();
        int max = a.length > 1 ? ((Number) a[1]).intValue() : -1;
        List<String> out = new ArrayList<>();
        if (sep == null) {  // runs of whitespace, no empty strings
            for (String part : s.strip().split("\\s+", max < 0 ? 0 : max + 1)) {
                if (!part.isEmpty()) {
                    out.add(part);
                    checkSize(out.size(), "split()");
                }
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw new ELException("split(): empty separator");
        }
        int from = 0;
        int at;
        while ((max < 0 || out.size() < max) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            checkSize(out.size(), "split()");
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    /**
     * Python's str.replace: an empty {@code old} inserts {@code with} before every character and at the end
     * ('ab'.replace('', '-') is '-a-b-'), at most {@code count} times when count >= 0. The result's length is checked
     * against the render's limit before it is built: 'x'.replace('', s) on a long s was a memory bomb.
     */
    private static String replace(String s, String old, String with, int count) {
        long limit = count < 0 ? Long.MAX_VALUE : count;
        long n = Math.min(limit, old.isEmpty() ? s.length() + 1L : occurrences(s, old));
        checkLength(s.length() + n * (with.length() - old.length()), "replace()");
        StringBuilder sb = new StringBuilder((int) Math.min(1 << 20, Math.max(0, s.length() + n * (with.length() - old.length()))));
        if (old.isEmpty()) {
            for (int i = 0; i <= s.length(); i++) {
                if (i < n) {
                    sb.append(with);
                }
                if (i < s.length()) {
                    sb.append(s.charAt(i));
                }
            }
            return sb.toString();
        }
        int from = 0;
        int at;
        long done = 0;
        while (done < n && (at = s.indexOf(old, from)) >= 0) {
            sb.append(s, from, at).append(with);
            from = at + old.length();
            done++;
        }
        return sb.append(s, from, s.length()).toString();
    }

    /** Non-overlapping occurrences of a non-empty {@code sub} in {@code s}. */
    static long occurrences(String s, String sub) {
        long n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    /** sep.join(items), its length checked before it is built (a list can hold one long string many times). */
    private static String join(String sep, Object[] a) {
        List<String> parts = new ArrayList<>();
        long length = 0;
        if (a.length > 0 && a[0] instanceof Iterable<?> it) {
            for (Object x : it) {
                String part = String.valueOf(x);
                length += part.length() + (parts.isEmpty() ? 0 : sep.length());
                parts.add(part);
                checkLength(length, "join()");
            }
        }
        return String.join(sep, parts);
    }

    private static void checkLength(long chars, String what) {
        RenderGuard guard = RenderGuard.current();
        if (guard != null) {
            guard.checkLength(chars, what);
        }
    }

    private static void checkSize(long elements, String what) {
        RenderGuard guard = RenderGuard.current();
        if (guard != null) {
            guard.checkSize(elements, what);
        }
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevLetter = false;
        for (char c : s.toCharArray()) {
            sb.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static String str(Object[] a, int i) {
        if (a.length <= i || a[i] == null) {
            throw new ELException("string method: missing argument " + (i + 1));
        }
        return a[i].toString();
    }

    // Property access is left to Jinjava's own resolvers.
    @Override public Object getValue(ELContext c, Object base, Object property) { return null; }
    @Override public Class<?> getType(ELContext c, Object base, Object property) { return null; }
    @Override public void setValue(ELContext c, Object base, Object property, Object value) { }
    @Override public boolean isReadOnly(ELContext c, Object base, Object property) { return true; }
    @Override public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext c, Object base) { return null; }
    @Override public Class<?> getCommonPropertyType(ELContext c, Object base) { return null; }
}
