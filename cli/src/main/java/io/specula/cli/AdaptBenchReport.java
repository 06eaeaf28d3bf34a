package io.specula.cli;

import io.specula.cli.AdaptBenchCommand.Row;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What {@code adapt-bench} prints and draws from its rows: the table, the recovery lines, the SVG chart. */
final class AdaptBenchReport {

    private AdaptBenchReport() {
    }

    static void report(PrintWriter out, List<Row> rows) {
        out.printf("%-22s %6s %7s %8s | %10s %10s | %10s %10s%n", "segment", "target", "version", "requests",
                "static α", "adaptive α", "static t/s", "adapt. t/s");
        Map<String, List<Row>> groups = new LinkedHashMap<>();
        for (Row r : rows) {
            groups.computeIfAbsent(r.segment() + "\u0000" + r.target() + "\u0000" + r.version(),
                    k -> new ArrayList<>()).add(r);
        }
        for (List<Row> g : groups.values()) {
            line(out, g.get(0).segment(), Integer.toString(g.get(0).target()), Integer.toString(g.get(0).version()), g);
        }
        Map<String, List<Row>> bySegment = new LinkedHashMap<>();
        for (Row r : rows) {
            bySegment.computeIfAbsent(r.segment() + "\u0000" + r.target(), k -> new ArrayList<>()).add(r);
        }
        for (List<Row> g : bySegment.values()) {
            line(out, g.get(0).segment(), Integer.toString(g.get(0).target()), "all", g);
        }
        line(out, "all", "", "", rows);
        out.println("α = accepted / drafted tokens; t/s = decoding tokens per second (median of the requests).");
    }

    /**
     * The adaptive engine's decoding tokens/s in the blocks of {@code block} requests with the trainer training (even
     * blocks) and paused (odd blocks): the medians of each kind, and the median over adjacent pairs of blocks of
     * (training block's median / paused block's median), which a slow drift of the machine's load affects least.
     */
    static void trainerCost(PrintWriter out, List<Row> rows, int block) {
        List<Double> training = new ArrayList<>();
        List<Double> paused = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        for (int b = 0; (b + 1) * block <= rows.size(); b += 2) {
            double[] t = rows.subList(b * block, (b + 1) * block).stream().mapToDouble(Row::adaptiveTps).toArray();
            Arrays.stream(t).forEach(training::add);
            if ((b + 2) * block <= rows.size()) {
                double[] p = rows.subList((b + 1) * block, (b + 2) * block).stream().mapToDouble(Row::adaptiveTps)
                        .toArray();
                Arrays.stream(p).forEach(paused::add);
                ratios.add(median(t) / median(p));
            }
        }
        double tm = median(training.stream().mapToDouble(Double::doubleValue).toArray());
        double pm = median(paused.stream().mapToDouble(Double::doubleValue).toArray());
        out.printf(Locale.ROOT, "trainer cost, blocks of %d requests: adaptive engine median %.0f tokens/s over %d"
                        + " requests with the trainer training, %.0f over %d with it paused: %+.1f%%; median of %d"
                        + " block pairs' ratios %+.1f%%%n", block, tm, training.size(), pm, paused.size(),
                100 * (tm / pm - 1), ratios.size(),
                100 * (median(ratios.stream().mapToDouble(Double::doubleValue).toArray()) - 1));
    }

    /**
     * Per target update or segment change at request N: the adaptive drafter's α over the {@code window} requests before N, over the
     * first {@code window} after it (what the update cost), and over the {@code window} requests ending
     * {@code horizon} requests after it; recovered = (α at the horizon − α just after) / (α before − α just after).
     * The static drafter's α over the same requests is shown beside.
     */
    static void recovery(PrintWriter out, List<Row> rows, int window, int horizon) {
        for (int n = 1; n < rows.size(); n++) {
            boolean update = rows.get(n).target() != rows.get(n - 1).target();
            boolean drift = !rows.get(n).segment().equals(rows.get(n - 1).segment());
            if (!update && !drift) {
                continue;
            }
            int end = Math.min(rows.size(), n + horizon);
            List<Row> before = rows.subList(Math.max(0, n - window), n);
            List<Row> after = rows.subList(n, Math.min(end, n + window));
            List<Row> late = rows.subList(Math.max(n, end - window), end);
            double b = alpha(before, false), a = alpha(after, false), l = alpha(late, false);
            out.printf(Locale.ROOT, "%s before request %d: adaptive α %.3f before, %.3f just after, %.3f at"
                            + " requests %d-%d: %s; static α %.3f, %.3f, %.3f%n",
                    update && drift ? "target update and new segment" : update ? "target update" : "new segment", n,
                    b, a, l, end - late.size(), end - 1,
                    b > a ? String.format(Locale.ROOT, "recovered %.0f%% of the %.3f the update cost", 100 * (l - a)
                            / (b - a), b - a) : "the update cost nothing", alpha(before, true), alpha(after, true),
                    alpha(late, true));
        }
    }

    private static double alpha(List<Row> rows, boolean still) {
        long d = 0, a = 0;
        for (Row r : rows) {
            d += still ? r.staticDrafted() : r.adaptiveDrafted();
            a += still ? r.staticAccepted() : r.adaptiveAccepted();
        }
        return d == 0 ? 0 : (double) a / d;
    }

    private static void line(PrintWriter out, String segment, String target, String version, List<Row> g) {
        long sd = 0, sa = 0, ad = 0, aa = 0;
        for (Row r : g) {
            sd += r.staticDrafted();
            sa += r.staticAccepted();
            ad += r.adaptiveDrafted();
            aa += r.adaptiveAccepted();
        }
        out.printf(Locale.ROOT, "%-22s %6s %7s %8d | %10.3f %10.3f | %10.0f %10.0f%n", segment, target, version,
                g.size(),
                sd == 0 ? 0 : (double) sa / sd, ad == 0 ? 0 : (double) aa / ad,
                median(g.stream().mapToDouble(Row::staticTps).toArray()),
                median(g.stream().mapToDouble(Row::adaptiveTps).toArray()));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length == 0 ? 0 : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Acceptance per block of 8 requests along the stream: two lines, segment boundaries and version changes. */
    static void writeSvg(Path file, List<Row> rows) {
        int block = 8;
        int w = 720, h = 320, left = 50, right = 20, top = 30, bottom = 50;
        int blocks = (rows.size() + block - 1) / block;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n", w, h));
        double pw = w - left - right, ph = h - top - bottom;
        for (int t = 0; t <= 5; t++) {
            double y = top + ph - ph * t / 5;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>%n", left, w - right, y, y, left - 6,
                    y + 4, t / 5.0));
        }
        String[] colors = {"#888", "#d62728"};
        String[] names = {"static drafter", "adaptive drafter"};
        for (int line = 0; line < 2; line++) {
            StringBuilder pts = new StringBuilder();
            for (int b = 0; b < blocks; b++) {
                long d = 0, a = 0;
                for (Row r : rows.subList(b * block, Math.min(rows.size(), (b + 1) * block))) {
                    d += line == 0 ? r.staticDrafted() : r.adaptiveDrafted();
                    a += line == 0 ? r.staticAccepted() : r.adaptiveAccepted();
                }
                double x = left + pw * (b + 0.5) / blocks;
                double y = top + ph - ph * (d == 0 ? 0 : (double) a / d);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n",
                    colors[line], pts.toString().strip()));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>%n", left + 10 + 160 * line,
                    top - 10, colors[line], names[line]));
        }
        for (int i = 1; i < rows.size(); i++) {
            boolean segment = !rows.get(i).segment().equals(rows.get(i - 1).segment());
            boolean version = rows.get(i).version() != rows.get(i - 1).version();
            if (rows.get(i).target() != rows.get(i - 1).target()) {
                double x = left + pw * i / rows.size();
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#2ca02c\""
                        + " stroke-width=\"2\"/><text x=\"%.1f\" y=\"%d\" fill=\"#2ca02c\" font-size=\"10\">target v%d"
                        + "</text>%n", x, x, top, top + ph, x + 2, top + 12, rows.get(i).target()));
            }
            if (segment || version) {
                double x = left + pw * i / rows.size();
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"%s\""
                        + " stroke-dasharray=\"%s\"/>%n", x, x, top, top + ph, segment ? "#1f77b4" : "#d62728",
                        segment ? "6,3" : "2,3"));
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" font-size=\"10\">%s</text>%n",
                        x + 2, top + ph + (segment ? 28 : 14), segment ? "#1f77b4" : "#d62728",
                        segment ? rows.get(i).segment() : "v" + rows.get(i).version()));
            }
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", left, h - 6,
                "acceptance (accepted / drafted) per block of " + block + " requests along the stream; dashed: segment"
                        + " start (blue), new drafter version (red); solid green: target update"));
        s.append("</svg>\n");
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            Files.writeString(file, s.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
