package io.specula.sample.chat;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The page in a real headless browser (Debian's chromium and chromedriver; Selenium Manager never downloads
 * anything): type a prompt, watch the answer stream in with tokens of both sources, and the figures, the chart and
 * the start-up benchmark fill in. Leaves a screenshot in target/screenshots/. Skipped only when there is no chromium
 * ({@code apt-get install chromium chromium-driver}; .ci/run installs them).
 */
class ChatPageBrowserTests extends SampleApplicationTestBase {

    static final Path CHROMIUM = Path.of(System.getProperty("specula.sample.chromium", "/usr/bin/chromium"));

    static final Path CHROMEDRIVER = Path.of(System.getProperty("specula.sample.chromedriver", "/usr/bin/chromedriver"));

    static final Path SCREENSHOTS = Path.of("target", "screenshots");

    static final String QUESTION = "Tell me about the quick brown fox";

    /** The browser profile, fresh for this test class. */
    @TempDir
    static Path profile;

    static WebDriver driver;

    /** Skips (each test, with this message) without chromium; starts the browser once for the class. */
    @BeforeEach
    void browser() {
        assumeTrue(Files.isExecutable(CHROMIUM), "Skipping the browser test: " + CHROMIUM
                + " is absent (apt-get install chromium chromium-driver)");
        if (driver == null) {
            driver = startBrowser();
        }
    }

    static WebDriver startBrowser() {
        return startBrowser(profile);
    }

    /** Debian's chromium, headless, with its profile in {@code profile}. */
    static WebDriver startBrowser(Path profile) {
        assertThat(CHROMEDRIVER).as("chromedriver for " + CHROMIUM + " (apt-get install chromium-driver)")
            .isExecutable();
        // Selenium Manager must not look for (or download) a driver or a browser
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--no-default-browser-check", "--user-data-dir=" + profile.toAbsolutePath(), "--window-size=1440,1000",
                "--force-device-scale-factor=1");
        ChromeDriverService service = new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .withLogFile(new File("target/chromedriver.log"))
            .build();
        WebDriver started = new ChromeDriver(service, options);
        started.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        return started;
    }

    @AfterAll
    static void stopBrowser() {
        if (driver != null) {
            driver.quit();
            driver = null;
        }
    }

    WebDriverWait waiting(int seconds) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(100));
    }

    String text(String id) {
        return driver.findElement(By.id(id)).getText();
    }

    void ask(String prompt, int maxTokens) {
        driver.get(baseUrl() + "/");
        waiting(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("models"), "drafter"));
        WebElement box = driver.findElement(By.id("prompt"));
        box.clear();
        box.sendKeys(prompt);
        WebElement max = driver.findElement(By.id("max-tokens"));
        max.clear();
        max.sendKeys(Integer.toString(maxTokens));
        driver.findElement(By.id("send")).click();
    }

    @Test
    void theAnswerStreamsInWithDrafterAndTargetTokensAndTheFiguresFillIn() throws Exception {
        ask(QUESTION, 24);
        waiting(120).until(d -> !"streaming".equals(d.findElement(By.tagName("body")).getDomAttribute("data-state"))
                && d.findElements(By.cssSelector("#answer .tok")).size() > 0);
        assertThat(driver.findElement(By.tagName("body")).getDomAttribute("data-state")).isEqualTo("done");

        // tokens of both kinds, in the colours of the legend
        List<WebElement> drafted = driver.findElements(By.cssSelector("#answer .tok.drafter"));
        List<WebElement> target = driver.findElements(By.cssSelector("#answer .tok.target"));
        assertThat(drafted).as("tokens accepted from the drafter").isNotEmpty();
        assertThat(target).as("tokens produced by the target").isNotEmpty();
        assertThat(drafted.get(0).getCssValue("background-color"))
            .isNotEqualTo(target.get(0).getCssValue("background-color"));
        assertThat(driver.findElement(By.cssSelector(".legend")).getText()).contains("drafter").contains("target");

        // the page shows the same text as the REST API (greedy decoding)
        String shown = (String) ((JavascriptExecutor) driver)
            .executeScript("return document.getElementById('answer').textContent;");
        assertThat(shown).isEqualTo(restAnswer(QUESTION, 24));

        // the figures: acceptance rate and mean acceptance length from /actuator/specula, tokens/s of the
        // answer, speed-up from the start-up benchmark
        waiting(30).until(d -> text("stat-acceptance").matches("\\d+(\\.\\d)?%"));
        assertThat(text("stat-acceptance")).isEqualTo("100%");
        assertThat(text("stat-length")).matches("\\d+\\.\\d\\d");
        assertThat(Double.parseDouble(text("stat-length"))).isGreaterThan(1.0);
        assertThat(text("stat-tps")).matches("\\d+\\.\\d");
        waiting(120).until(d -> text("stat-speedup").matches("×\\d+\\.\\d\\d"));
        assertThat(text("bench-status")).isEqualTo("done");
        assertThat(text("bench-note")).contains("same text");
        assertThat(text("answer-stats")).contains("from the drafter").contains("from the target")
            .contains("tokens/s");

        // the acceptance chart has at least one point
        waiting(30).until(d -> !d.findElements(By.cssSelector("#chart circle.dot")).isEmpty());

        screenshot("chat-page.png");
    }

    @Test
    void anEmptyPromptShowsTheApisMessage() throws Exception {
        ask("   ", 8);
        waiting(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("error")));
        assertThat(text("error")).startsWith("prompt: ").contains("must not be empty");
        assertThat(driver.findElements(By.cssSelector("#answer .tok"))).isEmpty();
        assertThat(driver.findElement(By.id("send")).isEnabled()).isTrue();
        screenshot("chat-page-error.png");
    }

    String restAnswer(String prompt, int maxTokens) throws IOException, InterruptedException {
        JsonMapper json = JsonMapper.builder().build();
        String body = "{\"prompt\": " + json.writeValueAsString(prompt) + ", \"options\": {\"maxTokens\": " + maxTokens
                + ", \"speculative\": true}}";
        HttpResponse<String> response = HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/chat"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
        return json.readTree(response.body()).get("text").asString();
    }

    static void screenshot(String name) throws IOException {
        screenshot(driver, name);
    }

    static void screenshot(WebDriver driver, String name) throws IOException {
        Files.createDirectories(SCREENSHOTS);
        File png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Files.copy(png.toPath(), SCREENSHOTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
}
