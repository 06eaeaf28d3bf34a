package io.specula.adaptive;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.training.ModelExport;
import io.specula.training.SafeTensorsFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Adapted drafter versions on disk: {@code <root>/v000007/} is version 7 in the Hugging Face layout the engine loads
 * ({@code config.json}, {@code generation_config.json}, the tokenizer files, all copied from the base drafter, and
 * {@code model.safetensors} in float32), plus {@code adaptive.json} (version, base drafter fingerprint, held-out
 * scores, examples and steps). A version is written to a hidden temporary folder, synced to disk and renamed into
 * place, so neither a crash nor a power loss leaves half a checkpoint; only the newest {@code retention} are kept. A
 * folder that does not read as a checkpoint (a version number out of range, an unreadable adaptive.json) is skipped
 * with a warning, never an error: start-up goes on with the next one.
 */
public final class DrafterCheckpoints {

    private static final Logger log = LoggerFactory.getLogger(DrafterCheckpoints.class);

    static final String INFO = "adaptive.json";
    private static final Pattern NAME = Pattern.compile("v(\\d{6,})");
    /** Version numbers above this are not ours (the next version is one more, which must still be an int). */
    static final long MAX_VERSION = 999_999_999;
    /** Files of the base folder not copied: weights are rewritten, training logs belong to the base. */
    private static final Set<String> SKIPPED = Set.of("model.safetensors", "model.safetensors.index.json",
            "training_info.json", "training_log.csv", INFO);

    private DrafterCheckpoints() {
    }

    /** A checkpoint found on disk. */
    public record Checkpoint(int version, Path dir, JsonObject info) {
    }

    /** Writes version {@code version} and drops all but the newest {@code retention}; returns its folder. */
    public static Path write(Path root, int version, Path baseDir, Map<String, SafeTensorsFiles.Tensor> weights,
                             JsonObject info, int retention) {
        Path dir = root.resolve(name(version));
        JsonObject i = info.deepCopy();
        i.addProperty("version", version);
        export(dir, baseDir, weights, i);
        prune(root, retention);
        return dir;
    }

    /**
     * Writes a drafter folder in the Hugging Face layout at {@code dir} (replacing it): the base drafter's config,
     * generation config and tokenizer files, {@code model.safetensors} (float32) and {@code adaptive.json}. Written
     * next to it first and renamed into place.
     */
    public static void export(Path dir, Path baseDir, Map<String, SafeTensorsFiles.Tensor> weights, JsonObject info) {
        dir = dir.toAbsolutePath().normalize();
        // The folder is replaced: never one that holds anything but a previous export (distill --out . once emptied
        // the working directory).
        ModelExport.checkOutputFolder(dir, "the adapted drafter's folder");
        Path parent = dir.getParent();
        Path tmp = parent.resolve("." + dir.getFileName() + ".tmp");
        try {
            Files.createDirectories(parent);
            deleteTree(tmp);
            Files.createDirectories(tmp);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(baseDir)) {
                for (Path f : files) {
                    String n = f.getFileName().toString();
                    if (!Files.isRegularFile(f) || SKIPPED.contains(n) || n.endsWith(".safetensors")) {
                        continue;
                    }
                    if (n.equals("config.json")) {
                        JsonObject c = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8))
                                .getAsJsonObject();
                        c.addProperty("torch_dtype", "float32");
                        Files.writeString(tmp.resolve(n), gson().toJson(c) + "\n", StandardCharsets.UTF_8);
                    } else {
                        Files.copy(f, tmp.resolve(n));
                    }
                }
            }
            SafeTensorsFiles.write(tmp.resolve("model.safetensors"), weights, SafeTensorsFiles.DType.F32, Map.of());
            Files.writeString(tmp.resolve(INFO), gson().toJson(info) + "\n", StandardCharsets.UTF_8);
            // On disk before the rename makes it visible: a rename can reach the disk before the data it names.
            ModelExport.syncTree(tmp);
            deleteTree(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            ModelExport.syncDirectory(parent);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the adapted drafter " + dir + ": " + e, e);
        }
    }

    /**
     * The checkpoints under {@code root}, newest first (none if it does not exist). A folder named like a version that
     * cannot be one (a number out of range, no weights, an adaptive.json that does not read as a JSON object) is
     * skipped with a warning.
     */
    public static List<Checkpoint> list(Path root) {
        List<Checkpoint> out = new ArrayList<>();
        if (root == null || !Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                Matcher m = NAME.matcher(d.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                String skipped = null;
                long version = m.group(1).length() > 10 ? Long.MAX_VALUE : Long.parseLong(m.group(1));
                JsonObject info = null;
                if (version > MAX_VERSION) {
                    skipped = "version number out of range (at most " + MAX_VERSION + ")";
                } else if (!Files.isRegularFile(d.resolve(INFO)) || !Files.isRegularFile(d.resolve("model.safetensors"))) {
                    skipped = "no " + INFO + " or model.safetensors (an unfinished or foreign folder)";
                } else {
                    try {
                        JsonElement parsed = JsonParser.parseString(Files.readString(d.resolve(INFO),
                                StandardCharsets.UTF_8));
                        if (parsed.isJsonObject()) {
                            info = parsed.getAsJsonObject();
                        } else {
                            skipped = INFO + " is not a JSON object";
                        }
                    } catch (IOException | RuntimeException e) {
                        skipped = INFO + " cannot be read: " + e.getMessage();
                    }
                }
                if (skipped != null) {
                    log.warn("Adaptive drafter: skipping {}: {}", d, skipped);
                    continue;
                }
                out.add(new Checkpoint((int) version, d, info));
            }
        } catch (IOException e) {
            log.warn("Adaptive drafter: cannot list the checkpoints in {} ({}); starting from the drafter as loaded",
                    root, e.toString());
            return new ArrayList<>();
        }
        out.sort(Comparator.comparingInt(Checkpoint::version).reversed());
        return out;
    }

    /** The prefix of {@link #fingerprint}s; older ones (config and file sizes only) have none. */
    static final String FINGERPRINT_SCHEME = "sha256:";

    /**
     * Identifies the base drafter, so that checkpoints made from another drafter are not loaded over this one: a
     * SHA-256 of its config.json and of every byte of its weight files (names, sizes and contents).
     *
     * <p>Why every byte rather than a sample: two drafters of the same shape differ anywhere (a fine-tune may move
     * few weights; two exports of one run may differ in one tensor), and only a hash of all of them tells any two
     * apart. It is read once per start-up with the adaptive drafter on, from the page cache the model was just loaded
     * through; SHA-256 runs at several hundred MB/s on one core (docs/adaptive.md gives the figures measured). The
     * older fingerprint (config and file sizes) matched any drafter of the same shape.
     */
    public static String fingerprint(Path baseDir) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Files.readAllBytes(baseDir.resolve("config.json")));
            List<Path> sorted = new ArrayList<>();
            try (DirectoryStream<Path> files = Files.newDirectoryStream(baseDir, "*.safetensors")) {
                files.forEach(sorted::add);
            }
            sorted.sort(Comparator.comparing(Path::toString));
            byte[] buffer = new byte[1 << 20];
            for (Path f : sorted) {
                md.update((f.getFileName() + ":" + Files.size(f) + ":").getBytes(StandardCharsets.UTF_8));
                try (InputStream in = Files.newInputStream(f)) {
                    int n;
                    while ((n = in.read(buffer)) > 0) {
                        md.update(buffer, 0, n);
                    }
                }
            }
            return FINGERPRINT_SCHEME + HexFormat.of().formatHex(md.digest()).substring(0, 32);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + baseDir, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String name(int version) {
        return String.format(Locale.ROOT, "v%06d", version);
    }

    private static void prune(Path root, int retention) {
        List<Checkpoint> all = list(root);
        for (int i = retention; i < all.size(); i++) {
            try {
                deleteTree(all.get(i).dir());
            } catch (IOException e) {
                // An old checkpoint that cannot be removed costs disk, not correctness; try again next time.
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static com.google.gson.Gson gson() {
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    }
}
