"""The rotation's sign draw on the float model (docs/LOWBIT.md 2.2, "How much of it is the draw of the signs").

    python3 tools/experiments/rotation_signs.py CHECKPOINT.safetensors OUT.safetensors MODE

MODE is seed:K (every Linear rotated with the signs of draw K; draw 0 is vitq's, the other draws are
those of tools/experiments/rotation_seed.patch with -Dvitq.rotation.seed=K), best:K or worst:K (each
Linear its own draw among 0..K-1, the one of least or most rounding error). Every block Linear's input
rotated as RotatedInputs.ALL does (qkv, proj, fc1, fc2), R = diag(H_b, ..., H_b) D / sqrt(b), the weight
rounded at 4 bits per row as weight_error.uniform does (asymmetric, clipping by the weight error) in
the rotated basis and rotated back, W_hat = Q(W R^T) R, so that `vitq eval --checkpoint OUT` runs it
without a rotation; the head and the patch embedding rounded the same way unrotated, activations float.
Prints the summed squared rounding error. Needs numpy and safetensors.
"""
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

from weight_error import uniform

M64 = (1 << 64) - 1


def sign(n, i, seed):
    """io.vitq.model.InputRotation.sign, with the seed term of rotation_seed.patch (none for draw 0)."""
    h = (((i + 1) * 0x9E3779B97F4A7C15) & M64) ^ ((n * 0xC2B2AE3D27D4EB4F) & M64) ^ ((seed * 0x94D049BB133111EB) & M64)
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) & M64
    h ^= h >> 29
    return 1.0 if (h & 1) == 0 else -1.0


def rotation(n, seed):
    b = n & -n
    h = np.array([[1.0]])
    while h.shape[0] < b:
        h = np.block([[h, h], [h, -h]])
    d = np.array([sign(n, i, seed) for i in range(n)])
    return np.kron(np.eye(n // b), h / np.sqrt(b)) * d[None, :]


def rounded(w, r):
    wr = w @ r.T
    q = uniform(wr)
    return q @ r, float(((q - wr) ** 2).sum())


def main(ckpt, out, mode):
    kind, k = mode.split(':')
    k = int(k)
    sd = load_file(ckpt)
    rotations, total = {}, 0.0
    for name in list(sd):
        w = sd[name].astype(np.float64)
        if name.startswith('blocks.') and name.endswith('.weight') and any(
                t in name for t in ('attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2')):
            n = w.shape[1]
            results = []
            for s in ([k] if kind == 'seed' else range(k)):
                if (n, s) not in rotations:
                    rotations[(n, s)] = rotation(n, s)
                results.append(rounded(w, rotations[(n, s)]))
            q, err = (max if kind == 'worst' else min)(results, key=lambda t: t[1])
            sd[name] = q.astype(np.float32)
            total += err
        elif name in ('head.weight', 'patch_embed.proj.weight'):
            sd[name] = uniform(w.reshape(w.shape[0], -1)).reshape(w.shape).astype(np.float32)
    save_file(sd, out)
    print(mode, 'summed squared rounding error of the rotated Linears %.4f' % total)


if __name__ == '__main__':
    main(*sys.argv[1:4])
