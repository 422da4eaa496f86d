package io.vitq.quant;

/**
 * The three parts of timm's fused qkv projection, in order: its output row (token) holds
 * {@code [q | k | v]}, each of {@code dim = heads · headDim} columns, and its weight's rows come in
 * the same three blocks (which is why qkv's weight has 3 row-block scales).
 */
public enum QkvPart {
    Q, K, V;

    /** First column of this part in a fused qkv row of {@code 3 · dim} columns. */
    public int columnOffset(int dim) { return ordinal() * dim; }

    /** Index of this part's block among qkv's 3 weight row blocks. */
    public int rowBlock() { return ordinal(); }
}
