package io.specula;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a process's memory looks like from outside the JVM's own accounting: the resident set size (which includes
 * the native memory DJL/libtorch allocates, invisible to the heap) and the heap in use after garbage collection. Used
 * by the load tests, the resource-release test and the sample's statistics, to show that memory stays flat.
 */
public final class ProcessMemory {

    private ProcessMemory() {
    }

    /** This process's resident set size in bytes (Linux /proc); 0 where it cannot be read. */
    public static long rssBytes() {
        return rssBytes(Path.of("/proc/self/status"));
    }

    /** Another process's resident set size in bytes (Linux /proc/PID/status); 0 where it cannot be read. */
    public static long rssBytes(long pid) {
        return rssBytes(Path.of("/proc", Long.toString(pid), "status"));
    }

    private static long rssBytes(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    /**
     * Heap in use after asking for a full collection, the least of three tries ({@code System.gc()} is only a
     * request, and a collection may finish after it returns).
     */
    public static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }
}
