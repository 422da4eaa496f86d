"""Golden fixtures for vitq's Hugging Face model-folder loading (io.vitq.io.ModelFolder).

Micro models made by the reference libraries, saved exactly as their users' folders look:
  timm_vit_hd32/      timm hub layout (timm's save_for_hf): a ViT with head dim 32 given by model_args,
                      bilinear interpolation, crop_pct 0.875, ImageNet mean/std, label_names
  timm_deit3/         deit3_small_patch16_224 made micro: LayerScale, no_embed_class
  timm_vit_gap/       vit_medium_patch16_gap_256 made micro: no class token, global_pool avg, fc_norm False,
                      no qkv bias, LayerScale
  timm_vit_avg_fc_norm/ vit_small_patch16_224 with model_args global_pool='avg' (so fc_norm, class token kept)
  timm_vit_clip/      vit_base_patch16_clip_224 made micro: norm_pre (pre_norm), no patch-embedding bias, eps 1e-5
  hf_vit/             transformers ViTForImageClassification (squash resize, bilinear, mean = std = 0.5)
  hf_deit_teacher/    transformers DeiTForImageClassificationWithTeacher (resize 36x36, crop 32, bicubic)
  hf_deit/            transformers DeiTForImageClassification (distillation token, head on the class token)
  hf_swin/            transformers SwinForImageClassification (window 4, a shifted stage, patch merging)
Each folder also holds expected.safetensors: for the images in images/ (PNG, so decoding is exact),
  pixel_values       the library's preprocessed input (timm's eval transform; transformers' PIL processor)
  pixel_values_fast  transformers only: its default (torchvision) image processor's input
  logits             the library model's float32 logits on pixel_values

Weights are random but scaled so that attention, LayerNorm affine terms and biases all matter.

Run (from this folder) with torch (CPU), timm 1.0.x and transformers 5.x from the local wheel index:
    python3 -m venv /tmp/pyenv && . /tmp/pyenv/bin/activate
    pip install torch timm 'transformers>=5' safetensors pillow numpy
    python make_hf_fixtures.py
If `import timm` fails with "operator torchvision::nms does not exist", the torchvision wheel's C ops do
not match the CPU torch build; only its Python transforms are used here, so wrap the two
torch.library.register_fake calls in torchvision/_meta_registrations.py in try/except.
The tests never run Python.
"""
import json
import os
import shutil

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import timm
import transformers
from timm.data import create_transform, resolve_data_config
from transformers import (DeiTConfig, DeiTForImageClassification, DeiTForImageClassificationWithTeacher, SwinConfig,
                          SwinForImageClassification, ViTConfig, ViTForImageClassification)
from transformers.models.deit.image_processing_deit import DeiTImageProcessor
from transformers.models.deit.image_processing_pil_deit import DeiTImageProcessorPil
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil
from transformers.models.vit.image_processing_vit import ViTImageProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "images")
SOURCE = os.path.join(HERE, "..", "..", "..", "..", "demo", "calib", "images", "n01440764_tench.JPEG")
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def make_images():
    """Crops of a real photo at awkward sizes (wide, tall, square, smaller than the crop), as PNG."""
    os.makedirs(IMAGES, exist_ok=True)
    src = Image.open(SOURCE).convert("RGB")
    boxes = {"wide_97x61.png": (40, 60, 40 + 291, 60 + 183), "tall_50x77.png": (200, 30, 200 + 150, 30 + 231),
             "square_40x40.png": (100, 100, 260, 260), "small_23x31.png": (300, 150, 369, 243)}
    for name, box in boxes.items():
        w, h = (int(v) for v in name.split("_")[1].split(".")[0].split("x"))
        src.crop(box).resize((w, h), Image.BICUBIC).save(os.path.join(IMAGES, name))
    return [os.path.join(IMAGES, n) for n in sorted(boxes)]


def randomize(model, seed):
    """Every parameter visible: Linear weights N(0, 1/fan_in), biases and LayerNorm shifts N(0, 0.2^2),
    LayerNorm scales N(1, 0.2^2), tokens and position embeddings N(0, 0.5^2), Swin bias tables N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.dim() >= 2 and ("token" not in name and "position" not in name):
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() >= 2:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return model.eval()


def fresh(folder):
    path = os.path.join(HERE, folder)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def save_expected(path, pixel_values, logits, fast=None):
    t = {"pixel_values": pixel_values.contiguous(), "logits": logits.contiguous()}
    if fast is not None:
        t["pixel_values_fast"] = fast.contiguous()
    save_file(t, os.path.join(path, "expected.safetensors"))


MICRO = dict(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=2, num_classes=10)


def timm_folder(images, folder="timm_vit_hd32", architecture="vit_tiny_patch16_224", args=MICRO, seed=1,
                interpolation="bilinear", crop_pct=0.875, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    path = fresh(folder)
    model = timm.create_model(architecture, pretrained=False, **args)
    model.pretrained_cfg = dict(model.pretrained_cfg, input_size=(3, 32, 32), interpolation=interpolation,
                                crop_pct=crop_pct, crop_mode="center", mean=tuple(mean), std=tuple(std),
                                num_classes=10, tag="vitq_micro")
    randomize(model, seed)
    labels = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead", "electric ray", "stingray",
              "cock", "hen", "ostrich"]
    timm.models.save_for_hf(model, path, model_config={"label_names": labels}, model_args=dict(args),
                            safe_serialization=True)
    transform = create_transform(**resolve_data_config(model=model))
    x = torch.stack([transform(Image.open(f).convert("RGB")) for f in images])
    with torch.no_grad():
        save_expected(path, x, model(x))


def hf_folder(folder, model, pil_processor, fast_processor, images):
    path = fresh(folder)
    model.save_pretrained(path, safe_serialization=True)
    pil_processor.save_pretrained(path)
    pil = [Image.open(f).convert("RGB") for f in images]
    x = pil_processor(pil, return_tensors="pt")["pixel_values"]
    fast = fast_processor(pil, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        save_expected(path, x, model(pixel_values=x).logits, fast)


def main():
    torch.manual_seed(0)
    images = make_images()
    timm_folder(images)
    # timm ViT variants: DeiT-3 (LayerScale, position embedding on the patch tokens only), a GAP ViT
    # (no class token, average pooling after the final norm, no qkv bias, LayerScale), and a ViT
    # turned to average pooling by model_args (fc_norm after the pooling, timm's default for 'avg')
    timm_folder(images, "timm_deit3", "deit3_small_patch16_224", seed=6, interpolation="bicubic", crop_pct=1.0)
    timm_folder(images, "timm_vit_gap", "vit_medium_patch16_gap_256", seed=7, interpolation="bicubic", crop_pct=0.95,
                mean=[0.5] * 3, std=[0.5] * 3)
    timm_folder(images, "timm_vit_avg_fc_norm", "vit_small_patch16_224", dict(MICRO, global_pool="avg"), seed=8,
                interpolation="bicubic", crop_pct=0.9, mean=[0.5] * 3, std=[0.5] * 3)
    # a CLIP fine-tune's layout (timm's pre_norm: norm_pre after the position embedding, no patch-embedding bias,
    # LayerNorm eps 1e-5) made micro
    timm_folder(images, "timm_vit_clip", "vit_base_patch16_clip_224", seed=9, interpolation="bicubic", crop_pct=0.95,
                mean=[0.48145466, 0.4578275, 0.40821073], std=[0.26862954, 0.26130258, 0.27577711])

    names = {0: "tench", 1: "goldfish", 2: "shark", 3: "ray", 4: "hen"}
    common = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, image_size=32,
                  patch_size=8, id2label=names, label2id={v: k for k, v in names.items()})
    vit_pre = dict(size={"height": 32, "width": 32}, resample=2, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    hf_folder("hf_vit", randomize(ViTForImageClassification(ViTConfig(**common)), 2),
              ViTImageProcessorPil(**vit_pre), ViTImageProcessor(**vit_pre), images)

    deit_pre = dict(size={"height": 36, "width": 36}, crop_size={"height": 32, "width": 32}, resample=3,
                    image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    hf_folder("hf_deit_teacher", randomize(DeiTForImageClassificationWithTeacher(DeiTConfig(**common)), 3),
              DeiTImageProcessorPil(**deit_pre), DeiTImageProcessor(**deit_pre), images)
    hf_folder("hf_deit", randomize(DeiTForImageClassification(DeiTConfig(**common)), 4),
              DeiTImageProcessorPil(**deit_pre), DeiTImageProcessor(**deit_pre), images)

    swin_cfg = SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[2, 2], num_heads=[2, 4], window_size=4,
                          id2label=names, label2id={v: k for k, v in names.items()})
    swin_pre = dict(size={"height": 32, "width": 32}, resample=3, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    hf_folder("hf_swin", randomize(SwinForImageClassification(swin_cfg), 5),
              ViTImageProcessorPil(**swin_pre), ViTImageProcessor(**swin_pre), images)

    with open(os.path.join(HERE, "VERSIONS.txt"), "w") as f:
        f.write(f"torch {torch.__version__}\ntimm {timm.__version__}\ntransformers {transformers.__version__}\n"
                f"Pillow {Image.__version__}\n")


if __name__ == "__main__":
    main()
