package io.specula.tokenizer;

import java.util.Arrays;
import java.util.function.Function;
import java.util.function.IntPredicate;

/**
 * Streams text as tokens arrive without ever decoding the whole output again: each step decodes only a short
 * window, from the token before the last emitted text ({@code prefixOffset}) to the end, and emits what the window
 * adds beyond the already emitted part ({@code readOffset}) (vLLM's prefix/read offsets). Decoding the previous
 * token together with the new ones reproduces context-dependent decoders exactly, e.g. Llama's "strip the leading
 * space of the first token", which applies to both halves of the window alike.
 *
 * <p>Text is held back while it ends in U+FFFD (an incomplete UTF-8 character, e.g. after {@code <0xE2>}) and, for
 * byte-fallback tokenizers, while the output ends in a run of {@code <0xNN>} tokens: the tokenizers library decodes
 * a whole run at once, and one invalid byte anywhere in it turns every byte of the run into U+FFFD, so nothing of
 * a run is final until it ends. Thus the concatenated deltas plus {@link #flush()} always equal decoding all ids.
 *
 * <p>Cost per token is one or two decodes of a window that spans the tokens since the last emission, O(1)
 * amortised for ordinary text (a run of byte tokens is decoded once, when it ends).
 */
public final class IncrementalDetokenizer implements StreamingDetokenizer {

    private final Function<int[], String> decoder;
    private final IntPredicate byteToken;
    private int[] ids = new int[64];
    private int count;
    private int prefixOffset;   // start of the decode window: first token of the last emitted chunk
    private int readOffset;     // tokens before this have been emitted
    private String prefixText;  // decode(ids[prefixOffset, readOffset)), cached until the next emission

    /**
     * @param decoder   decodes ids exactly as {@link Tokenizer#decode} does
     * @param byteToken true for byte-fallback tokens ({@code <0xNN>}) of a tokenizer whose decoder has ByteFallback
     */
    public IncrementalDetokenizer(Function<int[], String> decoder, IntPredicate byteToken) {
        this.decoder = decoder;
        this.byteToken = byteToken;
    }

    @Override
    public String push(int tokenId) {
        if (count == ids.length) {
            // Keep only the window; everything before prefixOffset is never decoded again.
            int keep = count - prefixOffset;
            int[] next = keep * 2 > ids.length ? new int[ids.length * 2] : ids;
            System.arraycopy(ids, prefixOffset, next, 0, keep);
            ids = next;
            count = keep;
            readOffset -= prefixOffset;
            prefixOffset = 0;
        }
        ids[count++] = tokenId;
        if (byteToken.test(tokenId)) {
            return "";
        }
        return emit(false);
    }

    @Override
    public String flush() {
        return emit(true);
    }

    private String emit(boolean last) {
        if (prefixText == null) {
            prefixText = decoder.apply(Arrays.copyOfRange(ids, prefixOffset, readOffset));
        }
        String text = decoder.apply(Arrays.copyOfRange(ids, prefixOffset, count));
        if (text.length() <= prefixText.length() || (!last && text.endsWith("\uFFFD"))) {
            return "";
        }
        String delta = text.substring(prefixText.length());
        prefixOffset = readOffset;
        readOffset = count;
        prefixText = null;
        return delta;
    }
}
