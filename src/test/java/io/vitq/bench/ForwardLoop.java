package io.vitq.bench;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.data.CalibrationSet;
import io.vitq.io.ModelLoader;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.model.ModelZoo;
import io.vitq.model.RandomWeights;
import io.vitq.quant.QuantPlan;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One engine's forward of a batch of 32 calibration images in a loop, for a sampling profiler to
 * attach to: prints {@code READY pid} after the warm-up, then runs for the given seconds and prints
 * images/s. The plan is the bench's shortened PTQ4ViT W8A8 one (8 images, 20 candidates, 1 round).
 * How docs/BENCHMARKS.md's perf profiles were taken (JDK 25 in JAVA_HOME, the jar built):
 * <pre>
 * $JAVA_HOME/bin/java -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:+PreserveFramePointer \
 *     --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dvitq.home=. \
 *     -cp target/vitq.jar src/test/java/io/vitq/bench/ForwardLoop.java vit_tiny_patch16_224 integer 20 &amp;
 * perf record -F 999 -g -p PID -o int.data -- sleep 18     # PID from its READY line
 * perf report -i int.data --no-children --sort symbol --stdio -g none
 * </pre>
 */
public final class ForwardLoop {
    private ForwardLoop() {}

    /**
     * The plan {@code vitq bench} times: PTQ4ViT W8A8 with the power-of-two GELU, calibrated on the first
     * 8 of {@code images} with the search shortened to 20 candidates and 1 round (scale values do not
     * change the speed). Kept here, in a file that also runs alone, for the other benches of this package.
     */
    static QuantPlan speedPlan(Model model, Tensor images, String source) {
        int per = images.size() / images.dim(0);
        Tensor eight = new Tensor(Arrays.copyOf(images.data(), 8 * per), 8, images.dim(1), images.dim(2), images.dim(3));
        return Calibrator.calibrate(model, eight, null, CalibConfig.ptq4vit(8, 8).withGeluPowerOfTwo(true).withSearch(20, 1),
                source, null).plan();
    }

    /** Arguments: zoo model name (random weights without a checkpoint), {@code float} or {@code integer}, seconds. */
    public static void main(String[] args) throws Exception {
        String name = args[0], mode = args[1];
        double seconds = Double.parseDouble(args[2]);
        Model model = ModelLoader.findCheckpoint(name).isPresent() ? ModelLoader.load(name, null).model()
                : ModelZoo.get(name).build(RandomWeights.of(ModelZoo.get(name).architecture(), 1));
        Path list = Path.of(System.getProperty("vitq.home", "."), "demo/calib/calib32.txt");
        Tensor images = CalibrationSet.load(list, 32, model.preprocessing()).images();
        QuantPlan plan = speedPlan(model, images, list.toString());
        Executor ex = switch (mode) {
            case "float" -> FloatExecutor.INSTANCE;
            case "integer" -> new IntegerExecutor(plan, model);
            default -> throw new IllegalArgumentException("mode: float or integer, got " + mode);
        };
        for (int i = 0; i < 3; i++) model.forward(images, ex);
        System.out.println("READY " + ProcessHandle.current().pid());
        System.out.flush();
        long t0 = System.nanoTime(), end = t0 + (long) (seconds * 1e9);
        int runs = 0;
        while (System.nanoTime() < end) {
            model.forward(images, ex);
            runs++;
        }
        System.out.printf("%s %s: %.1f images/s%n", name, mode, 32.0 * runs / ((System.nanoTime() - t0) / 1e9));
    }
}
