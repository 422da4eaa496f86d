"""vitq against timm on timm hub folders of random weights: the preprocessed input and the logits.

For each timm model name it builds the model with timm (random weights, perturbed so that the
zero-initialised head does not make every logit 0), writes it as a hub folder with timm's
`save_for_hf`, runs `vitq predict --inputs x.npy --logits l.npy` on one image and compares both with
timm's own eval transform and forward.

    python3 tools/experiments/timm_folder_probe.py [--full] [--pth] [--jar target/vitq.jar] [--image F] NAME...

Without --full a ViT keeps 2 blocks and a Swin 2 per stage (the architecture's widths, heads and
patch are the name's); --full builds the whole model. --pth also saves the state dict with torch.save as
NAME.pth (a zoo name with its tag, so that vitq finds the architecture by the file name) and runs vitq
on that file too. Needs timm 1.0.x and torch (see
src/test/resources/hf/make_hf_fixtures.py for a torchvision that will not import).
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np
import timm
import torch
from PIL import Image
from timm.models._hub import save_for_hf

ap = argparse.ArgumentParser()
ap.add_argument('names', nargs='+')
ap.add_argument('--full', action='store_true')
ap.add_argument('--pth', action='store_true')
ap.add_argument('--jar', default='target/vitq.jar')
ap.add_argument('--image', default='demo/val/data/ILSVRC2012_val_00000347.JPEG')
ap.add_argument('--out', default=tempfile.mkdtemp(prefix='timm_probe_'))
a = ap.parse_args()
java = [os.path.join(os.environ.get('JAVA_HOME', '/usr/lib/jvm/temurin-25-jdk-amd64'), 'bin', 'java'),
        '--add-modules', 'jdk.incubator.vector', '--enable-native-access=ALL-UNNAMED', '-Xmx12g', '-jar', a.jar]
torch.manual_seed(0)
for name in a.names:
    args = {} if a.full else dict(depths=(2, 2, 2, 2)) if name.startswith('swin') else dict(depth=2)
    m = timm.create_model(name, pretrained=False, **args).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    folder = os.path.join(a.out, name)
    save_for_hf(m, folder, model_args=args, safe_serialization=True)
    t = timm.data.create_transform(**timm.data.resolve_data_config(model=m))
    x = t(Image.open(a.image).convert('RGB')).unsqueeze(0)
    with torch.no_grad():
        y = m(x).numpy()
    models = [(name, folder)]
    if a.pth:
        pth = os.path.join(a.out, name + '.pth')
        torch.save(m.state_dict(), pth)
        models.append((name + '.pth', pth))
    for label, model in models:
        xs, ls = os.path.join(folder, 'x.npy'), os.path.join(folder, 'l.npy')
        r = subprocess.run(java + ['predict', '--model', model, '--inputs', xs, '--logits', ls, a.image], capture_output=True, text=True)
        if r.returncode != 0:
            print(f'{label}: vitq failed: {r.stderr.strip().splitlines()[-1]}')
            continue
        xv, lv = np.load(xs), np.load(ls)
        print(f'{label:34s} input equal to timm: {np.array_equal(xv, x.numpy())}, largest logit difference '
              f'{np.abs(lv - y).max():.2e} (largest logit {np.abs(y).max():.2f})')
