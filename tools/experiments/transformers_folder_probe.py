"""vitq against transformers on transformers folders of random weights in the published models' shapes
(2 layers, Swin 2 per stage): the preprocessed input (the PIL image processor's, bit for bit) and the logits.

    python3 tools/experiments/transformers_folder_probe.py [OUT_DIR]     # from the repository, after mvn package

Needs torch and transformers 5.x. The folders are written under OUT_DIR (default: a new temporary folder).
"""
import os, subprocess, sys, tempfile, numpy as np, torch
from PIL import Image
from transformers import (ViTConfig, ViTForImageClassification, DeiTConfig, DeiTForImageClassificationWithTeacher,
                          SwinConfig, SwinForImageClassification)
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil
from transformers.models.deit.image_processing_pil_deit import DeiTImageProcessorPil
IMG = os.path.abspath('demo/val/data/ILSVRC2012_val_00000347.JPEG')
OUT = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='transformers_probe_')
J = [os.path.join(os.environ.get('JAVA_HOME', '/usr/lib/jvm/temurin-25-jdk-amd64'), 'bin', 'java'), '--add-modules', 'jdk.incubator.vector',
     '--enable-native-access=ALL-UNNAMED', '-Xmx12g', '-jar', os.path.abspath('target/vitq.jar')]
names = {i: f'class {i}' for i in range(1000)}
IM, IS = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
def randomize(m):
    with torch.no_grad():
        for p in m.parameters(): p.add_(torch.randn_like(p) * 0.02)
    return m.eval()
torch.manual_seed(0)  # before the models are built: their initial weights too are the seed's
cases = {
 # google/vit-large-patch16-224's config, 2 layers
 'vit_large_16_224': (ViTForImageClassification(ViTConfig(hidden_size=1024, num_hidden_layers=2, num_attention_heads=16, intermediate_size=4096, image_size=224, patch_size=16, id2label=names)),
                      ViTImageProcessorPil(size={'height': 224, 'width': 224}, resample=2, image_mean=[0.5]*3, image_std=[0.5]*3)),
 # google/vit-base-patch32-384
 'vit_base_32_384': (ViTForImageClassification(ViTConfig(hidden_size=768, num_hidden_layers=2, num_attention_heads=12, intermediate_size=3072, image_size=384, patch_size=32, id2label=names)),
                      ViTImageProcessorPil(size={'height': 384, 'width': 384}, resample=2, image_mean=[0.5]*3, image_std=[0.5]*3)),
 # facebook/deit-base-distilled-patch16-384
 'deit_base_dist_384': (DeiTForImageClassificationWithTeacher(DeiTConfig(hidden_size=768, num_hidden_layers=2, num_attention_heads=12, intermediate_size=3072, image_size=384, patch_size=16, id2label=names)),
                      DeiTImageProcessorPil(size={'height': 438, 'width': 438}, crop_size={'height': 384, 'width': 384}, resample=3, image_mean=IM, image_std=IS)),
 # microsoft/swin-large-patch4-window12-384 (depths cut to 2 per stage)
 'swin_large_w12_384': (SwinForImageClassification(SwinConfig(image_size=384, patch_size=4, embed_dim=192, depths=[2, 2, 2, 2], num_heads=[6, 12, 24, 48], window_size=12, id2label=names)),
                      ViTImageProcessorPil(size={'height': 384, 'width': 384}, resample=3, image_mean=IM, image_std=IS)),
 # microsoft/swin-base-patch4-window7-224
 'swin_base_w7_224': (SwinForImageClassification(SwinConfig(image_size=224, patch_size=4, embed_dim=128, depths=[2, 2, 2, 2], num_heads=[4, 8, 16, 32], window_size=7, id2label=names)),
                      ViTImageProcessorPil(size={'height': 224, 'width': 224}, resample=3, image_mean=IM, image_std=IS)),
 # facebook/deit-small-patch16-224 (a ViT class with DeiT's processor: resize 256, crop 224)
 'deit_small_224': (ViTForImageClassification(ViTConfig(hidden_size=384, num_hidden_layers=2, num_attention_heads=6, intermediate_size=1536, image_size=224, patch_size=16, id2label=names)),
                      DeiTImageProcessorPil(size={'height': 256, 'width': 256}, crop_size={'height': 224, 'width': 224}, resample=3, image_mean=IM, image_std=IS)),
 # facebook/deit-tiny-distilled-patch16-224
 'deit_tiny_dist_224': (DeiTForImageClassificationWithTeacher(DeiTConfig(hidden_size=192, num_hidden_layers=2, num_attention_heads=3, intermediate_size=768, image_size=224, patch_size=16, id2label=names)),
                      DeiTImageProcessorPil(size={'height': 256, 'width': 256}, crop_size={'height': 224, 'width': 224}, resample=3, image_mean=IM, image_std=IS)),
 # google/vit-base-patch16-384
 'vit_base_16_384': (ViTForImageClassification(ViTConfig(hidden_size=768, num_hidden_layers=2, num_attention_heads=12, intermediate_size=3072, image_size=384, patch_size=16, id2label=names)),
                      ViTImageProcessorPil(size={'height': 384, 'width': 384}, resample=2, image_mean=[0.5]*3, image_std=[0.5]*3)),
 # microsoft/swin-tiny-patch4-window7-224
 'swin_tiny_w7_224': (SwinForImageClassification(SwinConfig(image_size=224, patch_size=4, embed_dim=96, depths=[2, 2, 2, 2], num_heads=[3, 6, 12, 24], window_size=7, id2label=names)),
                      ViTImageProcessorPil(size={'height': 224, 'width': 224}, resample=3, image_mean=IM, image_std=IS)),
}
pil = Image.open(IMG).convert('RGB')
for name, (model, proc) in cases.items():
    randomize(model)
    name = os.path.join(OUT, name)
    model.save_pretrained(name, safe_serialization=True); proc.save_pretrained(name)
    x = proc([pil], return_tensors='pt')['pixel_values']
    with torch.no_grad(): y = model(pixel_values=x).logits.numpy()
    r = subprocess.run(J + ['predict', '--model', name, '--inputs', name + '/x.npy', '--logits', name + '/l.npy', IMG], capture_output=True, text=True)
    if r.returncode: print(name, 'FAILED', r.stderr.strip().splitlines()[-1]); continue
    xv, lv = np.load(name + '/x.npy'), np.load(name + '/l.npy')
    print(f'{os.path.basename(name):20s} input equal {np.array_equal(xv, x.numpy())} (max diff {np.abs(xv - x.numpy()).max():.1e}), logits max diff {np.abs(lv - y).max():.2e} (max {np.abs(y).max():.2f})')
