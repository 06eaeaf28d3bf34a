package io.specula.adaptive;

import io.specula.model.CausalLm;
import io.specula.speculative.drafter.Draft;
import io.specula.speculative.drafter.DraftContext;
import io.specula.speculative.drafter.DraftGate;
import io.specula.speculative.drafter.DraftSession;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.training.SafeTensorsFiles;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * The adaptive drafter's serving side: the version that serves now and the versions still in use. The serving version
 * sits in an {@link AtomicReference}. A request opens its draft session on the version current at its start and
 * keeps it to its end (its KV cache was computed by those weights; switching mid-request would mean a second
 * prefill); the next request gets the new version. Old versions are released when their last session closes, so
 * serving never waits for training.
 */
final class DrafterVersions {

    /** Versions listed in the status. */
    static final int VERSIONS_LISTED = 8;

    private final AtomicReference<Version> current = new AtomicReference<>();
    private final ArrayDeque<VersionStats> history = new ArrayDeque<>();
    private final List<IntConsumer> listeners = new CopyOnWriteArrayList<>();
    private int nextNumber = 1;
    private volatile boolean closed;

    DrafterVersions(Version base) {
        install(base);
    }

    /** A session on the serving version; closing it releases the version. */
    DraftSession open(DraftContext context) {
        Version v = acquire();
        try {
            return new Session(v, v.drafter.open(context));
        } catch (RuntimeException e) {
            v.release();
            throw e;
        }
    }

    /**
     * The serving version, with a reference held for the caller (release it).
     *
     * @throws IllegalStateException once closed: the speculative loop takes it as a drafter fault and decodes with the
     *                               target alone
     */
    Version acquire() {
        while (true) {
            if (closed) {
                throw new IllegalStateException("adaptive drafter: closed (the engine is shutting down)");
            }
            Version v = current.get();
            if (v.retain()) {
                return v;
            }
            // Released to zero: either a swap just replaced it (current has moved on: retry) or the drafter closed.
        }
    }

    /** The serving version, without a reference: for its number and figures only. */
    Version serving() {
        return current.get();
    }

    /** The number of the next version. */
    synchronized int newNumber() {
        return nextNumber++;
    }

    /** Numbers up to {@code number} are taken (by checkpoints on disk). */
    synchronized void reserveUpTo(int number) {
        nextNumber = Math.max(nextNumber, number + 1);
    }

    /** Makes {@code next} the serving version; the old one closes when its last request ends. */
    void swap(Version next) {
        Version old = current.get();
        install(next);
        old.weights = null;
        old.release();
        for (IntConsumer l : listeners) {
            try {
                l.accept(next.number);
            } catch (RuntimeException ignored) {
                // A listener must not undo a swap.
            }
        }
    }

    private void install(Version v) {
        current.set(v);
        synchronized (history) {
            history.remove(v.stats);    // a rollback serves an earlier version's figures again
            history.addFirst(v.stats);
            while (history.size() > VERSIONS_LISTED) {
                history.removeLast();
            }
        }
    }

    /** The figures of version {@code number} if it is still listed, else null. */
    VersionStats listed(int number) {
        synchronized (history) {
            for (VersionStats s : history) {
                if (s.number == number) {
                    return s;
                }
            }
        }
        return null;
    }

    /** Called with the new version number after each swap. */
    void addListener(IntConsumer listener) {
        listeners.add(listener);
    }

    /** The serving version's weights (a copy of the map; the arrays are shared and never modified). */
    Map<String, SafeTensorsFiles.Tensor> servingWeights() {
        while (true) {
            Map<String, SafeTensorsFiles.Tensor> w = current.get().weights;
            if (w != null) {
                return new LinkedHashMap<>(w);
            }
            if (closed) {
                throw new IllegalStateException("adaptive drafter: closed");
            }
            // A swap is under way: the old version's weights are dropped just after the new one is installed.
            Thread.onSpinWait();
        }
    }

    /** The most recent versions, newest first. */
    List<AdaptationStatus.VersionStatus> statuses() {
        int serving = current.get().number;
        List<AdaptationStatus.VersionStatus> versions = new ArrayList<>();
        synchronized (history) {
            for (VersionStats s : history) {
                versions.add(new AdaptationStatus.VersionStatus(s.number, s.basedOn, s.created, s.number == serving,
                        s.heldOutMatch, s.heldOutExpected, s.requests.get(), s.drafted.get(), s.accepted.get()));
            }
        }
        return versions;
    }

    /** Releases the serving version (it closes once its last session ends); no session opens after this. */
    void close() {
        if (!closed) {
            closed = true;
            current.get().release();
        }
    }

    /** The figures of the version a session drafts with, or {@code null} for a session opened elsewhere. */
    static VersionStats statsOf(DraftSession session) {
        return session instanceof Session s ? s.version.stats : null;
    }

    /** Figures of one version, kept after the version itself is gone. */
    static final class VersionStats {
        final int number;
        final int basedOn;
        final Instant created;
        final AtomicLong requests = new AtomicLong();
        final AtomicLong drafted = new AtomicLong();
        final AtomicLong accepted = new AtomicLong();
        volatile double heldOutMatch = Double.NaN;
        volatile double heldOutExpected = Double.NaN;

        VersionStats(int number, int basedOn, Instant created) {
            this.number = number;
            this.basedOn = basedOn;
            this.created = created;
        }

        /** Live acceptance rate, accepted / drafted tokens (NaN before the first draft). */
        double acceptanceRate() {
            long d = drafted.get();
            return d == 0 ? Double.NaN : (double) accepted.get() / d;
        }
    }

    /** A drafter version: its model, reference-counted by the engine (1) and each open session. */
    static final class Version {
        final int number;
        final CausalLm model;
        final boolean owned;
        final ModelDrafter drafter;
        final VersionStats stats;
        volatile Map<String, SafeTensorsFiles.Tensor> weights;
        private final AtomicInteger refs = new AtomicInteger(1);

        /** @param owned whether releasing the last reference closes the model (not the loaded base drafter's) */
        Version(String name, int number, CausalLm model, boolean owned,
                Map<String, SafeTensorsFiles.Tensor> weights, VersionStats stats) {
            this.number = number;
            this.model = model;
            this.owned = owned;
            this.weights = weights;
            this.stats = stats;
            this.drafter = new ModelDrafter(name, model);
        }

        boolean retain() {
            while (true) {
                int r = refs.get();
                if (r == 0) {
                    return false;
                }
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
        }

        void release() {
            if (refs.decrementAndGet() == 0 && owned) {
                model.close();
            }
        }
    }

    /** A session on one version; closing it releases the version. */
    private static final class Session implements DraftSession {
        private final Version version;
        private final DraftSession delegate;
        private boolean closed;

        Session(Version version, DraftSession delegate) {
            this.version = version;
            this.delegate = delegate;
        }

        @Override
        public int backlog() {
            return delegate.backlog();
        }

        @Override
        public Draft propose(int maxTokens, DraftGate gate) {
            return delegate.propose(maxTokens, gate);
        }

        @Override
        public void accepted(int acceptedCount, int nextToken) {
            delegate.accepted(acceptedCount, nextToken);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                try {
                    delegate.close();
                } finally {
                    version.release();
                }
            }
        }
    }
}
