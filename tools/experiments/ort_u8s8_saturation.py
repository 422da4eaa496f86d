# ONNX Runtime's U8S8 GEMM on x86 without VNNI (MLAS's AVX2 and AVX-512 Core kernels: vpmaddubsw, then
# vpmaddwd with ones) sums each adjacent pair of k's u8 x s8 products into a saturated int16. This rewrites
# every MatMulInteger(A u8, B s8 const, a_zp) of an export as the exact product plus the saturation's
# correction sum_j (clip16(p_j) - p_j), p_j = A[2j] B[2j] + A[2j+1] B[2j+1] (raw A, before the zero point, as
# MLAS multiplies), over the pairs j where some column can saturate (255 (|b| + |b'|) > 32767), then compares
# top-1 of the export with and without the saturation on preprocessed images.
# ONLY=REGEX restricts the saturation to the MatMulInteger nodes whose names match.
#   python3 tools/experiments/ort_u8s8_saturation.py EXPORT.onnx INPUTS.npy LABELS.txt   (docs/BENCHMARKS.md, "nineteenth session")
import onnx, onnxruntime as ort, numpy as np, sys, os, re
from onnx import numpy_helper, helper, TensorProto
path, inputs, labels = sys.argv[1], sys.argv[2], sys.argv[3]
m = onnx.load(path)
init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
new_nodes, added, risky_total, pairs_total = [], [], 0, 0
only = os.environ.get('ONLY')
def const(name, arr):
    added.append(numpy_helper.from_array(arr, name)); return name
for nd in m.graph.node:
    if nd.op_type != 'MatMulInteger' or init.get(nd.input[1]) is None or init[nd.input[1]].dtype != np.int8 or (only and not re.search(only, nd.name)):
        new_nodes.append(nd); continue
    B = init[nd.input[1]].astype(np.int32); K, N = B.shape
    pair = np.abs(B[0:K - K % 2:2]) + np.abs(B[1:K - K % 2:2])          # [K/2, N]
    S = np.nonzero((255 * pair > 32767).any(axis=1))[0]
    pairs_total += K // 2; risky_total += len(S)
    if len(S) == 0: new_nodes.append(nd); continue
    p = nd.name
    exact = p + '/exact'
    new_nodes.append(helper.make_node('MatMulInteger', list(nd.input), [exact], name=p + '/exact_mm'))
    a32 = p + '/a32'
    new_nodes.append(helper.make_node('Cast', [nd.input[0]], [a32], to=TensorProto.INT32))
    terms = []
    for off in (0, 1):
        idx = const(p + f'/idx{off}', (2 * S + off).astype(np.int64))
        g = p + f'/g{off}'; u = p + f'/u{off}'; prod = p + f'/prod{off}'
        new_nodes.append(helper.make_node('Gather', [a32, idx], [g], axis=-1))
        new_nodes.append(helper.make_node('Unsqueeze', [g, const(p + f'/ax{off}', np.array([-1], np.int64))], [u]))
        new_nodes.append(helper.make_node('Mul', [u, const(p + f'/b{off}', B[2 * S + off])], [prod]))
        terms.append(prod)
    P = p + '/pair'; C = p + '/clip'; D = p + '/delta'; R = p + '/corr'
    new_nodes.append(helper.make_node('Add', terms, [P]))
    new_nodes.append(helper.make_node('Clip', [P, const(p + '/lo', np.array(-32768, np.int32)), const(p + '/hi', np.array(32767, np.int32))], [C]))
    new_nodes.append(helper.make_node('Sub', [C, P], [D]))
    new_nodes.append(helper.make_node('ReduceSum', [D, const(p + '/rax', np.array([-2], np.int64))], [R], keepdims=0))
    new_nodes.append(helper.make_node('Add', [exact, R], [nd.output[0]], name=p))
del m.graph.node[:]; m.graph.node.extend(new_nodes); m.graph.initializer.extend(added)
print(f'{risky_total} of {pairs_total} k-pairs can saturate in some column')
so = ort.SessionOptions(); so.log_severity_level = 3; so.intra_op_num_threads = 2
plain = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
sat = ort.InferenceSession(m.SerializeToString(), so, providers=['CPUExecutionProvider'])
x = np.load(inputs); y = np.array([int(l) for l in open(labels).read().split()])[:len(x)]
a, b = [], []
for i in range(0, len(x), 4):
    a.append(plain.run(None, {plain.get_inputs()[0].name: x[i:i+4]})[0]); b.append(sat.run(None, {sat.get_inputs()[0].name: x[i:i+4]})[0])
a = np.concatenate(a); b = np.concatenate(b)
print(f'images {len(x)}: top-1 exact {100*(a.argmax(1)==y).mean():.2f} %, saturated {100*(b.argmax(1)==y).mean():.2f} %, '
      f'top-1 agreement {(a.argmax(1)==b.argmax(1)).sum()}/{len(x)}, logits max |diff| {np.abs(a-b).max():.3f}, median {np.median(np.abs(a-b)):.4f}')
