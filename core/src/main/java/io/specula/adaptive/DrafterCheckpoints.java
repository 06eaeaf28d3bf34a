package io.specula.adaptive;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.training.SafeTensorsFiles;

import java.io.IOException;
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
 * scores, examples and steps). A version is written to a hidden temporary folder and renamed into place, so a crash
 * never leaves half a checkpoint; only the newest {@code retention} are kept.
 */
public final class DrafterCheckpoints {

    static final String INFO = "adaptive.json";
    private static final Pattern NAME = Pattern.compile("v(\\d{6,})");
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
        Path parent = dir.toAbsolutePath().getParent();
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
            deleteTree(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the adapted drafter " + dir + ": " + e, e);
        }
    }

    /** The checkpoints under {@code root}, newest first (none if it does not exist). */
    public static List<Checkpoint> list(Path root) {
        List<Checkpoint> out = new ArrayList<>();
        if (root == null || !Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                Matcher m = NAME.matcher(d.getFileName().toString());
                if (m.matches() && Files.isRegularFile(d.resolve(INFO))
                        && Files.isRegularFile(d.resolve("model.safetensors"))) {
                    JsonObject info;
                    try {
                        info = JsonParser.parseString(Files.readString(d.resolve(INFO), StandardCharsets.UTF_8))
                                .getAsJsonObject();
                    } catch (RuntimeException e) {
                        continue;
                    }
                    out.add(new Checkpoint(Integer.parseInt(m.group(1)), d, info));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
        out.sort(Comparator.comparingInt(Checkpoint::version).reversed());
        return out;
    }

    /**
     * Identifies the base drafter: a hash of its config.json and the sizes of its weight files, so checkpoints made
     * from another drafter are not loaded over this one.
     */
    public static String fingerprint(Path baseDir) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Files.readAllBytes(baseDir.resolve("config.json")));
            try (DirectoryStream<Path> files = Files.newDirectoryStream(baseDir, "*.safetensors")) {
                List<Path> sorted = new ArrayList<>();
                files.forEach(sorted::add);
                sorted.sort(Comparator.comparing(Path::toString));
                for (Path f : sorted) {
                    md.update((f.getFileName() + ":" + Files.size(f)).getBytes(StandardCharsets.UTF_8));
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
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
