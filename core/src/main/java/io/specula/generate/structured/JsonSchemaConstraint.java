package io.specula.generate.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.RunAutomaton;
import io.specula.generate.TokenConstraint;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Structured output for one JSON schema and one vocabulary: the schema's grammar as a minimal DFA over bytes
 * ({@link JsonSchemaAutomaton}), and for each DFA state, computed the first time a request reaches it and kept for the
 * next ones, the tokens whose bytes the grammar accepts from there and the state each leads to. Thread-safe: many
 * requests share one; each has its own {@link #start state}.
 *
 * <p>The output must also be complete within the request's token limit: every state knows the fewest bytes that
 * complete the JSON from it, and a token is allowed only if what it leaves can still be completed in the tokens that
 * remain (one byte per token at worst: byte-level and byte-fallback vocabularies have a token for every byte). So a
 * model that rambles (a random one, or a real one stuck in a string) is steered to close its JSON before the limit,
 * and the answer always parses. Once the JSON is complete only the end-of-sequence tokens are allowed (whitespace
 * after it excepted). The mask is a function of the output before the position (the state and the position), which is
 * what keeps speculative decoding exact ({@link TokenConstraint}).
 */
public final class JsonSchemaConstraint implements TokenConstraint.Factory {

    private static final int DEAD = -1;
    private static final int FINISHED = -2;

    private final RunAutomaton dfa;
    private final int[] distance;     // fewest bytes from a state to an accepting one (MAX_VALUE: none)
    private final TokenVocabulary vocabulary;
    private final ConcurrentHashMap<Integer, Moves> moves = new ConcurrentHashMap<>();

    JsonSchemaConstraint(Automaton automaton, TokenVocabulary vocabulary) {
        this.dfa = new RunAutomaton(automaton);
        this.vocabulary = vocabulary;
        this.distance = distances(dfa);
    }

    /** States of the grammar's DFA (for tests and logs). */
    public int states() {
        return dfa.getSize();
    }

    /** The fewest bytes of any output the grammar accepts. */
    public int shortestOutput() {
        return distance[dfa.getInitialState()];
    }

    @Override
    public TokenConstraint start(int maxTokens, Set<Integer> eosIds) {
        return new State(maxTokens, eosIds.stream().mapToInt(Integer::intValue).sorted().toArray());
    }

    /** Tokens the grammar accepts from one DFA state, and where each leads. */
    private record Moves(int[] tokens, int[] ends) {
    }

    private Moves moves(int state) {
        return moves.computeIfAbsent(state, this::computeMoves);
    }

    /** Runs every token's bytes from {@code state}, sharing the steps of common prefixes (see TokenVocabulary). */
    private Moves computeMoves(int state) {
        int n = vocabulary.ids.length;
        int[] tokens = new int[64];
        int[] ends = new int[64];
        int count = 0;
        int[] path = new int[64];      // path[d]: the DFA state after the first d bytes of the current token
        path[0] = state;
        int valid = 0;                 // path[0 .. valid] holds for the previous token
        for (int i = 0; i < n; i++) {
            char[] b = vocabulary.bytes[i];
            int depth = Math.min(vocabulary.lcp[i], valid);
            if (depth < vocabulary.lcp[i] && depth < b.length) {
                // The previous token died within the prefix this one shares with it: this one dies there too.
                continue;
            }
            if (path.length <= b.length) {
                path = Arrays.copyOf(path, b.length * 2);
            }
            int s = path[depth];
            while (depth < b.length) {
                s = dfa.step(s, b[depth]);
                if (s < 0) {
                    break;
                }
                path[++depth] = s;
            }
            valid = depth;
            if (s >= 0 && depth == b.length && distance[s] != Integer.MAX_VALUE) {
                if (count == tokens.length) {
                    tokens = Arrays.copyOf(tokens, count * 2);
                    ends = Arrays.copyOf(ends, count * 2);
                }
                tokens[count] = vocabulary.ids[i];
                ends[count++] = s;
            }
        }
        return new Moves(Arrays.copyOf(tokens, count), Arrays.copyOf(ends, count));
    }

    /** Fewest bytes from each state to an accepting state: a breadth-first search backwards from the accepting ones. */
    private static int[] distances(RunAutomaton dfa) {
        int n = dfa.getSize();
        int[][] reverse = new int[n][];
        int[] counts = new int[n];
        int[][] edges = new int[n][256];
        for (int s = 0; s < n; s++) {
            for (int c = 0; c < 256; c++) {
                int t = dfa.step(s, (char) c);
                edges[s][c] = t;
                if (t >= 0) {
                    counts[t]++;
                }
            }
        }
        for (int t = 0; t < n; t++) {
            reverse[t] = new int[counts[t]];
            counts[t] = 0;
        }
        for (int s = 0; s < n; s++) {
            for (int c = 0; c < 256; c++) {
                int t = edges[s][c];
                if (t >= 0) {
                    reverse[t][counts[t]++] = s;
                }
            }
        }
        int[] distance = new int[n];
        Arrays.fill(distance, Integer.MAX_VALUE);
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (dfa.isAccept(s)) {
                distance[s] = 0;
                queue.add(s);
            }
        }
        while (!queue.isEmpty()) {
            int t = queue.poll();
            for (int s : reverse[t]) {
                if (distance[s] == Integer.MAX_VALUE) {
                    distance[s] = distance[t] + 1;
                    queue.add(s);
                }
            }
        }
        return distance;
    }

    /** One request's position in the grammar: a stack of DFA states, one per output token. */
    private final class State implements TokenConstraint {

        private final int maxTokens;
        private final int[] eos;
        private int[] stack = new int[64];
        private int depth;

        State(int maxTokens, int[] eos) {
            this.maxTokens = maxTokens;
            this.eos = eos;
            stack[0] = dfa.getInitialState();
        }

        @Override
        public float[] mask(float[] logits) {
            int state = stack[depth];
            float[] masked = new float[logits.length];
            Arrays.fill(masked, Float.NEGATIVE_INFINITY);
            boolean any = false;
            if (state >= 0) {
                // Tokens left after this one: what follows it must fit in them.
                int left = maxTokens - depth - 1;
                Moves m = moves(state);
                int closest = Integer.MAX_VALUE;
                for (int i = 0; i < m.tokens.length; i++) {
                    closest = Math.min(closest, distance[m.ends[i]]);
                }
                // When nothing fits any more (a limit below the shortest JSON), keep closing as fast as possible.
                int allowed = Math.max(left, closest);
                for (int i = 0; i < m.tokens.length; i++) {
                    int t = m.tokens[i];
                    if (t < logits.length && distance[m.ends[i]] <= allowed) {
                        masked[t] = logits[t];
                        any = true;
                    }
                }
            }
            if (state == DEAD || state == FINISHED || (state >= 0 && dfa.isAccept(state)) || !any) {
                for (int e : eos) {
                    if (e >= 0 && e < logits.length) {
                        masked[e] = logits[e];
                        any = true;
                    }
                }
            }
            return any ? masked : logits;
        }

        @Override
        public void push(int token) {
            int state = stack[depth];
            int next;
            if (Arrays.binarySearch(eos, token) >= 0) {
                next = FINISHED;
            } else if (state < 0) {
                next = DEAD;
            } else {
                next = step(state, token);
            }
            if (++depth == stack.length) {
                stack = Arrays.copyOf(stack, depth * 2);
            }
            stack[depth] = next;
        }

        @Override
        public void pop() {
            if (depth == 0) {
                throw new IllegalStateException("pop with nothing pushed");
            }
            depth--;
        }

        private int step(int state, int token) {
            Moves m = moves(state);
            for (int i = 0; i < m.tokens.length; i++) {
                if (m.tokens[i] == token) {
                    return m.ends[i];
                }
            }
            return DEAD;
        }
    }
}
