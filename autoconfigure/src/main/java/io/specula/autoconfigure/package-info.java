/**
 * Spring Boot auto-configuration for Specula: the engine, the Spring AI {@code ChatModel}, Micrometer meters, the
 * {@code speculative} Actuator endpoint and a health indicator.
 */
@NullMarked
package io.specula.autoconfigure;

import org.jspecify.annotations.NullMarked;
