package io.specula.sample.chat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.specula.InvalidRequestException;
import io.specula.chat.SpeculaChatOptions;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The chat API, over Spring AI's {@link ChatClient} (and so over whatever chat model the starter configured):
 * <ul>
 * <li>{@code POST /api/chat}: {@code {prompt, options?}} to {@link ChatAnswer} (the answer and its speculative
 * statistics);</li>
 * <li>{@code POST /api/chat/stream}: the same request, answered with server-sent events: {@code token} events
 * ({@link ChatAnswer.Delta}: a text delta, the source of each of its tokens and its text split by source; one event
 * per chunk of the chat model's stream, which sends the first text at once and then a few chunks a second, so the
 * events cost the generation next to nothing), then one {@code done} event
 * ({@link ChatAnswer} without text), or one {@code error} event (an RFC 9457 problem, {@link ErrorBody}) if the generation fails after the
 * stream has started. A request that the engine's admission queue refuses gets 503 with {@code Retry-After}, as
 * {@code /api/chat} does.</li>
 * </ul>
 * Invalid requests are refused with 400 before any generation starts ({@link ApiExceptionHandler}), naming each field
 * at fault as the request names it, whether the sample's validator or the engine found it. A client that goes
 * away stops its generation at the engine's next decoding step: the stream's client when a token event fails to be
 * written, the chat's when a probe of its connection fails ({@link ClientConnection}). A client that hangs up while its
 * request waits in the engine's queue gives its place back within two probes of its connection's read side
 * ({@link QueuedClientCheck}, every {@code disconnect-check-interval}), without any byte written, so a request that
 * stays queued keeps its 503 (queue timeout) as it was.
 */
@RestController
@RequestMapping("/api")
public class ChatController {

    private static final Logger logger = LoggerFactory.getLogger(ChatController.class);

    private final ChatClient chatClient;

    private final ChatRequestValidator validator;

    private final Duration disconnectCheckInterval;

    /** How often a queued request's connection is read for a hang-up: the interval, at least 20 ms. */
    private final Duration queuedCheckInterval;

    public ChatController(ChatClient.Builder chatClientBuilder, ChatRequestValidator validator,
            SampleProperties properties) {
        this.chatClient = chatClientBuilder.build();
        this.validator = validator;
        this.disconnectCheckInterval = properties.getDisconnectCheckInterval();
        this.queuedCheckInterval = this.disconnectCheckInterval.compareTo(MIN_QUEUED_CHECK_INTERVAL) < 0
                ? MIN_QUEUED_CHECK_INTERVAL : this.disconnectCheckInterval;
    }

    /** The most often a queued request's connection is read: a read is a system call, the queue's own poll is 20 ms. */
    static final Duration MIN_QUEUED_CHECK_INTERVAL = Duration.ofMillis(20);

    /** Tells the stream's operators that its client hung up while queued: nothing more is written. */
    private static final class ClientGone extends RuntimeException {

        ClientGone() {
            super("client hung up while queued", null, false, false);
        }
    }

    /**
     * The answer in one JSON body. The generation runs as the engine's cancellable stream while this thread collects
     * it and watches the connection ({@link ClientConnection}): a client that hangs up cancels the generation, which
     * the engine sees at its next decoding step. Until the answer starts, the request's connection is read every
     * {@link #queuedCheckInterval} instead ({@link QueuedClientCheck}): a client that hung up while queued gives its
     * place back. Returns {@code null} (nothing more to write) when the client is gone.
     */
    @PostMapping(path = "/chat", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    public @Nullable ChatAnswer chat(@RequestBody(required = false) @Nullable ChatRequest request,
            HttpServletRequest httpRequest, HttpServletResponse httpResponse) throws InterruptedException {
        SpeculaChatOptions.Builder options = this.validator.validate(request);
        QueuedClientCheck queued = QueuedClientCheck.of(httpRequest);
        long start = System.nanoTime();
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        Disposable generation = this.chatClient.prompt()
            .user(request.prompt())
            .options(options)
            .stream()
            .chatResponse()
            .subscribe(events::add, events::add, () -> events.add(COMPLETE));
        ClientConnection client = new ClientConnection(httpResponse, this.disconnectCheckInterval);
        StringBuilder text = new StringBuilder();
        ChatResponse last = null;
        boolean answering = false;
        try {
            while (true) {
                Object event;
                if (!answering && queued != null) {
                    // Queued (or in its prompt pass): nothing can be written before the status is decided, so the
                    // connection is read instead.
                    event = events.poll(this.queuedCheckInterval.toMillis(), TimeUnit.MILLISECONDS);
                    if (event == null) {
                        if (queued.clientGone()) {
                            logger.debug("Client of /api/chat went away while queued: request withdrawn");
                            generation.dispose();
                            return null;
                        }
                        continue;
                    }
                }
                else {
                    // Probes need a chance to run between chunks too (a long prompt pass).
                    event = client.probed() && this.disconnectCheckInterval.toMillis() > 0
                            ? events.poll(this.disconnectCheckInterval.toMillis(), TimeUnit.MILLISECONDS)
                            : events.take();
                }
                if (event == COMPLETE) {
                    break;
                }
                if (event instanceof InvalidRequestException invalid) {
                    throw this.validator.inJsonNames(invalid);
                }
                if (event instanceof RuntimeException ex) {
                    throw ex;
                }
                if (event instanceof Throwable ex) {
                    throw new IllegalStateException(ex);
                }
                if (event instanceof ChatResponse chunk) {
                    answering = true;
                    text.append(Objects.requireNonNullElse(chunk.getResult().getOutput().getText(), ""));
                    if (chunk.getResult().getMetadata().getFinishReason() != null) {
                        last = chunk;
                    }
                }
                if (!client.alive()) {
                    logger.debug("Client of /api/chat went away: generation cancelled");
                    generation.dispose();
                    return null;
                }
            }
        }
        finally {
            generation.dispose();
        }
        if (last == null) {
            throw new IllegalStateException("the generation ended without a final response");
        }
        return ChatAnswer.of(last, text.toString(), seconds(start), null);
    }

    /** The end of a collected stream. */
    private static final Object COMPLETE = new Object();

    @PostMapping(path = "/chat/stream", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    public Flux<ServerSentEvent<Object>> stream(@RequestBody(required = false) @Nullable ChatRequest request,
            HttpServletRequest httpRequest) {
        SpeculaChatOptions.Builder options = this.validator.validate(request);
        QueuedClientCheck queued = QueuedClientCheck.of(httpRequest);
        return Flux.defer(() -> {
            long start = System.nanoTime();
            AtomicLong firstText = new AtomicLong();
            AtomicReference<ChatResponse> last = new AtomicReference<>();
            AtomicBoolean started = new AtomicBoolean();
            Flux<ChatResponse> responses = this.chatClient.prompt()
                .user(request.prompt())
                .options(options)
                .stream()
                .chatResponse();
            return (queued != null ? untilClientGone(responses, queued) : responses)
                .concatMapIterable(chunk -> {
                    List<ServerSentEvent<Object>> events = new ArrayList<>(2);
                    ChatAnswer.Delta delta = ChatAnswer.Delta.of(chunk);
                    if (!delta.text().isEmpty()) {
                        firstText.compareAndSet(0, System.nanoTime());
                        events.add(event("token", delta));
                    }
                    if (chunk.getResult().getMetadata().getFinishReason() != null) {
                        last.set(chunk);
                    }
                    return events;
                })
                .concatWith(Flux.defer(() -> {
                    ChatResponse end = last.get();
                    if (end == null) {
                        return Flux.error(new IllegalStateException("the stream ended without a final response"));
                    }
                    Double firstTokenSeconds = firstText.get() != 0 ? (firstText.get() - start) / 1e9 : null;
                    return Flux.just(event("done", ChatAnswer.of(end, null, seconds(start), firstTokenSeconds)));
                }))
                .doOnNext(event -> started.set(true))
                .onErrorResume(ex -> {
                    if (ex instanceof ClientGone) {
                        logger.debug("Client of /api/chat/stream went away while queued: request withdrawn");
                        return Flux.empty();
                    }
                    if (!started.get() && ex instanceof InvalidRequestException invalid) {
                        // Refused by the engine's rules (the token cap) before any event: 400, as /api/chat.
                        return Flux.error(this.validator.inJsonNames(invalid));
                    }
                    if (!started.get() && ErrorBody.busyCause(ex) != null) {
                        // Refused by the admission queue before any event: nothing has been written yet, so the
                        // error reaches ApiExceptionHandler and the client gets 503 with Retry-After, not a 200.
                        return Flux.error(ex);
                    }
                    ErrorBody.log(logger, "Streamed generation failed", ex);
                    return Flux.just(event("error", ErrorBody.engine(ex)));
                });
        });
    }

    /**
     * The stream's responses, ended with {@link ClientGone} (which cancels the generation: a queued request leaves the
     * queue) if its client hangs up before the first response. Until then the connection is read every
     * {@link #queuedCheckInterval} ({@link QueuedClientCheck}); nothing is written, so a refusal keeps its status. The
     * check is closed before the first response or the end goes on to be written.
     */
    private Flux<ChatResponse> untilClientGone(Flux<ChatResponse> responses, QueuedClientCheck queued) {
        return responses
            .publish(shared -> Flux.merge(shared.doOnNext(response -> queued.close()),
                    Flux.interval(this.queuedCheckInterval, this.queuedCheckInterval)
                        .takeUntilOther(shared)
                        .filter(tick -> queued.clientGone())
                        .take(1)
                        .flatMap(tick -> Flux.<ChatResponse>error(new ClientGone()))))
            .doOnTerminate(queued::close)
            .doOnCancel(queued::close);
    }

    private static ServerSentEvent<Object> event(String name, Object data) {
        return ServerSentEvent.builder(data).event(name).build();
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
