package io.vitq.eval;

/** Top-k classes of one logit row, with softmax probabilities. */
public record TopK(int[] classes, float[] probs) implements java.io.Serializable {

    public static TopK of(float[] logits, int off, int n, int k) {
        k = Math.min(k, n);
        int[] idx = new int[k];
        float[] val = new float[k];
        int filled = 0;
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            if (filled == k && v <= val[k - 1]) continue; // ties keep the lower index, like torch.topk on CPU
            int pos = filled < k ? filled++ : k - 1;
            while (pos > 0 && val[pos - 1] < v) {
                val[pos] = val[pos - 1];
                idx[pos] = idx[pos - 1];
                pos--;
            }
            val[pos] = v;
            idx[pos] = i;
        }
        double max = val[0], sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
        float[] probs = new float[k];
        for (int j = 0; j < k; j++) probs[j] = (float) (Math.exp(val[j] - max) / sum);
        return new TopK(idx, probs);
    }

    public int top1() { return classes[0]; }

    public boolean contains(int label) {
        for (int c : classes) if (c == label) return true;
        return false;
    }
}
