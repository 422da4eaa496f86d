"""Non-uniform 4-bit weight levels against the uniform per-row grid, on the float model: every
Linear weight of a safetensors checkpoint (blocks, head, patch embedding) replaced by its rounded
value, everything else kept, written as a float checkpoint that `vitq eval` runs like any other
(docs/LOWBIT.md section 5, "Non-uniform weight levels, measured and not adopted").

    python3 tools/experiments/weight_codebook.py IN.safetensors OUT.safetensors MODE [BITS]   (numpy)
    ./vitq eval --model vit_tiny_patch16_224 --checkpoint OUT.safetensors --data $VAL --predictions P.csv
    python3 tools/experiments/weight_codebook.py compare FLOAT.csv P.csv [more.csv ...]

compare: top-1, agreement with the float model's top-1, and the mean -log p of the float model's
top-1 class under each file's model (from the CSV's top-5 probabilities, 1e-4 when it is not in
them): measures less noisy than top-1 alone, from `vitq eval --predictions` files.

MODE:
  uniform  per row, asymmetric, 2^BITS codes; the clipping range (both ends scaled by a in
           0.5..1.0, 51 steps) chosen by the row's squared weight error. The uniform per-row grid
           that vitq's recipe uses, with scales chosen on the weight alone (vitq searches them on
           the output).
  rowcb    per row, 2^BITS levels fitted by Lloyd's k-means (30 iterations from the uniform grid).
  layercb  per Linear, one table of 2^BITS levels shared by its rows, each row with its own scale:
           w ~ s_r L[i]. Lloyd's k-means on the rows normalised by their scales, alternating with each
           scale's least-squares fit to its levels (20 rounds, from s_r = max |w_r| and the quantiles).
           A 4-bit index per weight, 16 levels per Linear: the storage of a 4-bit weight.
The levels of both codebook modes are rounded onto the 8-bit grid of their largest level, so that a
codebook weight is an int8 code times one scale per row, which the integer GEMMs and the ONNX export
already run.
"""
import json
import struct
import sys

import numpy as np

from random_vit_checkpoint import write_safetensors

DTYPES = {'F32': np.float32, 'F16': np.float16}


def uniform(w, bits):
    lo0, hi0 = w.min(1, keepdims=True), w.max(1, keepdims=True)
    best = err = None
    for a in np.linspace(0.5, 1.0, 51):
        lo, hi = lo0 * a, hi0 * a
        s = (hi - lo) / (2 ** bits - 1)
        s[s == 0] = 1e-12
        z = np.round(-lo / s)
        d = (np.clip(np.round(w / s) + z, 0, 2 ** bits - 1) - z) * s
        e = ((d - w) ** 2).sum(1, keepdims=True)
        if best is None:
            best, err = d, e
        else:
            best, err = np.where(e < err, d, best), np.minimum(e, err)
    return best


def on_int8_grid(levels):
    m = np.abs(levels).max()
    return np.unique(np.round(levels / m * 127) / 127 * m)


def nearest(u, levels):
    """Index of the nearest of the sorted levels, for every element of u."""
    return np.searchsorted((levels[1:] + levels[:-1]) / 2, u)


def row_codebook(w, bits, iters=30):
    k, out, start = 2 ** bits, np.empty_like(w), uniform(w, bits)
    for r in range(w.shape[0]):
        x, c = w[r], np.unique(start[r])
        if len(c) < k:
            c = np.quantile(x, (np.arange(k) + 0.5) / k)
        for _ in range(iters):
            idx = nearest(x, c)
            for j in range(len(c)):
                if (idx == j).any():
                    c[j] = x[idx == j].mean()
            c = np.sort(c)
        c = on_int8_grid(c)
        out[r] = c[nearest(x, c)]
    return out


def layer_codebook(w, bits, iters=20):
    k = 2 ** bits
    s = np.abs(w).max(1, keepdims=True)
    s[s == 0] = 1e-12
    levels = np.quantile(w / s, (np.arange(k) + 0.5) / k)
    for _ in range(iters):
        u = w / s
        idx = nearest(u, levels)
        for j in range(k):
            if (idx == j).any():
                levels[j] = u[idx == j].mean()
        levels = np.sort(levels)
        q = levels[nearest(w / s, levels)]
        s = (w * q).sum(1, keepdims=True) / np.maximum((q * q).sum(1, keepdims=True), 1e-30)
        s[s <= 0] = 1e-12
    levels = on_int8_grid(levels)
    return s * levels[nearest(w / s, levels)]


def main(src, dst, mode, bits=4):
    rounding = {'uniform': uniform, 'rowcb': row_codebook, 'layercb': layer_codebook}[mode]
    raw = open(src, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header, body = json.loads(raw[8:8 + n]), raw[8 + n:]
    tensors, errors = {}, []
    for name, meta in header.items():
        if name == '__metadata__':
            continue
        a, b = meta['data_offsets']
        t = np.frombuffer(body[a:b], dtype=DTYPES[meta['dtype']]).reshape(meta['shape']).astype(np.float32)
        if name.endswith('.weight') and t.ndim >= 2 and any(p in name for p in ('blocks', 'head', 'patch_embed')):
            w = t.reshape(t.shape[0], -1)
            q = rounding(w, bits)
            errors.append(((q - w) ** 2).sum() / (w ** 2).sum())
            t = q.reshape(t.shape).astype(np.float32)
        tensors[name] = t
    write_safetensors(dst, tensors)
    print(f'{mode}, {bits} bits: {len(errors)} weights, mean relative squared error {np.mean(errors):.5f}')


def compare(reference, others):
    import csv
    import math
    load = lambda f: {r['path']: r for r in csv.DictReader(open(f))}
    ref = load(reference)
    for f in others:
        q = load(f)
        top1 = sum(q[p]['top1'] == q[p]['label'] for p in ref) / len(ref) * 100
        agree = sum(q[p]['top1'] == ref[p]['top1'] for p in ref)
        nll = 0.0
        for p in ref:
            prob = next((float(q[p][f'p{i}']) for i in range(1, 6) if q[p][f'top{i}'] == ref[p]['top1']), 1e-4)
            nll -= math.log(max(prob, 1e-4))
        print(f'{f}: top-1 {top1:.2f} %, agreement with the float top-1 {agree}/{len(ref)}, '
              f'-log p(float top-1) {nll / len(ref):.4f}')


if __name__ == '__main__':
    if sys.argv[1] == 'compare':
        compare(sys.argv[2], sys.argv[3:])
        sys.exit()
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 4)
