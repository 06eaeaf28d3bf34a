package io.specula.testing;

import org.junit.jupiter.api.DynamicTest;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A small, dependency-free fuzzing harness on plain JUnit 5 (the project does not use a property-based testing
 * library). A property runs a fixed number of cases; case {@code i} draws its input from a {@link SplittableRandom}
 * seeded from the base seed, the property's name and {@code i}, so every case is reproducible on its own, in any
 * order. Each case is a {@link DynamicTest} named after its index; a failing case throws an {@link AssertionError}
 * that names the property, the seed, the case index and the input, with the command line that replays it.
 *
 * <p>System properties (Maven passes {@code -D} options on to the test JVM):
 * <ul>
 *   <li>{@code specula.fuzz.seed}: the base seed (decimal, or hexadecimal with {@code 0x}); default {@link #DEFAULT_SEED},
 *       so the suite is deterministic;</li>
 *   <li>{@code specula.fuzz.cases}: the number of cases of every property, for longer runs (default: each property's
 *       own budget);</li>
 *   <li>{@code specula.fuzz.case}: run only this case index (with the seed of the failure, to replay it).</li>
 * </ul>
 * For instance {@code ./mvnw -B -q -pl core test -Dtest=SafeTensorsFuzzTest -Dspecula.fuzz.seed=0x5eed
 * -Dspecula.fuzz.cases=20000} for a long run with another seed.
 */
public final class Fuzz {

    public static final String SEED_PROPERTY = "specula.fuzz.seed";
    public static final String CASES_PROPERTY = "specula.fuzz.cases";
    public static final String CASE_PROPERTY = "specula.fuzz.case";
    public static final long DEFAULT_SEED = 0x5BEC_01A5_EEDL;

    /** Printable ASCII, JSON and template syntax, whitespace, controls and a few awkward code points. */
    private static final String SPECIAL_CHARS = "{}[]\":,\\/ \t\r\n\u0000\u0001\u007F\u00A0\u00E9\u00F6\u20AC\uFEFF\uFFFD"
            + "\uFFFE\uFFFF\uD800\uDC00<>|%#'`-+.eE0123456789";

    private Fuzz() {
    }

    /** The input of one case, drawn from its own random source. */
    @FunctionalInterface
    public interface Generator<T> {
        T next(SplittableRandom random);
    }

    /** The assertion made on one input; any exception or error it throws fails the case. */
    @FunctionalInterface
    public interface Property<T> {
        void check(T input) throws Exception;
    }

    public static long baseSeed() {
        String s = System.getProperty(SEED_PROPERTY);
        if (s == null || s.isBlank()) {
            return DEFAULT_SEED;
        }
        s = s.strip();
        return s.startsWith("0x") || s.startsWith("0X") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }

    /** {@code defaultCases}, unless {@code -Dspecula.fuzz.cases} says otherwise. */
    public static int cases(int defaultCases) {
        String s = System.getProperty(CASES_PROPERTY);
        return s == null || s.isBlank() ? defaultCases : Integer.parseInt(s.strip());
    }

    /** The random source of case {@code index} of the property {@code name} under {@code seed}. */
    public static SplittableRandom random(long seed, String name, int index) {
        long h = seed;
        for (int i = 0; i < name.length(); i++) {
            h = h * 31 + name.charAt(i);
        }
        // SplittableRandom mixes its seed; two rounds of it spread (seed, name, index) over the whole state.
        return new SplittableRandom(new SplittableRandom(h).nextLong() ^ (index * 0x9E3779B97F4A7C15L));
    }

    /**
     * The cases of one property as dynamic tests ("case 0" .. "case n-1"): each draws an input from {@code generator}
     * and checks it. {@code name} identifies the property in messages and in the seed derivation.
     */
    public static <T> Stream<DynamicTest> property(String name, int defaultCases, Generator<T> generator,
                                                   Property<T> property) {
        long seed = baseSeed();
        int cases = cases(defaultCases);
        String only = System.getProperty(CASE_PROPERTY);
        IntStream indices = only == null || only.isBlank() ? IntStream.range(0, cases)
                : IntStream.of(Integer.parseInt(only.strip()));
        return indices.mapToObj(i -> DynamicTest.dynamicTest("case " + i, () -> runCase(name, seed, i, cases,
                generator, property)));
    }

    static <T> void runCase(String name, long seed, int index, int cases, Generator<T> generator,
                            Property<T> property) {
        T input;
        try {
            input = generator.next(random(seed, name, index));
        } catch (RuntimeException | Error e) {
            throw new AssertionError(header(name, seed, index, cases) + ": the generator failed", e);
        }
        try {
            property.check(input);
        } catch (Throwable e) {
            throw new AssertionError(header(name, seed, index, cases) + " with input " + describe(input) + ": " + e,
                    e);
        }
    }

    private static String header(String name, long seed, int index, int cases) {
        return "fuzz property " + name + " failed at case " + index + " of " + cases + ", seed 0x"
                + Long.toHexString(seed) + " (replay: -D" + SEED_PROPERTY + "=0x" + Long.toHexString(seed) + " -D"
                + CASE_PROPERTY + "=" + index + ")";
    }

    /** A readable, bounded rendering of an input (arrays and lists of arrays included). */
    public static String describe(Object input) {
        String s;
        if (input instanceof byte[] b) {
            s = "byte[" + b.length + "] " + Arrays.toString(b);
        } else if (input instanceof int[] a) {
            s = Arrays.toString(a);
        } else if (input instanceof Object[] a) {
            s = Arrays.deepToString(a);
        } else if (input instanceof List<?> list) {
            s = list.stream().map(Fuzz::describe).toList().toString();
        } else if (input instanceof String str) {
            s = '"' + str.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
        } else {
            s = String.valueOf(input);
        }
        return s.length() <= 2_000 ? s : s.substring(0, 2_000) + "... (" + s.length() + " characters)";
    }

    // ---------------------------------------------------------------------------------------------------------
    // Generators. Like a property-based library's, they favour edge values over uniform draws.

    /** An int in [min, max] (inclusive); one draw in four is an edge: min, max, or 0 / 1 / -1 when in range. */
    public static int intBetween(SplittableRandom r, int min, int max) {
        if (r.nextInt(4) == 0) {
            int[] edges = {min, max, 0, 1, -1, min + 1, max - 1};
            int e = edges[r.nextInt(edges.length)];
            if (e >= min && e <= max) {
                return e;
            }
        }
        return (int) r.nextLong(min, (long) max + 1);
    }

    /** Any int, often an edge one (0, ±1, MIN_VALUE, MAX_VALUE, small values). */
    public static int anyInt(SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0 -> new int[] {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE + 1,
                Integer.MAX_VALUE - 1}[r.nextInt(7)];
            case 1, 2 -> r.nextInt(-256, 257);
            default -> r.nextInt();
        };
    }

    /** One of {@code values}, uniformly. */
    @SafeVarargs
    public static <T> T oneOf(SplittableRandom r, T... values) {
        return values[r.nextInt(values.length)];
    }

    /** One of {@code values}, uniformly. */
    public static <T> T oneOf(SplittableRandom r, List<T> values) {
        return values.get(r.nextInt(values.size()));
    }

    /** A length in [min, max], biased towards short ones and the bounds. */
    public static int length(SplittableRandom r, int min, int max) {
        return switch (r.nextInt(6)) {
            case 0 -> min;
            case 1 -> max;
            case 2 -> Math.min(max, min + r.nextInt(4));
            default -> r.nextInt(min, max + 1);
        };
    }

    /** Between {@code min} and {@code max} items from {@code item}. */
    public static <T> List<T> listOf(SplittableRandom r, int min, int max, Function<SplittableRandom, T> item) {
        int n = length(r, min, max);
        return IntStream.range(0, n).mapToObj(i -> item.apply(r)).toList();
    }

    /** Up to {@code maxLength} random bytes (sometimes all zero or all 0xFF). */
    public static byte[] bytes(SplittableRandom r, int maxLength) {
        byte[] b = new byte[length(r, 0, maxLength)];
        switch (r.nextInt(8)) {
            case 0 -> Arrays.fill(b, (byte) 0);
            case 1 -> Arrays.fill(b, (byte) 0xFF);
            default -> {
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) r.nextInt(256);
                }
            }
        }
        return b;
    }

    /**
     * Up to {@code maxLength} chars: mostly printable ASCII, with JSON syntax, controls, non-ASCII letters, lone
     * surrogates and any other UTF-16 unit mixed in.
     */
    public static String string(SplittableRandom r, int maxLength) {
        int n = length(r, 0, maxLength);
        int mode = r.nextInt(4);
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            int pick = mode == 0 ? 0 : r.nextInt(10);
            char c;
            if (pick < 5) {
                c = (char) r.nextInt(0x20, 0x7F);
            } else if (pick < 8) {
                c = SPECIAL_CHARS.charAt(r.nextInt(SPECIAL_CHARS.length()));
            } else {
                c = (char) r.nextInt(0x10000);
            }
            sb.append(c);
        }
        return sb.toString();
    }
}
