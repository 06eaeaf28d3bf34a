package io.specula.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Stops a command's native work cleanly when the JVM is asked to exit (SIGTERM, Ctrl-C): a shutdown hook asks the
 * work to stop at its next step boundary and waits until the command has finished with it. Without it the JVM exits
 * while a thread is inside libtorch (a backward pass, a forward pass) and the process can crash with SIGSEGV: exit
 * tears down what the native call still uses.
 *
 * <pre>
 *   try (StopOnShutdown guard = StopOnShutdown.install("pretrain", trainer::requestStop)) {
 *       trainer.run();             // sees the request at its next step, checkpoints and returns
 *   }                              // the hook returns, the JVM exits
 * </pre>
 *
 * The hook waits at most {@link #WAIT} (a training step on a large model on the CPU can take a while; a process
 * manager kills after its own timeout anyway).
 */
final class StopOnShutdown implements AutoCloseable {

    /** The longest the hook waits for the command to finish its step. */
    static final Duration WAIT = Duration.ofMinutes(2);

    private final Thread hook;

    private final CountDownLatch finished = new CountDownLatch(1);

    private volatile boolean requested;

    private StopOnShutdown(String command, Runnable stop) {
        this.hook = new Thread(() -> {
            this.requested = true;
            System.err.println(command + ": asked to exit; stopping at the next step boundary");
            System.err.flush();
            try {
                stop.run();
            }
            catch (RuntimeException e) {
                System.err.println(command + ": stopping failed: " + e);
            }
            try {
                if (!this.finished.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                    System.err.println(command + ": did not stop within " + WAIT.toSeconds() + " s; exiting anyway");
                }
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "specula-stop-on-shutdown");
        Runtime.getRuntime().addShutdownHook(this.hook);
    }

    /** Installs the hook for the work that {@code stop} stops. */
    static StopOnShutdown install(String command, Runnable stop) {
        return new StopOnShutdown(command, stop);
    }

    /** Whether the JVM asked the command to stop (the command then winds down rather than starting new work). */
    boolean requested() {
        return this.requested;
    }

    /** The command is done with its native work: the hook (if running) returns, and is removed otherwise. */
    @Override
    public void close() {
        this.finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(this.hook);
        }
        catch (IllegalStateException e) {
            // The JVM is shutting down (the hook is running): nothing to remove.
        }
    }
}
