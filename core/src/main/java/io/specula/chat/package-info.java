/**
 * The Spring AI binding: {@link io.specula.chat.SpeculaChatModel}, a {@code ChatModel} over the
 * {@link io.specula.engine.SpeculaEngine}, and its options. The only package of the core module that uses Spring.
 */
@NullMarked
package io.specula.chat;

import org.jspecify.annotations.NullMarked;
