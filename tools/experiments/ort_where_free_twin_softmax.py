# Measured and not adopted (docs/BENCHMARKS.md, "2026-12-07, twenty-seventh session").
# Rewrites an exact-attention export ('vitq export Q --integer-linears', no --float-attention):
# each twin softmax's Where(is_small, lo, hi) becomes lo * m + hi * (1 - m), m = Cast(is_small),
# the same values bit for bit (one factor is 0, the other 1). Usage: python3 THIS in.onnx out.onnx
import onnx, sys
from onnx import helper, TensorProto
m = onnx.load(sys.argv[1])
g = m.graph
nodes = []
one = helper.make_tensor('wf_one', TensorProto.FLOAT, [], [1.0])
g.initializer.append(one)
for n in g.node:
    if n.op_type == 'Where' and 'twin_softmax' in n.name:
        c, lo, hi = n.input
        p = n.name
        nodes += [helper.make_node('Cast', [c], [p + '/m'], to=TensorProto.FLOAT, name=p + '/m'),
                  helper.make_node('Sub', ['wf_one', p + '/m'], [p + '/1m'], name=p + '/1m'),
                  helper.make_node('Mul', [lo, p + '/m'], [p + '/lo'], name=p + '/lo'),
                  helper.make_node('Mul', [hi, p + '/1m'], [p + '/hi'], name=p + '/hi'),
                  helper.make_node('Add', [p + '/lo', p + '/hi'], [n.output[0]], name=p + '/sum')]
    else:
        nodes.append(n)
del g.node[:]
g.node.extend(nodes)
onnx.save(m, sys.argv[2])
