package io.specula.autoconfigure;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.specula.engine.EngineInfo;

/**
 * Keeps the {@code target} tag of Specula's meters (and {@code gen_ai.response.model} of the time to first token)
 * naming the target that serves, across target updates ({@code SpeculaEngine.updateTarget}). Without it the meters
 * went on naming the start-up target after an update, for as long as the application ran.
 *
 * <p>
 * On an update to a target of another name, every Specula meter tagged with the old name is removed from each
 * registry and each {@link Retaggable} binder is bound again with the new name: one set of series at a time, so the
 * tag stays bounded however many updates a policy model goes through (an RL run updates thousands of times). What the
 * new series start from: counters read the engine's totals since start (a new Prometheus series' first sample is its
 * baseline, so rates are unaffected); timers, summaries and gauges start afresh. Between the removal and the new
 * registration (microseconds) a step's timing may go unrecorded. An update to a target of the same name changes
 * nothing.
 */
public class SpeculaTargetMeters implements MeterBinder {

    /** A binder whose meters carry the target's name: told the new name, then bound again to each registry. */
    public interface Retaggable extends MeterBinder {

        /** The tags of meters bound from now on name this engine's target; called before they are bound again. */
        void retag(EngineInfo info);

    }

    private final List<Retaggable> binders;

    private final List<MeterRegistry> registries = new CopyOnWriteArrayList<>();

    private String targetName;

    public SpeculaTargetMeters(EngineInfo info, List<Retaggable> binders) {
        this.binders = List.copyOf(binders);
        this.targetName = info.targetName();
    }

    /** Only remembers the registry: the binders bind themselves, and again here after a target update. */
    @Override
    public void bindTo(MeterRegistry registry) {
        this.registries.add(registry);
    }

    /** The engine serves a new target ({@code SpeculaEngine.addTargetListener}). */
    public synchronized void targetChanged(EngineInfo info) {
        String old = this.targetName;
        if (old.equals(info.targetName())) {
            return;
        }
        for (Retaggable binder : this.binders) {
            binder.retag(info);
        }
        for (MeterRegistry registry : this.registries) {
            for (Meter meter : List.copyOf(registry.getMeters())) {
                if (taggedWith(meter.getId(), old)) {
                    registry.remove(meter);
                }
            }
            for (Retaggable binder : this.binders) {
                binder.bindTo(registry);
            }
        }
        this.targetName = info.targetName();
    }

    /** A Specula meter naming {@code target}. */
    static boolean taggedWith(Meter.Id id, String target) {
        return (id.getName().startsWith("specula.") && target.equals(id.getTag("target")))
                || (id.getName().equals(SpeculaLatencyMetrics.TIME_TO_FIRST_TOKEN)
                        && target.equals(id.getTag("gen_ai.response.model")));
    }

}
