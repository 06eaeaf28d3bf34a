package io.specula.training;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Documents of plain UTF-8 text: one file, or every {@code *.txt} file of a folder in name order. */
public final class Corpus {

    private Corpus() {
    }

    public record Document(String name, String text) {
    }

    public static List<Document> read(Path path) {
        try {
            List<Path> files = new ArrayList<>();
            if (Files.isDirectory(path)) {
                try (Stream<Path> s = Files.list(path)) {
                    s.filter(p -> p.getFileName().toString().endsWith(".txt") && Files.isRegularFile(p))
                            .sorted().forEach(files::add);
                }
                if (files.isEmpty()) {
                    throw new IllegalArgumentException("no *.txt file in " + path);
                }
            } else if (Files.isRegularFile(path)) {
                files.add(path);
            } else {
                throw new IllegalArgumentException("no such file or folder: " + path);
            }
            List<Document> docs = new ArrayList<>();
            for (Path f : files) {
                String text = Files.readString(f, StandardCharsets.UTF_8).replace("\r\n", "\n");
                docs.add(new Document(f.getFileName().toString(), text));
            }
            return docs;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the corpus " + path, e);
        }
    }

    public static List<String> texts(List<Document> docs) {
        return docs.stream().map(Document::text).toList();
    }
}
