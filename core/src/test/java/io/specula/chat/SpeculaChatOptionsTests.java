package io.specula.chat;

import java.util.List;
import io.specula.speculative.policy.DraftPolicy;

import org.junit.jupiter.api.Test;

import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.test.options.AbstractChatOptionsTests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SpeculaChatOptionsTests extends AbstractChatOptionsTests<SpeculaChatOptions, SpeculaChatOptions.Builder> {

    @Override
    protected Class<SpeculaChatOptions> getConcreteOptionsClass() {
        return SpeculaChatOptions.class;
    }

    @Override
    protected SpeculaChatOptions.Builder readyToBuildBuilder() {
        return SpeculaChatOptions.builder().temperature(0.5).draftTokens(6);
    }

    static SpeculaChatOptions full() {
        return SpeculaChatOptions.builder()
            .model("target")
            .temperature(0.3)
            .topP(0.9)
            .topK(40)
            .maxTokens(128)
            .stopSequences(List.of("###"))
            .seed(42L)
            .frequencyPenalty(0.1)
            .presencePenalty(0.2)
            .speculative(false)
            .draftTokens(8)
            .draftPolicy(DraftPolicy.FIXED)
            .build();
    }

    @Test
    void builderSetsEveryField() {
        SpeculaChatOptions options = full();
        assertThat(options.getModel()).isEqualTo("target");
        assertThat(options.getTemperature()).isEqualTo(0.3);
        assertThat(options.getTopP()).isEqualTo(0.9);
        assertThat(options.getTopK()).isEqualTo(40);
        assertThat(options.getMaxTokens()).isEqualTo(128);
        assertThat(options.getStopSequences()).containsExactly("###");
        assertThat(options.getSeed()).isEqualTo(42L);
        assertThat(options.getFrequencyPenalty()).isEqualTo(0.1);
        assertThat(options.getPresencePenalty()).isEqualTo(0.2);
        assertThat(options.getSpeculative()).isFalse();
        assertThat(options.getDraftTokens()).isEqualTo(8);
        assertThat(options.getDraftPolicy()).isEqualTo(DraftPolicy.FIXED);
    }

    @Test
    void mutateCopiesEveryFieldAndLeavesTheOriginalAlone() {
        SpeculaChatOptions options = full();
        assertThat(options.mutate().build()).isEqualTo(options).hasSameHashCodeAs(options);

        SpeculaChatOptions changed = options.mutate().draftTokens(2).temperature(0.0).build();
        assertThat(changed.getDraftTokens()).isEqualTo(2);
        assertThat(changed.getTemperature()).isEqualTo(0.0);
        assertThat(options.getDraftTokens()).isEqualTo(8);
        assertThat(changed).isNotEqualTo(options);
    }

    @Test
    void stopSequencesAreAnImmutableCopy() {
        List<String> stops = new java.util.ArrayList<>(List.of("a"));
        SpeculaChatOptions options = SpeculaChatOptions.builder().stopSequences(stops).build();
        stops.add("b");
        assertThat(options.getStopSequences()).containsExactly("a");
        assertThatThrownBy(() -> options.getStopSequences().add("c")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void combineWithTakesTheOtherBuildersNonNullValues() {
        SpeculaChatOptions combined = full().mutate()
            .combineWith(SpeculaChatOptions.builder().temperature(1.0).draftTokens(3).speculative(true).seed(7L)
                .stopSequences(List.of("END")))
            .build();
        assertThat(combined.getTemperature()).isEqualTo(1.0);
        assertThat(combined.getDraftTokens()).isEqualTo(3);
        assertThat(combined.getSpeculative()).isTrue();
        assertThat(combined.getSeed()).isEqualTo(7L);
        // unset in the other builder: kept
        assertThat(combined.getTopK()).isEqualTo(40);
        assertThat(combined.getDraftPolicy()).isEqualTo(DraftPolicy.FIXED);
        assertThat(combined.getModel()).isEqualTo("target");
        // stop sequences are appended, as Spring AI's DefaultChatOptionsBuilder does
        assertThat(combined.getStopSequences()).containsExactly("###", "END");
    }

    @Test
    void combineWithPortableOptionsTakesThePortableFields() {
        SpeculaChatOptions combined = full().mutate()
            .combineWith(ChatOptions.builder().topP(0.5).maxTokens(9))
            .build();
        assertThat(combined.getTopP()).isEqualTo(0.5);
        assertThat(combined.getMaxTokens()).isEqualTo(9);
        assertThat(combined.getDraftTokens()).isEqualTo(8);
        assertThat(combined).isInstanceOf(SpeculaChatOptions.class);
    }

    @Test
    void emptyOptionsHaveOnlyNulls() {
        SpeculaChatOptions options = SpeculaChatOptions.builder().build();
        assertThat(options.getTemperature()).isNull();
        assertThat(options.getSpeculative()).isNull();
        assertThat(options.getStopSequences()).isNull();
        assertThat(options).isEqualTo(SpeculaChatOptions.builder().build());
    }
}
