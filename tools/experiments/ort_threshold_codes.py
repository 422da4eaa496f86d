"""ONNX Runtime's cost of the elementwise operators a threshold quantizer's export is made of, and of
AdaLog's codes written three ways, on one ViT-Ti fc2 input ([32, 197, 768] floats, 2 threads).

docs/BENCHMARKS.md "2026-12-05, night" quotes its output. Usage (onnxruntime, onnx, numpy, scipy):

    python3 tools/experiments/ort_threshold_codes.py [BITS Q]

The AdaLog quantizer is built as vitq's AdaLogOperand defines it (thresholds
fl(scale 2^(-(t + 1/2) q / 37)), AdaLog's table of levels), scale 6 and GELU's shift; each form's
values are compared with a NumPy count of the thresholds (the "mismatches" column).
"""
import math
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto as T, helper as h, numpy_helper as nh
from scipy.special import erf

SHAPE = [32, 197, 768]
R = 37


def session(nodes, inits, in_type=T.FLOAT, out_type=T.FLOAT):
    g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', in_type, SHAPE)],
                     [h.make_tensor_value_info('y', out_type, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 17)])
    m.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.log_severity_level = 3
    return ort.InferenceSession(m.SerializeToString(), so, providers=['CPUExecutionProvider'])


def timed(s, feed, runs=20):
    for _ in range(3):
        out = s.run(None, {'x': feed})[0]
    t = time.perf_counter()
    for _ in range(runs):
        s.run(None, {'x': feed})
    return (time.perf_counter() - t) / runs * 1000, out


f32 = lambda name, v: nh.from_array(np.asarray(v, np.float32), name)
i32 = lambda name, v: nh.from_array(np.asarray(v, np.int32), name)
i64 = lambda name, v: nh.from_array(np.asarray(v, np.int64), name)
u8 = lambda name, v: nh.from_array(np.asarray(v, np.uint8), name)


def operators():
    rng = np.random.default_rng(0)
    xf = rng.standard_normal(SHAPE).astype(np.float32)
    xi = rng.integers(0, 16, SHAPE).astype(np.int32)
    xu = xi.astype(np.uint8)
    c = f32('c', 0.5)
    table = f32('tab', np.linspace(0, 1, 16))
    wide = f32('wide', np.tile(np.linspace(0, 1, 16), (32, 197, 1)))
    cases = [
        ('Add (a scalar)', [h.make_node('Add', ['x', 'c'], ['y'])], [c], T.FLOAT, T.FLOAT, xf),
        ('Max (a scalar)', [h.make_node('Max', ['x', 'c'], ['y'])], [c], T.FLOAT, T.FLOAT, xf),
        ('Div (a scalar by x)', [h.make_node('Div', ['c', 'x'], ['y'])], [c], T.FLOAT, T.FLOAT, xf),
        ('Log', [h.make_node('Log', ['x'], ['y'])], [], T.FLOAT, T.FLOAT, np.abs(xf) + 0.1),
        ('Less (a scalar)', [h.make_node('Less', ['x', 'c'], ['y'])], [c], T.FLOAT, T.BOOL, xf),
        ('Less, then Where', [h.make_node('Less', ['x', 'c'], ['b']), h.make_node('Where', ['b', 'x', 'c'], ['y'])],
         [c], T.FLOAT, T.FLOAT, xf),
        ('Less, then Cast bool->int32', [h.make_node('Less', ['x', 'c'], ['b']),
                                         h.make_node('Cast', ['b'], ['y'], to=T.INT32)], [c], T.FLOAT, T.INT32, xf),
        ('QuantizeLinear to uint8', [h.make_node('QuantizeLinear', ['x', 'c', 'z'], ['y'])], [c, u8('z', 0)],
         T.FLOAT, T.UINT8, xf),
        ('Cast uint8->int32', [h.make_node('Cast', ['x'], ['y'], to=T.INT32)], [], T.UINT8, T.INT32, xu),
        ('Gather, 16-entry table, int32 indices', [h.make_node('Gather', ['tab', 'x'], ['y'])], [table],
         T.INT32, T.FLOAT, xi),
        ('GatherElements, table as [32, 197, 16]', [h.make_node('GatherElements', ['wide', 'x'], ['y'], axis=2)],
         [wide], T.INT32, T.FLOAT, xi),
    ]
    print('operator, ms per [32, 197, 768] tensor')
    for name, nodes, inits, ti, to, feed in cases:
        ms, _ = timed(session(nodes, inits, ti, to), feed)
        print(f'  {name:42s} {ms:6.2f}')


def adalog(bits, q):
    scale, shift = np.float32(6.0), np.float32(0.16997124254703522)
    n = (1 << bits) - 1
    thr = np.array([np.float32(float(scale) * 2 ** (-(t + 0.5) * q / R)) for t in range(n)], np.float32)
    den = (1 << (bits + 1)) - 2

    def unit(c):
        return 0.0 if c == n else round(2 ** (-((c * q) % R) / R) * den) / den * 2.0 ** (-((c * q) // R))

    values = np.array([np.float32(np.float32(float(scale) * unit(c)) - shift) for c in range(n + 1)], np.float32)
    rng = np.random.default_rng(1)
    pre = rng.standard_normal(SHAPE).astype(np.float32) * 1.5
    x = (0.5 * pre * (1 + erf(pre / np.sqrt(2)))).astype(np.float32)
    expected = values[((x + shift)[..., None] <= thr).sum(-1)]

    def lookup(nodes, inits, table, index, out):
        # the table broadcast along the last axis, then GatherElements (as vitq's QdqEmitter.lookUp)
        k = len(table)
        inits += [f32(out + '_entries', table), i64(out + '_k', [k]), i64(out + '_0', [0]), i64(out + '_m1', [-1])]
        nodes += [h.make_node('Shape', ['y0'], [out + '_shape']),
                  h.make_node('Slice', [out + '_shape', out + '_0', out + '_m1'], [out + '_lead']),
                  h.make_node('Concat', [out + '_lead', out + '_k'], [out + '_tshape'], axis=0),
                  h.make_node('Expand', [out + '_entries', out + '_tshape'], [out + '_table']),
                  h.make_node('GatherElements', [out + '_table', index], [out], axis=-1)]

    def gather(nodes, inits, table, index, out):
        inits.append(f32(out + '_entries', table))
        nodes.append(h.make_node('Gather', [out + '_entries', index], [out]))

    def binary_search(look):
        size = 1 << bits
        bound = np.array([np.nextafter(thr[c - 1], np.float32(np.inf)) if 1 <= c <= n else -np.inf
                          for c in range(size)], np.float32)
        nodes = [h.make_node('Add', ['x', 'shift'], ['y0']), h.make_node('Less', ['y0', 'b0'], ['l0']),
                 h.make_node('Where', ['l0', 'first', 'zero'], ['c0'])]
        inits = [f32('shift', shift), f32('b0', bound[size >> 1]), i32('first', [size >> 1]), i32('zero', [0])]
        code, step, k = 'c0', size >> 2, 0
        while step >= 1:
            k += 1
            inits.append(i32(f's{k}', [step]))
            nodes.append(h.make_node('Add', [code, f's{k}'], [f'cand{k}']))
            look(nodes, inits, bound, f'cand{k}', f't{k}')
            nodes += [h.make_node('Less', ['y0', f't{k}'], [f'l{k}']),
                      h.make_node('Where', [f'l{k}', f'cand{k}', code], [f'c{k}'])]
            code, step = f'c{k}', step >> 1
        look(nodes, inits, values, code, 'y')
        return nodes, inits

    def logarithm():
        # vitq's QdqEmitter.logCodes: c0 = min(n, rint(ln(T_0 / max(y, T_(n-1) / 2)) / sigma)), c = c0 + (y <= T_c0)
        sigma = math.log(float(thr[0]) / float(thr[-1])) / (n - 1)
        bound = np.array([np.nextafter(thr[c], np.float32(np.inf)) if c < n else -np.inf for c in range(n + 1)],
                         np.float32)
        inits = [f32('shift', shift), f32('floor', thr[-1] / 2), f32('top', thr[0]), f32('sigma', sigma),
                 u8('zp', 0), u8('n', n)]
        nodes = [h.make_node('Add', ['x', 'shift'], ['y0']), h.make_node('Max', ['y0', 'floor'], ['raised']),
                 h.make_node('Div', ['top', 'raised'], ['ratio']), h.make_node('Log', ['ratio'], ['ln']),
                 h.make_node('QuantizeLinear', ['ln', 'sigma', 'zp'], ['q'])]
        nodes.append(h.make_node('Clip', ['q', '', 'n'], ['qc']) if n < 255 else h.make_node('Identity', ['q'], ['qc']))
        nodes.append(h.make_node('Cast', ['qc'], ['e'], to=T.INT32))
        lookup(nodes, inits, bound, 'e', 'bound')
        nodes += [h.make_node('Less', ['y0', 'bound'], ['below']), h.make_node('Cast', ['below'], ['one'], to=T.INT32),
                  h.make_node('Add', ['e', 'one'], ['code'])]
        lookup(nodes, inits, values, 'code', 'y')
        return nodes, inits

    print(f'AdaLog {bits} bits, q {q}: ms per [32, 197, 768] tensor, mismatches against the counted thresholds')
    for name, (nodes, inits) in [('binary search, Gather (vitq before 2026-12-05 night)', binary_search(gather)),
                                 ('binary search, GatherElements', binary_search(lookup)),
                                 ('logarithm and one comparison, GatherElements (vitq)', logarithm())]:
        ms, out = timed(session(nodes, inits), x, runs=15)
        print(f'  {name:54s} {ms:6.2f}  {int((out != expected).sum())}')


if __name__ == '__main__':
    if len(sys.argv) > 2:
        adalog(int(sys.argv[1]), int(sys.argv[2]))
    else:
        operators()
        for bits, q in [(4, 30), (6, 20), (8, 12)]:
            adalog(bits, q)
