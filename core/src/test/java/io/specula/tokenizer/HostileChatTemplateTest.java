package io.specula.tokenizer;

import io.specula.SpeculaException;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A chat template is part of the model directory and may be hostile (issue 19, item 8): whatever it does, a render
 * must end quickly with a {@link SpeculaException} that names the template file and the limit it hit, having allocated
 * a bounded amount of memory; neither {@link OutOfMemoryError} nor {@link StackOverflowError} may escape. Each template
 * is loaded the way the engine loads it (a model directory's {@code chat_template.jinja} read by
 * {@link HfTokenizer#load}) with the default limits, and loaded and rendered on a thread with a 1 MiB stack, the
 * stack of a servlet container's worker thread (the JVM's default on Linux x64).
 *
 * <p>Before the fix these allocated gigabytes (tojson(indent=...) 1.5 GB, center 3.3 GB, indent 7.8 GB, a list of
 * copies 5.2 GB, batch 2.7 GB in 37 s), threw {@code OutOfMemoryError} past the renderer (str.replace(''), join of a
 * list, a list of copies) or {@code StackOverflowError} (nested blocks, printing nested data), or an
 * {@code ArrayIndexOutOfBoundsException} (65 nested brackets).
 */
class HostileChatTemplateTest {

    /** Bytes one hostile render may allocate: the default budget (64 MiB for these tiny messages) plus overshoot. */
    static final long MAX_ALLOCATED = 200L << 20;
    static final long STACK = 1L << 20;

    @TempDir
    static Path tmp;
    static int dirs;

    /** A string of 2^21 = 2 M characters ('ab' doubled 20 times), within the 8 M-character string limit. */
    static final String BIG = "{% set ns = namespace(s='ab', l=[]) %}{% for i in range(20) %}{% set ns.s = ns.s + ns.s %}"
            + "{% endfor %}";
    /** BIG, and ns.l a list of 65,536 references to that one string (within the 100 K list limit). */
    static final String COPIES = BIG + "{% set ns.l = [ns.s] %}{% for i in range(16) %}{% set ns.l = ns.l + ns.l %}"
            + "{% endfor %}";
    /** ns.x: a list nested 30,000 deep. */
    static final String DEEP = "{% set ns = namespace(x=1) %}{% for i in range(30000) %}{% set ns.x = [ns.x] %}"
            + "{% endfor %}";

    static Stream<Arguments> hostileTemplates() {
        return Stream.of(
                Arguments.of("tojson with a huge indent", "{{ messages|tojson(indent=1000000000) }}",
                        "maximum string length"),
                Arguments.of("tojson with an indent that overflows int", "{{ {'a': {'b': [1]} }|tojson(indent=1500000000) }}",
                        "maximum string length"),
                Arguments.of("str.replace('') with a long string", BIG + "{{ ns.s.replace('', ns.s)|length }}",
                        "maximum string length"),
                Arguments.of("str.replace of a frequent character", BIG + "{{ ns.s.replace('a', ns.s)|length }}",
                        "maximum string length"),
                Arguments.of("the replace filter", BIG + "{{ ns.s|replace('a', ns.s)|length }}", "maximum string length"),
                Arguments.of("str.join of a list of copies", COPIES + "{{ ''.join(ns.l)|length }}", "maximum string length"),
                Arguments.of("the join filter on a list of copies", COPIES + "{{ ns.l|join('')|length }}",
                        "max String length of 8000000"),
                Arguments.of("map over a list of copies", COPIES + "{{ ns.l|map('upper')|list|length }}",
                        "render memory limit"),
                Arguments.of("a list of distinct copies", BIG + "{% set l = [] %}{% for i in range(100000) %}"
                        + "{% do l.append(ns.s ~ i) %}{% endfor %}{{ l|length }}", "render memory limit"),
                Arguments.of("center", BIG + "{{ ns.s|center(1000000000)|length }}", "maximum string length"),
                Arguments.of("indent", BIG + "{{ ns.s|replace('b', '\\n')|indent(100000)|length }}",
                        "maximum string length"),
                Arguments.of("format width", "{{ '%999999999s'|format('x')|length }}", "maximum string length"),
                Arguments.of("format precision", "{{ '%.999999999f'|format(1.5)|length }}", "maximum string length"),
                Arguments.of("batch with fill", "{{ [1]|batch(1000000000, 'x')|length }}", "maximum list size"),
                Arguments.of("str.split into single characters", BIG + "{{ (ns.s + ns.s).split('a')|length }}",
                        "maximum list size"),
                Arguments.of("blocks nested 2000 deep", "{% if true %}".repeat(2000) + "x" + "{% endif %}".repeat(2000),
                        "maximum nesting depth (64)"),
                Arguments.of("brackets nested 3000 deep", "{{ " + "(".repeat(3000) + "1" + ")".repeat(3000) + " }}",
                        "maximum nesting depth (64)"),
                Arguments.of("65 nested brackets", "{{ " + "(".repeat(65) + "1" + ")".repeat(65) + " }}",
                        "maximum nesting depth (64)"),
                Arguments.of("lists nested 30000 deep, printed", DEEP + "{{ ns.x }}", "nesting too deep"),
                Arguments.of("lists nested 30000 deep, tojson", DEEP + "{{ ns.x|tojson }}", "maximum nesting depth (64)"),
                Arguments.of("an expression of 20000 additions", "{{ " + "1 + ".repeat(20000) + "1 }}",
                        "nesting too deep"),
                Arguments.of("a filter Jinja2 lacks (regex_replace)", "{{ 'aaa'|regex_replace('a', 'b') }}",
                        "not available in chat templates"),
                Arguments.of("a filter Jinja2 lacks (render)", "{{ '{{ 1 + 1 }}'|render }}",
                        "not available in chat templates"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileTemplates")
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aHostileTemplateFailsWithTheFileAndTheLimitNamed(String name, String template, String limit) throws Exception {
        Path file = write(template);
        Outcome outcome = loadAndRender(file.getParent());
        assertThat(outcome.error).as("%s: rendered %s", name, outcome.output).isNotNull();
        assertThat(outcome.error).as(name).isInstanceOf(SpeculaException.class);
        assertThat(outcome.error.getMessage()).as(name).contains(file.toString()).contains(limit);
        assertThat(outcome.allocatedBytes).as("%s: bytes allocated by the render", name).isLessThan(MAX_ALLOCATED);
        assertThat(outcome.millis).as("%s: milliseconds", name).isLessThan(10_000);
    }

    @Test
    void rendersAfterAHostileOneAreUnaffected() throws Exception {
        // After errors thrown through Jinjava (a stack overflow, a limit) the same thread renders normally.
        Path qwen = tmp.resolve("qwen");
        TinyTokenizers.write(qwen, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN);
        Outcome[] outcomes = new Outcome[3];
        Thread worker = new Thread(null, () -> {
            try (HfTokenizer good = HfTokenizer.load(qwen)) {
                String expected = good.chatTemplate().render(List.of(new ChatMessage("user", "hi")), true);
                outcomes[0] = renderOn(write(DEEP + "{{ ns.x }}").getParent());
                outcomes[1] = renderOn(write(BIG + "{{ ns.s|center(1000000000) }}").getParent());
                String again = good.chatTemplate().render(List.of(new ChatMessage("user", "hi")), true);
                outcomes[2] = new Outcome(again.equals(expected) ? again : null, null, 0, 0);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "render", STACK);
        worker.start();
        worker.join();
        assertThat(outcomes[0].error).isInstanceOf(SpeculaException.class);
        assertThat(outcomes[1].error).isInstanceOf(SpeculaException.class);
        assertThat(outcomes[2].output).contains("<|im_start|>user\nhi<|im_end|>");
    }

    /**
     * The limits leave real templates alone at the largest prompt they allow: a conversation of 7 M characters
     * (the output limit is 8 M) renders with Llama 3.1's and Qwen3's templates, on a worker's stack, within the memory
     * budget (64 MiB + 64 bytes per character; these renders allocate about 25 per character).
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"llama3.1.jinja", "qwen3.jinja"})
    void aLongConversationStillRenders(String templateFile) throws Exception {
        Path file = write(TinyTokenizers.resource(templateFile));
        List<ChatMessage> messages = new ArrayList<>();
        messages.add(new ChatMessage("system", "You are helpful."));
        String text = "Héllo wörld, this is some text. ".repeat(7_000_000 / 100 / 32);
        for (int i = 0; i < 100; i++) {
            messages.add(new ChatMessage(i % 2 == 0 ? "user" : "assistant", text));
        }
        messages.add(new ChatMessage("user", "And now?"));
        String[] out = new String[1];
        Throwable[] error = new Throwable[1];
        Thread worker = new Thread(null, () -> {
            try (HfTokenizer tokenizer = HfTokenizer.load(file.getParent())) {
                out[0] = tokenizer.chatTemplate().render(messages, true);
            } catch (Throwable t) {
                error[0] = t;
            }
        }, "render", STACK);
        worker.start();
        worker.join();
        assertThat(error[0]).isNull();
        assertThat(out[0].length()).isGreaterThan(100 * text.length()).isLessThan(8_000_000);
        assertThat(out[0]).endsWith("And now?" + (templateFile.startsWith("llama")
                ? "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" : "<|im_end|>\n<|im_start|>assistant\n"));
    }

    @BeforeAll
    static void warmUp() throws Exception {
        // Jinjava's first render loads and initialises its classes on the rendering thread: not the template's doing.
        loadAndRender(write("{{ messages[0].content|tojson }}{{ 'x'|center(3) }}").getParent());
    }

    record Outcome(String output, Throwable error, long allocatedBytes, long millis) {
    }

    static synchronized Path write(String template) throws IOException {
        Path dir = tmp.resolve("model-" + dirs++);
        TinyTokenizers.write(dir, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.NONE);
        return Files.writeString(dir.resolve("chat_template.jinja"), template, StandardCharsets.UTF_8);
    }

    /** Loads the directory's tokenizer and renders one message, on a thread with a worker's stack. */
    static Outcome loadAndRender(Path dir) throws InterruptedException {
        Outcome[] outcome = new Outcome[1];
        Thread worker = new Thread(null, () -> outcome[0] = renderOn(dir), "render", STACK);
        worker.start();
        worker.join();
        return outcome[0];
    }

    private static Outcome renderOn(Path dir) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long bytes = threads.getCurrentThreadAllocatedBytes();
        long start = System.nanoTime();
        String output = null;
        Throwable error = null;
        try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            output = tokenizer.chatTemplate().render(new ArrayList<>(List.of(new ChatMessage("user", "hi"))), true);
        } catch (Throwable t) {
            error = t;
        }
        return new Outcome(output == null ? null : output.substring(0, Math.min(80, output.length())), error,
                threads.getCurrentThreadAllocatedBytes() - bytes, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }
}
