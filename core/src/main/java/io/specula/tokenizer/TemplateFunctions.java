package io.specula.tokenizer;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * The global functions transformers gives chat templates: {@code raise_exception(message)} and
 * {@code strftime_now(format)}, and Python's {@code range}. Jinjava calls static methods, so the clock and the
 * range limit are per thread, set around each render.
 */
final class TemplateFunctions {

    static final ThreadLocal<Clock> CLOCK = ThreadLocal.withInitial(Clock::systemDefaultZone);
    static final ThreadLocal<Integer> MAX_RANGE = ThreadLocal.withInitial(() -> 100_000);

    private TemplateFunctions() {
    }

    /** Thrown by raise_exception: the template itself rejected the conversation. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** Python's strftime for the directives chat templates use (%d %b %Y and friends), in English. */
    static String strftimeNow(String format) {
        ZonedDateTime t = ZonedDateTime.now(CLOCK.get());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'b' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }

    /**
     * Python's range(stop) / range(start, stop[, step]). Jinjava's own range silently truncates at its limit,
     * which would render a different prompt; a range over the limit is an error instead.
     */
    static java.util.List<Long> range(Object first, Object... rest) {
        long start = 0;
        long stop;
        long step = 1;
        if (rest.length == 0) {
            stop = number(first);
        } else {
            start = number(first);
            stop = number(rest[0]);
            step = rest.length > 1 ? number(rest[1]) : 1;
        }
        if (step == 0) {
            throw new IllegalArgumentException("range() step must not be zero");
        }
        long length = step > 0 ? Math.max(0, (stop - start + step - 1) / step) : Math.max(0, (start - stop - step - 1) / -step);
        int max = MAX_RANGE.get();
        if (length > max) {
            throw new RenderGuard.LimitExceeded("loop iteration limit (" + max + ") exceeded: range of " + length);
        }
        // A view, not a copy: a loop over range(100000) inside another loop allocates nothing per outer iteration.
        return new Range(start, step, (int) length);
    }

    /** The values of a range, computed on access. */
    private static final class Range extends java.util.AbstractList<Long> implements java.util.RandomAccess {
        private final long start;
        private final long step;
        private final int size;

        Range(long start, long step, int size) {
            this.start = start;
            this.step = step;
            this.size = size;
        }

        @Override
        public Long get(int index) {
            java.util.Objects.checkIndex(index, size);
            return start + index * step;
        }

        @Override
        public int size() {
            return size;
        }
    }

    private static long number(Object o) {
        if (o instanceof Number n) {
            return n.longValue();
        }
        return Long.parseLong(String.valueOf(o).trim());
    }
}
