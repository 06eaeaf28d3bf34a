package io.specula.training;

import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.Locale;

/**
 * The progress line on stderr: step, loss, learning rate, tokens per second over the last steps, elapsed time and
 * ETA. Redrawn in place on a terminal; on a pipe or file (no console) one line every {@code every} steps.
 */
final class Progress {

    private final PrintStream out;
    private final long total;
    private final int every;
    private final boolean inPlace;
    private final ArrayDeque<long[]> recent = new ArrayDeque<>(); // {nanos, tokens}
    private final long startNanos = System.nanoTime();
    private final long startStep;
    private long lastDraw;

    Progress(PrintStream out, long startStep, long total, int every, boolean inPlace) {
        this.out = out;
        this.startStep = startStep;
        this.total = total;
        this.every = Math.max(1, every);
        this.inPlace = inPlace;
    }

    /** Tokens per second over the last 20 steps; 0 before two steps. */
    double tokensPerSecond() {
        if (recent.size() < 2) {
            return 0;
        }
        long[] first = recent.peekFirst();
        long[] last = recent.peekLast();
        double seconds = (last[0] - first[0]) / 1e9;
        return seconds <= 0 ? 0 : (last[1] - first[1]) / seconds;
    }

    void step(long step, long tokensSoFar, float loss, float lr, String extra) {
        long now = System.nanoTime();
        recent.addLast(new long[] {now, tokensSoFar});
        while (recent.size() > 21) {
            recent.removeFirst();
        }
        boolean last = step == total;
        if (inPlace ? (now - lastDraw < 200_000_000L && !last) : (step % every != 0 && !last && step != startStep + 1)) {
            return;
        }
        lastDraw = now;
        double elapsed = (now - startNanos) / 1e9;
        double perStep = (step - startStep) > 0 ? elapsed / (step - startStep) : 0;
        double eta = perStep * (total - step);
        int width = 24;
        int filled = (int) (width * step / Math.max(1, total));
        String bar = "=".repeat(filled) + (filled < width ? ">" + " ".repeat(width - filled - 1) : "");
        String line = String.format(Locale.ROOT, "step %d/%d [%s] %3d%% loss %.4f lr %.2e %.0f tok/s %s ETA %s%s",
                step, total, bar, (int) (100 * step / Math.max(1, total)), loss, lr, tokensPerSecond(),
                clock(elapsed), clock(eta), extra == null ? "" : " " + extra);
        if (inPlace) {
            out.print("\r" + line + "\u001b[K");
            if (last) {
                out.println();
            }
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** A message on a line of its own (the progress line, if drawn in place, is redrawn by the next step). */
    void message(String text) {
        if (inPlace) {
            out.print("\r\u001b[K");
        }
        out.println(text);
        out.flush();
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
