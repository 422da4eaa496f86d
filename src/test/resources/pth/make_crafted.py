"""Writes the crafted_*.pth test fixtures and crafted_expected.json (run: python3 make_crafted.py).

torch is not needed: stand-in modules named torch, torch._utils, ... make the standard pickle
module emit the same opcodes, globals and persistent ids as torch.save does, for features the
real golden files do not exercise (OrderedDict with _metadata, nn.Parameter, other dtypes,
big-endian byteorder, broadcast/permuted views, the legacy format's storage views).
"""
import collections, io, json, pickle, struct, sys, types, zipfile

def module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m

torch, t_utils, t_tensor, t_nn, t_param = (module(n) for n in
    ("torch", "torch._utils", "torch._tensor", "torch.nn", "torch.nn.parameter"))

def fn(mod, name):
    def f(*a): raise RuntimeError("stand-in")
    f.__module__, f.__name__, f.__qualname__ = mod.__name__, name, name
    setattr(mod, name, f)
    return f

rebuild_v2 = fn(t_utils, "_rebuild_tensor_v2")
rebuild_param = fn(t_utils, "_rebuild_parameter")
rebuild_from_type = fn(t_tensor, "_rebuild_from_type_v2")

def cls(mod, name):
    c = type(name, (), {"__module__": mod.__name__})
    c.__qualname__ = name
    setattr(mod, name, c)
    return c

TensorCls = cls(torch, "Tensor")
# storage class, struct format, dtype name in the expected JSON
TYPES = {n: (cls(torch, n), f, d) for n, f, d in [
    ("FloatStorage", "f", "float32"), ("DoubleStorage", "d", "float64"), ("HalfStorage", "e", "float16"),
    ("LongStorage", "q", "int64"), ("IntStorage", "i", "int32"), ("ShortStorage", "h", "int16"),
    ("CharStorage", "b", "int8"), ("ByteStorage", "B", "uint8"), ("BoolStorage", "?", "bool")]}

class Storage:
    def __init__(self, kind, key, values, view=None, numel=None):
        self.kind, self.key, self.values, self.view = kind, key, values, view
        self.numel = len(values) if numel is None else numel  # a legacy view records its root's numel

class Tensor:
    def __init__(self, storage, offset, size, stride, how="plain"):
        self.storage, self.offset, self.size, self.stride, self.how = storage, offset, size, stride, how
    def __reduce_ex__(self, proto):
        args = (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict())
        if self.how == "metadata":
            args = args + (collections.OrderedDict(),)
        inner = (rebuild_v2, args)
        if self.how == "parameter":
            return (rebuild_param, (Tensor(self.storage, self.offset, self.size, self.stride), True,
                                    collections.OrderedDict()))
        if self.how == "subclass":
            return (rebuild_from_type, (rebuild_v2, TensorCls, args, {}))
        return inner
    def values(self):  # row-major walk of the strided view
        out = []
        def walk(d, base):
            if d == len(self.size):
                out.append(float(self.storage.values[base])); return
            for i in range(self.size[d]):
                walk(d + 1, base + i * self.stride[d])
        walk(0, self.offset)
        return out

class Pickler(pickle.Pickler):
    def __init__(self, f, legacy):
        super().__init__(f, protocol=2)
        self.legacy = legacy
    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        cls_ = TYPES[obj.kind][0]
        if self.legacy:
            return ("storage", cls_, obj.key, "cpu", obj.numel, obj.view)
        return ("storage", cls_, obj.key, "cpu", len(obj.values))

def raw(storage, big=False):
    fmt = TYPES[storage.kind][1]
    return struct.pack((">" if big else "<") + fmt * len(storage.values), *storage.values)

def expected(tensors):
    return {k: {"dtype": TYPES[t.storage.kind][2], "shape": list(t.size), "values": t.values()}
            for k, t in tensors.items()}

def write_zip(path, prefix, obj, storages, byteorder):
    buf = io.BytesIO()
    Pickler(buf, legacy=False).dump(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(prefix + "/data.pkl", buf.getvalue())
        if byteorder:
            z.writestr(prefix + "/byteorder", byteorder)
        for s in storages:
            z.writestr(prefix + "/data/" + s.key, raw(s, big=byteorder == "big"))
        z.writestr(prefix + "/version", "3\n")

out = {}

# 1. OrderedDict state dict with _metadata under 'state_dict', every other dtype, parameter, views.
s12 = Storage("FloatStorage", "0", [float(i) - 5.5 for i in range(12)])
sd = collections.OrderedDict()
sd["param"] = Tensor(Storage("DoubleStorage", "1", [0.1, -2.5, 3.0, 1e300]), 0, [2, 2], [2, 1], "parameter")
sd["i32"] = Tensor(Storage("IntStorage", "2", [-2147483648, 7, 2147483647]), 0, [3], [1])
sd["i16"] = Tensor(Storage("ShortStorage", "3", [-32768, 32767]), 0, [2], [1])
sd["i8"] = Tensor(Storage("CharStorage", "4", [-128, 127]), 0, [2], [1])
sd["u8"] = Tensor(Storage("ByteStorage", "5", [200, 3]), 0, [2], [1])
sd["flag"] = Tensor(Storage("BoolStorage", "6", [True, False, True]), 0, [3], [1])
sd["sub"] = Tensor(s12, 2, [2], [1], "subclass")
sd["meta"] = Tensor(s12, 0, [3, 4], [4, 1], "metadata")
sd["expanded"] = Tensor(s12, 1, [2, 3], [0, 1])           # broadcast: stride 0
sd["perm3"] = Tensor(s12, 0, [2, 3, 2], [1, 4, 2])         # permuted 3-d view
sd["unit_dims"] = Tensor(s12, 3, [1, 3, 1], [99, 2, 7])    # size-1 dims with odd strides
sd._metadata = collections.OrderedDict([("", {"version": 1}), ("blocks.0", {"version": 2})])
storages = {t.storage.key: t.storage for t in sd.values()}.values()
write_zip("crafted_features.pth", "archive", {"epoch": 7, "state_dict": sd, "optimizer": None},
          storages, "little")
out["crafted_features.pth"] = expected(sd)

# 2. Big-endian byteorder record (torch.save on a big-endian machine).
be = collections.OrderedDict()
be["f32"] = Tensor(Storage("FloatStorage", "0", [1.5, -0.25, 3.0]), 0, [3], [1])
be["f16"] = Tensor(Storage("HalfStorage", "1", [0.5, -2.0]), 0, [2], [1])
be["i64"] = Tensor(Storage("LongStorage", "2", [-3, 1 << 40]), 0, [2], [1])
write_zip("crafted_bigendian.pth", "crafted_bigendian", be,
          [t.storage for t in be.values()], "big")
out["crafted_bigendian.pth"] = expected(be)

# 3. Legacy stream whose tensors use storage views (view_metadata), as torch < 1.0 wrote them.
root = Storage("FloatStorage", "root", [float(i) for i in range(10)])
v1 = Storage("FloatStorage", "root", [float(i) for i in range(2, 8)], view=("view1", 2, 6), numel=10)
lg = collections.OrderedDict()
lg["whole"] = Tensor(root, 0, [10], [1])
lg["viewed"] = Tensor(v1, 1, [2, 2], [1, 2])  # offset/strides relative to the view
buf = io.BytesIO()
for header in (0x1950a86a20f9469cfc6c, 1001, {"protocol_version": 1001, "little_endian": True,
                                             "type_sizes": {"short": 2, "int": 4, "long": 4}}):
    pickle.dump(header, buf, protocol=2)
Pickler(buf, legacy=True).dump({"model": lg})
pickle.dump(["root"], buf, protocol=2)
buf.write(struct.pack("<q", 10) + raw(root))
open("crafted_legacy_views.pth", "wb").write(buf.getvalue())
out["crafted_legacy_views.pth"] = expected(lg)

with open("crafted_expected.json", "w") as f:
    json.dump(out, f)
    f.write("\n")
