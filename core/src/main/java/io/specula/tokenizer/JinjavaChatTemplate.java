package io.specula.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceLocator;
import io.specula.SpeculaException;
import jinjava.javax.el.CompositeELResolver;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;

import java.io.IOException;
import java.lang.reflect.Method;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Renders a Hugging Face chat template (Jinja) as transformers' {@code apply_chat_template} does: trim_blocks and
 * lstrip_blocks on, {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token},
 * {@code raise_exception}, {@code strftime_now}, Python's string methods and Python's {@code tojson}.
 *
 * <p>The template comes from the model directory, so it is treated as hostile: output size, macro recursion,
 * {@code range()} length, list size, the number of template nodes rendered (which bounds nested loops) and wall
 * time are all limited; exceeding one throws {@link SpeculaException} naming the limit.
 */
public final class JinjavaChatTemplate implements ChatTemplate {

    /** Render limits. Defaults fit real templates (a few KB of template, prompts up to megabytes). */
    public record Limits(long maxOutputChars, int maxMacroDepth, int maxLoopIterations, long maxNodes,
                         long timeoutMillis) {
        public static final Limits DEFAULT = new Limits(8_000_000, 20, 100_000, 5_000_000, 2_000);
    }

    /**
     * Jinja's whitespace handling: "{{-" and "{%-" trim the text before them (Jinjava does that only with
     * trimming for expressions on), and Python's operator precedence.
     */
    private static final LegacyOverrides OVERRIDES = LegacyOverrides.newBuilder()
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .withKeepNullableLoopValues(true)
            .build();

    private static final String WHERE = "tokenizer_config.json chat_template";

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Limits limits;
    private final Clock clock;

    public JinjavaChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, Limits.DEFAULT, Clock.systemDefaultZone());
    }

    /** @param clock the time strftime_now sees (tests fix it) */
    public JinjavaChatTemplate(String template, String bosToken, String eosToken, Limits limits, Clock clock) {
        this.template = TemplateSource.rewrite(Objects.requireNonNull(template, "template"));
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.limits = limits;
        this.clock = clock;
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        // transformers passes the special tokens only when the tokenizer has them; undefined renders as "".
        if (bosToken != null) {
            context.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            context.put("eos_token", eosToken);
        }
        // Templates test "strftime_now is defined" before calling it; in Jinja a global function is defined.
        context.put("strftime_now", true);
        context.put("raise_exception", true);
        return render(context);
    }

    private String render(Map<String, Object> context) {
        RenderGuard guard = new RenderGuard(limits.maxNodes(), limits.timeoutMillis());
        Jinjava jinjava = newJinjava(guard);
        Clock previous = TemplateFunctions.CLOCK.get();
        Integer previousRange = TemplateFunctions.MAX_RANGE.get();
        TemplateFunctions.CLOCK.set(clock);
        TemplateFunctions.MAX_RANGE.set(limits.maxLoopIterations());
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } catch (RenderGuard.LimitExceeded e) {
            throw new SpeculaException(WHERE + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw failure(guard, e.getMessage(), e);
        } finally {
            TemplateFunctions.CLOCK.set(previous);
            TemplateFunctions.MAX_RANGE.set(previousRange);
        }
        if (guard.exceeded() != null) {
            throw new SpeculaException(WHERE + ": " + guard.exceeded());
        }
        // Any error fails the render, warnings included: Jinjava reports an exceeded macro recursion limit as a
        // warning and renders an empty string, which would silently give the model a different prompt.
        for (TemplateError error : result.getErrors()) {
            throw failure(guard, describe(error), error.getException());
        }
        return result.getOutput();
    }

    private SpeculaException failure(RenderGuard guard, String message, Throwable cause) {
        if (guard.exceeded() != null) {
            return new SpeculaException(WHERE + ": " + guard.exceeded(), cause);
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof TemplateFunctions.TemplateRaised raised) {
                return new SpeculaException(WHERE + " raised an exception: " + raised.getMessage(), cause);
            }
        }
        return new SpeculaException(WHERE + " failed to render: " + message, cause);
    }

    private String describe(TemplateError error) {
        String limit = switch (error.getReason()) {
            case OUTPUT_TOO_BIG -> "maximum output size (" + limits.maxOutputChars() + " chars) exceeded: ";
            case COLLECTION_TOO_BIG, OVER_LIMIT -> "loop iteration / collection size limit ("
                    + limits.maxLoopIterations() + ") exceeded: ";
            default -> "";
        };
        String message = error.getMessage();
        if (error.getException() != null) {
            for (Throwable t = error.getException(); t != null; t = t.getCause()) {
                if (t instanceof TemplateFunctions.TemplateRaised) {
                    return "raise_exception: " + t.getMessage();
                }
            }
        }
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof RenderGuard.LimitExceeded) {
                return t.getMessage();
            }
        }
        if (message != null && message.contains("recursion")) {
            limit = "maximum macro recursion depth (" + limits.maxMacroDepth() + ") exceeded: ";
        }
        return limit + message + " (line " + error.getLineno() + ")";
    }

    private Jinjava newJinjava(RenderGuard guard) {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)            // transformers: ImmutableSandboxedEnvironment(trim_blocks=True,
                .withLstripBlocks(true)          //   lstrip_blocks=True)
                .withMaxOutputSize(limits.maxOutputChars())
                .withMaxStringLength(limits.maxOutputChars())
                .withEnableRecursiveMacroCalls(true)
                .withMaxMacroRecursionDepth(limits.maxMacroDepth())
                .withMaxRenderDepth(limits.maxMacroDepth())
                .withRangeLimit(limits.maxLoopIterations())
                .withMaxListSize(limits.maxLoopIterations())
                .withMaxMapSize(limits.maxLoopIterations())
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withNodePreProcessor(guard)
                .withElResolver(resolver())
                .withLegacyOverrides(OVERRIDES)
                .build();
        Jinjava jinjava = new Jinjava(config);
        // No {% include %} / {% import %}: a template must not read files or classpath resources.
        jinjava.setResourceLocator(new ResourceLocator() {
            @Override
            public String getString(String name, java.nio.charset.Charset encoding,
                                    com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter) throws IOException {
                throw new IOException("chat templates cannot include other templates (" + name + ")");
            }
        });
        jinjava.getGlobalContext().registerFilter(new PyJson());
        jinjava.getGlobalContext().registerFilter(new ItemsFilter());
        jinjava.getGlobalContext().registerFunction(function("raise_exception", "raiseException"));
        jinjava.getGlobalContext().registerFunction(function("strftime_now", "strftimeNow"));
        try {
            Method range = TemplateFunctions.class.getDeclaredMethod("range", Object.class, Object[].class);
            range.setAccessible(true);
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "range", range));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        return jinjava;
    }

    private static CompositeELResolver resolver() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        return resolver;
    }

    private static ELFunctionDefinition function(String name, String method) {
        try {
            Method m = TemplateFunctions.class.getDeclaredMethod(method, String.class);
            m.setAccessible(true);
            return new ELFunctionDefinition("", name, m);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }
}
