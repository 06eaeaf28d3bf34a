package io.specula.generate;

/** Who produced an output token: a draft the target accepted, or the target itself (a correction or bonus token). */
public enum TokenSource {
    DRAFTER,
    TARGET
}
