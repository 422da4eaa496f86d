"""A ViT checkpoint of random weights with timm's key names (std 0.02 for weights and the Linear
biases, LayerNorms at 1 and 0), as a safetensors file: for timing `vitq quantize` and `vitq bench`
on shapes whose real weights are not in ../shared (docs/BENCHMARKS.md "2026-12-05, night").

    python3 tools/experiments/random_vit_checkpoint.py OUT.safetensors [DIM DEPTH]   (numpy)
    ./vitq quantize --model vit_small_patch16_224 --checkpoint OUT.safetensors --method vitq --bits w4a4 -o G

Defaults: ViT-S/16 at 224 (384 wide, 12 blocks, MLP 4x, 1000 classes). The head count is the zoo
name's, not stored in the file.
"""
import json
import struct
import sys

import numpy as np


def checkpoint(dim=384, depth=12, classes=1000, tokens=197, patch=16, seed=0):
    rng = np.random.default_rng(seed)
    n = lambda *shape: (rng.standard_normal(shape) * 0.02).astype(np.float32)
    ones, zeros = (lambda k: np.ones(k, np.float32)), (lambda k: np.zeros(k, np.float32))
    t = {'cls_token': n(1, 1, dim), 'pos_embed': n(1, tokens, dim),
         'patch_embed.proj.weight': n(dim, 3, patch, patch), 'patch_embed.proj.bias': zeros(dim)}
    for i in range(depth):
        p = f'blocks.{i}.'
        for ln in ('norm1', 'norm2'):
            t[p + ln + '.weight'], t[p + ln + '.bias'] = ones(dim), zeros(dim)
        for name, rows, cols in (('attn.qkv', 3 * dim, dim), ('attn.proj', dim, dim),
                                 ('mlp.fc1', 4 * dim, dim), ('mlp.fc2', dim, 4 * dim)):
            t[p + name + '.weight'], t[p + name + '.bias'] = n(rows, cols), n(rows)
    t['norm.weight'], t['norm.bias'] = ones(dim), zeros(dim)
    t['head.weight'], t['head.bias'] = n(classes, dim), zeros(classes)
    return t


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for k, v in tensors.items():
        b = v.tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == '__main__':
    dim = int(sys.argv[2]) if len(sys.argv) > 2 else 384
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    write_safetensors(sys.argv[1], checkpoint(dim=dim, depth=depth))
