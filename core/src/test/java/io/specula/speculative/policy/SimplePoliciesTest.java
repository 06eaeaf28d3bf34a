package io.specula.speculative.policy;

import io.specula.SpeculaException;
import io.specula.speculative.drafter.DraftGate;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SimplePoliciesTest {

    @Test
    void fixedDraftsGammaWithinTheLimit() {
        FixedPolicy p = new FixedPolicy(5);
        assertThat(p.nextDraftLength(StepContext.steady(16))).isEqualTo(5);
        assertThat(p.nextDraftLength(StepContext.steady(2))).isEqualTo(2);
        assertThat(p.gate()).isSameAs(DraftGate.ALWAYS);
    }

    @Test
    void heuristicAddsTwoAfterFullAcceptanceAndDropsOneOtherwise() {
        HeuristicPolicy p = new HeuristicPolicy(8);
        assertThat(p.nextDraftLength(StepContext.steady(16))).isEqualTo(8);
        p.observe(new StepOutcome(8, 8, 3, 1, 0, 0));
        assertThat(p.current()).isEqualTo(7);
        p.observe(new StepOutcome(7, 7, 7, 1, 0, 0));
        assertThat(p.current()).isEqualTo(8);
        for (int i = 0; i < 20; i++) {
            p.observe(new StepOutcome(1, 1, 0, 1, 0, 0));
        }
        assertThat(p.current()).isEqualTo(1);
        p.observe(StepOutcome.plain(0));
        assertThat(p.current()).isEqualTo(1);
        p.observe(new StepOutcome(1, 1, 1, 1, 0, 0));
        assertThat(p.current()).isEqualTo(3);
    }

    @Test
    void confidenceGateStopsBelowTheThreshold() {
        ConfidencePolicy p = new ConfidencePolicy(6);
        assertThat(p.threshold()).isEqualTo(0.75);
        assertThat(p.nextDraftLength(StepContext.steady(4))).isEqualTo(4);
        assertThat(p.gate().keepDrafting(0, 0.9f)).isTrue();
        assertThat(p.gate().keepDrafting(3, 0.74f)).isFalse();
        assertThatThrownBy(() -> new ConfidencePolicy(4, 1.5)).isInstanceOf(SpeculaException.class);
    }

    @Test
    void policiesByName() {
        DraftPolicies policies = new DraftPolicies();
        assertThat(policies.create(DraftPolicy.DEFAULT, DraftPolicy.DEFAULT_DRAFT_TOKENS)).isInstanceOf(AdaptivePolicy.class);
        assertThat(policies.create(DraftPolicy.parse("Fixed"), 3)).isInstanceOf(FixedPolicy.class);
        assertThat(policies.create(DraftPolicy.HEURISTIC, 3)).isInstanceOf(HeuristicPolicy.class);
        assertThat(policies.create(DraftPolicy.CONFIDENCE, 3)).isInstanceOf(ConfidencePolicy.class);
        assertThatThrownBy(() -> policies.create(DraftPolicy.parse("eagle"), 3)).isInstanceOf(SpeculaException.class)
                .hasMessageContaining("eagle");
        assertThatThrownBy(() -> policies.create(DraftPolicy.FIXED, 0)).isInstanceOf(SpeculaException.class);
    }
}
