package io.specula.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A deliberately tiny BPE trainer: learns {@code mergeCount} merges over a word-frequency table. Ties between pairs
 * of equal frequency are broken by the pair's text so the result never depends on hash order.
 */
final class TinyBpe {

    /** One learned merge: {@code left + right} becomes a new token. */
    record Merge(String left, String right) {
        String merged() {
            return left + right;
        }
    }

    private TinyBpe() {
    }

    /**
     * @param words word -> frequency (a TreeMap, so iteration is ordered); words start as single code points
     */
    static List<Merge> train(TreeMap<String, Integer> words, int mergeCount) {
        List<List<String>> splits = new ArrayList<>();
        List<Integer> freqs = new ArrayList<>();
        for (Map.Entry<String, Integer> e : words.entrySet()) {
            List<String> symbols = new ArrayList<>();
            e.getKey().codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
            splits.add(symbols);
            freqs.add(e.getValue());
        }
        List<Merge> merges = new ArrayList<>();
        while (merges.size() < mergeCount) {
            Map<Merge, Integer> counts = new HashMap<>();
            for (int w = 0; w < splits.size(); w++) {
                List<String> s = splits.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    counts.merge(new Merge(s.get(i), s.get(i + 1)), freqs.get(w), Integer::sum);
                }
            }
            Merge best = null;
            int bestCount = 1; // a pair seen once is not worth a token
            for (Map.Entry<Merge, Integer> e : counts.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && best != null && compare(e.getKey(), best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (best == null) {
                break;
            }
            merges.add(best);
            for (List<String> s : splits) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(best.left()) && s.get(i + 1).equals(best.right())) {
                        s.set(i, best.merged());
                        s.remove(i + 1);
                    }
                }
            }
        }
        return merges;
    }

    private static int compare(Merge a, Merge b) {
        int c = a.left().compareTo(b.left());
        return c != 0 ? c : a.right().compareTo(b.right());
    }
}
