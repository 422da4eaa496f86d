package io.vitq.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernels, the execution modes and the calibration searches give the same bits in the
 * interpreter, in C1 and in C2 (the searches take the first maximum of their scores, and the tests
 * compare forwards bit for bit without warm-up). {@link TierWorkload} runs in three JVMs at once:
 * one restricted to the interpreter ({@code -Xint}; the kernels and search metrics only, the rest
 * is too slow there), one restricted to C1 ({@code -XX:TieredStopAtLevel=1}; like the interpreter
 * it runs the Vector API's Java code, not its intrinsics), and one that interprets, then runs C2 code
 * only ({@code -XX:-TieredCompilation}, two iterations: the first is mostly interpreted, C2 code
 * takes over during it, the second runs mostly C2 code). The kernels run
 * 20 (C1) and 100 (C2) times in a row so that compiled code runs too; a hash that changes between
 * repetitions is marked. Every hash must be equal, except {@link #KNOWN_TIER_DEPENDENT}'s.
 */
class JitTiersTest {
    /**
     * Not yet tier-independent: the search metrics (OutputScores, RankingLoss) sum their lanes with
     * {@code reduceLanes(ADD)}, whose order is the JIT's (lane by lane in the interpreter and C1, by
     * halves where C2 inlines it), so a candidate's score can change its last bits mid-search. A
     * fixed-order sum cost 5-15 % of VT-PTQ's calibration time in the forms measured (LaneSumBench),
     * so it is left to a decision; these two are printed, not asserted. Remove them from this set
     * when the metrics sum in a fixed order.
     */
    static final java.util.Set<String> KNOWN_TIER_DEPENDENT = java.util.Set.of("search metrics", "calibration scores");

    @TempDir
    Path tmp;

    private Process start(Path log, int iterations, int kernelReps, String part, String... flags) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules");
        cmd.add("jdk.incubator.vector");
        cmd.add("-XX:+UseSerialGC");
        cmd.addAll(List.of(flags));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(TierWorkload.class.getName());
        cmd.add(Integer.toString(iterations));
        cmd.add(Integer.toString(kernelReps));
        cmd.add(part);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Waits for a child; returns one map of hashes per iteration. */
    private static List<Map<String, String>> finish(Process p, Path log, int iterations, String what) throws Exception {
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done && p.exitValue() == 0, what + " failed:\n" + out);
        List<Map<String, String>> runs = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("iteration ")) runs.add(new LinkedHashMap<>());
            else if (!runs.isEmpty() && !line.isBlank() && !line.startsWith("WARNING")) {
                int sp = line.lastIndexOf(' ');
                runs.getLast().put(line.substring(0, sp), line.substring(sp + 1));
            }
        }
        assertEquals(iterations, runs.size(), out);
        return runs;
    }

    @Test
    void interpreterC1AndC2GiveTheSameBits() throws Exception {
        Path li = tmp.resolve("xint.txt"), l1 = tmp.resolve("c1.txt"), l2 = tmp.resolve("c2.txt");
        Process pi = start(li, 1, 1, "kernels", "-Xint");
        Process p1 = start(l1, 1, 20, "all", "-XX:TieredStopAtLevel=1");
        Process p2 = start(l2, 2, 100, "all", "-XX:-TieredCompilation");
        Map<String, String> interpreter = finish(pi, li, 1, "-Xint").getFirst();
        Map<String, String> c1 = finish(p1, l1, 1, "C1 only").getFirst();
        List<Map<String, String>> c2 = finish(p2, l2, 2, "C2 only");
        assertTrue(interpreter.size() >= 8 && c1.size() >= 17, interpreter + " / " + c1);
        System.out.println("JIT tiers: " + interpreter.size() + " hashes from the interpreter, " + c1.size() + " from C1 and C2");
        List<String> differ = new ArrayList<>(), known = new ArrayList<>();
        for (Map<String, String> run : List.of(interpreter, c1, c2.get(0), c2.get(1))) {
            run.forEach((k, v) -> { if (v.endsWith("CHANGED")) differ.add(k + ": changed between repetitions in one JVM"); });
        }
        for (String k : c1.keySet()) {
            if (interpreter.containsKey(k) && !interpreter.get(k).equals(c1.get(k))) differ.add(k + ": interpreter vs C1");
            for (int i = 0; i < c2.size(); i++) {
                if (!c1.get(k).equals(c2.get(i).get(k))) differ.add(k + ": C1 vs C2 iteration " + i);
            }
        }
        differ.removeIf(d -> {
            boolean k = KNOWN_TIER_DEPENDENT.stream().anyMatch(d::startsWith);
            if (k) known.add(d);
            return k;
        });
        System.out.println("JIT tiers, known tier-dependent (not asserted): " + (known.isEmpty() ? "equal this time" : known));
        assertEquals(List.of(), differ, "results that depend on the JIT tier");
    }
}
