"""Writes timm_zoo.json: timm's own account of every model name in vitq's zoo (ModelZoo).

For each name (a timm model name, or name.tag where the tags' eval transforms differ) it records the
architecture timm builds (`timm.create_model(name)`, on the meta device: no weights are needed)
and the eval transform of the name's pretrained config (the default tag's when no tag is given).
`ModelZooTest` holds every zoo entry to it, so an entry cannot drift from timm, and a zoo name
missing here (or a name here missing from the zoo) fails the test.

Run with timm 1.0.x (this file was written by timm 1.0.29):  python3 make_zoo_fixture.py
"""
import json

import timm
import torch
import torch.nn as nn
from timm.models import get_pretrained_cfg
from timm.models._registry import _model_with_tags

NAMES = [
    # ViT (AugReg and the original Google release: mean = std = 0.5)
    'vit_tiny_patch16_224', 'vit_tiny_patch16_384',
    'vit_small_patch32_224', 'vit_small_patch32_384', 'vit_small_patch16_224', 'vit_small_patch16_384',
    'vit_base_patch32_224', 'vit_base_patch32_384', 'vit_base_patch16_224', 'vit_base_patch16_384', 'vit_base_patch8_224',
    'vit_large_patch32_384', 'vit_large_patch16_224', 'vit_large_patch16_384',
    'vit_base_patch16_224_miil',
    # DeiT
    'deit_tiny_patch16_224', 'deit_small_patch16_224', 'deit_base_patch16_224', 'deit_base_patch16_384',
    'deit_tiny_distilled_patch16_224', 'deit_small_distilled_patch16_224', 'deit_base_distilled_patch16_224',
    'deit_base_distilled_patch16_384',
    # DeiT-3: the in22k fine-tunes of the 224 models crop 1.0, the default (fb_in1k) 0.9
    'deit3_small_patch16_224', 'deit3_small_patch16_224.fb_in22k_ft_in1k',
    'deit3_medium_patch16_224', 'deit3_medium_patch16_224.fb_in22k_ft_in1k',
    'deit3_base_patch16_224', 'deit3_base_patch16_224.fb_in22k_ft_in1k',
    'deit3_large_patch16_224', 'deit3_large_patch16_224.fb_in22k_ft_in1k',
    'deit3_huge_patch14_224', 'deit3_huge_patch14_224.fb_in22k_ft_in1k',
    'deit3_small_patch16_384', 'deit3_base_patch16_384', 'deit3_large_patch16_384',
    # global average pooling
    'vit_medium_patch16_gap_256', 'vit_medium_patch16_gap_384',
    # CLIP fine-tunes (pre_norm): the bare name and every ImageNet-1k tag, whose transforms differ
    *[n for arch in ['vit_base_patch16_clip_224', 'vit_base_patch16_clip_384', 'vit_base_patch32_clip_224',
                     'vit_base_patch32_clip_384', 'vit_base_patch32_clip_448', 'vit_large_patch14_clip_224',
                     'vit_large_patch14_clip_336', 'vit_huge_patch14_clip_224', 'vit_huge_patch14_clip_336']
      for n in [arch] + [t for t in _model_with_tags[arch] if get_pretrained_cfg(t).num_classes == 1000]],
    # Swin
    'swin_tiny_patch4_window7_224', 'swin_small_patch4_window7_224', 'swin_base_patch4_window7_224',
    'swin_base_patch4_window12_384', 'swin_large_patch4_window7_224', 'swin_large_patch4_window12_384',
]


def transform(name):
    arch = name.split('.')[0]
    tag = name if '.' in name else _model_with_tags[arch][0]
    c = get_pretrained_cfg(tag)
    # the size timm's own eval transform resizes to (the shorter side, or both sides when squashing)
    t = timm.data.create_transform(**timm.data.resolve_data_config(pretrained_cfg=c.to_dict()))
    resize = t.transforms[0]
    size = resize.size if isinstance(resize.size, int) else resize.size[0]
    return dict(tag=tag.split('.', 1)[1], input_size=list(c.input_size), crop_pct=c.crop_pct,
                interpolation=c.interpolation, crop_mode=c.crop_mode, resize_size=size, mean=list(c.mean), std=list(c.std),
                num_classes=c.num_classes)


def vit(m):
    b = m.blocks[0]
    assert type(b).__name__ == 'Block' and isinstance(b.attn.q_norm, nn.Identity) and type(b.mlp).__name__ == 'Mlp'
    assert isinstance(b.mlp.act, nn.GELU) and b.mlp.act.approximate == 'none'
    assert m.num_reg_tokens == 0 and getattr(m, 'attn_pool', None) is None
    pre_norm = not isinstance(m.norm_pre, nn.Identity)
    assert (m.patch_embed.proj.bias is None) == pre_norm, 'timm drops the patch bias exactly with pre_norm'
    distilled = type(m).__name__ == 'VisionTransformerDistilled'
    pooling = 'class_and_distillation' if distilled else m.global_pool
    return dict(family='vit', img_size=m.patch_embed.img_size[0], patch=m.patch_embed.patch_size[0],
                in_chans=m.patch_embed.proj.in_channels, dim=m.embed_dim, depth=len(m.blocks), heads=b.attn.num_heads,
                mlp_hidden=b.mlp.fc1.out_features, eps=b.norm1.eps, qkv_bias=b.attn.qkv.bias is not None,
                prefix_tokens=m.num_prefix_tokens, pooling=pooling,
                fc_norm=not isinstance(m.fc_norm, nn.Identity), pos_embed_prefix=not m.no_embed_class,
                layer_scale=not isinstance(b.ls1, nn.Identity), pre_norm=pre_norm)


def swin(m):
    windows = {l.blocks[0].window_size for l in m.layers}
    assert len(windows) == 1, 'one window size for every stage'
    b = m.layers[0].blocks[0]
    return dict(family='swin', img_size=m.patch_embed.img_size[0], patch=m.patch_embed.patch_size[0],
                in_chans=m.patch_embed.proj.in_channels, embed_dim=m.embed_dim,
                depths=[len(l.blocks) for l in m.layers], heads=[l.blocks[0].attn.num_heads for l in m.layers],
                window=windows.pop()[0], mlp_ratio=b.mlp.fc1.out_features / b.mlp.fc1.in_features, eps=b.norm1.eps,
                qkv_bias=b.attn.qkv.bias is not None)


out = []
for name in NAMES:
    with torch.device('meta'):
        m = timm.create_model(name.split('.')[0], pretrained=False)
    arch = swin(m) if type(m).__name__ == 'SwinTransformer' else vit(m)
    out.append(dict(name=name, architecture=arch, transform=transform(name)))
with open('timm_zoo.json', 'w') as f:  # one model a line
    f.write('{"timm": "%s", "models": [\n' % timm.__version__)
    f.write(',\n'.join(json.dumps(e) for e in out))
    f.write('\n]}\n')
print(len(out), 'names written to timm_zoo.json')
