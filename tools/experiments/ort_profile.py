"""ONNX Runtime's profiler on an exported model, from Python: a batch of Gaussian images run 2 + 6
times (2 threads, all graph optimizations, as `vitq bench` sets them), the last 6 runs' kernel time
summed by operator. The Python twin of src/test/java/io/vitq/bench/OrtProfile.java, for the newer
ONNX Runtime wheels than the pom's (docs/BENCHMARKS.md quotes both).

    ./vitq export F --float-attention -o q.onnx
    python3 tools/experiments/ort_profile.py q.onnx [more.onnx ...]      (onnxruntime, numpy)
"""
import collections
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def profile(path, runs=6, batch=32):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.enable_profiling = True
    # the profile's JSON goes to a temporary directory, not the working directory
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(prefix='ortprof'), 'profile')
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    name = s.get_inputs()[0].name
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
    for _ in range(2):
        s.run(None, {name: x})
    t = time.perf_counter()
    for _ in range(runs):
        s.run(None, {name: x})
    wall = (time.perf_counter() - t) / runs * 1000
    events = json.load(open(s.end_profiling()))
    start = [e for e in events if e.get('name') == 'model_run'][-runs]['ts']
    by_op = collections.Counter()
    for e in events:
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time') and e['ts'] >= start:
            by_op[e['args']['op_name']] += e['dur']
    total = sum(by_op.values())
    print(f'{path} (onnxruntime {ort.__version__}): wall {wall:.1f} ms per batch, kernels {total / runs / 1000:.1f}')
    for op, us in by_op.most_common(16):
        print(f'  {op:28s} {us / runs / 1000:7.1f} ms  {100 * us / total:5.1f} %')


if __name__ == '__main__':
    for p in sys.argv[1:]:
        profile(p)
