package io.specula.speculative.testing;

import io.specula.tokenizer.ChatTemplate;
import io.specula.tokenizer.StreamingDetokenizer;
import io.specula.tokenizer.Tokenizer;

import java.util.List;
import java.util.function.IntFunction;

/**
 * A stand-in tokenizer for the speculative tests until the shared fixtures land: token id i is the string
 * {@code names.apply(i)} (by default one letter per id, cycling through a-z then A-Z), so stop sequences are easy to
 * place. Only what generation and the vocabulary check use is implemented.
 */
public final class FakeTokenizer implements Tokenizer {

    private final int vocabSize;
    private final IntFunction<String> names;

    public FakeTokenizer(int vocabSize) {
        this(vocabSize, FakeTokenizer::letter);
    }

    public FakeTokenizer(int vocabSize, IntFunction<String> names) {
        this.vocabSize = vocabSize;
        this.names = names;
    }

    public static String letter(int id) {
        String letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        return id < letters.length() ? String.valueOf(letters.charAt(id)) : "<" + id + ">";
    }

    @Override
    public int[] encode(String text) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        throw new UnsupportedOperationException();
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder b = new StringBuilder();
        for (int id : ids) {
            b.append(tokenString(id));
        }
        return b.toString();
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String tokenString(int id) {
        return names.apply(id);
    }

    @Override
    public int bosId() {
        return -1;
    }

    @Override
    public List<Integer> eosIds() {
        return List.of();
    }

    @Override
    public boolean isSpecial(int id) {
        return false;
    }

    @Override
    public ChatTemplate chatTemplate() {
        return null;
    }

    @Override
    public StreamingDetokenizer newStreamingDetokenizer() {
        return new StreamingDetokenizer() {
            @Override
            public String push(int tokenId) {
                return tokenString(tokenId);
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }

    @Override
    public void close() {
    }
}
