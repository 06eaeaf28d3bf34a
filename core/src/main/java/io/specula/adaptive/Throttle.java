package io.specula.adaptive;

/**
 * Keeps the background trainer to a share of one core: after work that took t, sleeps t (1 - share) / share, so that
 * over time it computes at most {@code share} of the time. A share of 1 never sleeps.
 */
final class Throttle {

    private final double share;
    private final java.util.function.BooleanSupplier stop;

    /** @param stop checked after each piece of work: true ends the current update (pause, shutdown) */
    Throttle(double share, java.util.function.BooleanSupplier stop) {
        this.share = share;
        this.stop = stop;
    }

    void worked(long nanos) throws InterruptedException {
        if (share < 1) {
            long sleep = (long) (nanos * (1 - share) / share);
            if (sleep > 0) {
                Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
            }
        }
        if (stop.getAsBoolean() || Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("adaptive update stopped");
        }
    }
}
