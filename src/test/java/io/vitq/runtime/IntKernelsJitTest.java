package io.vitq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.VectorShape;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * C2 compiles every Java int8 kernel with all of its Vector API calls intrinsified, whichever kind
 * of kernel ran first. Before the accumulators stopped being the receivers of their own updates,
 * a kernel compiled after the other kind (or without a tier-3 profile, as in the calibration's
 * integer search) kept some {@code VectorSupport.store} calls: the accumulators were then boxed in
 * the loop and {@code i6x2} ran at 5 GOPS instead of 160 (docs/CALIBRATION_TIME.md). The children
 * run C2 only ({@code -XX:-TieredCompilation}, no C1 profile; {@code -Xbatch}, so that every compile
 * finishes before the kernel runs on) and print C2's compiles and inlining decisions for
 * {@code IntKernels}: each of the 24 kernels must be compiled, and every line naming a
 * {@code VectorSupport} method must end intrinsified.
 */
class IntKernelsJitTest {
    @TempDir
    Path tmp;

    @Test
    void everyVectorCallIsIntrinsifiedWhicheverKernelRanFirst() throws Exception {
        if (VectorShape.preferredShape().vectorBitSize() < 512) { // the kernels' 512-bit species are Java code there
            String msg = "SKIPPED: this CPU has no 512-bit vectors, so C2 intrinsifies none of the kernels' operations";
            System.out.println(msg);
            Assumptions.abort(msg);
        }
        Process bytesFirst = start("bytes,ints"), intsFirst = start("ints,bytes");
        check(bytesFirst, "bytes,ints");
        check(intsFirst, "ints,bytes");
    }

    private Process start(String order) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-XX:+UseSerialGC", "-XX:-TieredCompilation", "-Xbatch",
                "-XX:+PrintCompilation", "-XX:+UnlockDiagnosticVMOptions", "-XX:CompileCommand=quiet",
                "-XX:CompileCommand=PrintInlining," + IntKernels.class.getName() + "::*",
                "-cp", System.getProperty("java.class.path"), KernelCompileWorkload.class.getName(), "3000", order));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(order + ".log").toFile()).start();
    }

    private void check(Process p, String order) throws Exception {
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        List<String> log = Files.readAllLines(tmp.resolve(order + ".log"));
        assertTrue(done && p.exitValue() == 0, order + ": " + String.join("\n", log));
        // a standard (not on-stack-replacement) compile of each kernel, the code every later call runs
        for (String kind : new String[] {"b", "i"})
            for (int nv = 1; nv <= 2; nv++)
                for (int mr = 1; mr <= IntKernels.MR; mr++) {
                    String compiled = IntKernels.class.getName() + "::" + kind + mr + "x" + nv + " (";
                    assertTrue(log.stream().anyMatch(l -> !l.strip().startsWith("@") && !l.contains(" % ") && l.contains(compiled)),
                            order + ": C2 did not compile " + compiled.substring(0, compiled.length() - 2));
                }
        List<String> calls = log.stream().map(String::strip)
                .filter(l -> l.startsWith("@") && l.contains("jdk.internal.vm.vector.VectorSupport::")).toList();
        // a call C2 retried late ends "late inline succeeded"; one it left as a call ends in a failure, which may
        // itself read "failed to inline (intrinsic)"
        List<String> left = calls.stream()
                .filter(l -> !l.endsWith("late inline succeeded") && (l.contains("failed to inline") || !l.endsWith("(intrinsic)")))
                .toList();
        assertEquals(0, left.size(), order + ": " + left.size() + " of " + calls.size()
                + " Vector API calls C2 left as calls (their vectors boxed), e.g.\n" + String.join("\n", left.subList(0, Math.min(3, left.size()))));
    }
}
