package io.vitq.model;

/**
 * Which Linear inputs of a ViT block read their value through the {@link InputRotation} R, their
 * weights stored as {@code W R^T} (docs/LOWBIT.md sections 2.1 and 2.2). No checkpoint has a
 * rotation; vitq's calibration makes one.
 */
public enum RotatedInputs {
    /** No rotation: the checkpoint's network. */
    NONE("none", false, false, false),
    /** qkv and fc1, the two LayerNorm outputs: their outlier channels spread for the input quantizers. */
    NORMED("qkv and fc1", true, false, false),
    /**
     * Every block Linear: qkv, proj, fc1 and fc2, so that every weight row is mixed along its
     * input and no row carries a few wide columns into its 4-bit grid (W4A8). fc2's input is then
     * no GELU output: it takes a uniform quantizer, not the post-GELU ones.
     */
    ALL("qkv, proj, fc1 and fc2", true, true, true);

    private final String linears;
    private final boolean normed, proj, fc2;

    RotatedInputs(String linears, boolean normed, boolean proj, boolean fc2) {
        this.linears = linears;
        this.normed = normed;
        this.proj = proj;
        this.fc2 = fc2;
    }

    /** The Linears whose inputs are rotated, in words ("qkv and fc1"). */
    public String linears() { return linears; }

    /** Whether qkv and fc1 read their LayerNorm's output rotated. */
    public boolean normed() { return normed; }

    /** Whether proj reads the attention's output rotated. */
    public boolean proj() { return proj; }

    /** Whether fc2 reads the GELU's output rotated (then its input is no GELU output to its quantizer). */
    public boolean fc2() { return fc2; }

    /**
     * The value of a plan's {@code input_rotation} option ({@code quant.PlanInfo.INPUT_ROTATION}) for
     * this rotation: it starts with the Linears, which {@link #ofPlanOption} reads back.
     */
    public String planOption() {
        if (this == NONE) throw new IllegalStateException("no rotation, no option");
        return linears + " inputs through a randomized block Hadamard (docs/LOWBIT.md " + (this == NORMED ? "2.1" : "2.2")
                + "); the model's weights there are W R^T";
    }

    /**
     * The rotation a plan's {@code input_rotation} option names: {@link #NONE} when the plan has none
     * (null); the Linears it starts with otherwise (plans written before {@link #ALL} say "qkv and fc1").
     *
     * @throws IllegalArgumentException for a value that names no rotation vitq knows
     */
    public static RotatedInputs ofPlanOption(String value) {
        if (value == null) return NONE;
        for (RotatedInputs r : values())
            if (r != NONE && value.startsWith(r.linears + " inputs")) return r;
        throw new IllegalArgumentException("input rotation '" + value + "': not one vitq knows (it starts with '"
                + NORMED.linears + " inputs' or '" + ALL.linears + " inputs'); a newer vitq wrote this plan");
    }
}
