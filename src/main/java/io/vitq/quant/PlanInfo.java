package io.vitq.quant;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Plan-level metadata: what was quantized, by which method, at which default bit widths (ops may
 * override them per operand), with which metric and calibration set, when and by which vitq.
 * Only model, method and the bits are required; the other strings may be null. {@code options}
 * holds further method settings as strings (e.g. "alpha" → "0.01", "rounds" → "3").
 */
public record PlanInfo(String model, String method, int weightBits, int activationBits, String metric,
                       String calibration, String created, String vitqVersion, Map<String, String> options) {
    public PlanInfo {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("plan: model name missing");
        if (method == null || method.isBlank()) throw new IllegalArgumentException("plan: method missing");
        QuantChecks.bits(weightBits, "plan weight bits");
        QuantChecks.bits(activationBits, "plan activation bits");
        options = options == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(options));
    }

    /**
     * Option naming the input rotation of a plan calibrated on a ViT with rotated Linear inputs
     * ({@code ViTConfig.rotation}, {@code model.RotatedInputs#planOption}): its presence says the
     * float checkpoint must be rotated so before the plan applies.
     */
    public static final String INPUT_ROTATION = "input_rotation";

    public PlanInfo(String model, String method, int weightBits, int activationBits) {
        this(model, method, weightBits, activationBits, null, null, null, null, Map.of());
    }

    /** A copy with one option added (or replaced), after the others. */
    public PlanInfo withOption(String key, String value) {
        Map<String, String> o = new LinkedHashMap<>(options);
        o.put(key, value);
        return new PlanInfo(model, method, weightBits, activationBits, metric, calibration, created, vitqVersion, o);
    }

    /** Option of a mixed-precision plan: its target first ("mp8, units from ..."), {@code calib.MixedPrecisionCalibration}. */
    public static final String MIXED_PRECISION = "mixed_precision";

    /**
     * "W8A8"-style label of the default bit widths, or a mixed-precision plan's target ("MP8"): its
     * ops' bits vary around the defaults, which alone would misname it.
     */
    public String bitsLabel() {
        String mp = options.get(MIXED_PRECISION);
        return mp != null ? mp.split(",")[0].strip().toUpperCase(java.util.Locale.ROOT) : "W" + weightBits + "A" + activationBits;
    }
}
