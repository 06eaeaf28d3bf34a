package io.specula.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import io.specula.SpeculaException;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.engine.SpeculaEngine;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * The {@code speculacontrol} Actuator endpoint: write operations on a serving engine, off unless the application
 * opts in ({@code defaultAccess = NONE}: {@code management.endpoint.speculacontrol.access=unrestricted} plus the
 * exposure). {@code POST /actuator/speculacontrol/{action}}:
 *
 * <ul>
 *   <li>{@code pause}, {@code resume}: the adaptive drafter's background training (serving goes on);</li>
 *   <li>{@code checkpoint}: writes the serving drafter version to the checkpoint directory now;</li>
 *   <li>{@code rollback} with {@code {"version": N}}: serves drafter version N again (0: as loaded; else a
 *       checkpoint);</li>
 *   <li>{@code target} with {@code {"path": "..."}}: switches the engine to new target weights
 *       ({@link SpeculaEngine#updateTarget}); only paths inside
 *       {@code management.endpoint.speculacontrol.target-dir}, and refused while that property is unset.</li>
 * </ul>
 *
 * <p>A separate endpoint from the read-only status one, so that exposing the status never exposes these. Anyone who
 * can call them can change what the application serves (a target update) and spend its CPU: see
 * docs/operations.md for the security advice.
 */
@Endpoint(id = "speculacontrol", defaultAccess = Access.NONE)
public class SpeculaControlEndpoint {

    private final SpeculaEngine engine;

    private final @Nullable Path targetDir;

    /** @param targetDir the folder target updates must come from; null refuses target updates */
    public SpeculaControlEndpoint(SpeculaEngine engine, @Nullable Path targetDir) {
        this.engine = engine;
        this.targetDir = targetDir != null ? targetDir.toAbsolutePath().normalize() : null;
    }

    /** What serves now. */
    @ReadOperation
    public ControlState state() {
        return state(null, null);
    }

    /**
     * Runs one action ({@code pause}, {@code resume}, {@code checkpoint}, {@code rollback}, {@code target}).
     *
     * @param version for {@code rollback}: the drafter version to serve again
     * @param path    for {@code target}: the new target's model directory or GGUF file, inside the target folder
     */
    @WriteOperation
    public ControlState act(@Selector String action, @Nullable Integer version, @Nullable String path) {
        try {
            switch (action.toLowerCase(Locale.ROOT)) {
                case "pause" -> adaptive().pause();
                case "resume" -> adaptive().resume();
                case "checkpoint" -> {
                    return state(action, adaptive().checkpoint().toString());
                }
                case "rollback" -> {
                    if (version == null || version < 0) {
                        throw new InvalidEndpointRequestException("rollback: expected {\"version\": N} with N >= 0",
                                "rollback needs a version");
                    }
                    adaptive().rollback(version);
                }
                case "target" -> {
                    Path dir = allowedTarget(path);
                    this.engine.updateTarget(dir);
                    return state(action, dir.toString());
                }
                default -> throw new InvalidEndpointRequestException("unknown action '" + action
                        + "': expected pause, resume, checkpoint, rollback or target", "unknown action");
            }
            return state(action, null);
        }
        catch (SpeculaException ex) {
            throw new InvalidEndpointRequestException(action + ": " + ex.getMessage(), action + " failed");
        }
    }

    private Path allowedTarget(@Nullable String path) {
        if (this.targetDir == null) {
            throw new InvalidEndpointRequestException("target: refused, management.endpoint.speculacontrol.target-dir"
                    + " is not set (the folder new targets may be loaded from)", "target updates are not enabled");
        }
        if (path == null || path.isBlank()) {
            throw new InvalidEndpointRequestException("target: expected {\"path\": \"...\"}", "target needs a path");
        }
        Path p = this.targetDir.resolve(path).toAbsolutePath().normalize();
        try {
            // Symbolic links must not lead out of the folder either.
            Path real = Files.exists(p) ? p.toRealPath() : p;
            Path root = Files.exists(this.targetDir) ? this.targetDir.toRealPath() : this.targetDir;
            if (!real.startsWith(root) || real.equals(root)) {
                throw new InvalidEndpointRequestException("target: " + path + " is not inside "
                        + "management.endpoint.speculacontrol.target-dir (" + this.targetDir + ")", "path not allowed");
            }
            return real;
        }
        catch (java.io.IOException ex) {
            throw new InvalidEndpointRequestException("target: cannot read " + p + ": " + ex, "path not readable");
        }
    }

    private AdaptiveDrafter adaptive() {
        return this.engine.adaptive().orElseThrow(() -> new InvalidEndpointRequestException(
                "the drafter does not adapt (spring.ai.specula.adaptive.enabled=false, or not a model drafter)",
                "no adaptive drafter"));
    }

    private ControlState state(@Nullable String action, @Nullable String detail) {
        AdaptiveDrafter a = this.engine.adaptive().orElse(null);
        return new ControlState(action, detail, this.engine.targetVersion(), this.engine.info().targetName(),
                a != null ? a.version() : null, a != null ? a.paused() : null);
    }

    /**
     * The engine after an action.
     *
     * @param action         what was done (null for a read)
     * @param detail         the checkpoint folder written, or the target loaded
     * @param targetVersion  the serving target's version (1: as loaded)
     * @param targetName     its name
     * @param drafterVersion the serving adaptive drafter version, or null without one
     * @param paused         whether adaptation is paused, or null without an adaptive drafter
     */
    public record ControlState(@Nullable String action, @Nullable String detail, int targetVersion,
            String targetName, @Nullable Integer drafterVersion, @Nullable Boolean paused) {
    }

}
