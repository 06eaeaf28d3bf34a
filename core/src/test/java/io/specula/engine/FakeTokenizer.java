package io.specula.engine;

import java.util.ArrayList;
import java.util.List;

import io.specula.tokenizer.ChatTemplate;
import io.specula.tokenizer.StreamingDetokenizer;
import io.specula.tokenizer.Tokenizer;

/** One token per character; records what it was asked to encode. Only for tests of the request path. */
final class FakeTokenizer implements Tokenizer {

    final ChatTemplate template;

    final List<String> encodedTexts = new ArrayList<>();

    final List<Boolean> addedSpecialTokens = new ArrayList<>();

    FakeTokenizer(ChatTemplate template) {
        this.template = template;
    }

    @Override
    public int[] encode(String text) {
        return encode(text, true);
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        this.encodedTexts.add(text);
        this.addedSpecialTokens.add(addSpecialTokens);
        int[] ids = text.chars().map(c -> c % 100).toArray();
        if (!addSpecialTokens) {
            return ids;
        }
        int[] withBos = new int[ids.length + 1];
        withBos[0] = 1;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    @Override
    public String decode(int[] ids) {
        return "";
    }

    @Override
    public int vocabSize() {
        return 100;
    }

    @Override
    public String tokenString(int id) {
        return String.valueOf(id);
    }

    @Override
    public int bosId() {
        return 1;
    }

    @Override
    public List<Integer> eosIds() {
        return List.of(2);
    }

    @Override
    public boolean isSpecial(int id) {
        return id < 3;
    }

    @Override
    public ChatTemplate chatTemplate() {
        return this.template;
    }

    @Override
    public StreamingDetokenizer newStreamingDetokenizer() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
    }
}
