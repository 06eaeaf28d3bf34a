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
        assertThat(c.draft()).isEqualTo(10);
    }

    @Test
    void oneMeasurementUsesThePriorSlope() {
        CostModel c = CostModel.of(NaN, 100, NaN, NaN);
        assertThat(c.verify(3)).isCloseTo(100 * (1 + 2 * CostModel.PRIOR_SLOPE), within(1e-9));
        assertThat(c.draft()).isCloseTo(CostModel.PRIOR_DRAFT_RATIO * 100, within(1e-9));
        CostModel upper = CostModel.of(NaN, NaN, NaN, NaN, 130);
        assertThat(upper.verify(1)).isCloseTo(100, within(1e-9));
    }

    @Test
    void nothingMeasuredIsInUnitsOfAPlainStep() {
        CostModel c = CostModel.of(NaN, NaN, NaN);
        assertThat(c.verify(1)).isEqualTo(1);
        assertThat(c.verify(3)).isCloseTo(1.2, within(1e-9));
    }
}
