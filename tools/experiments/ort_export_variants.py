"""Two rewrites of a ViT-Ti ONNX export, measured against `vitq export`'s own form and not adopted
(docs/BENCHMARKS.md, "2026-12-05, late night"). Both act on the graph `vitq export` writes (node
names as OnnxTracer gave them before 2026-12-07, e4a3172: `int-scores` reads the heads as [G, T, 3, H, d],
which the 4-D head split since no longer writes); the head and the patch embedding are left alone.

    python3 tools/experiments/ort_export_variants.py qgemm FA.onnx OUT.onnx
        every block Linear `DQ(x) . DQ(W) + b` as `Gemm(DQ(x), DQ(W), DQ(b_int32))` on 2-D tokens
        (the bias in int32 units of the input's and the weight's steps, the QDQ form of a Gemm bias),
        which ONNX Runtime fuses into QGemm with the bias in its epilogue; FA from
        `vitq export ... --float-attention`.
    python3 tools/experiments/ort_export_variants.py int-scores NOMM2.onnx OUT.onnx
        q . k^T on the per-head codes: q and k quantized in the token layout [G, T, H, d] before any
        transpose (q as uint8, zero point 128), the codes transposed, `MatMulInteger`, `Cast`, one `Mul`
        by the per-head steps times the attention scale; NOMM2 exported from a plan without the
        `*.matmul2` entries (float probabilities and v).

Time them beside the originals with src/test/java/io/vitq/bench/OrtSideBySide.java (its doc has the
command). Needs onnx and numpy.
"""
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TOKENS = 197


def graph_maps(g):
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    return producer, consumers


def rewrite(g, replace):
    """Emits each node named in `replace` as its list of nodes (a QuantizeLinear keeps itself after them)."""
    out = []
    for n in g.node:
        if n.name not in replace:
            out.append(n)
            continue
        out.extend(replace[n.name])
        if n.op_type == 'QuantizeLinear':
            out.append(n)
    del g.node[:]
    g.node.extend(out)


def qgemm(m):
    g = m.graph
    init = {i.name: i for i in g.initializer}
    arr = lambda name: numpy_helper.to_array(init[name])
    producer, consumers = graph_maps(g)
    replace = {}
    for n in list(g.node):
        if n.op_type != 'MatMul' or not n.name.endswith('/matmul') or not n.name.startswith('blocks.'):
            continue
        op = n.name[:-len('/matmul')]
        x_dq, w_dq = producer[n.input[0]], producer[n.input[1]]
        q = producer[x_dq.input[0]]
        if q.op_type == 'Clip':
            q = producer[q.input[0]]
        add = consumers[n.output[0]][0]
        twin = add.name.endswith('/ranges')            # the twin GELU input: two products, then the bias
        bias_add = consumers[add.output[0]][0] if twin else add
        bias_name = next(i for i in bias_add.input if i in init)
        k, width = arr(w_dq.input[0]).shape
        step = (arr(x_dq.input[1]).astype(np.float32) * arr(w_dq.input[1]).astype(np.float32)) * np.ones(width, np.float32)
        codes = np.rint(arr(bias_name).astype(np.float32) / step).astype(np.int32)
        g.initializer.extend([numpy_helper.from_array(codes, op + '/bias_i32'),
                              numpy_helper.from_array(step.astype(np.float32), op + '/bias_scale'),
                              numpy_helper.from_array(np.zeros(width, np.int32), op + '/bias_zp'),
                              numpy_helper.from_array(np.array([-1, k], np.int64), op + '/shape2d'),
                              numpy_helper.from_array(np.array([-1, TOKENS, width], np.int64), op + '/shape3d')])
        x = q.input[0]
        for user in consumers[x]:
            if user.op_type == 'QuantizeLinear' and user.name.startswith(op):
                user.input[0] = op + '/x2d'
        replace[q.name] = [helper.make_node('Reshape', [x, op + '/shape2d'], [op + '/x2d'], name=op + '/x2d')]
        bias = helper.make_node('DequantizeLinear', [op + '/bias_i32', op + '/bias_scale', op + '/bias_zp'],
                                [op + '/bias_dq'], name=op + '/bias_dq', axis=0)
        first = helper.make_node('Gemm', [n.input[0], n.input[1], op + '/bias_dq'], [op + '/y2d'], name=op + '/gemm')
        if twin:
            second = producer[add.input[1]]
            replace[n.name] = [bias, first]
            replace[second.name] = [helper.make_node('Gemm', list(second.input), [op + '/y2d_1'], name=op + '/gemm1')]
            replace[add.name] = [helper.make_node('Add', [op + '/y2d', op + '/y2d_1'], [op + '/sum2d'], name=op + '/sum2d')]
            replace[bias_add.name] = [helper.make_node('Reshape', [op + '/sum2d', op + '/shape3d'], [bias_add.output[0]],
                                                       name=op + '/y3d')]
        else:
            replace[n.name] = [bias, first]
            replace[add.name] = [helper.make_node('Reshape', [op + '/y2d', op + '/shape3d'], [add.output[0]], name=op + '/y3d')]
    rewrite(g, replace)


def int_scores(m):
    g = m.graph
    init = {i.name: i for i in g.initializer}
    arr = lambda name: numpy_helper.to_array(init[name])
    g.initializer.extend([numpy_helper.from_array(np.array(128, np.uint8), 'zp_u8_128')])
    # the attention scale 1/sqrt(d), the constant of the Mul after q . k^T
    scales = {n.name: arr(n.input[1]).astype(np.float32) for n in g.node if n.op_type == 'Mul' and n.name.endswith('/scale')}
    out = []
    for n in g.node:
        match = re.match(r'(blocks\.\d+\.attn)(/|\.matmul)', n.name)
        if not match:
            out.append(n)
            continue
        p = match.group(1)
        heads = arr(f'{p}.matmul1/a/scale').shape[0]
        if f'zp_u8_x{heads}' not in init:
            init[f'zp_u8_x{heads}'] = numpy_helper.from_array(np.full(heads, 128, np.uint8), f'zp_u8_x{heads}')
            g.initializer.append(init[f'zp_u8_x{heads}'])
        if (n.name in (f'{p}/qkv', f'{p}/q', f'{p}/k', f'{p}/k_transposed') or n.name.endswith('.matmul1/a/dequantize')
                or n.name.endswith('.matmul1/b/dequantize') or (n.name == f'{p}/scale' and n.op_type == 'Mul')):
            continue
        if n.name == f'{p}/v':
            out.append(helper.make_node('Gather', [f'{p}/heads', n.input[1]], [f'{p}/v_tok'], name=f'{p}/v_tok', axis=2))
            out.append(helper.make_node('Transpose', [f'{p}/v_tok'], [f'{p}/v'], name=f'{p}/v', perm=[0, 2, 1, 3]))
        elif n.name.endswith('.matmul1/a/quantize') or n.name.endswith('.matmul1/b/quantize'):
            part = 'q' if '/a/' in n.name else 'k'
            index = numpy_helper.from_array(np.array(0 if part == 'q' else 1, np.int64), f'{p}/{part}_index')
            g.initializer.append(index)
            out.append(helper.make_node('Gather', [f'{p}/heads', index.name], [f'{p}/{part}_tok'], name=f'{p}/{part}_tok', axis=2))
            n.input[0] = f'{p}/{part}_tok'
            next(a for a in n.attribute if a.name == 'axis').i = 2
            if part == 'q':
                n.input[2] = f'zp_u8_x{heads}'
            codes = n.output[0]
            n.output[0] = codes + '_tok'
            out.append(n)
            out.append(helper.make_node('Transpose', [codes + '_tok'], [codes], name=codes + '/t',
                                        perm=[0, 2, 1, 3] if part == 'q' else [0, 2, 3, 1]))
        elif n.name == f'{p}.matmul1' and n.op_type == 'MatMul':
            attention_scale = scales[f'{p}/scale']
            step = (arr(f'{p}.matmul1/a/scale') * arr(f'{p}.matmul1/b/scale') * attention_scale).reshape(1, heads, 1, 1)
            g.initializer.append(numpy_helper.from_array(step.astype(np.float32), f'{p}/score_scale'))
            out.append(helper.make_node('MatMulInteger', [f'{p}.matmul1/a/quantize', f'{p}.matmul1/b/quantize', 'zp_u8_128'],
                                        [f'{p}/s32'], name=f'{p}/s32'))
            out.append(helper.make_node('Cast', [f'{p}/s32'], [f'{p}/s32f'], name=f'{p}/s32f', to=TensorProto.FLOAT))
            out.append(helper.make_node('Mul', [f'{p}/s32f', f'{p}/score_scale'], [f'{p}/scale'], name=f'{p}/scale'))
        else:
            out.append(n)
    del g.node[:]
    g.node.extend(out)


if __name__ == '__main__':
    mode, src, dst = sys.argv[1:4]
    model = onnx.load(src)
    {'qgemm': qgemm, 'int-scores': int_scores}[mode](model)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print('written', dst)
