package io.specula.tokenizer;

/**
 * Rewrites the two bits of Jinja syntax in real chat templates that Jinjava parses differently, inside tags only
 * (text and string literals are copied unchanged):
 * <ul>
 *   <li>keyword-argument values get parentheses: {@code namespace(i=messages|length - 1)} becomes
 *       {@code namespace(i=(messages|length - 1))}. Jinja parses a keyword value as a whole expression; Jinjava
 *       binds {@code name=value} tighter than {@code -} (Qwen3's template);</li>
 *   <li>the reversing slice {@code [::-1]}, which Jinjava cannot parse, becomes {@code |reverse|list};</li>
 *   <li>binary {@code +} and {@code -} get spaces: Jinjava reads {@code n+1} as {@code n} followed by {@code +1}.</li>
 * </ul>
 * It also checks the template's nesting: blocks ({@code if}, {@code for}, {@code macro}...) inside each other and
 * brackets inside one tag, at most {@code maxNesting} deep. Jinjava parses and renders nesting by recursion, so a
 * template of a few thousand nested {@code if}s overflowed the rendering thread's stack; real templates nest a few
 * levels.
 */
final class TemplateSource {

    private TemplateSource() {
    }

    /** Thrown for a template nested deeper than the limit; the message names the limit and the line. */
    static final class TooDeep extends IllegalArgumentException {
        TooDeep(String message) {
            super(message);
        }
    }

    /** Tags that open a block closed by an {@code end...} tag. {@code set} only in its block form (no '='). */
    private static final java.util.Set<String> BLOCKS = java.util.Set.of("if", "for", "macro", "call", "filter",
            "block", "with", "autoescape", "raw", "set");

    static String rewrite(String template, int maxNesting) {
        StringBuilder out = new StringBuilder(template.length() + 16);
        int i = 0;
        int n = template.length();
        int blocks = 0;
        while (i < n) {
            int open = nextTagStart(template, i);
            if (open < 0) {
                out.append(template, i, n);
                break;
            }
            out.append(template, i, open + 2);
            boolean statement = template.charAt(open + 1) == '%';
            String close = statement ? "%}" : "}}";
            int bodyStart = out.length();
            i = rewriteTag(template, open + 2, close, out, maxNesting);
            if (statement) {
                String word = firstWord(out, bodyStart);
                if (BLOCKS.contains(word) && !(word.equals("set") && out.indexOf("=", bodyStart) >= 0)) {
                    if (++blocks > maxNesting) {
                        throw new TooDeep("maximum nesting depth (" + maxNesting + ") exceeded: blocks nested "
                                + blocks + " deep at line " + line(template, open));
                    }
                } else if (word.startsWith("end") && blocks > 0) {
                    blocks--;
                }
            }
        }
        return out.toString();
    }

    /** The tag's keyword: its first word after the whitespace-control sign. */
    private static String firstWord(StringBuilder tag, int from) {
        int i = from;
        while (i < tag.length() && (tag.charAt(i) == '-' || tag.charAt(i) == '+' || Character.isWhitespace(tag.charAt(i)))) {
            i++;
        }
        int start = i;
        while (i < tag.length() && Character.isJavaIdentifierPart(tag.charAt(i))) {
            i++;
        }
        return tag.substring(start, i);
    }

    private static int line(String s, int at) {
        int line = 1;
        for (int i = 0; i < at; i++) {
            if (s.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    private static int nextTagStart(String s, int from) {
        for (int i = from; i + 1 < s.length(); i++) {
            if (s.charAt(i) == '{' && (s.charAt(i + 1) == '{' || s.charAt(i + 1) == '%')) {
                return i;
            }
        }
        return -1;
    }

    /** Copies one tag body up to and including its closing delimiter; returns the index after it. */
    private static int rewriteTag(String s, int i, String close, StringBuilder out, int maxNesting) {
        // Per open parenthesis: is it a call's argument list, and is a keyword value awaiting its ')'?
        boolean[] call = new boolean[maxNesting + 1];
        boolean[] wrapped = new boolean[maxNesting + 1];
        int tagStart = i;
        int depth = 0;
        int n = s.length();
        boolean argStart = false;
        while (i < n) {
            char c = s.charAt(i);
            if (depth == 0 && s.startsWith(close, i)) {
                out.append(close);
                return i + close.length();
            }
            if (c == '\'' || c == '"') {
                int end = i + 1;
                while (end < n && s.charAt(end) != c) {
                    end += s.charAt(end) == '\\' ? 2 : 1;
                }
                end = Math.min(end + 1, n);
                out.append(s, i, end);
                i = end;
                argStart = false;
                continue;
            }
            if (argStart && depth > 0 && call[depth - 1] && Character.isJavaIdentifierStart(c)) {
                int j = i;
                while (j < n && Character.isJavaIdentifierPart(s.charAt(j))) {
                    j++;
                }
                int k = j;
                while (k < n && s.charAt(k) == ' ') {
                    k++;
                }
                if (k < n && s.charAt(k) == '=' && (k + 1 >= n || s.charAt(k + 1) != '=')) {
                    out.append(s, i, k + 1).append('(');
                    wrapped[depth - 1] = true;
                    i = k + 1;
                    argStart = false;
                    continue;
                }
            }
            if (c == '[' && s.startsWith("[::-1]", i)) {
                out.append("|reverse|list");
                i += 6;
                argStart = false;
                continue;
            }
            if ((c == '+' || c == '-') && !s.startsWith("-%}", i) && !s.startsWith("-}}", i) && isOperand(out)) {
                out.append(' ').append(c).append(' ');
                i++;
                argStart = false;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                if (depth >= maxNesting) {
                    throw new TooDeep("maximum nesting depth (" + maxNesting + ") exceeded: brackets nested deeper "
                            + "in the tag at line " + line(s, tagStart));
                }
                call[depth] = c == '(' && isCallee(out);
                wrapped[depth] = false;
                depth++;
                argStart = true;
                out.append(c);
            } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
                closeValue(out, call, wrapped, depth);
                depth--;
                out.append(c);
                argStart = false;
            } else if (c == ',' && depth > 0) {
                closeValue(out, call, wrapped, depth);
                out.append(c);
                argStart = true;
            } else {
                out.append(c);
                if (!Character.isWhitespace(c)) {
                    argStart = false;
                }
            }
            i++;
        }
        return i;
    }

    private static void closeValue(StringBuilder out, boolean[] call, boolean[] wrapped, int depth) {
        if (depth - 1 < wrapped.length && wrapped[depth - 1]) {
            out.append(')');
            wrapped[depth - 1] = false;
        }
    }

    /** The text so far ends with an operand (name, number, closing bracket or string), so +/- is binary. */
    private static boolean isOperand(StringBuilder out) {
        for (int i = out.length() - 1; i >= 0; i--) {
            char c = out.charAt(i);
            if (!Character.isWhitespace(c)) {
                return Character.isJavaIdentifierPart(c) || c == ')' || c == ']' || c == '\'' || c == '"';
            }
        }
        return false;
    }

    /** A '(' right after a name, ')' or ']' opens a call's arguments; otherwise it groups or makes a tuple. */
    private static boolean isCallee(StringBuilder out) {
        for (int i = out.length() - 1; i >= 0; i--) {
            char c = out.charAt(i);
            if (!Character.isWhitespace(c)) {
                return Character.isJavaIdentifierPart(c) || c == ')' || c == ']';
            }
        }
        return false;
    }
}
