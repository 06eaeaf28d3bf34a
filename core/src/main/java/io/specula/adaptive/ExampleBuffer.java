package io.specula.adaptive;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The bounded buffer of examples collected from served requests, split by request into a training part and a
 * held-out part (about {@code heldOutFraction} of the requests, spread evenly): held-out examples are never trained
 * on, and the trainer compares drafter versions on them. Both parts keep the most recent examples (the oldest go
 * first), so the comparison is on recent traffic. Thread-safe; adding is O(examples of the request).
 *
 * <p>Only the serving target's examples are kept: when the target is updated ({@link #targetChanged}) the examples of
 * older targets are dropped from both parts, and those of requests still finishing on an older target are not added.
 * Why dropped rather than weighted down: their labels are what a target that no longer verifies would have said, so
 * any weight on them pulls the drafter away from what is now accepted, and held-out scores on them would judge
 * candidates against the wrong target; the buffer refills from the new target's traffic within
 * {@code trainCapacity} windows, and the drafter's weights (trained on the older targets) are where the old knowledge
 * lives on.
 */
public final class ExampleBuffer {

    private final int trainCapacity;
    private final int heldOutCapacity;
    private final double heldOutFraction;
    private final ArrayDeque<Example> train = new ArrayDeque<>();
    private final ArrayDeque<Example> heldOut = new ArrayDeque<>();
    private long requests;
    private long collected;
    private long collectedPositions;
    private int heldOutPositions;
    private int target = 1;
    private long dropped;

    public ExampleBuffer(int trainCapacity, double heldOutFraction) {
        this.trainCapacity = trainCapacity;
        this.heldOutFraction = heldOutFraction;
        this.heldOutCapacity = Math.max(8, (int) Math.ceil(trainCapacity * heldOutFraction / (1 - heldOutFraction)));
    }

    /** Adds the windows of one request; returns whether they went to the held-out part. */
    public synchronized boolean add(List<Example> windows) {
        if (windows.isEmpty()) {
            return false;
        }
        if (windows.get(0).target() < target) {
            dropped += windows.size();
            return false;
        }
        long n = requests++;
        // Request n is held out when the running count of held-out requests, n * fraction, crosses an integer.
        boolean held = Math.floor((n + 1) * heldOutFraction) > Math.floor(n * heldOutFraction);
        for (Example e : windows) {
            collected++;
            collectedPositions += e.labels();
            if (held) {
                heldOut.addLast(e);
                heldOutPositions += e.labels();
                while (heldOut.size() > heldOutCapacity) {
                    heldOutPositions -= heldOut.removeFirst().labels();
                }
            } else {
                train.addLast(e);
                while (train.size() > trainCapacity) {
                    train.removeFirst();
                }
            }
        }
        return held;
    }

    /**
     * The target version that serves now; examples of older versions are dropped (now and when they arrive later).
     * Going back to a lower number is ignored.
     */
    public synchronized void targetChanged(int version) {
        if (version <= target) {
            return;
        }
        target = version;
        int before = train.size() + heldOut.size();
        train.removeIf(e -> e.target() < version);
        heldOut.removeIf(e -> e.target() < version);
        heldOutPositions = heldOut.stream().mapToInt(Example::labels).sum();
        dropped += before - train.size() - heldOut.size();
    }

    /** The target version whose examples are kept. */
    public synchronized int target() {
        return target;
    }

    /** Examples dropped because an update made their target an older one. */
    public synchronized long dropped() {
        return dropped;
    }

    /** {@code size} training examples drawn uniformly with replacement ({@code null} if there is none). */
    public synchronized List<Example> sample(int size, SplittableRandom random) {
        if (train.isEmpty()) {
            return null;
        }
        Example[] all = train.toArray(new Example[0]);
        List<Example> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            out.add(all[random.nextInt(all.length)]);
        }
        return out;
    }

    /** The held-out examples now (a copy). */
    public synchronized List<Example> heldOut() {
        return List.copyOf(heldOut);
    }

    /** The training examples now (a copy). */
    public synchronized List<Example> training() {
        return List.copyOf(train);
    }

    public synchronized int trainingSize() {
        return train.size();
    }

    public synchronized int heldOutSize() {
        return heldOut.size();
    }

    public synchronized int heldOutPositions() {
        return heldOutPositions;
    }

    /** Examples collected since start (including those dropped since). */
    public synchronized long collected() {
        return collected;
    }

    /** Labelled positions collected since start. */
    public synchronized long collectedPositions() {
        return collectedPositions;
    }

    /** Requests whose windows were collected. */
    public synchronized long requests() {
        return requests;
    }
}
