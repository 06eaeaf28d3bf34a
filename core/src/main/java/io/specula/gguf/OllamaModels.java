package io.specula.gguf;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.specula.SpeculaException;
import io.specula.model.ModelFormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Models already pulled by Ollama, named as Ollama names them: {@code ollama:qwen2.5:0.5b},
 * {@code ollama:llama3.2} (tag {@code latest}), {@code ollama:user/model:tag}, {@code ollama:hf.co/org/repo:Q4_K_M}.
 * A name resolves as Ollama resolves it: the manifest {@code manifests/<host>/<namespace>/<model>/<tag>} under the
 * models folder (host {@code registry.ollama.ai} and namespace {@code library} by default) lists the model's layers,
 * and the layer of media type {@code application/vnd.ollama.image.model} is the GGUF file, stored as
 * {@code blobs/sha256-<digest>}. Ollama's own template and parameters layers are not used: the chat template comes
 * from the GGUF file's metadata.
 *
 * <p>The models folder, first found: the {@code root} given (the property {@code spring.ai.specula.ollama-models}, the
 * CLI's {@code --ollama-models}), the system property {@code specula.ollama.models}, the environment variable
 * {@code OLLAMA_MODELS} (as Ollama itself reads it), then {@code ~/.ollama/models} and, where Ollama runs as a Linux
 * service, {@code /usr/share/ollama/.ollama/models}.
 */
public final class OllamaModels {

    public static final String PREFIX = "ollama:";
    public static final String SYSTEM_PROPERTY = "specula.ollama.models";
    public static final String ENVIRONMENT = "OLLAMA_MODELS";
    static final String MODEL_LAYER = "application/vnd.ollama.image.model";
    private static final Pattern DIGEST = Pattern.compile("sha256[:-][0-9a-f]{64}");
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private OllamaModels() {
    }

    /** Whether {@code setting} names an Ollama model ({@code ollama:...}). */
    public static boolean isReference(String setting) {
        return setting != null && setting.trim().startsWith(PREFIX);
    }

    /** The GGUF blob of an {@code ollama:} name, looking for the models folder as the class comment says. */
    public static Path resolve(String reference) {
        return resolve(reference, null);
    }

    /**
     * The GGUF blob of an {@code ollama:} name.
     *
     * @param root the models folder, or {@code null} to look for it
     * @throws SpeculaException naming the name, the folder and the file looked for, when it is not there
     */
    public static Path resolve(String reference, Path root) {
        String name = reference.trim();
        if (name.startsWith(PREFIX)) {
            name = name.substring(PREFIX.length());
        }
        Path models = root != null ? root : root();
        String[] parts = parse(reference, name);
        Path manifest = models.resolve("manifests").resolve(parts[0]).resolve(parts[1]).resolve(parts[2])
                .resolve(parts[3]);
        if (!Files.isRegularFile(manifest)) {
            throw new SpeculaException("Ollama model '" + name + "': no manifest at " + manifest + " (pull it with "
                    + "'ollama pull " + name + "', or point " + SYSTEM_PROPERTY + " / " + ENVIRONMENT
                    + " at the folder Ollama keeps its models in)");
        }
        String digest = modelLayer(manifest);
        Path blob = models.resolve("blobs").resolve(digest.replace(':', '-'));
        if (!Files.isRegularFile(blob)) {
            throw new SpeculaException("Ollama model '" + name + "': its manifest " + manifest + " names the model "
                    + "blob " + blob + ", which does not exist (an interrupted pull? pull it again)");
        }
        return blob;
    }

    /** The models folder: the system property, OLLAMA_MODELS, or Ollama's default places. */
    public static Path root() {
        String property = System.getProperty(SYSTEM_PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property.trim());
        }
        String env = System.getenv(ENVIRONMENT);
        if (env != null && !env.isBlank()) {
            return Path.of(env.trim());
        }
        Path home = Path.of(System.getProperty("user.home"), ".ollama", "models");
        Path service = Path.of("/usr/share/ollama/.ollama/models");
        return Files.isDirectory(home) || !Files.isDirectory(service) ? home : service;
    }

    /** host, namespace, model, tag: Ollama's defaults filled in. */
    static String[] parse(String reference, String name) {
        String tag = "latest";
        int slash = name.lastIndexOf('/');
        int colon = name.lastIndexOf(':');
        String path = name;
        if (colon > slash) {
            tag = name.substring(colon + 1);
            path = name.substring(0, colon);
        }
        String[] segments = path.split("/", -1);
        String host = "registry.ollama.ai";
        String namespace = "library";
        String model;
        switch (segments.length) {
            case 1 -> model = segments[0];
            case 2 -> {
                namespace = segments[0];
                model = segments[1];
            }
            case 3 -> {
                host = segments[0];
                namespace = segments[1];
                model = segments[2];
            }
            default -> throw bad(reference);
        }
        for (String p : new String[] {host, namespace, model, tag}) {
            if (!PART.matcher(p).matches() || p.equals("..")) {
                throw bad(reference);
            }
        }
        return new String[] {host, namespace, model, tag};
    }

    private static SpeculaException bad(String reference) {
        return new SpeculaException("'" + reference + "' is not an Ollama model name: expected ollama:MODEL[:TAG], "
                + "ollama:NAMESPACE/MODEL[:TAG] or ollama:HOST/NAMESPACE/MODEL[:TAG], e.g. ollama:qwen2.5:0.5b");
    }

    /** The digest of the manifest's model layer. */
    private static String modelLayer(Path manifest) {
        JsonObject json;
        try {
            JsonElement e = JsonParser.parseString(Files.readString(manifest, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new ModelFormatException(manifest, "expected a JSON object (an Ollama manifest)");
            }
            json = e.getAsJsonObject();
        } catch (IOException e) {
            throw new ModelFormatException(manifest, "cannot be read: " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw new ModelFormatException(manifest, "is not valid JSON: " + e.getMessage(), e);
        }
        JsonElement layers = json.get("layers");
        if (layers != null && layers.isJsonArray()) {
            for (JsonElement l : layers.getAsJsonArray()) {
                if (!l.isJsonObject()) {
                    continue;
                }
                JsonObject o = l.getAsJsonObject();
                JsonElement type = o.get("mediaType");
                JsonElement digest = o.get("digest");
                if (type != null && type.isJsonPrimitive() && MODEL_LAYER.equals(type.getAsString())) {
                    if (digest == null || !digest.isJsonPrimitive() || !DIGEST.matcher(digest.getAsString()).matches()) {
                        throw new ModelFormatException(manifest, "the model layer's digest " + digest
                                + " is not sha256:<64 hex digits>");
                    }
                    return digest.getAsString();
                }
            }
        }
        throw new ModelFormatException(manifest, "no layer of media type " + MODEL_LAYER
                + ": not a model (an adapter or a projector only?)");
    }
}
