package io.specula.speculative.drafter;

import io.specula.SpeculaException;
import io.specula.speculative.testing.FakeTokenizer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VocabularyCheckTest {

    @Test
    void sameTokenizerWithPaddedRowsPasses() {
        // Qwen-style: 40 tokens, the target pads to 48 rows, the drafter to 44.
        int emittable = VocabularyCheck.verify("target", new FakeTokenizer(40), 48, "drafter", new FakeTokenizer(40), 44);
        assertThat(emittable).isEqualTo(44);
    }

    @Test
    void firstDifferingIdIsNamedWithBothModels() {
        FakeTokenizer other = new FakeTokenizer(40, id -> id == 17 ? "zz" : FakeTokenizer.letter(id));
        assertThatThrownBy(() -> VocabularyCheck.verify("Qwen2.5-7B", new FakeTokenizer(40), 40, "Llama-3.2-1B",
                other, 40))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("Qwen2.5-7B")
                .hasMessageContaining("Llama-3.2-1B")
                .hasMessageContaining("token id 17")
                .hasMessageContaining("'zz'");
    }

    @Test
    void anIdOnlyOneTokenizerKnowsIsAMismatchWhenTheDrafterCanEmitIt() {
        assertThatThrownBy(() -> VocabularyCheck.verify("t", new FakeTokenizer(30), 40, "d", new FakeTokenizer(32), 40))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("token id 30")
                .hasMessageContaining("vocabulary sizes 30 and 32");
        // The drafter has only 30 rows: it can never emit 30 or 31, so the tokenizers agree where it matters.
        assertThat(VocabularyCheck.verify("t", new FakeTokenizer(30), 40, "d", new FakeTokenizer(32), 30))
                .isEqualTo(30);
    }
}
