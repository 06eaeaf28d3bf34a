package io.specula.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
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
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Renders a Hugging Face chat template (Jinja) as transformers' {@code apply_chat_template} does: trim_blocks and
 * lstrip_blocks on, {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token},
 * {@code raise_exception}, {@code strftime_now}, Python's string methods and Python's {@code tojson}.
 *
 * <p>The template comes from the model directory, so it is treated as hostile. One render's budget
 * ({@link RenderGuard}) bounds the output and every string the template builds ({@code maxOutputChars}), lists and
 * maps and {@code range()} ({@code maxLoopIterations}), macro recursion, the template nodes rendered (which bounds
 * nested loops), CPU time, the bytes the render allocates ({@code maxAllocatedBytes} plus
 * {@value #ALLOCATION_PER_CONTENT_CHAR} per character of the messages), and nesting: blocks and brackets in the
 * template (checked when it is loaded) and data given to {@code tojson} ({@code maxNesting}). Only Jinja2's own
 * filters are available, each inside the budget ({@link GuardedFilter}). Exceeding a limit throws
 * {@link SpeculaException} naming the template file and the limit; so does a render that still overflows the
 * thread's stack or exhausts the heap: neither error escapes the renderer.
 */
public final class JinjavaChatTemplate implements ChatTemplate {

    /**
     * Render limits. Defaults fit real templates (a few KB of template, prompts up to megabytes): rendering Llama 3.x
     * and Qwen 2.5/3 templates allocates about 25 bytes per character of the conversation (measured, 10 K to 7 M
     * characters), and they nest blocks at most 5 deep.
     *
     * @param maxAllocatedBytes bytes one render may allocate besides {@value #ALLOCATION_PER_CONTENT_CHAR} per
     *                          character of the messages (on JVMs that count allocations per thread, as HotSpot does)
     * @param maxNesting        deepest nesting of blocks, of brackets in one tag, and of data given to tojson
     */
    public record Limits(long maxOutputChars, int maxMacroDepth, int maxLoopIterations, long maxNodes,
                         long timeoutMillis, long maxAllocatedBytes, int maxNesting) {
        public static final Limits DEFAULT = new Limits(8_000_000, 20, 100_000, 5_000_000, 2_000, 64L << 20, 64);

        /**
         * The given limits with no memory budget (the size limits still apply) and the default nesting limit: the
         * limits as they were before the budget existed. Jinjava allocates for every node it renders, so with a budget
         * a loop that burns CPU may stop at the budget before the timeout.
         */
        public Limits(long maxOutputChars, int maxMacroDepth, int maxLoopIterations, long maxNodes,
                      long timeoutMillis) {
            this(maxOutputChars, maxMacroDepth, maxLoopIterations, maxNodes, timeoutMillis, Long.MAX_VALUE / 4, 64);
        }
    }

    /** Bytes a render may allocate per character of the messages, on top of {@link Limits#maxAllocatedBytes}. */
    public static final int ALLOCATION_PER_CONTENT_CHAR = 64;

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

    /** Where a template comes from when the caller does not say. */
    static final String DEFAULT_SOURCE = "tokenizer_config.json chat_template";

    /**
     * Filters of Jinjava's that Jinja2 lacks: disabled, so a template cannot use them (transformers could not render
     * a template that did).
     */
    private static final Set<String> NON_JINJA2_FILTERS = new Jinjava().getGlobalContext().getAllFilters().stream()
            .map(Filter::getName)
            .filter(name -> !GuardedFilter.JINJA2_FILTERS.contains(name))
            .collect(Collectors.toUnmodifiableSet());

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Limits limits;
    private final Clock clock;
    private final String where;

    public JinjavaChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, Limits.DEFAULT, Clock.systemDefaultZone());
    }

    /** @param clock the time strftime_now sees (tests fix it) */
    public JinjavaChatTemplate(String template, String bosToken, String eosToken, Limits limits, Clock clock) {
        this(template, DEFAULT_SOURCE, bosToken, eosToken, limits, clock);
    }

    /**
     * @param source where the template comes from, for error messages (e.g. {@code /models/x/chat_template.jinja})
     * @throws SpeculaException when the template nests blocks or brackets deeper than {@code limits.maxNesting()}
     */
    public JinjavaChatTemplate(String template, String source, String bosToken, String eosToken, Limits limits,
                               Clock clock) {
        this.where = Objects.requireNonNull(source, "source");
        try {
            this.template = TemplateSource.rewrite(Objects.requireNonNull(template, "template"), limits.maxNesting());
        } catch (TemplateSource.TooDeep e) {
            throw new SpeculaException(where + ": " + e.getMessage(), e);
        }
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.limits = limits;
        this.clock = clock;
    }

    /** Where the template comes from, as error messages name it. */
    public String source() {
        return where;
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, List.of(), addGenerationPrompt);
    }

    @Override
    public boolean supportsTools() {
        return toolCallFormat() != ToolCallFormat.NONE;
    }

    @Override
    public ToolCallFormat toolCallFormat() {
        return ToolCallFormat.of(template);
    }

    /**
     * As transformers' {@code apply_chat_template(messages, tools=...)}: {@code tools} in OpenAI's function format
     * ({@code {"type": "function", "function": {"name", "description", "parameters"}}}), an assistant message's
     * {@code tool_calls} as {@code {"id", "type": "function", "function": {"name", "arguments"}}} with the arguments
     * as a mapping (a template writes them with {@code tojson}), a tool message with its {@code tool_call_id} and
     * {@code name}. Without tools the {@code tools} variable is undefined, as in transformers.
     */
    @Override
    public String render(List<ChatMessage> messages, List<ChatTool> tools, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            if (!m.toolCalls().isEmpty()) {
                List<Map<String, Object>> calls = new ArrayList<>();
                for (ChatMessage.ToolCall call : m.toolCalls()) {
                    Map<String, Object> function = new LinkedHashMap<>();
                    function.put("name", call.name());
                    function.put("arguments", TemplateJson.parseOrText(call.arguments()));
                    Map<String, Object> c = new LinkedHashMap<>();
                    c.put("id", call.id());
                    c.put("type", "function");
                    c.put("function", function);
                    calls.add(c);
                }
                map.put("tool_calls", calls);
            }
            if (m.toolCallId() != null) {
                map.put("tool_call_id", m.toolCallId());
            }
            if (m.name() != null) {
                map.put("name", m.name());
            }
            msgs.add(map);
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", msgs);
        if (tools != null && !tools.isEmpty()) {
            List<Map<String, Object>> list = new ArrayList<>();
            for (ChatTool tool : tools) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", tool.name());
                function.put("description", tool.description());
                function.put("parameters", TemplateJson.parseOrText(tool.parameters()));
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("type", "function");
                t.put("function", function);
                list.add(t);
            }
            context.put("tools", list);
        }
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
        long contentChars = 0;
        for (ChatMessage m : messages) {
            contentChars += (m.content() == null ? 0 : m.content().length()) + (m.role() == null ? 0 : m.role().length());
        }
        long budget = limits.maxAllocatedBytes() + Math.min(Long.MAX_VALUE / 2, contentChars * ALLOCATION_PER_CONTENT_CHAR);
        return render(context, budget);
    }

    private String render(Map<String, Object> context, long allocationBudget) {
        RenderGuard guard = new RenderGuard(limits.maxNodes(), limits.timeoutMillis(), allocationBudget,
                limits.maxOutputChars(), limits.maxLoopIterations(), limits.maxNesting());
        Jinjava jinjava = newJinjava(guard);
        Clock previous = TemplateFunctions.CLOCK.get();
        Integer previousRange = TemplateFunctions.MAX_RANGE.get();
        JinjavaInterpreter previousInterpreter = JinjavaInterpreter.getCurrent();
        TemplateFunctions.CLOCK.set(clock);
        TemplateFunctions.MAX_RANGE.set(limits.maxLoopIterations());
        RenderGuard previousGuard = guard.install();
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } catch (RenderGuard.LimitExceeded e) {
            throw new SpeculaException(where + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw failure(guard, e.getMessage(), e);
        } catch (StackOverflowError e) {
            // Recursion the limits did not foresee (an expression of thousands of operators, data nested thousands
            // deep printed by Jinjava): the stack has unwound to here, so the thread is fine.
            throw new SpeculaException(where + ": " + stackOverflow(), e);
        } catch (OutOfMemoryError e) {
            throw new SpeculaException(where + ": " + outOfMemory(allocationBudget), e);
        } finally {
            RenderGuard.restore(previousGuard);
            TemplateFunctions.CLOCK.set(previous);
            TemplateFunctions.MAX_RANGE.set(previousRange);
            // An error thrown through Jinjava can skip its own clean-up: drop what it left on this thread's stack of
            // interpreters (each holds the whole render's state).
            while (JinjavaInterpreter.getCurrent() != null && JinjavaInterpreter.getCurrent() != previousInterpreter) {
                JinjavaInterpreter.popCurrent();
            }
        }
        if (guard.exceeded() != null) {
            throw new SpeculaException(where + ": " + guard.exceeded());
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
            return new SpeculaException(where + ": " + guard.exceeded(), cause);
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof TemplateFunctions.TemplateRaised raised) {
                return new SpeculaException(where + " raised an exception: " + raised.getMessage(), cause);
            }
            if (t instanceof StackOverflowError) {
                return new SpeculaException(where + ": " + stackOverflow(), cause);
            }
            if (t instanceof OutOfMemoryError) {
                return new SpeculaException(where + ": " + outOfMemory(-1), cause);
            }
        }
        return new SpeculaException(where + " failed to render: " + message, cause);
    }

    private String stackOverflow() {
        return "nesting too deep for the thread's stack (maximum nesting depth " + limits.maxNesting()
                + " for blocks, brackets and tojson data; other recursion is bounded only by the stack)";
    }

    private String outOfMemory(long budget) {
        return "the render ran out of memory (render memory limit " + (budget < 0 ? "" : budget + " bytes, ")
                + "maximum string length " + limits.maxOutputChars() + " chars" + (RenderGuard.measuresAllocation()
                ? "" : "; this JVM does not count allocations per thread, so only sizes are limited") + ")";
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
            if (t instanceof StackOverflowError) {
                return stackOverflow();
            }
            if (t instanceof OutOfMemoryError) {
                return outOfMemory(-1);
            }
        }
        if (error.getReason() == TemplateError.ErrorReason.DISABLED) {
            return "filter or function not available in chat templates (only Jinja2's own are): " + message
                    + " (line " + error.getLineno() + ")";
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
                .withDisabled(Map.of(Context.Library.FILTER, NON_JINJA2_FILTERS))
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
        // Every filter inside the render's budget: map(), select() and friends look filters up by name, so they get
        // the guarded ones too.
        for (Filter filter : List.copyOf(jinjava.getGlobalContext().getAllFilters())) {
            jinjava.getGlobalContext().registerFilter(new GuardedFilter(filter));
        }
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
