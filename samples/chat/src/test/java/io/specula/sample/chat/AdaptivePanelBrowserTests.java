package io.specula.sample.chat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import io.specula.adaptive.AdaptiveDrafter;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.WebDriverWait;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The page's "Adaptive drafter" panel in a real headless browser, with adaptation on (as the sample README starts it):
 * it shows the serving drafter version, and after the drafter learnt a new version from the traffic, one row per
 * version with its requests, live acceptance and held-out score, each as the {@code specula} endpoint reports it. The
 * drafter differs from the target here (another seed), so that there is something to learn.
 */
@TestPropertySource(properties = { "spring.ai.specula.adaptive.enabled=true",
        "spring.ai.specula.adaptive.update-interval=1h", "spring.ai.specula.adaptive.held-out-fraction=0.5",
        "spring.ai.specula.adaptive.min-held-out-positions=8", "spring.ai.specula.adaptive.steps-per-update=20",
        "spring.ai.specula.adaptive.learning-rate=0.01", "spring.ai.specula.adaptive.loss=cross-entropy" })
class AdaptivePanelBrowserTests extends SampleApplicationTestBase {

    @DynamicPropertySource
    static void learningDrafter(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.specula.drafter", () -> TinyModelDirs
            .write(Path.of("target", "sample-models-adaptive", "drafter").toAbsolutePath(), TinyModels.Family.LLAMA,
                    TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1))
            .toString());
    }

    /** The browser profile, fresh for this test class. */
    @TempDir
    static Path profile;

    static WebDriver driver;

    @Autowired
    SpeculaEngine engine;

    @BeforeEach
    void browser() {
        assumeTrue(Files.isExecutable(ChatPageBrowserTests.CHROMIUM), "Skipping the browser test: "
                + ChatPageBrowserTests.CHROMIUM + " is absent (apt-get install chromium chromium-driver)");
        if (driver == null) {
            driver = ChatPageBrowserTests.startBrowser(profile);
        }
    }

    @AfterAll
    static void stopBrowser() {
        if (driver != null) {
            driver.quit();
            driver = null;
        }
    }

    String text(String id) {
        return driver.findElement(By.id(id)).getText();
    }

    @Test
    void thePanelShowsTheServingDrafterVersionAndTheAcceptanceOfEachVersion() throws Exception {
        AdaptiveDrafter adaptive = this.engine.adaptive().orElseThrow();
        driver.get(baseUrl() + "/");
        WebDriverWait wait = new WebDriverWait(driver, java.time.Duration.ofSeconds(60),
                java.time.Duration.ofMillis(100));
        wait.until(d -> d.findElement(By.id("adaptive-panel")).isDisplayed());
        assertThat(text("adaptive-status")).isEqualTo("serving v0");

        // Traffic, and updates (by hand: the trainer's interval is an hour) until the drafter learnt a version.
        SpeculationSettings speculative = new SpeculationSettings(true, 3, DraftPolicy.FIXED);
        for (int round = 0; round < 10 && adaptive.version() == 0; round++) {
            for (int i = 0; i < 8; i++) {
                int k = round * 8 + i;
                int[] prompt = { 1, 5 + k % 50, 9 + (2 * k) % 60, 40 + k % 30 };
                this.engine.generate(GenerationRequest.of(prompt, 12, SamplingParams.GREEDY), speculative, null);
            }
            adaptive.update();
        }
        int version = adaptive.version();
        assertThat(version).as("a version learnt from the traffic serves").isPositive();

        // One request through the page, drafted by the new version; then the panel shows what the endpoint says.
        WebElement box = driver.findElement(By.id("prompt"));
        box.clear();
        box.sendKeys(ChatPageBrowserTests.QUESTION);
        driver.findElement(By.id("send")).click();
        wait.until(d -> "done".equals(d.findElement(By.tagName("body")).getDomAttribute("data-state")));
        wait.until(d -> shownRows().equals(expectedRows(endpointAdaptive())));


        JsonNode status = endpointAdaptive();
        assertThat(text("adaptive-status")).isEqualTo("serving v" + version);
        assertThat(text("adaptive-summary")).contains("target v1").contains("1 versions accepted");
        List<String> rows = shownRows();
        assertThat(rows).as("the serving version and the one it replaced, newest first").hasSizeGreaterThanOrEqualTo(2);
        assertThat(rows.get(0)).startsWith("v" + version + " (serving) ");
        assertThat(rows).anySatisfy(r -> assertThat(r).startsWith("v0 "));
        JsonNode serving = status.get("versions").get(0);
        assertThat(serving.get("requests").asLong()).as("the page's request drafted with it").isPositive();
        assertThat(rows.get(0)).as("its live acceptance and held-out score").matches("v\\d+ \\(serving\\) \\d+ [\\d.]+% [\\d.]+%");
        ((JavascriptExecutor) driver).executeScript("arguments[0].scrollIntoView()",
                driver.findElement(By.id("adaptive-panel")));
        ChatPageBrowserTests.screenshot(driver, "chat-page-adaptive.png");
    }

    /** The panel's rows as "version requests acceptance held-out" (cells joined by one space). */
    List<String> shownRows() {
        return driver.findElements(By.cssSelector("#adaptive-versions tr"))
            .stream()
            .map(tr -> String.join(" ", tr.findElements(By.cssSelector("th, td")).stream().map(WebElement::getText)
                .toList()))
            .toList();
    }

    /** The same rows, computed from the endpoint's figures as the page's pct() formats them. */
    static List<String> expectedRows(JsonNode adaptive) {
        List<String> rows = new java.util.ArrayList<>();
        for (JsonNode v : adaptive.get("versions")) {
            long drafted = v.get("draftedTokens").asLong();
            JsonNode h = v.get("heldOutMatchRate");
            double heldOut = h == null || !h.isNumber() ? Double.NaN : h.asDouble();
            rows.add("v" + v.get("version").asInt() + (v.get("current").asBoolean() ? " (serving)" : "") + " "
                    + v.get("requests").asLong() + " "
                    + (drafted > 0 ? pct((double) v.get("acceptedTokens").asLong() / drafted) : "—") + " "
                    + (Double.isNaN(heldOut) ? "—" : pct(heldOut)));
        }
        return rows;
    }

    /** app.js's pct(): whole percent at 0 and from 99.5%, else one decimal. */
    static String pct(double x) {
        return String.format(Locale.ROOT, x >= 0.995 || x == 0 ? "%.0f%%" : "%.1f%%", x * 100);
    }

    JsonNode endpointAdaptive() {
        try {
            HttpResponse<String> response = HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create(baseUrl() + "/actuator/specula"))
                    .header("Accept", "application/json")
                    .build(), HttpResponse.BodyHandlers.ofString());
            return JsonMapper.builder().build().readTree(response.body()).get("adaptive");
        }
        catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

}
