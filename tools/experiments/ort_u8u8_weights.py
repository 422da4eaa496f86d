# The deployment export with the weight codes as uint8 (w + 128, zero point 128): ONNX Runtime's U8U8 GEMM,
# which on x86 without VNNI multiplies in 16 bits (no vpmaddubsw saturation). Measured and not adopted
# (docs/BENCHMARKS.md, "nineteenth session"):
#   python3 tools/experiments/ort_u8u8_weights.py EXPORT.onnx OUT.onnx
#   python3 tools/experiments/ort_side_by_side.py 6 FLOAT.onnx EXPORT.onnx OUT.onnx
import onnx, numpy as np, sys
from onnx import numpy_helper, helper, TensorProto
src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
init = {t.name: t for t in m.graph.initializer}
done = {}
zp = numpy_helper.from_array(np.array(128, np.uint8), 'u8u8_zero_point_128'); m.graph.initializer.append(zp)
n = 0
for nd in m.graph.node:
    if nd.op_type != 'MatMulInteger': continue
    b = init.get(nd.input[1])
    if b is None: continue
    arr = numpy_helper.to_array(b)
    if arr.dtype != np.int8: continue
    name = nd.input[1] + '_u8'
    if name not in done:
        m.graph.initializer.append(numpy_helper.from_array((arr.astype(np.int16) + 128).astype(np.uint8), name)); done[name] = 1
    ins = list(nd.input) + [''] * (4 - len(nd.input))
    ins[1] = name; ins[3] = 'u8u8_zero_point_128'
    del nd.input[:]; nd.input.extend(ins); n += 1
# drop the int8 weights no longer read
read = {i for nd in m.graph.node for i in nd.input}
keep = [t for t in m.graph.initializer if t.name in read]
del m.graph.initializer[:]; m.graph.initializer.extend(keep)
onnx.save(m, dst); print(n, 'MatMulInteger nodes now U8U8 ->', dst)
