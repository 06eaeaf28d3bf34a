package io.specula.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.SpeculaException;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JinjavaChatTemplateTest {

    /** The day transformers rendered transformers-chat.json: Llama-3.2's template prints strftime_now's date. */
    private static final Clock RENDER_DAY = Clock.fixed(Instant.parse("2026-11-24T12:00:00Z"), ZoneOffset.UTC);
    private static final List<ChatMessage> HI = List.of(new ChatMessage("user", "hi"));

    /**
     * transformers-chat.json holds what Hugging Face transformers 5.12.1 rendered (apply_chat_template, tokenize
     * False) and tokenized for the Llama-3.1, Llama-3.2, Qwen2.5 and Qwen3 templates on the TinyTokenizers
     * fixtures, obtained with shared/tools/hf-reference (hf_reference.py chat) on 2026-11-24.
     */
    static Stream<Arguments> transformersRenderings() throws IOException {
        try (InputStream in = JinjavaChatTemplateTest.class.getResourceAsStream("transformers-chat.json")) {
            JsonObject root = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                    .getAsJsonObject();
            List<Arguments> cases = new ArrayList<>();
            for (JsonElement e : root.getAsJsonArray("cases")) {
                JsonObject c = e.getAsJsonObject();
                List<ChatMessage> messages = new ArrayList<>();
                for (JsonElement m : c.getAsJsonArray("messages")) {
                    messages.add(new ChatMessage(m.getAsJsonObject().get("role").getAsString(),
                            m.getAsJsonObject().get("content").getAsString()));
                }
                int[] ids = new int[c.getAsJsonArray("ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = c.getAsJsonArray("ids").get(i).getAsInt();
                }
                cases.add(Arguments.of(c.get("templateFile").getAsString(),
                        TokenizerKind.valueOf(c.get("kind").getAsString()),
                        ChatTemplateKind.valueOf(c.get("template").getAsString()),
                        messages, c.get("addGenerationPrompt").getAsBoolean(), c.get("text").getAsString(), ids));
            }
            return cases.stream();
        }
    }

    @ParameterizedTest(name = "{0} {1} gen={4} {3}")
    @MethodSource("transformersRenderings")
    void rendersAndTokenizesLikeTransformers(String templateFile, TokenizerKind kind, ChatTemplateKind template,
                                             List<ChatMessage> messages, boolean addGenerationPrompt, String text,
                                             int[] ids, @TempDir Path dir) {
        String bos = template == ChatTemplateKind.LLAMA3 ? "<|begin_of_text|>" : null;
        String eos = template == ChatTemplateKind.LLAMA3 ? "<|eot_id|>" : "<|im_end|>";
        JinjavaChatTemplate chat = new JinjavaChatTemplate(TinyTokenizers.resource(templateFile), bos, eos,
                JinjavaChatTemplate.Limits.DEFAULT, RENDER_DAY);
        assertThat(chat.render(messages, addGenerationPrompt)).isEqualTo(text);

        TinyTokenizers.write(dir, kind, template);
        try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            assertThat(tokenizer.encode(text, false)).containsExactly(ids);
            if (templateFile.equals(templateFileOf(template))) {   // the fixture's own template, read from its config
                assertThat(tokenizer.chatTemplate().render(messages, addGenerationPrompt)).isEqualTo(text);
            }
        }
    }

    private static String templateFileOf(ChatTemplateKind template) {
        return template == ChatTemplateKind.LLAMA3 ? "llama3.1.jinja" : "qwen3.jinja";
    }

    @Test
    void pythonStringMethodsAndTojson() {
        assertThat(render("{{ ' x '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nA'.lstrip('\\n') }}|"
                + "{{ 'a</think>b'.split('</think>')[-1] }}|{{ 'a b  c'.split()|length }}|"
                + "{{ 'Hello'.startswith(('He', 'x')) }}|{{ 'abc'.endswith('c') }}|{{ 'hi there'.title() }}"))
                .isEqualTo("x|hi|A|b|3|true|true|Hi There");
        // Python's json.dumps spacing, ensure_ascii=False (what transformers' tojson produces)
        assertThat(render("{{ {'a': [1, 2.5, true, none], 'b': 'é\"'}|tojson }}"))
                .isEqualTo("{\"a\": [1, 2.5, true, null], \"b\": \"é\\\"\"}");
        assertThat(render("{{ {'a': {'b': 1} }|tojson(indent=2) }}")).isEqualTo("{\n  \"a\": {\n    \"b\": 1\n  }\n}");
        assertThat(render("{% set ns = namespace(n=messages|length - 1) %}{{ ns.n }}")).isEqualTo("0");
        assertThat(render("{% for m in messages[::-1] %}{{ loop.index }}{{ m.role }}{% endfor %}")).isEqualTo("1user");
        assertThat(render("{% for k, v in {'a': 1}|items %}{{ k }}={{ v }}{% endfor %}")).isEqualTo("a=1");
        assertThat(render("{% macro f(n) %}{{ n+1 }}{% endmacro %}{{ f(1) }}")).isEqualTo("2");
    }

    @Test
    void strftimeNowUsesTheClock() {
        JinjavaChatTemplate t = new JinjavaChatTemplate("{{ strftime_now('%d %b %Y') }}", null, null,
                JinjavaChatTemplate.Limits.DEFAULT, RENDER_DAY);
        assertThat(t.render(HI, false)).isEqualTo("24 Nov 2026");
    }

    @Test
    void raiseExceptionBecomesSpeculaException() {
        assertThatThrownBy(() -> render("{{ raise_exception('Conversation roles must alternate') }}"))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("chat_template")
                .hasMessageContaining("Conversation roles must alternate");
    }

    @Test
    void brokenTemplateNamesChatTemplate() {
        assertThatThrownBy(() -> render("{% if %}"))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("tokenizer_config.json chat_template");
    }

    /** Hostile templates must fail fast with the limit named, not hang or exhaust memory. */
    @ParameterizedTest
    @CsvSource(delimiter = '@', value = {
            "{% for i in range(100000000) %}x{% endfor %}@loop iteration limit",
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}@timeout",
            "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}@",
            "{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}@output size",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}@recursion",
            "{% set s = namespace(v='x') %}{% for i in range(64) %}{% set s.v = s.v + s.v %}{% endfor %}{{ s.v }}@",
            "{% set l = [1] %}{% for i in range(64) %}{% set l = l + l %}{% endfor %}{{ l|length }}@",
            "{{ 'a'.repeat(2000000000) }}@unsupported string method",
            "{% include '/etc/passwd' %}@cannot include",
    })
    // A guard against a hang only (the CPU-time bound below is the assertion): wall time under a load average of 15
    // on 2 cores reached 10 s for 1 s of CPU.
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void hostileTemplatesAreRejectedQuickly(String template, String expected) {
        JinjavaChatTemplate.Limits limits = new JinjavaChatTemplate.Limits(100_000, 20, 100_000, 1_000_000, 1_000);
        JinjavaChatTemplate t = new JinjavaChatTemplate(template, "<s>", "</s>", limits, Clock.systemUTC());
        // The render runs on this thread and its limit counts this thread's CPU time, so the bound does too: wall
        // time on a loaded 2-core machine measured 5.3 s for the same 1 s of CPU (a flaky assertion, not a slow stop).
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long start = threads.getCurrentThreadCpuTime();
        assertThatThrownBy(() -> t.render(HI, true))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("chat_template")
                .hasMessageContaining(expected == null ? "" : expected);
        assertThat(TimeUnit.NANOSECONDS.toMillis(threads.getCurrentThreadCpuTime() - start)).isLessThan(3_000);
    }

    private static String render(String template) {
        return new JinjavaChatTemplate(template, "<s>", "</s>").render(HI, false);
    }
}
