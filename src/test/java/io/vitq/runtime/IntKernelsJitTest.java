package io.vitq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * C2 compiles every Java int8 kernel with all of its Vector API calls intrinsified, whichever kind
 * of kernel ran first. Before the accumulators stopped being the receivers of their own updates,
 * a kernel compiled after the other kind (or without a tier-3 profile, as in the calibration's
 * integer search) kept some {@code VectorSupport.store} calls: the accumulators were then boxed in
 * the loop and {@code i6x2} ran at 5 GOPS instead of 160 (docs/CALIBRATION_TIME.md). The children
 * run C2 only ({@code -XX:-TieredCompilation}, no C1 profile) and print C2's inlining decisions for
 * {@code IntKernels}; every line naming a {@code VectorSupport} method must end intrinsified.
 */
class IntKernelsJitTest {
    @TempDir
    Path tmp;

    @Test
    void everyVectorCallIsIntrinsifiedWhicheverKernelRanFirst() throws Exception {
        Process bytesFirst = start("bytes,ints"), intsFirst = start("ints,bytes");
        check(bytesFirst, "bytes,ints");
        check(intsFirst, "ints,bytes");
    }

    private Process start(String order) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-XX:+UseSerialGC", "-XX:-TieredCompilation",
                "-XX:+UnlockDiagnosticVMOptions", "-XX:CompileCommand=quiet",
                "-XX:CompileCommand=PrintInlining," + IntKernels.class.getName() + "::*",
                "-cp", System.getProperty("java.class.path"), KernelCompileWorkload.class.getName(), "3000", order));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(order + ".log").toFile()).start();
    }

    private void check(Process p, String order) throws Exception {
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        List<String> log = Files.readAllLines(tmp.resolve(order + ".log"));
        assertTrue(done && p.exitValue() == 0, order + ": " + String.join("\n", log));
        List<String> calls = log.stream().filter(l -> l.contains("jdk.internal.vm.vector.VectorSupport::")).toList();
        // every kernel compiled: a load, a convert, a binary operation and a store for each of the 24
        assertTrue(calls.size() >= 24 * 4, order + ": only " + calls.size() + " Vector API intrinsic calls compiled");
        List<String> left = calls.stream().map(String::strip)
                .filter(l -> !l.endsWith("(intrinsic)") && !l.endsWith("late inline succeeded")).toList();
        assertEquals(0, left.size(), order + ": " + left.size() + " Vector API calls C2 left as calls (their vectors boxed), e.g.\n"
                + String.join("\n", left.subList(0, Math.min(3, left.size()))));
    }
}
