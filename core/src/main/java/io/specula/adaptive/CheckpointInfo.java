package io.specula.adaptive;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.time.Instant;
import java.util.Locale;

/**
 * {@code adaptive.json}, what a checkpoint of an adapted drafter version says about itself: its number, the base
 * drafter it was made from (name and fingerprint: a checkpoint of another drafter is never loaded over this one), the
 * version it was fine-tuned from, its held-out scores and the training that made it.
 */
record CheckpointInfo(int version, String baseDrafter, String baseFingerprint, int basedOn, Instant created,
                      double heldOutMatchRate, double heldOutExpectedAcceptance, long trainingSteps,
                      long examplesCollected, AdaptiveConfig.Loss loss) {

    JsonObject toJson() {
        JsonObject info = new JsonObject();
        info.addProperty("version", version);
        info.addProperty("base_drafter", baseDrafter);
        info.addProperty("base_fingerprint", baseFingerprint);
        info.addProperty("based_on", basedOn);
        info.addProperty("created", created.toString());
        info.addProperty("held_out_match_rate", heldOutMatchRate);
        info.addProperty("held_out_expected_acceptance", heldOutExpectedAcceptance);
        info.addProperty("training_steps", trainingSteps);
        info.addProperty("examples_collected", examplesCollected);
        info.addProperty("loss", loss.name().toLowerCase(Locale.ROOT));
        return info;
    }

    /**
     * The fingerprint of the base drafter a checkpoint was made from; "" when it names none (missing, null, or not a
     * string): such a checkpoint matches no drafter and is skipped.
     */
    static String baseFingerprint(JsonObject info) {
        JsonElement e = info.get("base_fingerprint");
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : "";
    }

    /** The version a checkpoint was fine-tuned from; -1 when it names none (or not as a number). */
    static int basedOn(JsonObject info) {
        Double d = number(info, "based_on");
        return d == null || d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE ? -1 : d.intValue();
    }

    /** Its held-out match rate and expected acceptance, or {@code null} when it was never judged (or not as numbers). */
    static double[] heldOutScores(JsonObject info) {
        Double match = number(info, "held_out_match_rate");
        Double expected = number(info, "held_out_expected_acceptance");
        return match == null || expected == null ? null : new double[] {match, expected};
    }

    /** A numeric field, or {@code null} when it is missing or not a number (a hand-edited file, another version). */
    private static Double number(JsonObject info, String field) {
        JsonElement e = info.get(field);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() ? e.getAsDouble() : null;
    }
}
