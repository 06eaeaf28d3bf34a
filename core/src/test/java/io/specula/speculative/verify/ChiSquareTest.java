package io.specula.speculative.verify;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The p-value helper against tabulated chi-square critical values (NIST/SEMATECH e-Handbook, table 1.3.6.7.4). */
class ChiSquareTest {

    @Test
    void matchesTabulatedCriticalValues() {
        // Upper-tail critical values: P(X² ≥ value) = probability.
        assertThat(ChiSquare.pValue(3.841, 1)).isCloseTo(0.05, within(2e-4));
        assertThat(ChiSquare.pValue(18.307, 10)).isCloseTo(0.05, within(2e-4));
        assertThat(ChiSquare.pValue(16.266, 3)).isCloseTo(0.001, within(2e-5));
        assertThat(ChiSquare.pValue(29.588, 10)).isCloseTo(0.001, within(2e-5));
        assertThat(ChiSquare.pValue(59.703, 30)).isCloseTo(0.001, within(2e-5));
        assertThat(ChiSquare.pValue(0, 4)).isEqualTo(1.0);
    }
}
