package io.vitq.quant;

/**
 * How attention heads sit in a row of q, k or v: head h owns columns {@code h·headDim ..
 * h·headDim + headDim - 1} of the part (timm's {@code reshape(B, N, 3, H, d)}). In the fused qkv
 * buffer a part starts at {@link QkvPart#columnOffset(int)}; see {@link ScaledRanges#fakeQuantHeads}.
 */
public record HeadLayout(int heads, int headDim) {
    public HeadLayout {
        if (heads < 1 || headDim < 1) throw new IllegalArgumentException("heads and headDim must be positive: " + heads + ", " + headDim);
    }

    /** Columns of one part, {@code heads · headDim}. */
    public int dim() { return heads * headDim; }

    /** Head owning column {@code col} (0-based within the part). */
    public int headOfColumn(int col) {
        if (col < 0 || col >= dim()) throw new IndexOutOfBoundsException("column " + col + " outside 0.." + (dim() - 1));
        return col / headDim;
    }

    /** First column of head h within the part. */
    public int firstColumn(int head) {
        if (head < 0 || head >= heads) throw new IndexOutOfBoundsException("head " + head + " outside 0.." + (heads - 1));
        return head * headDim;
    }
}
