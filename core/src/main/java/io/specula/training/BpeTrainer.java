package io.specula.training;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Learns a byte-fallback BPE vocabulary in the Llama 2 (SentencePiece) layout: {@code <unk>}, {@code <s>},
 * {@code </s>}, the 256 byte tokens {@code <0x00>..<0xFF>}, the characters of the corpus, then one token per merge.
 *
 * <p>The text is seen as the tokenizer will see it: spaces become {@code ▁} and each document starts with one.
 * Merges never cross the start of a word (a {@code ▁} after anything but {@code ▁}) and never touch a newline, so
 * no token ends in {@code ▁} or holds a newline; newlines and characters left out of the alphabet are encoded as
 * byte tokens. Because of that, applying the merges to a whole text at once (Llama 2's tokenizer.json has no
 * pre-tokenizer) gives the same tokens as applying them word by word, which is what is learned here.
 *
 * <p>As in SentencePiece, a token never mixes letters, digits and punctuation.
 *
 * <p>Deterministic: ties between equally frequent pairs go to the pair whose merged string sorts first.
 */
public final class BpeTrainer {

    public static final String SPACE = "\u2581";
    public static final List<String> SPECIAL_TOKENS = List.of("<unk>", "<s>", "</s>");
    static final int NUM_BYTES = 256;

    /** A learned vocabulary: tokens in id order, and merges in the order they apply. */
    public record Vocabulary(List<String> tokens, List<String[]> merges, int alphabetSize) {

        public Map<String, Integer> ids() {
            Map<String, Integer> ids = new LinkedHashMap<>();
            for (int i = 0; i < tokens.size(); i++) {
                ids.put(tokens.get(i), i);
            }
            return ids;
        }
    }

    private final int vocabSize;
    private final int minCharCount;
    private final int minPairCount;

    /**
     * @param vocabSize    total vocabulary, special and byte tokens included
     * @param minCharCount characters seen fewer times are left to the byte tokens
     * @param minPairCount merging stops early when no pair is seen this often
     */
    public BpeTrainer(int vocabSize, int minCharCount, int minPairCount) {
        if (vocabSize < SPECIAL_TOKENS.size() + NUM_BYTES + 1) {
            throw new IllegalArgumentException("vocabulary size " + vocabSize + " leaves no room beyond the "
                    + (SPECIAL_TOKENS.size() + NUM_BYTES) + " special and byte tokens");
        }
        this.vocabSize = vocabSize;
        this.minCharCount = Math.max(1, minCharCount);
        this.minPairCount = Math.max(2, minPairCount);
    }

    /** Normalizes a document as Llama 2's tokenizer.json does: a leading ▁, and every space replaced by ▁. */
    public static String normalize(String text) {
        return SPACE + text.replace(" ", SPACE);
    }

    /** Splits a normalized document into words: each starts at a ▁ that follows anything else; newlines stand alone. */
    static void countWords(String normalized, Map<String, Long> counts) {
        int start = 0;
        int n = normalized.length();
        for (int i = 0; i <= n; i++) {
            boolean end = i == n;
            char ch = end ? 0 : normalized.charAt(i);
            boolean boundary = end || ch == '\n'
                    || (ch == SPACE.charAt(0) && i > start && normalized.charAt(i - 1) != SPACE.charAt(0));
            if (boundary && i > start) {
                counts.merge(normalized.substring(start, i), 1L, Long::sum);
                start = i;
            }
            if (!end && ch == '\n') {
                start = i + 1; // newlines become byte tokens: they never take part in a merge
            }
        }
    }

    public Vocabulary train(Iterable<String> documents) {
        Map<String, Long> wordCounts = new HashMap<>();
        for (String doc : documents) {
            countWords(normalize(doc), wordCounts);
        }
        return trainOnWords(wordCounts);
    }

    Vocabulary trainOnWords(Map<String, Long> wordCounts) {
        // The alphabet: characters (code points) seen at least minCharCount times, most frequent first.
        Map<String, Long> charCounts = new HashMap<>();
        wordCounts.forEach((w, c) -> w.codePoints().forEach(cp -> charCounts.merge(new String(Character.toChars(cp)), c, Long::sum)));
        List<String> alphabet = new ArrayList<>();
        charCounts.forEach((ch, c) -> {
            if (c >= minCharCount) {
                alphabet.add(ch);
            }
        });
        alphabet.sort(Comparator.<String>comparingLong(charCounts::get).reversed().thenComparing(Comparator.naturalOrder()));
        List<String> tokens = new ArrayList<>(SPECIAL_TOKENS);
        for (int b = 0; b < NUM_BYTES; b++) {
            tokens.add(byteToken(b));
        }
        int firstChar = tokens.size();
        int room = vocabSize - firstChar;
        if (alphabet.size() > room) {
            alphabet.subList(room, alphabet.size()).clear(); // the rarest characters go to the byte tokens
        }
        tokens.addAll(alphabet);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            ids.put(tokens.get(i), i);
        }

        // Words as symbol ids; -1 marks a character outside the alphabet (a byte-fallback barrier).
        String[] words = wordCounts.keySet().toArray(new String[0]);
        Arrays.sort(words);
        int[][] symbols = new int[words.length][];
        long[] counts = new long[words.length];
        for (int w = 0; w < words.length; w++) {
            counts[w] = wordCounts.get(words[w]);
            symbols[w] = words[w].codePoints().map(cp -> ids.getOrDefault(new String(Character.toChars(cp)), -1)).toArray();
        }
        Map<Long, Long> pairCounts = new HashMap<>();
        Map<Long, Set<Integer>> where = new HashMap<>();
        for (int w = 0; w < words.length; w++) {
            addPairs(symbols[w], counts[w], w, pairCounts, where);
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>();
        pairCounts.forEach((pair, c) -> queue.add(new Candidate(pair, c, merged(tokens, pair))));

        List<String[]> merges = new ArrayList<>();
        while (tokens.size() < vocabSize && !queue.isEmpty()) {
            Candidate best = queue.poll();
            Long current = pairCounts.get(best.pair);
            if (current == null || current != best.count) {
                continue; // stale entry
            }
            if (best.count < minPairCount) {
                break;
            }
            int a = (int) (best.pair >>> 32);
            int b = (int) best.pair;
            Integer existing = ids.get(best.token);
            if ((existing != null && existing < firstChar) || mixesClasses(best.token)) {
                // Would spell a special or byte token ("<s>" from "<s" and ">"), or join a word to punctuation or
                // digits: never merge it.
                pairCounts.remove(best.pair);
                where.remove(best.pair);
                continue;
            }
            int newId;
            if (existing != null) {
                newId = existing; // the same string reached by another pair: one token, two merges
            } else {
                newId = tokens.size();
                tokens.add(best.token);
                ids.put(best.token, newId);
            }
            merges.add(new String[] {tokens.get(a), tokens.get(b)});
            Set<Long> touched = new HashSet<>();
            Set<Integer> words1 = where.remove(best.pair);
            Integer[] affected = words1.toArray(new Integer[0]);
            Arrays.sort(affected);
            for (int w : affected) {
                int[] s = symbols[w];
                if (!contains(s, a, b)) {
                    continue;
                }
                removePairs(s, counts[w], pairCounts, touched);
                symbols[w] = applyMerge(s, a, b, newId);
                addPairs(symbols[w], counts[w], w, pairCounts, where);
                collectPairs(symbols[w], touched);
            }
            pairCounts.remove(best.pair);
            for (long pair : touched) {
                Long c = pairCounts.get(pair);
                if (c != null && c > 0 && pair != best.pair) {
                    queue.add(new Candidate(pair, c, merged(tokens, pair)));
                }
            }
        }
        return new Vocabulary(List.copyOf(tokens), List.copyOf(merges), alphabet.size());
    }

    /**
     * Like SentencePiece's split by Unicode script and by number: a token holds letters, or digits, or other
     * characters (punctuation), after any leading ▁, never a mix, so "▁cried" and "," stay apart.
     */
    static boolean mixesClasses(String token) {
        int i = 0;
        while (i < token.length() && token.charAt(i) == SPACE.charAt(0)) {
            i++;
        }
        int kind = -1;
        while (i < token.length()) {
            int cp = token.codePointAt(i);
            int k = Character.isLetter(cp) ? 0 : Character.isDigit(cp) ? 1 : 2;
            if (kind >= 0 && k != kind) {
                return true;
            }
            kind = k;
            i += Character.charCount(cp);
        }
        return false;
    }

    public static String byteToken(int b) {
        return String.format("<0x%02X>", b);
    }

    private static String merged(List<String> tokens, long pair) {
        return tokens.get((int) (pair >>> 32)) + tokens.get((int) pair);
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private static boolean contains(int[] s, int a, int b) {
        for (int i = 0; i + 1 < s.length; i++) {
            if (s[i] == a && s[i + 1] == b) {
                return true;
            }
        }
        return false;
    }

    private static int[] applyMerge(int[] s, int a, int b, int newId) {
        int[] out = new int[s.length];
        int n = 0;
        for (int i = 0; i < s.length; i++) {
            if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                out[n++] = newId;
                i++;
            } else {
                out[n++] = s[i];
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static void addPairs(int[] s, long count, int word, Map<Long, Long> pairCounts, Map<Long, Set<Integer>> where) {
        for (int i = 0; i + 1 < s.length; i++) {
            if (s[i] < 0 || s[i + 1] < 0) {
                continue;
            }
            long k = key(s[i], s[i + 1]);
            pairCounts.merge(k, count, Long::sum);
            where.computeIfAbsent(k, x -> new HashSet<>()).add(word);
        }
    }

    private static void removePairs(int[] s, long count, Map<Long, Long> pairCounts, Set<Long> touched) {
        for (int i = 0; i + 1 < s.length; i++) {
            if (s[i] < 0 || s[i + 1] < 0) {
                continue;
            }
            long k = key(s[i], s[i + 1]);
            touched.add(k);
            long left = pairCounts.merge(k, -count, Long::sum);
            if (left <= 0) {
                pairCounts.remove(k);
            }
        }
    }

    private static void collectPairs(int[] s, Set<Long> touched) {
        for (int i = 0; i + 1 < s.length; i++) {
            if (s[i] >= 0 && s[i + 1] >= 0) {
                touched.add(key(s[i], s[i + 1]));
            }
        }
    }

    /** Most frequent first; ties to the merged string that sorts first, then to the lower ids. */
    private record Candidate(long pair, long count, String token) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            int c = Long.compare(o.count, count);
            if (c != 0) {
                return c;
            }
            c = token.compareTo(o.token);
            return c != 0 ? c : Long.compare(pair, o.pair);
        }
    }
}
