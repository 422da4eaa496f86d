"""Does splitting the batch make ONNX Runtime's attention passes cheaper? (issue 18.1, measured, not adopted)

Every element-wise pass over a ViT-S batch's attention probabilities ([32, 6, 197, 197] floats, 30 MB a
block) costs ONNX Runtime 20-30 ms per batch of twelve blocks (docs/BENCHMARKS.md, "twenty-seventh session").
This script times the attention core of twelve blocks (Softmax, then MatMul with v), with and without
PTQ4ViT's twin softmax quantizer between them (Less, two QuantizeLinear/DequantizeLinear pairs, Where), on
ViT-S shapes, with the batch split into 1, 2, 4, 8 or 16 chunks along axis 0 (Split, the same chain per
chunk, Concat), to see whether chunks small enough to stay in cache make the passes cheaper. Every block
reads its own random input, so that ONNX Runtime cannot merge the blocks, and the outputs of every chunking
are checked equal to the unchunked graph's.

    python3 tools/experiments/ort_chunked_attention.py [SECONDS_PER_TIMING]   (numpy, onnx, onnxruntime)
"""
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

B, H, N, D, BLOCKS = 32, 6, 197, 64, 12
CHUNKS = (1, 2, 4, 8, 16)


def core(nodes, s, v, tag, twin):
    """Softmax(s) [twin-quantized] @ v; returns the output's name."""
    p = f"p{tag}"
    nodes.append(helper.make_node("Softmax", [s], [p], axis=-1))
    if twin:
        nodes += [helper.make_node("Less", [p, "bound"], [f"small{tag}"]),
                  helper.make_node("QuantizeLinear", [p, "d1", "z"], [f"c1{tag}"]),
                  helper.make_node("DequantizeLinear", [f"c1{tag}", "d1", "z"], [f"lo{tag}"]),
                  helper.make_node("QuantizeLinear", [p, "d2", "z"], [f"c2{tag}"]),
                  helper.make_node("DequantizeLinear", [f"c2{tag}", "d2", "z"], [f"hi{tag}"]),
                  helper.make_node("Where", [f"small{tag}", f"lo{tag}", f"hi{tag}"], [f"t{tag}"])]
        p = f"t{tag}"
    out = f"o{tag}"
    nodes.append(helper.make_node("MatMul", [p, v], [out]))
    return out


def model(chunks, twin):
    nodes = []
    inits = [numpy_helper.from_array(np.array(1 / 128 / 16, np.float32), "d1"),
             numpy_helper.from_array(np.array(1 / 128, np.float32), "d2"),
             numpy_helper.from_array(np.array(0, np.int8), "z"),
             numpy_helper.from_array(np.array(1 / 16, np.float32), "bound"),
             numpy_helper.from_array(np.array([B // chunks] * chunks, np.int64), "split")]
    outs = []
    for b in range(BLOCKS):
        if chunks == 1:
            outs.append(core(nodes, f"S{b}", f"V{b}", f"_{b}", twin))
            continue
        ss = [f"s{b}_{i}" for i in range(chunks)]
        vs = [f"v{b}_{i}" for i in range(chunks)]
        nodes.append(helper.make_node("Split", [f"S{b}", "split"], ss, axis=0))
        nodes.append(helper.make_node("Split", [f"V{b}", "split"], vs, axis=0))
        parts = [core(nodes, ss[i], vs[i], f"_{b}_{i}", twin) for i in range(chunks)]
        nodes.append(helper.make_node("Concat", parts, [f"cat{b}"], axis=0))
        outs.append(f"cat{b}")
    acc = outs[0]
    for i, o in enumerate(outs[1:]):
        nodes.append(helper.make_node("Add", [acc, o], [f"acc{i}"]))
        acc = f"acc{i}"
    inputs = ([helper.make_tensor_value_info(f"S{b}", TensorProto.FLOAT, [B, H, N, N]) for b in range(BLOCKS)]
              + [helper.make_tensor_value_info(f"V{b}", TensorProto.FLOAT, [B, H, N, D]) for b in range(BLOCKS)])
    g = helper.make_graph(nodes, "attention_core", inputs, [helper.make_tensor_value_info(acc, TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    rng = np.random.default_rng(0)
    feed = {}
    for b in range(BLOCKS):
        feed[f"S{b}"] = (rng.standard_normal((B, H, N, N)) * 3).astype(np.float32)
        feed[f"V{b}"] = rng.standard_normal((B, H, N, D)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 2, 1, 3
    print(f"onnxruntime {ort.__version__}, batch {B}, {BLOCKS} blocks of [{B}, {H}, {N}, {N}], ms per batch:")
    for twin in (False, True):
        sessions = {}
        for c in CHUNKS:
            s = ort.InferenceSession(model(c, twin).SerializeToString(), so, providers=["CPUExecutionProvider"])
            out = s.run(None, feed)[0]
            if c == 1:
                ref = out
            elif not np.array_equal(out, ref):
                raise SystemExit(f"{c} chunks: output differs from the unchunked graph's")
            sessions[c] = s
        for r in range(3):
            row = []
            for c in CHUNKS:
                t, n = time.perf_counter(), 0
                while time.perf_counter() - t < seconds:
                    sessions[c].run(None, feed)
                    n += 1
                row.append(f"{c} chunk{'s' if c > 1 else ''} {(time.perf_counter() - t) / n * 1000:6.1f}")
            print(f"{'twin softmax' if twin else 'float'}, round {r + 1}: " + ", ".join(row), flush=True)


if __name__ == "__main__":
    main()
