"""Every quantization recipe on the CLIP-style timm fixture (src/test/resources/hf/timm_vit_clip: QuickGELU,
pre-norm, a bias-free patch embedding), end to end: quantize, integer evaluation, QDQ export, and the
export in ONNX Runtime against vitq's own logits for the same preprocessed images.

    python3 tools/experiments/clip_fixture_quant.py [OUT_DIR]     # from the repository, after mvn package

Needs numpy and onnxruntime. The fixture has random weights, so the accuracies it prints say only that
each step runs; the number to read is the largest |ONNX Runtime - vitq| logit difference.
"""
import os, subprocess, sys, tempfile
import numpy as np
import onnxruntime as ort

FIXTURE = 'src/test/resources/hf/timm_vit_clip'
IMAGES = ['demo/val/data/ILSVRC2012_val_00000347.JPEG', 'demo/val/data/ILSVRC2012_val_00000355.JPEG']
RECIPES = [('ptq4vit', 'w8a8'), ('vitq', 'w4a8'), ('repq', 'w4a4'), ('adalog', 'w6a6')]
OUT = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='clip_fixture_')
J = [os.path.join(os.environ.get('JAVA_HOME', '/usr/lib/jvm/temurin-25-jdk-amd64'), 'bin', 'java'), '--add-modules',
     'jdk.incubator.vector', '--enable-native-access=ALL-UNNAMED', '-Xmx12g', '-Dvitq.home=' + os.getcwd(), '-jar', 'target/vitq.jar']


def vitq(*args):
    r = subprocess.run(J + list(args), capture_output=True, text=True)
    if r.returncode:
        sys.exit('vitq ' + ' '.join(args) + ' failed: ' + r.stderr.strip().splitlines()[-1])
    return r.stdout


# the fixture has 10 classes: 16 demo images with labels 0..9 (random weights: only that it runs is read)
data = os.path.join(OUT, 'list16.txt')
with open(data, 'w') as f:
    for i, name in enumerate(sorted(os.listdir('demo/val/data'))[:16]):
        f.write(f"{os.path.abspath(os.path.join('demo/val/data', name))}, {i % 10}\n")

for method, bits in RECIPES:
    q = os.path.join(OUT, f'{method}_{bits}.safetensors')
    vitq('quantize', '--model', FIXTURE, '--method', method, '--bits', bits, '--calib-size', '8', '-o', q)
    table = vitq('eval', '--model', q, '--integer', '--data', data)
    row = [l for l in table.splitlines() if l.startswith('| ') and 'integer' in l][0]
    onnx = q.replace('.safetensors', '.onnx')
    vitq('export', q, '-o', onnx)
    x, l = q.replace('.safetensors', '.x.npy'), q.replace('.safetensors', '.l.npy')
    vitq('predict', '--model', q, '--inputs', x, '--logits', l, *IMAGES)
    xs, ls = np.load(x), np.load(l)
    s = ort.InferenceSession(onnx, providers=['CPUExecutionProvider'])
    y = s.run(None, {s.get_inputs()[0].name: xs})[0]
    print(f'{method} {bits}: eval --integer top-1 {row.split("|")[5].strip()} %; ONNX Runtime against vitq: largest '
          f'logit difference {np.abs(y - ls).max():.2e} (largest logit {np.abs(ls).max():.2f})')
