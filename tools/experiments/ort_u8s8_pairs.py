# Would ONNX Runtime's U8S8 GEMM on x86 without VNNI (MLAS's AVX2 and AVX-512 Core kernels: vpmaddubsw, then
# vpmaddwd) saturate on an export? Each adjacent pair of k's u8 x s8 products is summed into a saturated int16.
# Counts, per MatMulInteger of the export, the saturated pairs and the sums they change on N preprocessed images
# (`vitq predict --model F --inputs X.npy IMAGE...` writes them), with the raw uint8 codes as MLAS multiplies them.
#   python3 tools/experiments/ort_u8s8_pairs.py EXPORT.onnx X.npy N      (docs/BENCHMARKS.md, "nineteenth session")
import onnx, onnxruntime as ort, numpy as np, sys
from onnx import numpy_helper, helper
model_path, inputs_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = onnx.load(model_path)
init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
mmi = [nd for nd in m.graph.node if nd.op_type == 'MatMulInteger']
extra = []
for nd in mmi:
    if nd.input[0] not in init: extra.append(nd.input[0])
for name in dict.fromkeys(extra):
    m.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.UINT8, None))
so = ort.SessionOptions(); so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL; so.log_severity_level = 3
s = ort.InferenceSession(m.SerializeToString(), so, providers=['CPUExecutionProvider'])
x = np.load(inputs_path)[:n]
outs = s.run(None, {s.get_inputs()[0].name: x})
vals = dict(zip([o.name for o in s.get_outputs()], outs))
tot_pairs = tot_sat = 0; worst = 0.0
for nd in mmi:
    a = vals[nd.input[0]] if nd.input[0] in vals else init[nd.input[0]]
    b = init.get(nd.input[1])
    if b is None or a.dtype != np.uint8 or b.dtype != np.int8: print('skip', nd.name, a.dtype, None if b is None else b.dtype); continue
    A = a.reshape(-1, a.shape[-1]).astype(np.int32); B = b.astype(np.int32)
    K = A.shape[1]
    exact = A @ B
    sat = np.zeros_like(exact); nsat = 0
    for j in range(0, K - 1, 2):
        p = A[:, j:j+1] * B[j] + A[:, j+1:j+2] * B[j+1]
        over = (p > 32767) | (p < -32768)
        nsat += int(over.sum()) if over.any() else 0
        sat += np.clip(p, -32768, 32767)
    if K % 2: sat += A[:, K-1:K] * B[K-1]
    diff = np.abs(sat - exact)
    # the error relative to the sums' spread after the zero point (what the output sees)
    za = init.get(nd.input[2]) if len(nd.input) > 2 and nd.input[2] else 0
    centred = exact - (np.int64(za) * B.sum(0) if np.ndim(za) == 0 else 0)
    rel = diff.max() / (np.abs(centred).std() + 1e-9)
    worst = max(worst, rel)
    tot_pairs += A.shape[0] * B.shape[1] * (K // 2); tot_sat += nsat
    print(f"{nd.name:45s} K={K:4d} a_max={A.max():3d} |b|max={np.abs(B).max():3d} saturated pairs {nsat:9d} of {A.shape[0]*B.shape[1]*(K//2):11d}"
          f"  sums changed {int((diff>0).sum()):8d} of {diff.size:9d}  max change / sum std {rel:.3f}")
print(f"total saturated pairs {tot_sat} of {tot_pairs} ({tot_sat/tot_pairs:.2e}); worst max change / std {worst:.3f}")
