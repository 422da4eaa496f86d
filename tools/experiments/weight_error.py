"""Weight-space error of 4-bit per-row weights on a checkpoint: uniform against a per-layer codebook
and against randomized Hadamard rotations (docs/LOWBIT.md section 5, "where the 4-bit weights lose").

    python3 tools/experiments/weight_error.py CHECKPOINT.safetensors

Needs numpy and safetensors. Per block Linear weight W [out, in]:
- uniform: per-row asymmetric 4-bit, the clipping ratio of each row (0.5 to 1 of its range, 51 steps)
  that minimises the row's squared error;
- codebook: rows divided by their largest |w|, 16 levels by k-means (30 Lloyd steps from the
  quantiles) over the whole layer, the levels then put on an 8-bit grid (k / 127) and each weight
  rounded to the nearest level;
- rotated: the uniform rounding of W R^T (input side), U W (output side) or U W R^T (both), R and U
  block Hadamard rotations with random signs as in section 2.1 (other signs than vitq's; the error is
  measured in the rotated basis, which orthogonal rotations leave equal to the original one's).
Prints each op type's summed squared error relative to the uniform rounding.
"""
import sys

import numpy as np
from safetensors.numpy import load_file


def uniform(w, bits=4):
    lo0, hi0 = w.min(1, keepdims=True), w.max(1, keepdims=True)
    top = 2 ** bits - 1
    best_e, best_q = np.full(w.shape[0], np.inf), np.zeros_like(w)
    for ratio in np.linspace(0.5, 1.0, 51):
        lo, hi = lo0 * ratio, hi0 * ratio
        s = (hi - lo) / top
        z = np.round(-lo / s)
        q = (np.clip(np.round(w / s) + z, 0, top) - z) * s
        e = ((w - q) ** 2).sum(1)
        better = e < best_e
        best_e[better], best_q[better] = e[better], q[better]
    return best_q


def codebook(w, bits=4, steps=30):
    s = np.abs(w).max(1, keepdims=True)
    v = (w / s).ravel()
    k = 2 ** bits
    c = np.quantile(v, (np.arange(k) + 0.5) / k)
    for _ in range(steps):
        a = np.abs(v[:, None] - c[None, :]).argmin(1)
        for j in range(k):
            if (a == j).any():
                c[j] = v[a == j].mean()
    c = np.clip(np.round(c * 127), -128, 127) / 127
    a = np.abs(v[:, None] - c[None, :]).argmin(1)
    return c[a].reshape(w.shape) * s


def rotation(n, seed):
    b = n & -n
    h = np.array([[1.0]])
    while h.shape[0] < b:
        h = np.block([[h, h], [h, -h]])
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], n)
    return np.kron(np.eye(n // b), h) / np.sqrt(b) * signs[None, :]


def main(path):
    weights = load_file(path)
    totals = {}
    for name in sorted(weights):
        if not name.startswith("blocks.") or not name.endswith(".weight") or weights[name].ndim != 2:
            continue
        w = weights[name].astype(np.float64)
        out, inp = w.shape
        r, u = rotation(inp, inp), rotation(out, out + 1)
        cases = {"uniform": w, "input rotated": w @ r.T, "output rotated": u @ w, "both rotated": u @ w @ r.T}
        errors = {k: ((m - uniform(m)) ** 2).sum() for k, m in cases.items()}
        errors["codebook"] = ((w - codebook(w)) ** 2).sum()
        t = totals.setdefault(name.split(".")[-2], {})
        for k, e in errors.items():
            t[k] = t.get(k, 0.0) + e
    for op, t in totals.items():
        print(op, ", ".join(f"{k} {e / t['uniform']:.3f}" for k, e in t.items()))


if __name__ == "__main__":
    main(sys.argv[1])
