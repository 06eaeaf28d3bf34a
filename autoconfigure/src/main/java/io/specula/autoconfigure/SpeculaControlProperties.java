package io.specula.autoconfigure;

import java.nio.file.Path;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code management.endpoint.speculacontrol.*}: limits of the {@link SpeculaControlEndpoint} (which is off unless the
 * application gives it access).
 */
@ConfigurationProperties(prefix = SpeculaControlProperties.CONFIG_PREFIX)
public class SpeculaControlProperties {

    public static final String CONFIG_PREFIX = "management.endpoint.speculacontrol";

    /**
     * The folder new target weights may be loaded from by the endpoint's {@code target} action (paths are resolved
     * inside it; anything outside is refused). Unset: target updates through the endpoint are refused.
     */
    private @Nullable Path targetDir;

    public @Nullable Path getTargetDir() {
        return this.targetDir;
    }

    public void setTargetDir(@Nullable Path targetDir) {
        this.targetDir = targetDir;
    }

}
