# ONNX files timed side by side in Python's onnxruntime: batch 32 of random images, 2 intra-op threads,
# ROUNDS rounds of 3 runs each (the order reversed every other round), median ms per batch and the ratio to
# the first file (docs/BENCHMARKS.md, "nineteenth session").
#   python3 tools/experiments/ort_side_by_side.py ROUNDS FIRST.onnx OTHER.onnx ...
import onnxruntime as ort, numpy as np, time, sys
x=np.random.RandomState(0).randn(32,3,224,224).astype(np.float32)
ss=[]
for f in sys.argv[2:]:
    so=ort.SessionOptions(); so.intra_op_num_threads=2; so.log_severity_level=3
    ss.append((f, ort.InferenceSession(f,so,providers=['CPUExecutionProvider'])))
for f,s in ss:
    for _ in range(2): s.run(None,{'images':x})
t={f:[] for f,_ in ss}
for r in range(int(sys.argv[1])):
    order = ss if r%2==0 else ss[::-1]
    for f,s in order:
        for _ in range(3):
            t0=time.perf_counter(); s.run(None,{'images':x}); t[f].append(time.perf_counter()-t0)
base=np.median(t[ss[0][0]])
for f,_ in ss: print(f"{f:40s} median {1000*np.median(t[f]):7.1f} ms  ratio to first {base/np.median(t[f]):.3f}x")
