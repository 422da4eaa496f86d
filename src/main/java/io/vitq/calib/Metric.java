package io.vitq.calib;

/**
 * How the interval search scores a candidate's output Ô against the float output O; higher is
 * better (ALGORITHMS section 3.1).
 */
public enum Metric {
    /** Cosine similarity over the output features (BasePTQ, as in EasyQuant). */
    COSINE("cosine"),
    /**
     * PTQ4ViT's Hessian-guided metric {@code -(G ⊙ (Ô - O))²}, averaged over the features, with
     * {@code G = dL/dO} the gradient of the task loss at the op's output.
     */
    HESSIAN("hessian"),
    /**
     * Pearson correlation of O and Ô over each sample's whole output (tokens x features), summed
     * over samples: VT-PTQ's similarity (Liu et al., eq. 10).
     */
    PEARSON("pearson"),
    /**
     * {@code -(Ô - O)²}, averaged over the features: AdaLog's similarity (its {@code _get_similarity},
     * docs/LOWBIT.md section 5.2), the Hessian metric with G = 1.
     */
    MSE("mse");

    private final String cliName;

    Metric(String cliName) { this.cliName = cliName; }

    /** The name on the command line and in plan files. */
    public String cliName() { return cliName; }

    /** The metric with this command-line name; an exception lists the valid ones. */
    public static Metric parse(String name) {
        for (Metric m : values()) if (m.cliName.equalsIgnoreCase(name)) return m;
        throw new IllegalArgumentException("unknown metric '" + name + "' (expected cosine, hessian, pearson or mse)");
    }
}
