package io.specula.speculative.policy;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class CostModelTest {

    static final double NaN = Double.NaN;

    @Test
    void interpolatesAndExtrapolatesUnmeasuredWidths() {
        CostModel c = CostModel.of(10, 100, NaN, NaN, 160, NaN);
        assertThat(c.verify(1)).isEqualTo(100);
        assertThat(c.verify(2)).isCloseTo(120, within(1e-9));
        assertThat(c.verify(3)).isCloseTo(140, within(1e-9));
        assertThat(c.verify(5)).isCloseTo(180, within(1e-9));
        assertThat(c.draft(3)).isEqualTo(30);
    }

    @Test
    void oneMeasurementUsesThePriorSlopeAndPriorDrafterCosts() {
        CostModel c = new CostModel(NaN, NaN, NaN, new double[] {100, NaN, NaN});
        assertThat(c.verify(3)).isCloseTo(100 * (1 + 2 * CostModel.PRIOR_SLOPE), within(1e-9));
        assertThat(c.draft(1)).isCloseTo(CostModel.PRIOR_DRAFT_RATIO * 100, within(1e-9));
        assertThat(c.catchUp(11)).isCloseTo(10 * CostModel.PRIOR_CATCH_UP_RATIO * 100, within(1e-9));
        CostModel upper = CostModel.of(NaN, NaN, NaN, NaN, 130);
        assertThat(upper.verify(1)).isCloseTo(100, within(1e-9));
    }

    @Test
    void aDraftHasAFixedPartAndAPartPerToken() {
        CostModel c = new CostModel(40, 25, 3, new double[] {1000, 1100});
        assertThat(c.draft(0)).isZero();
        assertThat(c.draft(1)).isEqualTo(65);
        assertThat(c.draft(4)).isEqualTo(140);
        assertThat(c.step(1)).isEqualTo(65 + 1100);
        assertThat(c.step(0)).isEqualTo(1000);
        // The steady state (backlog 1) costs nothing extra; a backlog of 101 tokens 100 more catch-up tokens.
        assertThat(c.catchUp(1)).isZero();
        assertThat(c.catchUp(101)).isEqualTo(300);
    }

    @Test
    void nothingMeasuredIsInUnitsOfAPlainStep() {
        CostModel c = CostModel.unknown(3);
        assertThat(c.verify(1)).isEqualTo(1);
        assertThat(c.verify(3)).isCloseTo(1.2, within(1e-9));
        assertThat(c.draft(2)).isCloseTo(2 * CostModel.PRIOR_DRAFT_RATIO, within(1e-9));
    }
}
