package io.vitq.io;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The allow-list of Python globals a state-dict pickle may reference, each mapped to a Java stand-in.
 * This is the security boundary of {@link PthReader}: everything not listed here (os.system,
 * builtins.eval, a model class, argparse.Namespace, ...) is refused before anything else happens.
 */
final class PthGlobals implements Unpickler.Globals {

    /** torch's storage classes; the persistent id of a storage names one of them to give its dtype. */
    record StorageType(String name, DType dtype) {}

    /** torch.Tensor / torch.nn.Parameter as named by _rebuild_from_type_v2 (tensor subclass support). */
    record TensorType(String name) {}

    private static final Map<String, DType> STORAGES = Map.of(
            "FloatStorage", DType.F32, "HalfStorage", DType.F16, "BFloat16Storage", DType.BF16,
            "DoubleStorage", DType.F64, "LongStorage", DType.I64, "IntStorage", DType.I32,
            "ShortStorage", DType.I16, "CharStorage", DType.I8, "ByteStorage", DType.U8,
            "BoolStorage", DType.BOOL);

    private final String source;
    private final Map<String, Object> allowed = new LinkedHashMap<>();

    PthGlobals(String source) {
        this.source = source;
        allowed.put("collections.OrderedDict", (Unpickler.Callable) this::orderedDict);
        allowed.put("torch._utils._rebuild_tensor_v2", (Unpickler.Callable) args -> rebuildTensor(args, 6));
        allowed.put("torch._utils._rebuild_tensor", (Unpickler.Callable) args -> rebuildTensor(args, 4)); // torch 0.4
        // nn.Parameter pickles as _rebuild_parameter(tensor, requires_grad, backward_hooks[, state])
        allowed.put("torch._utils._rebuild_parameter", (Unpickler.Callable) this::unwrapParameter);
        allowed.put("torch._utils._rebuild_parameter_with_state", (Unpickler.Callable) this::unwrapParameter);
        // Tensors with Python attributes pickle as _rebuild_from_type_v2(func, type, args, state)
        allowed.put("torch._tensor._rebuild_from_type_v2", (Unpickler.Callable) this::rebuildFromType);
        allowed.put("torch.Tensor", new TensorType("torch.Tensor"));
        allowed.put("torch.nn.parameter.Parameter", new TensorType("torch.nn.parameter.Parameter"));
        STORAGES.forEach((name, dtype) -> allowed.put("torch." + name, new StorageType("torch." + name, dtype)));
    }

    @Override
    public Object resolve(String module, String name) {
        String full = module + "." + name;
        Object stub = allowed.get(full);
        if (stub != null) return stub;
        if (module.equals("torch") && name.endsWith("Storage")) {
            throw new CheckpointException(source + ": tensors of type '" + full + "' are not supported");
        }
        throw new CheckpointException(source + ": refusing to load: pickle references '" + full
                + "' (only state dicts of tensors are supported)");
    }

    private Object orderedDict(List<Object> args) {
        Map<Object, Object> d = new LinkedHashMap<>();
        if (args.isEmpty()) return d; // how pickle reduces an OrderedDict; its items follow via SETITEMS
        if (args.size() == 1 && args.get(0) instanceof List<?> pairs) { // OrderedDict([(k, v), ...])
            for (Object p : pairs) {
                if (!(p instanceof List<?> kv) || kv.size() != 2 || kv.get(0) instanceof List) {
                    throw bad("OrderedDict item");
                }
                d.put(kv.get(0), kv.get(1));
            }
            return d;
        }
        throw bad("OrderedDict arguments");
    }

    /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
    private Object rebuildTensor(List<Object> args, int minArgs) {
        if (args.size() < minArgs || !(args.get(0) instanceof PthStorage storage)) throw bad("tensor");
        long offset = integer(args.get(1), "tensor storage offset");
        long[] size = integers(args.get(2), "tensor size");
        long[] stride = integers(args.get(3), "tensor stride");
        if (size.length != stride.length || offset < 0) throw bad("tensor");
        int[] shape = new int[size.length];
        for (int i = 0; i < size.length; i++) {
            if (size[i] < 0 || size[i] > Integer.MAX_VALUE || stride[i] < 0) throw bad("tensor size or stride");
            shape[i] = (int) size[i];
        }
        return new PthTensor(storage, offset, shape, stride);
    }

    private Object unwrapParameter(List<Object> args) {
        if (args.isEmpty() || !(args.get(0) instanceof PthTensor t)) throw bad("nn.Parameter");
        return t;
    }

    private Object rebuildFromType(List<Object> args) {
        if (args.size() < 3 || !(args.get(0) instanceof Unpickler.Callable func)
                || !(args.get(1) instanceof TensorType) || !(args.get(2) instanceof List<?> inner)) {
            throw bad("tensor subclass");
        }
        @SuppressWarnings("unchecked") List<Object> innerArgs = (List<Object>) inner;
        return func.call(innerArgs); // the Python attributes (args[3]) do not matter for weights
    }

    private long integer(Object o, String what) {
        if (o instanceof Long v) return v;
        throw bad(what);
    }

    private long[] integers(Object o, String what) {
        if (!(o instanceof List<?> items)) throw bad(what);
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = integer(items.get(i), what);
        return out;
    }

    private CheckpointException bad(String what) {
        return new CheckpointException(source + ": malformed " + what + " in the pickle");
    }
}
